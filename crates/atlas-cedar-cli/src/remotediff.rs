//! `atlas-cedar diff --remote [NEW]`: fetches the organization's resource
//! policies and reads the working tree; the comparison is
//! [`atlas_cedar_deploy::remote_diff`], this file fetches and renders.

use std::path::Path;

use atlas_cedar_core::Engine;
pub use atlas_cedar_deploy::remote_diff::{summarize, RemoteSides, ResourcePolicyDiff};

use crate::remote::manifest;
use crate::remote::{org_of, print_warnings, runtime, ConnectionArgs};

/// Reads the working tree (`dir`, or `manifest`), lists the organization's resource
/// policies once, and loads both sides.
pub fn load(
    engine: &Engine,
    dir: &Path,
    manifest_path: Option<&Path>,
    conn: &ConnectionArgs,
) -> Result<RemoteSides, String> {
    let desired = manifest::load(dir, manifest_path).map_err(|e| e.to_string())?;
    let (client, settings) = conn.connect()?;
    let org = org_of(&settings, desired.org_id.as_deref(), conn.org_id.as_deref())?;
    let rt = runtime()?;
    let remote = rt
        .block_on(client.list_policies(&org))
        .map_err(|e| e.to_string())?;
    print_warnings(&client);
    let source = match &desired.manifest {
        Some(m) => m.path.display().to_string(),
        None => format!("{} (one resource policy per .cedar file)", dir.display()),
    };
    eprintln!(
        "atlas-cedar: {} resource policies in Atlas (organization {org}), {} in {source}",
        remote.len(),
        desired.policies.len()
    );
    atlas_cedar_deploy::remote_diff::compare(engine, org, &remote, &desired.policies)
}

/// The headline of one resource policy in the human output.
pub fn headline(rp: &ResourcePolicyDiff) -> String {
    let id = rp
        .atlas_id
        .as_deref()
        .map(|i| format!(" ({i})"))
        .unwrap_or_default();
    let forbids_more = rp.changes.iter().any(|c| c.action.is_some());
    let what = match rp.status.as_str() {
        "created" if forbids_more => {
            "created: only in the working tree; `push` would create it, and it forbids requests Atlas allows now".to_owned()
        }
        "created" => "created: only in the working tree; `push` would create it".to_owned(),
        "deleted" if forbids_more => "deleted: only in Atlas (`push --prune` would delete it); requests it forbids would be allowed".to_owned(),
        "deleted" => "deleted: only in Atlas (`push --prune` would delete it)".to_owned(),
        "behavioural" => "behaviour changes".to_owned(),
        "cosmetic" if rp.description_changed && rp.changes.iter().all(|c| c.kind == "unchanged") => {
            "cosmetic: only the description changed".to_owned()
        }
        "cosmetic" => "cosmetic: it forbids the same requests".to_owned(),
        "unknown" => "unknown whether behaviour changes (bounded search)".to_owned(),
        other => other.to_owned(),
    };
    let mark = match rp.status.as_str() {
        "created" => '+',
        "deleted" => '-',
        "unchanged" => ' ',
        _ => '~',
    };
    format!("{mark} {}{id}: {what}", rp.name)
}
