//! `atlas-cedar import`: turns the organization's resource policies (as
//! listed by Atlas) into the files `plan`/`push` read back, so that a plan
//! right after an import shows no change.
//!
//! - one `.cedar` file per resource policy, its bodies byte for byte,
//!   separated by a blank line (the splitter cuts them back exactly); a
//!   policy with a body the splitter would not cut back identically (a
//!   leading comment, two policies in one body) is written as Atlas's JSON
//!   request payload instead (`<name>.json`), never rewritten;
//! - the `[[resource_policy]]` entries of `atlas-cedar.toml`, appended to the
//!   user's manifest (nothing of it changes) or in a new one;
//! - or, for Terraform, `mongodbatlas_resource_policy` resources with
//!   heredoc bodies.
//!
//! File names come from the policy names: only `[A-Za-z0-9._-]` are kept,
//! no leading dot (no hidden file, no `..`), no path separator, and names
//! that collide (ignoring case) get `-2`, `-3`, …

use std::collections::BTreeSet;

use atlas_cedar_client::ResourcePolicy;

use atlas_cedar_core::iac::{hcl_quoted, hcl_template_text};

use crate::manifest::{split_bodies, MANIFEST_FILE};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("resource policy {name:?}: body {index} would not read back byte for byte, neither from a .cedar file nor from a JSON payload; please report it, and copy the policy by hand")]
    NotRoundTrip { name: String, index: usize },
    #[error("resource policy {name:?} has no body")]
    NoBody { name: String },
    #[error("resource policy {name:?}: body {index} contains a line `{delimiter}` that would end its heredoc")]
    HeredocDelimiter {
        name: String,
        index: usize,
        delimiter: String,
    },
    #[error("{MANIFEST_FILE}: {0}")]
    Manifest(String),
    #[error("{MANIFEST_FILE}: resource policy {name:?} is already declared with other files; remove that entry or import elsewhere")]
    AlreadyDeclared { name: String },
}

/// One file to write: its name (relative to the import folder) and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOut {
    pub name: String,
    pub text: String,
}

/// A name safe as one file name: `[A-Za-z0-9._-]` only (others become
/// `-`), no leading dot, never empty.
pub fn safe_stem(name: &str) -> String {
    // Every run of separators (`-`, `.`, anything else) becomes one `-`,
    // except a lone `.`; so no `..`, no leading dot, no `/`.
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if !run.is_empty() {
            out.push(if run == "." { '.' } else { '-' });
            run.clear();
        }
    };
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            flush(&mut run, &mut out);
            out.push(c);
        } else {
            run.push(if c == '.' { '.' } else { '-' });
        }
    }
    flush(&mut run, &mut out);
    let trimmed = out.trim_matches(|c| c == '-' || c == '.');
    if trimmed.is_empty() {
        "policy".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The order in which policies claim names: a policy whose name is already
/// a safe file name comes first, then by name, then by id. So which policy
/// keeps the plain name never depends on the order Atlas lists them in, and
/// a re-import names the files the same way.
fn claim_order(policies: &[ResourcePolicy], bases: &[String]) -> Vec<usize> {
    let mut order: Vec<(bool, &str, &str, usize)> = policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let plain = bases.get(i) == Some(&p.name);
            (!plain, p.name.as_str(), p.id.as_str(), i)
        })
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, _, _, i)| i).collect()
}

/// Distinct names for `bases` (one per policy), claimed in `claim_order`:
/// the first keeps its base, the next get `{base}{sep}2`, `{sep}3`, …;
/// `key` says when two names collide.
fn distinct(
    policies: &[ResourcePolicy],
    bases: &[String],
    sep: &str,
    key: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut taken = BTreeSet::new();
    let mut out = vec![String::new(); bases.len()];
    for i in claim_order(policies, bases) {
        let (Some(base), Some(slot)) = (bases.get(i), out.get_mut(i)) else {
            continue;
        };
        let mut name = base.clone();
        let mut n = 2;
        while !taken.insert(key(&name)) {
            name = format!("{base}{sep}{n}");
            n += 1;
        }
        *slot = name;
    }
    out
}

