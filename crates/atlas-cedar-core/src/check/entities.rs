//! Entity literals (`Ns::Type::"id"`): finding them in a body and checking
//! their types and id formats against the Atlas catalog (AC3xx).

use super::*;

impl Engine {
    pub(super) fn check_entities(&self, refs: &[EntityRef], out: &mut Vec<Diagnostic>) {
        for r in refs {
            let Some((ty, ns_path)) = r.path.split_last() else {
                continue;
            };
            let ns = ns_path.join("::");
            if self.schemas.get(&ns).is_none() {
                continue;
            }
            let current = self.catalog.current_type_name(&ns, ty);
            let known = self.catalog.ids(current);
            if known.is_some_and(|ids| ids.contains_key(&r.id))
                || (known.is_none() && (!OBJECT_ID_TYPES.contains(&current) || is_object_id(&r.id)))
            {
                continue;
            }
            let detail = format!(
                "entity id {} does not exist in the context of this organization",
                r.id
            );
            if let Some(ids) = known {
                let suggestions = self.catalog.suggest(current, &r.id);
                let mut d = Diagnostic::new(
                    &rules::UNKNOWN_ENTITY_ID,
                    r.id_span.clone(),
                    format!("`{}` is not a known {current} id", r.id),
                )
                .with_detail(detail);
                d = match suggestions.as_slice() {
                    [] => d.with_help(match current {
                        "Region" => "regions are `<provider>:<the cloud's region code>` in lower case, e.g. `aws:us-east-1`, `gcp:us-east1`, `azure:westeurope`; add new ones under [lint.entities] in atlas-cedar.toml".to_owned(),
                        _ => format!(
                            "known ids: {}",
                            ids.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                        ),
                    }),
                    [one, ..] => d
                        .with_help(format!(
                            "did you mean {}?",
                            suggestions
                                .iter()
                                .map(|s| format!("`{s}`"))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ))
                        .with_fix(
                            format!("replace with `{one}`"),
                            vec![Edit {
                                span: r.id_span.clone(),
                                replacement: format!("\"{one}\""),
                            }],
                        ),
                };
                out.push(d);
            } else if OBJECT_ID_TYPES.contains(&current) && !is_object_id(&r.id) {
                let lower = r.id.to_ascii_lowercase();
                let mut d = Diagnostic::new(
                    &rules::INVALID_OBJECT_ID,
                    r.id_span.clone(),
                    format!(
                        "`{}` is not a {current} id (24 lower-case hex digits)",
                        r.id
                    ),
                )
                .with_detail(detail);
                d = if is_object_id(&lower) {
                    d.with_help("Atlas ids are lower case").with_fix(
                        "use lower case",
                        vec![Edit {
                            span: r.id_span.clone(),
                            replacement: format!("\"{lower}\""),
                        }],
                    )
                } else if r.id.starts_with('<') || r.id.contains("ID") {
                    d.with_help(format!(
                        "this looks like a placeholder: paste the real {} id from the Atlas UI or `atlas {}s list`",
                        current.to_ascii_lowercase(),
                        current.to_ascii_lowercase()
                    ))
                } else {
                    d.with_help(format!(
                        "a {} id is 24 hex digits, like `6217f7fff7957854e2d09179`",
                        current.to_ascii_lowercase()
                    ))
                };
                out.push(d);
            }
        }
    }
}

/// An entity literal `Ns::Type::"id"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRef {
    /// Namespace segments then the type name.
    pub path: Vec<String>,
    /// The unescaped id.
    pub id: String,
    /// The whole literal.
    pub span: Range<usize>,
    /// The id's string literal, quotes included.
    pub id_span: Range<usize>,
}

/// Every entity literal in the tokens.
pub fn entity_refs(src: &str, sig: &[&Token]) -> Vec<EntityRef> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sig.len() {
        let Some(start) = sig.get(i).filter(|t| t.kind == TokenKind::Ident) else {
            i += 1;
            continue;
        };
        if i.checked_sub(1)
            .and_then(|p| sig.get(p))
            .is_some_and(|p| p.text(src) == "::")
        {
            i += 1;
            continue;
        }
        let mut path = vec![start.text(src).to_owned()];
        let mut j = i + 1;
        loop {
            if sig.get(j).is_none_or(|t| t.text(src) != "::") {
                break;
            }
            match sig.get(j + 1) {
                Some(t) if t.kind == TokenKind::Ident => {
                    path.push(t.text(src).to_owned());
                    j += 2;
                }
                Some(t) if t.kind == TokenKind::String => {
                    if let Some(id) = unescape(t.text(src)) {
                        out.push(EntityRef {
                            path: path.clone(),
                            id,
                            span: start.span.start..t.span.end,
                            id_span: t.span.clone(),
                        });
                    }
                    j += 2;
                    break;
                }
                _ => break,
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// The contents of a Cedar string literal (quotes included in `lit`).
pub(super) fn unescape(lit: &str) -> Option<String> {
    let inner = lit.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(inner.to_owned());
    }
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            c @ ('\\' | '"' | '\'' | '*') => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

pub(super) fn is_object_id(id: &str) -> bool {
    id.len() == 24
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
