//! Document symbols (one per policy), folding ranges, and go to definition into the
//! schema.
//!
//! Go to definition points at real files: the built-in schema is written once per
//! version to the user's cache directory (`$XDG_CACHE_HOME/atlas-cedar/<version>/`,
//! else `~/.cache/…`, else the temp directory) and made read-only, so every editor can
//! open it without a custom URI scheme. Schema files named in `atlas-cedar.toml` are
//! searched first, in place.

use std::path::{Path, PathBuf};

use atlas_cedar_core::check::entity_refs;
use atlas_cedar_core::lexer::{lex, TokenKind};
use atlas_cedar_core::schema::builtin_schema_files;
use atlas_cedar_core::text::LineIndex;
use atlas_cedar_core::Engine;
use tower_lsp_server::ls_types::{
    DocumentSymbol, FoldingRange, FoldingRangeKind, Location, SymbolKind, Uri,
};

use crate::context::{entity_path_before, Policy};
use crate::document::{Encoding, Lines};

/// One symbol per policy: its `@id`, else its effect and actions.
pub fn symbols(lines: &Lines<'_>) -> Vec<DocumentSymbol> {
    let text = lines.text;
    let mut out = Vec::new();
    for span in Policy::spans(text) {
        let body = text.get(span.clone()).unwrap_or("");
        let tokens = lex(body);
        let sig: Vec<_> = tokens.iter().filter(|t| !t.is_trivia()).collect();
        let id = sig.windows(4).find_map(|w| match w {
            [at, name, open, value]
                if at.text(body) == "@"
                    && name.text(body) == "id"
                    && open.text(body) == "("
                    && value.kind == TokenKind::String =>
            {
                Some(value.text(body).trim_matches('"').to_owned())
            }
            _ => None,
        });
        let effect = sig
            .iter()
            .find(|t| matches!(t.text(body), "forbid" | "permit"));
        let actions: Vec<String> = entity_refs(body, &sig)
            .into_iter()
            .filter(|r| r.path.last().is_some_and(|t| t == "Action"))
            .map(|r| r.id)
            .collect();
        let effect_text = effect.map_or("policy", |t| t.text(body));
        let summary = if actions.is_empty() {
            format!("{effect_text} (every action)")
        } else {
            format!("{effect_text} {}", actions.join(", "))
        };
        let (name, detail) = match id {
            Some(id) => (id, Some(summary)),
            None => (summary, None),
        };
        let sel = effect.map_or(span.start..span.start, |t| {
            span.start + t.span.start..span.start + t.span.end
        });
        #[allow(deprecated)]
        out.push(DocumentSymbol {
            name,
            detail,
            kind: SymbolKind::OBJECT,
            tags: None,
            deprecated: None,
            range: lines.range(&span),
            selection_range: lines.range(&sel),
            children: None,
        });
    }
    out
}

/// Multi-line policies and runs of two or more comment lines.
pub fn folding(lines: &Lines<'_>) -> Vec<FoldingRange> {
    let text = lines.text;
    let mut out = Vec::new();
    let mut push = |start: usize, end: usize, kind: FoldingRangeKind| {
        let (s, e) = (lines.position(start).line, lines.position(end).line);
        if e > s {
            out.push(FoldingRange {
                start_line: s,
                start_character: None,
                end_line: e,
                end_character: None,
                kind: Some(kind),
                collapsed_text: None,
            });
        }
    };
    let tokens = lex(text);
    let mut run: Option<(usize, usize)> = None;
    for t in &tokens {
        match t.kind {
            TokenKind::Comment => {
                run = Some(run.map_or((t.span.start, t.span.end), |(s, _)| (s, t.span.end)));
            }
            TokenKind::Whitespace if t.text(text).matches('\n').count() <= 1 => {}
            _ => {
                if let Some((s, e)) = run.take() {
                    push(s, e, FoldingRangeKind::Comment);
                }
            }
        }
    }
    if let Some((s, e)) = run {
        push(s, e, FoldingRangeKind::Comment);
    }
    for span in atlas_cedar_core::split::split_policies(text, &tokens) {
        push(span.start, span.end, FoldingRangeKind::Region);
    }
    out
}

/// Where the built-in schema files are written for go to definition.
pub fn schema_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("atlas-cedar").join(env!("CARGO_PKG_VERSION"))
}

/// The built-in schema files on disk (written if missing or different).
fn builtin_schema_paths() -> Vec<(PathBuf, String)> {
    let dir = schema_cache_dir();
    let _ = std::fs::create_dir_all(&dir);
    builtin_schema_files()
        .iter()
        .filter_map(|(name, text)| {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(*text) {
                if let Ok(meta) = std::fs::metadata(&path) {
                    let mut perms = meta.permissions();
                    #[allow(clippy::permissions_set_readonly_false)]
                    perms.set_readonly(false);
                    let _ = std::fs::set_permissions(&path, perms);
                }
                std::fs::write(&path, text).ok()?;
                if let Ok(meta) = std::fs::metadata(&path) {
                    let mut perms = meta.permissions();
                    perms.set_readonly(true);
                    let _ = std::fs::set_permissions(&path, perms);
                }
            }
            Some((path, (*text).to_owned()))
        })
        .collect()
}

