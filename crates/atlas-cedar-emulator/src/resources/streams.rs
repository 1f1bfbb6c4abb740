//! Not emulated yet.

use super::Ctx;
use crate::server::Answer;

pub(crate) fn route(_ctx: &mut Ctx<'_>, _tail: &[&str]) -> Option<Answer> {
    None
}
