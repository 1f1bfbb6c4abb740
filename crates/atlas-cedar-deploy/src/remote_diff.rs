//! The comparison behind `atlas-cedar diff --remote [NEW]`: the organization's resource policies as they
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

use atlas_cedar_analysis::policies::{load_policies, LoadedPolicy};
use atlas_cedar_analysis::semantics::{Change, DiffReport};
use atlas_cedar_client::ResourcePolicy;
use atlas_cedar_core::Engine;
use serde::Serialize;

use crate::manifest::LocalPolicy;

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

/// A path as written, without a leading `./`.
fn display_path(p: &std::path::Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

fn local_bodies(l: &LocalPolicy) -> Vec<(String, String, usize)> {
    l.bodies
        .iter()
        .map(|b| (b.text.clone(), display_path(&b.file), b.line))
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

/// Matches the organization's resource policies in Atlas (`remote`, the old
/// side) with the working tree's (`local`, the new side) by name and loads both
/// sides' bodies with their ids; [`summarize`] then decides each one's status
/// from the diff of `old` and `new`.
pub fn compare(
    engine: &Engine,
    org: String,
    remote: &[ResourcePolicy],
    local: &[LocalPolicy],
) -> Result<RemoteSides, String> {
    let names: BTreeSet<&str> = remote
        .iter()
        .map(|r| r.name.as_str())
        .chain(local.iter().map(|l| l.name.as_str()))
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
        let l = local.iter().find(|l| l.name == name);
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