/// What a definition request points at.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Action { ns: String, name: String },
    Type { ns: String, name: String },
}

fn target_at(engine: &Engine, text: &str, offset: usize) -> Option<Target> {
    let policy = Policy::at(text, offset)?;
    let tok = policy.token_at()?.clone();
    let sig = policy.sig();
    let idx = sig.iter().position(|t| t.span == tok.span)?;
    let body_ns = policy.namespace(engine)?.name.clone();
    match tok.kind {
        TokenKind::String => {
            let path = entity_path_before(policy.body, &sig, idx);
            let (ty, ns_path) = path.split_last()?;
            let ns = if ns_path.is_empty() {
                body_ns
            } else {
                ns_path.join("::")
            };
            let id = entity_refs(policy.body, &sig)
                .into_iter()
                .find(|r| r.id_span == tok.span)?
                .id;
            if ty == "Action" {
                Some(Target::Action { ns, name: id })
            } else {
                Some(Target::Type {
                    ns,
                    name: ty.clone(),
                })
            }
        }
        TokenKind::Ident if sig.get(idx + 1).is_some_and(|t| policy.text(t) == "::") => {
            let mut path = entity_path_before(policy.body, &sig, idx + 1);
            let name = policy.text(&tok).to_owned();
            if path.is_empty() {
                path.push(name.clone());
            }
            let (_, ns_path) = path.split_last()?;
            if ns_path.is_empty() {
                // A namespace name, or a type with no namespace.
                if engine.schemas.get(&name).is_some() {
                    return None;
                }
                return Some(Target::Type { ns: body_ns, name });
            }
            if name == "Action" {
                return None;
            }
            Some(Target::Type {
                ns: ns_path.join("::"),
                name,
            })
        }
        _ => None,
    }
}

/// Byte span of the declaration of `target` in a schema text (human syntax).
fn find_declaration(schema: &str, target: &Target) -> Option<std::ops::Range<usize>> {
    let tokens = lex(schema);
    let sig: Vec<_> = tokens.iter().filter(|t| !t.is_trivia()).collect();
    let mut ns = String::new();
    let mut depth = 0usize;
    let mut ns_depth = None;
    for (i, t) in sig.iter().enumerate() {
        let s = t.text(schema);
        match s {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if ns_depth.is_some_and(|d| depth < d) {
                    ns.clear();
                    ns_depth = None;
                }
            }
            "namespace" => {
                if let Some(n) = sig.get(i + 1) {
                    ns = n.text(schema).to_owned();
                    ns_depth = Some(depth + 1);
                }
            }
            _ => {}
        }
        let (want_ns, keyword, name) = match target {
            Target::Action { ns, name } => (ns, "action", name),
            Target::Type { ns, name } => (ns, "entity", name),
        };
        if &ns != want_ns || s != keyword {
            continue;
        }
        // `action "a", "b" appliesTo` / `entity A, B in [...]`.
        for n in sig.iter().skip(i + 1) {
            let nt = n.text(schema);
            if nt == "," {
                continue;
            }
            let bare = nt.trim_matches('"');
            if bare == name.as_str() {
                return Some(n.span.clone());
            }
            if !matches!(n.kind, TokenKind::Ident | TokenKind::String) {
                break;
            }
        }
    }
    None
}

/// The schema location of the action or entity type at `offset`.
pub fn definition(
    engine: &Engine,
    text: &str,
    offset: usize,
    user_schemas: &[PathBuf],
    encoding: Encoding,
) -> Option<Location> {
    let target = target_at(engine, text, offset)?;
    let user = user_schemas
        .iter()
        .filter_map(|p| Some((p.clone(), std::fs::read_to_string(p).ok()?)));
    let candidates: Vec<(PathBuf, String)> = user.chain(builtin_schema_paths()).collect();
    for (path, schema) in candidates {
        if let Some(span) = find_declaration(&schema, &target) {
            let index = LineIndex::new(&schema);
            let lines = Lines::new(&schema, &index, encoding);
            let uri = uri_for(&path)?;
            return Some(Location {
                uri,
                range: lines.range(&span),
            });
        }
    }
    None
}

fn uri_for(path: &Path) -> Option<Uri> {
    Uri::from_file_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_declarations_in_the_builtin_schema() {
        let [(_, text), _] = builtin_schema_files();
        let span = find_declaration(
            text,
            &Target::Action {
                ns: "ResourcePolicy".into(),
                name: "cluster.modify".into(),
            },
        )
        .unwrap_or_else(|| unreachable!());
        assert_eq!(text.get(span), Some("\"cluster.modify\""));
        let span = find_declaration(
            text,
            &Target::Type {
                ns: "ResourcePolicy".into(),
                name: "Region".into(),
            },
        )
        .unwrap_or_else(|| unreachable!());
        assert_eq!(text.get(span), Some("Region"));
    }
}