/// One file stem per policy, in the policies' order, distinct ignoring case
/// (`-2`, `-3`, …).
fn stems(policies: &[ResourcePolicy]) -> Vec<String> {
    let bases: Vec<String> = policies.iter().map(|p| safe_stem(&p.name)).collect();
    distinct(policies, &bases, "-", |s| s.to_ascii_lowercase())
}

fn cedar_text(p: &ResourcePolicy) -> Result<String, ImportError> {
    if p.policies.is_empty() {
        return Err(ImportError::NoBody {
            name: p.name.clone(),
        });
    }
    let text = p.bodies().join("\n\n") + "\n";
    let back: Vec<&str> = split_bodies(&text)
        .into_iter()
        .filter_map(|r| text.get(r))
        .collect();
    if back != p.bodies() {
        let index = back
            .iter()
            .zip(p.bodies())
            .position(|(a, b)| *a != b)
            .unwrap_or(back.len().min(p.policies.len()))
            + 1;
        return Err(ImportError::NotRoundTrip {
            name: p.name.clone(),
            index,
        });
    }
    Ok(text)
}

/// The policy as Atlas's request payload, for bodies a `.cedar` file cannot
/// hold byte for byte; checked to read back exactly.
fn payload_text(p: &ResourcePolicy) -> Result<String, ImportError> {
    let mut v = serde_json::json!({ "name": p.name });
    if let (Some(d), Some(m)) = (
        p.description.as_deref().filter(|d| !d.is_empty()),
        v.as_object_mut(),
    ) {
        m.insert("description".to_owned(), serde_json::json!(d));
    }
    if let Some(m) = v.as_object_mut() {
        let bodies: Vec<serde_json::Value> = p
            .bodies()
            .iter()
            .map(|b| serde_json::json!({ "body": b }))
            .collect();
        m.insert("policies".to_owned(), serde_json::Value::Array(bodies));
    }
    let text = serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    let back: Vec<String> = atlas_cedar_core::payload::parse_payload(&text)
        .map(|bs| bs.into_iter().map(|b| b.text).collect())
        .unwrap_or_default();
    if back != p.bodies() {
        return Err(ImportError::NotRoundTrip {
            name: p.name.clone(),
            index: 1,
        });
    }
    Ok(text)
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The `.cedar` files, and the manifest's new text: `existing` (the
/// user's `atlas-cedar.toml`, if any) with the entries appended, or a new
/// manifest with `[org] id`. An entry already declared with exactly the
/// same file is kept as is (re-import with `--force`).
pub fn cedar_files(
    policies: &[ResourcePolicy],
    org_id: &str,
    existing: Option<&str>,
) -> Result<(Vec<FileOut>, FileOut), ImportError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        name: String,
        #[serde(default)]
        files: Vec<String>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Existing {
        #[serde(default)]
        resource_policy: Vec<Entry>,
    }
    let declared: Existing = match existing {
        Some(t) => toml::from_str(t).map_err(|e| ImportError::Manifest(e.to_string()))?,
        None => Existing::default(),
    };
    let mut files = Vec::new();
    let mut manifest = match existing {
        Some(t) if t.is_empty() || t.ends_with('\n') => t.to_owned(),
        Some(t) => format!("{t}\n"),
        None => format!(
            "# Written by `atlas-cedar import`.\n[org]\nid = {}\n",
            toml_str(org_id)
        ),
    };
    for (p, stem) in policies.iter().zip(stems(policies)) {
        let (name, text) = match cedar_text(p) {
            Ok(text) => (format!("{stem}.cedar"), text),
            Err(ImportError::NotRoundTrip { .. }) => (format!("{stem}.json"), payload_text(p)?),
            Err(e) => return Err(e),
        };
        files.push(FileOut {
            name: name.clone(),
            text,
        });
        if let Some(e) = declared.resource_policy.iter().find(|e| e.name == p.name) {
            if e.files == [name.clone()] {
                continue;
            }
            return Err(ImportError::AlreadyDeclared {
                name: p.name.clone(),
            });
        }
        manifest.push_str("\n[[resource_policy]]\n");
        manifest.push_str(&format!("name = {}\n", toml_str(&p.name)));
        if let Some(d) = p.description.as_deref().filter(|d| !d.is_empty()) {
            manifest.push_str(&format!("description = {}\n", toml_str(d)));
        }
        manifest.push_str(&format!("files = [{}]\n", toml_str(&name)));
    }
    // What we wrote must read back: the user's entries plus ours.
    let back: Existing =
        toml::from_str(&manifest).map_err(|e| ImportError::Manifest(e.to_string()))?;
    let want = declared.resource_policy.len()
        + policies
            .iter()
            .filter(|p| !declared.resource_policy.iter().any(|e| e.name == p.name))
            .count();
    if back.resource_policy.len() != want {
        return Err(ImportError::Manifest(
            "appending [[resource_policy]] entries would not read back (is resource_policy an inline array?)".to_owned(),
        ));
    }
    Ok((
        files,
        FileOut {
            name: MANIFEST_FILE.to_owned(),
            text: manifest,
        },
    ))
}

