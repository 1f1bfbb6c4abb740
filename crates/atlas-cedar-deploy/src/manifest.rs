//! The manifest, `atlas-cedar.toml`, read and parsed once ([`Manifest`]),
//! and which resource policies to push: its `[[resource_policy]]` tables,
//! or one resource policy per `.cedar` file of a folder.
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
//! as written (from its first token to its `;`). The `[lint]` table is the
//! core's [`Config`]; the other kinds read their sections with
//! [`Manifest::section`].

use std::ops::Range;
use std::path::{Path, PathBuf};

use atlas_cedar_core::config::Config;
use globset::Glob;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::PlanError;

pub const MANIFEST_FILE: &str = "atlas-cedar.toml";

/// The tables a manifest may hold besides `[lint]`: a typo in a section name
/// is refused, never read as "nothing to manage".
pub const SECTIONS: &[&str] = &[
    "org",
    "project",
    "resource_policy",
    "private_endpoint_service",
    "federation_endpoint",
    "search_index",
    "export_bucket",
    "stream_processor",
    "absent_api_key",
];

/// `atlas-cedar.toml`, read once and parsed once: the lint configuration
/// (`config.lint`, which builds the run's engine) and every other section
/// (`config.other`), which the kinds read with [`Manifest::section`].
#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    /// The folder relative paths in the manifest start from.
    pub root: PathBuf,
    pub text: String,
    /// The whole file as the core reads it: `[lint]` and the other tables.
    pub config: Config,
    /// The project of an entry that names none when neither `[project]` nor
    /// `MONGODB_ATLAS_PROJECT_ID` does: for checks made where the variable
    /// is not set (`lint` in a pre-commit hook); `None` for plan and push.
    pub project_fallback: Option<String>,
}

impl Manifest {
    /// Reads and parses the manifest at `path` (a regular file within the
    /// core's size cap).
    pub fn load(path: &Path) -> Result<Manifest, PlanError> {
        Manifest::parse(path, read(path)?)
    }

    /// Parses `text`, the manifest at `path`; a syntax error says where.
    pub fn parse(path: &Path, text: String) -> Result<Manifest, PlanError> {
        let config = Config::parse(&text, path)?;
        Manifest::with_config(path, text, config)
    }

