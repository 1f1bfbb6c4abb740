//! Not managed yet.

use super::{Ctx, Manifest, Step};

/// The steps for this kind's manifest section.
pub async fn plan(_ctx: &Ctx, _manifest: &Manifest<'_>, _prune: bool) -> Result<Vec<Step>, String> {
    Ok(Vec::new())
}