/// A Terraform identifier: `[a-z0-9_]`, starting with a letter or `_`.
fn tf_ident(stem: &str) -> String {
    let mut s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        s.insert(0, '_');
    }
    s
}

/// A heredoc body: `${` and `%{` are escaped (`$${`, `%%{`) so Terraform
/// reads back the text as written. Terraform ends a heredoc's value with a
/// newline, so a body without one is written `chomp(<<EOT … EOT)` (which
/// drops it again; `lint` reads that form too), and a body ending with a
/// carriage return, which `chomp` would also drop, as a quoted string: the
/// value is the body byte for byte either way.
fn heredoc(body: &str, name: &str, index: usize) -> Result<String, ImportError> {
    const DELIM: &str = "EOT";
    if body.ends_with('\r') {
        return Ok(hcl_quoted(body));
    }
    if body.lines().any(|l| l.trim() == DELIM) {
        return Err(ImportError::HeredocDelimiter {
            name: name.to_owned(),
            index,
            delimiter: DELIM.to_owned(),
        });
    }
    let escaped = hcl_template_text(body);
    if escaped.ends_with('\n') {
        Ok(format!("<<{DELIM}\n{escaped}{DELIM}"))
    } else {
        Ok(format!("chomp(<<{DELIM}\n{escaped}\n{DELIM}\n      )"))
    }
}

