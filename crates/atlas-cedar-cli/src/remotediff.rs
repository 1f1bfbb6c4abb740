//! `atlas-cedar diff --remote [NEW]`: the organization's resource policies as they
//! are in Atlas now (the old side) against the working tree (the new side).
//!
//! Resource policies are matched by name exactly as `plan` matches them: the
//! manifest `atlas-cedar.toml` names them, else each `.cedar` file of NEW is one
//! resource policy named after the file. Inside a resource policy, bodies are
//! matched by `@id` annotation when they have one, else by position; each body gets
//! the id `NAME` (one body), `NAME#N` (several) or `NAME:ID` (annotated), so the
//! ids of the whole organization are unique and the usual body-by-body analysis of
//! `diff` applies. A resource policy is then `unchanged`, `cosmetic` (bodies forbid
//! the same requests; the text or the description changed), `behavioural`,
//! `created` (only in the working tree), `deleted` (only in Atlas) or `unknown`.

use std::collections::BTreeSet;
use std::path::Path;

use atlas_cedar_analysis::policies::{load_policies, LoadedPolicy};
use atlas_cedar_analysis::semantics::{Change, DiffReport};
use atlas_cedar_client::ResourcePolicy;
use atlas_cedar_core::Engine;
use serde::Serialize;

use crate::remote::manifest::{self, LocalPolicy};
use crate::remote::{org_of, print_warnings, runtime, ConnectionArgs};

/// One resource policy of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ResourcePolicyDiff {
    pub name: String,
    /// `unchanged`, `cosmetic`, `behavioural`, `created`, `deleted`, `unknown`.
    pub status: String,
    /// The id Atlas gave it (absent when it is only in the working tree).
    pub atlas_id: Option<String>,
    pub description_changed: bool,
    /// The body-level changes (ids `NAME`, `NAME#N` or `NAME:ID`).
    pub changes: Vec<Change>,
    /// Body ids, old and new (to attach the diff's changes).
    #[serde(skip)]
    body_ids: BTreeSet<String>,
    #[serde(skip)]
    in_tree: bool,
}

/// Both sides, loaded, and how their bodies group into resource policies.
#[derive(Debug)]
pub struct RemoteSides {
    pub org: String,
    pub old: Vec<LoadedPolicy>,
    pub new: Vec<LoadedPolicy>,
    pub policies: Vec<ResourcePolicyDiff>,
}

fn body_id(name: &str, pos: usize, several: bool, annotation: Option<&str>) -> String {
    match annotation {
        Some(a) => format!("{name}:{a}"),
        None if several => format!("{name}#{pos}"),
        None => name.to_owned(),
    }
}

/// Loads each body text on its own (a body is one Cedar policy) and gives it its
/// id, file and line.
fn load_bodies(
    engine: &Engine,
    name: &str,
    several: bool,
    bodies: &[(String, String, usize)],
    ids: &mut BTreeSet<String>,
) -> Result<Vec<LoadedPolicy>, String> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (text, file, line) in bodies {
        match load_policies(engine, file, text) {
            Ok(list) => {
                for mut p in list {
                    let pos = out.len() + 1;
                    let id = body_id(name, pos, several, p.annotation_id.as_deref());
                    p.rename(&id);
                    p.index = pos;
                    p.line = *line + p.line.saturating_sub(1);
                    ids.insert(id);
                    out.push(p);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("\n"))
    }
}

fn local_bodies(l: &LocalPolicy) -> Vec<(String, String, usize)> {
    l.bodies
        .iter()
        .map(|b| (b.text.clone(), crate::inputs::display_path(&b.file), b.line))
        .collect()
}

fn remote_bodies(r: &ResourcePolicy) -> Vec<(String, String, usize)> {
    // `atlas:NAME:N` is body N of the resource policy in Atlas.
    r.bodies()
        .iter()
        .enumerate()
        .map(|(i, b)| ((*b).to_owned(), format!("atlas:{}", r.name), i + 1))
        .collect()
}

/// Reads the working tree (`dir`, or `manifest`), lists the organization's resource
/// policies once, and loads both sides.
pub fn load(
    engine: &Engine,
    dir: &Path,
    manifest_path: Option<&Path>,
    conn: &ConnectionArgs,
) -> Result<RemoteSides, String> {
    let desired = manifest::load(dir, manifest_path)?;
    let (client, settings) = conn.connect()?;
    let org = org_of(&settings, desired.org_id.as_deref(), conn.org_id.as_deref())?;
    let rt = runtime()?;
    let remote = rt
        .block_on(client.list_policies(&org))
        .map_err(|e| e.to_string())?;
    print_warnings(&client);
    let source = match &desired.manifest {
        Some(m) => m.display().to_string(),
        None => format!("{} (one resource policy per .cedar file)", dir.display()),
    };
    eprintln!(
        "atlas-cedar: {} resource policies in Atlas (organization {org}), {} in {source}",
        remote.len(),
        desired.policies.len()
    );
    let names: BTreeSet<&str> = remote
        .iter()
        .map(|r| r.name.as_str())
        .chain(desired.policies.iter().map(|l| l.name.as_str()))
        .collect();
    let mut sides = RemoteSides {
        org,
        old: Vec::new(),
        new: Vec::new(),
        policies: Vec::new(),
    };
    let mut errors = Vec::new();
    for name in names {
        let r = remote.iter().find(|r| r.name == name);
        let l = desired.policies.iter().find(|l| l.name == name);
        let old_bodies = r.map(remote_bodies).unwrap_or_default();
        let new_bodies = l.map(local_bodies).unwrap_or_default();
        let several = old_bodies.len().max(new_bodies.len()) > 1;
        let mut ids = BTreeSet::new();
        match load_bodies(engine, name, several, &old_bodies, &mut ids) {
            Ok(mut v) => sides.old.append(&mut v),
            Err(e) => errors.push(format!("in Atlas: {e}")),
        }
        match load_bodies(engine, name, several, &new_bodies, &mut ids) {
            Ok(mut v) => sides.new.append(&mut v),
            Err(e) => errors.push(e),
        }
        let description_changed = match (r, l) {
            (Some(r), Some(l)) => {
                r.description.as_deref().unwrap_or("") != l.description.as_deref().unwrap_or("")
            }
            _ => false,
        };
        sides.policies.push(ResourcePolicyDiff {
            name: name.to_owned(),
            status: String::new(),
            atlas_id: r.map(|r| r.id.clone()),
            description_changed,
            changes: Vec::new(),
            body_ids: ids,
            in_tree: l.is_some(),
        });
    }
    if errors.is_empty() {
        Ok(sides)
    } else {
        Err(errors.join("\n"))
    }
}

/// Attaches the diff's body-level changes to their resource policies and decides
/// each one's status.
pub fn summarize(sides: &mut RemoteSides, report: &DiffReport) {
    for rp in &mut sides.policies {
        rp.changes = report
            .changes
            .iter()
            .filter(|c| rp.body_ids.contains(&c.policy))
            .cloned()
            .collect();
        let in_atlas = rp.atlas_id.is_some();
        let in_tree = rp.in_tree;
        let behavioural = rp.changes.iter().any(|c| c.action.is_some());
        let unknown = rp.changes.iter().any(|c| c.kind == "unknown");
        let cosmetic = rp.description_changed || rp.changes.iter().any(|c| c.kind != "unchanged");
        rp.status = if !in_tree {
            "deleted"
        } else if !in_atlas {
            "created"
        } else if behavioural {
            "behavioural"
        } else if unknown {
            "unknown"
        } else if cosmetic {
            "cosmetic"
        } else {
            "unchanged"
        }
        .to_owned();
    }
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
