//! Which resource policies to push: the `atlas-cedar.toml` manifest, or one
//! resource policy per `.cedar` file of a folder.
//!
//! ```toml
//! [org]
//! id = "65f0a1b2c3d4e5f6a7b8c9d0"
//!
//! [[resource_policy]]
//! name = "no-public-ip"
//! description = "Nobody opens 0.0.0.0/0"
//! files = ["network/*.cedar"]
//! ```
//!
//! Every Cedar policy in the matched files becomes one body, byte for byte
//! as written (from its first token to its `;`). Other tables of the file
//! (the lint configuration) are ignored here.

use std::ops::Range;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};
use serde::Deserialize;

pub const MANIFEST_FILE: &str = "atlas-cedar.toml";

/// One body and where it comes from.
#[derive(Debug, Clone)]
pub struct LocalBody {
    pub text: String,
    pub file: PathBuf,
    /// 1-based line of the body's first byte.
    pub line: usize,
}

/// A resource policy as the user wants it.
#[derive(Debug, Clone)]
pub struct LocalPolicy {
    pub name: String,
    pub description: Option<String>,
    pub bodies: Vec<LocalBody>,
}

#[derive(Debug, Clone)]
pub struct Desired {
    pub org_id: Option<String>,
    pub policies: Vec<LocalPolicy>,
    /// Every file read, for the lint step.
    pub files: Vec<PathBuf>,
    pub manifest: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct ManifestToml {
    #[serde(default)]
    org: Option<OrgToml>,
    #[serde(default)]
    resource_policy: Vec<PolicyToml>,
}

#[derive(Debug, Default, Deserialize)]
struct OrgToml {
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyToml {
    name: String,
    description: Option<String>,
    files: Vec<String>,
}

/// Reads the desired state: from `manifest` if given, else from
/// `DIR/atlas-cedar.toml` if it exists, else one policy per `.cedar` file
/// of `dir` (named after the file).
pub fn load(dir: &Path, manifest: Option<&Path>) -> Result<Desired, String> {
    let manifest_path = match manifest {
        Some(m) => Some(m.to_path_buf()),
        None => {
            let p = dir.join(MANIFEST_FILE);
            p.is_file().then_some(p)
        }
    };
    match manifest_path {
        Some(p) => load_manifest(&p),
        None => load_dir(dir),
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn load_manifest(path: &Path) -> Result<Desired, String> {
    let text = read(path)?;
    let m: ManifestToml = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let root = if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root
    };
    let all_files = walk(&root);
    let mut policies = Vec::new();
    let mut files = Vec::new();
    let mut seen_names = std::collections::BTreeSet::new();
    for p in m.resource_policy {
        if !seen_names.insert(p.name.clone()) {
            return Err(format!(
                "{}: resource policy {:?} is declared twice",
                path.display(),
                p.name
            ));
        }
        let mut matched: Vec<PathBuf> = Vec::new();
        for pattern in &p.files {
            let glob =
                Glob::new(pattern).map_err(|e| format!("{}: {:?}: {e}", path.display(), p.name))?;
            let set = GlobSetBuilder::new()
                .add(glob)
                .build()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let mut hits: Vec<PathBuf> = all_files
                .iter()
                .filter(|f| f.strip_prefix(&root).is_ok_and(|rel| set.is_match(rel)))
                .cloned()
                .collect();
            hits.sort();
            if hits.is_empty() {
                return Err(format!(
                    "{}: resource policy {:?}: {pattern:?} matches no file",
                    path.display(),
                    p.name
                ));
            }
            for h in hits {
                if !matched.contains(&h) {
                    matched.push(h);
                }
            }
        }
        let mut bodies = Vec::new();
        for f in &matched {
            bodies.extend(bodies_of(f, &read(f)?));
            if !files.contains(f) {
                files.push(f.clone());
            }
        }
        if bodies.is_empty() {
            return Err(format!(
                "{}: resource policy {:?} has no Cedar policy in its files",
                path.display(),
                p.name
            ));
        }
        policies.push(LocalPolicy {
            name: p.name,
            description: p.description,
            bodies,
        });
    }
    Ok(Desired {
        org_id: m.org.and_then(|o| o.id),
        policies,
        files,
        manifest: Some(path.to_path_buf()),
    })
}

fn load_dir(dir: &Path) -> Result<Desired, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "cedar"))
        .collect();
    files.sort();
    let mut policies = Vec::new();
    for f in &files {
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bodies = bodies_of(f, &read(f)?);
        if bodies.is_empty() {
            return Err(format!("{}: no Cedar policy in this file", f.display()));
        }
        policies.push(LocalPolicy {
            name,
            description: None,
            bodies,
        });
    }
    if policies.is_empty() {
        return Err(format!(
            "{}: no {MANIFEST_FILE} and no .cedar file: nothing to push",
            dir.display()
        ));
    }
    Ok(Desired {
        org_id: None,
        policies,
        files,
        manifest: None,
    })
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.') || n == "target");
            if hidden {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out
}

/// The Cedar policies of `src` (the text of `file`), each with its line.
pub fn bodies_of(file: &Path, src: &str) -> Vec<LocalBody> {
    split_bodies(src)
        .into_iter()
        .filter_map(|r| {
            let text = src.get(r.clone())?.to_owned();
            let line = src
                .get(..r.start)
                .map(|s| s.matches('\n').count() + 1)
                .unwrap_or(1);
            Some(LocalBody {
                text,
                file: file.to_path_buf(),
                line,
            })
        })
        .collect()
}

/// Byte ranges of the policies in `src`, cut by the core exactly as `lint`
/// cuts them: from the first token (annotation or effect) to the `;`;
/// comments and blank lines between policies belong to no body.
pub fn split_bodies(src: &str) -> Vec<Range<usize>> {
    let tokens = atlas_cedar_core::lexer::lex(src);
    atlas_cedar_core::split::split_policies(src, &tokens)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn splits_policies_keeping_bytes() {
        let src = "// header\nforbid (principal, action, resource)\nwhen { \"a;b\" == \"x\" };\n\n@id(\"two\")\nforbid (principal, action, resource); // tail\n";
        let r = split_bodies(src);
        assert_eq!(r.len(), 2);
        assert_eq!(
            &src[r[0].clone()],
            "forbid (principal, action, resource)\nwhen { \"a;b\" == \"x\" };"
        );
        assert_eq!(
            &src[r[1].clone()],
            "@id(\"two\")\nforbid (principal, action, resource);"
        );
        let bodies = bodies_of(Path::new("f.cedar"), src);
        assert_eq!(bodies[0].line, 2);
        assert_eq!(bodies[1].line, 5);
    }
}