/// One `.tf` file per policy: a `mongodbatlas_resource_policy` resource
/// (`org_id`, `name`, `description`, `policies = [{ body = <<EOT … EOT }]`).
pub fn terraform_files(
    policies: &[ResourcePolicy],
    org_id: &str,
) -> Result<Vec<FileOut>, ImportError> {
    let stems = stems(policies);
    let idents = distinct(
        policies,
        &stems.iter().map(|s| tf_ident(s)).collect::<Vec<_>>(),
        "_",
        str::to_owned,
    );
    let mut out = Vec::new();
    for ((p, stem), ident) in policies.iter().zip(stems).zip(idents) {
        if p.policies.is_empty() {
            return Err(ImportError::NoBody {
                name: p.name.clone(),
            });
        }
        let mut t = format!("resource \"mongodbatlas_resource_policy\" \"{ident}\" {{\n");
        t.push_str(&format!("  org_id = {}\n", hcl_quoted(org_id)));
        t.push_str(&format!("  name   = {}\n", hcl_quoted(&p.name)));
        if let Some(d) = p.description.as_deref().filter(|d| !d.is_empty()) {
            t.push_str(&format!("  description = {}\n", hcl_quoted(d)));
        }
        t.push_str("  policies = [\n");
        for (i, b) in p.policies.iter().enumerate() {
            t.push_str(&format!(
                "    {{\n      body = {}\n    }},\n",
                heredoc(&b.body, &p.name, i + 1)?
            ));
        }
        t.push_str("  ]\n}\n");
        out.push(FileOut {
            name: format!("{stem}.tf"),
            text: t,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use atlas_cedar_client::PolicyBody;

    fn pol(name: &str, bodies: &[&str]) -> ResourcePolicy {
        ResourcePolicy {
            name: name.to_owned(),
            policies: bodies
                .iter()
                .map(|b| PolicyBody {
                    id: None,
                    body: (*b).to_owned(),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn terraform_bodies_read_back_byte_for_byte() {
        let bodies = [
            "forbid (principal, action, resource);",
            "forbid (principal, action, resource)\nwhen { true };\n",
            "forbid (principal, action, resource);\n\n",
            "forbid (principal, action, resource);\r",
            "forbid (principal, action, resource)\r\nwhen { \"${x}\" == \"%{y}\" };",
            "  // leading\n\tforbid (principal, action, resource);  ",
        ];
        let ps: Vec<ResourcePolicy> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| pol(&format!("p{i}"), &[b]))
            .collect();
        let files = terraform_files(&ps, "65f0a1b2c3d4e5f6a7b8c9d0").unwrap();
        for (f, want) in files.iter().zip(bodies) {
            let back = atlas_cedar_core::iac::terraform(&f.text).unwrap();
            assert_eq!(back.bodies.len(), 1, "{}", f.text);
            assert_eq!(back.bodies[0].body.text, want, "{}", f.text);
        }
        assert!(
            files[0].text.contains("body = chomp(<<EOT\n"),
            "{}",
            files[0].text
        );
        assert!(
            files[1].text.contains("body = <<EOT\n"),
            "{}",
            files[1].text
        );
    }

    #[test]
    fn unsafe_names_become_distinct_plain_file_names() {
        let ps = [
            pol(
                "../../etc/passwd",
                &["forbid (principal, action, resource);"],
            ),
            pol("a/b", &["forbid (principal, action, resource);"]),
            pol("A-B", &["forbid (principal, action, resource);"]),
            pol("..", &["forbid (principal, action, resource);"]),
        ];
        let s = stems(&ps);
        // `A-B` is already a safe name, so it keeps it; `a/b` becomes `a-b-2`.
        assert_eq!(s, ["etc-passwd", "a-b-2", "A-B", "policy"]);
        for x in &s {
            assert!(!x.contains('/') && !x.contains("..") && !x.starts_with('.'));
        }
    }

    #[test]
    fn file_names_do_not_depend_on_the_order_atlas_lists_policies_in() {
        let mut ps = vec![
            pol("guard rails", &["forbid (principal, action, resource);"]),
            pol("Guard-Rails", &["forbid (principal, action, resource);"]),
            pol("guard_rails", &["forbid (principal, action, resource);"]),
            pol("guard.rails", &["forbid (principal, action, resource);"]),
        ];
        let named = |ps: &[ResourcePolicy]| {
            let mut v: Vec<(String, String)> = ps
                .iter()
                .zip(stems(ps))
                .map(|(p, s)| (p.name.clone(), s))
                .collect();
            v.sort();
            v
        };
        let first = named(&ps);
        for _ in 0..ps.len() {
            ps.rotate_left(1);
            assert_eq!(named(&ps), first);
        }
        ps.reverse();
        assert_eq!(named(&ps), first);
        assert!(first.contains(&("Guard-Rails".to_owned(), "Guard-Rails".to_owned())));
        assert!(first.contains(&("guard rails".to_owned(), "guard-rails-2".to_owned())));
    }

    #[test]
    fn a_body_a_cedar_file_cannot_hold_is_written_as_a_payload_that_reads_back() {
        let odd = [
            "// c\nforbid (principal, action, resource);",
            "forbid (principal, action, resource);\nforbid (principal, action, resource);",
        ];
        let ps = [
            pol("x", &odd),
            pol("y", &["forbid (principal, action, resource);"]),
        ];
        let (files, manifest) = cedar_files(&ps, "o", None).unwrap();
        assert_eq!(files[0].name, "x.json");
        assert_eq!(files[1].name, "y.cedar");
        assert!(
            manifest.text.contains("files = [\"x.json\"]"),
            "{}",
            manifest.text
        );
        let back = crate::manifest::bodies_of_file(std::path::Path::new("x.json"), &files[0].text)
            .unwrap();
        let texts: Vec<&str> = back.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, odd);
    }

    #[test]
    fn appends_to_the_users_manifest_keeping_it() {
        let user = "[lint]\ndeny_warnings = true\n";
        let ps = [pol("x", &["forbid (principal, action, resource);"])];
        let (_, m) = cedar_files(&ps, "o", Some(user)).unwrap();
        assert!(m.text.starts_with(user));
        assert!(m.text.contains("name = \"x\"\nfiles = [\"x.cedar\"]"));
    }
}