    /// The manifest at `path` whose text `config` was already parsed from
    /// (`lint` has its configuration); its sections are checked as `parse`
    /// checks them.
    pub fn with_config(path: &Path, text: String, config: Config) -> Result<Manifest, PlanError> {
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let manifest = Manifest {
            path: path.to_path_buf(),
            root,
            text,
            config,
            project_fallback: None,
        };
        if let Some(key) = manifest
            .config
            .other
            .keys()
            .find(|k| !SECTIONS.contains(&k.as_str()))
        {
            let hint = atlas_cedar_core::catalog::did_you_mean(key, SECTIONS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(manifest.error_at(
                manifest.line_of_table(key),
                format!(
                    "unknown section `{key}`{hint}; a manifest holds [lint], {}",
                    SECTIONS
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(manifest)
    }

    /// 1-based line where the top-level `key` starts (`[key]`, `[[key]]`,
    /// `[key.…]` or `key =`).
    fn line_of_table(&self, key: &str) -> usize {
        self.text
            .lines()
            .position(|l| {
                let t = l.trim_start();
                let t = t.trim_start_matches('[').trim_start();
                t.strip_prefix(key).is_some_and(|rest| {
                    let rest = rest.trim_start();
                    rest.starts_with(']') || rest.starts_with('.') || rest.starts_with('=')
                })
            })
            .map_or(1, |n| n + 1)
    }

    /// An error at the manifest's line `line`.
    pub fn error_at(&self, line: usize, message: impl Into<String>) -> PlanError {
        PlanError::at_line(&self.path, line, message)
    }

    /// An error of the `index`-th (0-based) `[[key]]` entry, at its line:
    /// `[[key]] number N: message`.
    pub fn entry_error(
        &self,
        key: &str,
        index: usize,
        message: impl std::fmt::Display,
    ) -> PlanError {
        self.error_at(
            self.line_of(key, index),
            format!("[[{key}]] number {}: {message}", index + 1),
        )
    }

    /// The entries of `[[key]]` (or `key = [...]`), each checked against `T`
    /// (which should deny unknown fields). An error names the file, the line
    /// of the entry and the problem.
    pub fn section<T: DeserializeOwned>(&self, key: &str) -> Result<Vec<T>, PlanError> {
        let Some(value) = self.config.other.get(key) else {
            return Ok(Vec::new());
        };
        let Some(items) = value.as_array() else {
            return Err(self.error_at(
                self.line_of(key, 0),
                format!("`{key}` must be an array of tables ([[{key}]])"),
            ));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match T::deserialize(item.clone()) {
                Ok(v) => out.push(v),
                Err(e) => return Err(self.entry_error(key, i, e.to_string().trim_end())),
            }
        }
        Ok(out)
    }

    /// The project of the `index`-th `[[section]]` entry: its own
    /// `project_id`, else the manifest's `[project] id`, else
    /// `MONGODB_ATLAS_PROJECT_ID`. Checked to be 24-hex; an error is the
    /// entry's.
    pub fn project_id(
        &self,
        explicit: Option<&str>,
        section: &str,
        index: usize,
    ) -> Result<String, PlanError> {
        let from_table = || -> Option<String> {
            self.config
                .other
                .get("project")?
                .get("id")?
                .as_str()
                .map(str::to_owned)
        };
        let id = explicit
            .map(str::to_owned)
            .or_else(from_table)
            .or_else(|| {
                std::env::var("MONGODB_ATLAS_PROJECT_ID")
                    .ok()
                    .filter(|v| !v.is_empty())
            })
            .or_else(|| self.project_fallback.clone())
            .ok_or_else(|| {
                self.entry_error(
                    section,
                    index,
                    "no project: give the entry a project_id, add [project] id = \"…\", \
                     or set MONGODB_ATLAS_PROJECT_ID",
                )
            })?;
        atlas_cedar_client::rest::check_id("project id", &id)
            .map_err(|e| self.entry_error(section, index, e))?;
        Ok(id)
    }

    /// 1-based line of the `index`-th `[[key]]` header (or of `key =`).
    pub fn line_of(&self, key: &str, index: usize) -> usize {
        let header = format!("[[{key}]]");
        let headers: Vec<usize> = self
            .text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with(&header))
            .map(|(n, _)| n + 1)
            .collect();
        if let Some(n) = headers.get(index) {
            return *n;
        }
        self.text
            .lines()
            .position(|l| {
                let t = l.trim_start();
                t.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map_or(1, |n| n + 1)
    }

    /// Reads a file named in the manifest (relative to its folder), through
    /// the core's checked reader. An error names the manifest line that
    /// names the file.
    pub fn read(&self, relative: &str) -> Result<String, PlanError> {
        let p = self.root.join(relative);
        let fail = |e: String| {
            let quoted = format!("\"{relative}\"");
            let message = format!("cannot read {}: {e}", p.display());
            match self.text.lines().position(|l| l.contains(&quoted)) {
                Some(n) => self.error_at(n + 1, message),
                None => PlanError::manifest(&self.path, message),
            }
        };
        let bytes = atlas_cedar_core::fs::read_file(&p).map_err(fail)?;
        String::from_utf8(bytes).map_err(|_| fail("not UTF-8".to_owned()))
    }

    /// Reads a JSON file named in the manifest; a syntax error says where.
    pub fn read_json(&self, relative: &str) -> Result<Value, PlanError> {
        let text = self.read(relative)?;
        serde_json::from_str(&text).map_err(|e| PlanError::Manifest {
            file: self.root.join(relative),
            line: Some(e.line()),
            column: Some(e.column()),
            message: format!("invalid JSON: {e}"),
        })
    }
}

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
    /// The manifest the policies come from (`None`: one per `.cedar` file).
    pub manifest: Option<Manifest>,
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

const POLICY_SECTION: &str = "resource_policy";

/// Reads the desired state: from `manifest` if given, else from
/// `DIR/atlas-cedar.toml` if it exists, else one policy per `.cedar` file
/// of `dir` (named after the file). The manifest is read and parsed here,
/// once; the plan's kinds and the lint configuration use this parse.
pub fn load(dir: &Path, manifest: Option<&Path>) -> Result<Desired, PlanError> {
    let manifest_path = match manifest {
        Some(m) => Some(m.to_path_buf()),
        None => {
            let p = dir.join(MANIFEST_FILE);
            p.is_file().then_some(p)
        }
    };
    match manifest_path {
        Some(p) => desired_of(Manifest::load(&p)?),
        None => load_dir(dir),
    }
}

fn read(path: &Path) -> Result<String, PlanError> {
    let bytes = atlas_cedar_core::fs::read_file(path)
        .map_err(|e| PlanError::manifest(path, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|_| PlanError::manifest(path, "not UTF-8"))
}

/// The `[[resource_policy]]` entries checked without reading the files
/// their globs name: fields, duplicate names, the globs' syntax.
pub fn check_policy_entries(manifest: &Manifest) -> Result<usize, PlanError> {
    Ok(policy_entries(manifest)?.len())
}

/// One `[[resource_policy]]` entry with its globs compiled.
struct PolicyEntry {
    toml: PolicyToml,
    globs: Vec<(String, globset::GlobMatcher)>,
}

/// The `[[resource_policy]]` entries: fields checked, names unique, globs
/// compiled; an error is the entry's.
fn policy_entries(manifest: &Manifest) -> Result<Vec<PolicyEntry>, PlanError> {
    let entries: Vec<PolicyToml> = manifest.section(POLICY_SECTION)?;
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, p) in entries.into_iter().enumerate() {
        let at = |message: String| manifest.entry_error(POLICY_SECTION, i, message);
        if !seen.insert(p.name.clone()) {
            return Err(at(format!(
                "resource policy {:?} is declared twice",
                p.name
            )));
        }
        let globs = p
            .files
            .iter()
            .map(|pattern| {
                Glob::new(pattern)
                    .map(|g| (pattern.clone(), g.compile_matcher()))
                    .map_err(|e| at(format!("{:?}: {e}", p.name)))
            })
            .collect::<Result<_, _>>()?;
        out.push(PolicyEntry { toml: p, globs });
    }
    Ok(out)
}

/// The resource policies of `manifest`'s `[[resource_policy]]` tables.
pub fn desired_of(manifest: Manifest) -> Result<Desired, PlanError> {
    let org_id = match manifest.config.other.get("org") {
        Some(v) => {
            OrgToml::deserialize(v.clone())
                .map_err(|e| manifest.error_at(manifest.line_of("org", 0), format!("[org]: {e}")))?
                .id
        }
        None => None,
    };
    let entries = policy_entries(&manifest)?;
    let root = &manifest.root;
    let all_files = walk(root);
    let mut policies = Vec::new();
    let mut files = Vec::new();
    for (i, PolicyEntry { toml: p, globs }) in entries.into_iter().enumerate() {
        let at = |message: String| manifest.entry_error(POLICY_SECTION, i, message);
        let mut matched: Vec<PathBuf> = Vec::new();
        for (pattern, glob) in &globs {
            let mut hits: Vec<PathBuf> = all_files
                .iter()
                .filter(|f| f.strip_prefix(root).is_ok_and(|rel| glob.is_match(rel)))
                .cloned()
                .collect();
            hits.sort();
            if hits.is_empty() {
                return Err(at(format!(
                    "resource policy {:?}: {pattern:?} matches no file",
                    p.name
                )));
            }
            for h in hits {
                if !matched.contains(&h) {
                    matched.push(h);
                }
            }
        }
        let mut bodies = Vec::new();
        for f in &matched {
            bodies.extend(bodies_of_file(f, &read(f)?)?);
            if !files.contains(f) {
                files.push(f.clone());
            }
        }
        if bodies.is_empty() {
            return Err(at(format!(
                "resource policy {:?} has no Cedar policy in its files",
                p.name
            )));
        }
        policies.push(LocalPolicy {
            name: p.name,
            description: p.description,
            bodies,
        });
    }
    Ok(Desired {
        org_id,
        policies,
        files,
        manifest: Some(manifest),
    })
}

fn load_dir(dir: &Path) -> Result<Desired, PlanError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PlanError::manifest(dir, e.to_string()))?;
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
            return Err(PlanError::manifest(f, "no Cedar policy in this file"));
        }
        policies.push(LocalPolicy {
            name,
            description: None,
            bodies,
        });
    }
    if policies.is_empty() {
        return Err(PlanError::manifest(
            dir,
            format!("no {MANIFEST_FILE} and no .cedar file: nothing to push"),
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

/// The bodies of a file a `[[resource_policy]]` entry names: a `.json` file
/// is read as Atlas's request payload (its `policies[].body` strings, byte for
/// byte, as `import` writes a body a `.cedar` file could not hold), any other
/// file as Cedar ([`bodies_of`]).
pub fn bodies_of_file(file: &Path, src: &str) -> Result<Vec<LocalBody>, PlanError> {
    let is_json = file
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("json"));
    if !is_json {
        return Ok(bodies_of(file, src));
    }
    let line_of = |offset: usize| src.get(..offset).map_or(1, |s| s.matches('\n').count() + 1);
    let found = atlas_cedar_core::payload::parse_payload(src).map_err(|e| PlanError::Manifest {
        file: file.to_path_buf(),
        line: Some(line_of(e.span.start)),
        column: None,
        message: e.message,
    })?;
    Ok(found
        .into_iter()
        .map(|b| LocalBody {
            line: line_of(b.raw_span.start),
            text: b.text,
            file: file.to_path_buf(),
        })
        .collect())
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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[allow(dead_code)]
        name: String,
    }

    #[test]
    fn section_errors_name_the_line_of_the_entry() {
        let text = "[org]\nid = \"x\"\n\n[[search_index]]\nname = \"a\"\n\n[[search_index]]\nnme = \"b\"\n";
        let at =
            |text: &str| Manifest::parse(Path::new("atlas-cedar.toml"), text.to_owned()).unwrap();
        let m = at(text);
        let e = m.section::<Item>("search_index").unwrap_err().to_string();
        assert!(
            e.starts_with("atlas-cedar.toml:7: [[search_index]] number 2:"),
            "{e}"
        );
        assert!(e.contains("nme"), "{e}");
        assert!(m.section::<Item>("other").unwrap().is_empty());
        let e = m.read("missing.json").unwrap_err().to_string();
        assert!(
            e.starts_with("atlas-cedar.toml: cannot read ./missing.json:"),
            "{e}"
        );
        let named = at("[[search_index]]\nname = \"a\"\nfile = \"missing.json\"\n");
        let e = named.read("missing.json").unwrap_err().to_string();
        assert!(
            e.starts_with("atlas-cedar.toml:3: cannot read ./missing.json:"),
            "{e}"
        );
        let ok = at("[[search_index]]\nname = \"a\"\n");
        assert_eq!(ok.section::<Item>("search_index").unwrap().len(), 1);
    }

    #[test]
    fn an_unknown_section_is_refused_at_its_line_with_a_suggestion() {
        let text =
            "[project]\nid = \"5f0000000000000000000000\"\n\n[[serach_index]]\nname = \"x\"\n";
        let e = Manifest::parse(Path::new("atlas-cedar.toml"), text.to_owned())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "atlas-cedar.toml:4: unknown section `serach_index` (did you mean `search_index`?)"
            ),
            "{e}"
        );
        for ok in SECTIONS {
            let text = format!("[lint]\ndeny-warnings = true\n[[{ok}]]\n");
            assert!(Manifest::parse(Path::new("m.toml"), text).is_ok(), "{ok}");
        }
    }

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
