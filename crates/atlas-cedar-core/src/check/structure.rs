//! Structure rules: what Atlas requires of a body's shape before Cedar
//! validates it (principal, scopes, actions, legacy names, pasted escapes,
//! shard counts).

use super::*;

impl Engine {
    pub(super) fn check_structure(
        &self,
        body: &str,
        sig: &[&Token],
        chunk: &Range<usize>,
        out: &mut Vec<Diagnostic>,
    ) {
        let toks: Vec<&Token> = sig
            .iter()
            .copied()
            .filter(|t| t.span.start >= chunk.start && t.span.end <= chunk.end)
            .collect();
        // The effect: the first `permit`/`forbid` followed by `(`.
        let Some(eff) = toks.iter().enumerate().position(|(i, t)| {
            matches!(t.text(body), "permit" | "forbid")
                && toks.get(i + 1).is_some_and(|n| n.text(body) == "(")
        }) else {
            return;
        };
        if let Some(t) = toks.get(eff).filter(|t| t.text(body) == "permit") {
            out.push(
                Diagnostic::new(
                    &rules::PERMIT_NOT_ALLOWED,
                    t.span.clone(),
                    "Atlas resource policies must be `forbid` policies",
                )
                .with_detail("only forbid policies are supported")
                .with_help("Atlas allows everything a policy does not forbid: use `forbid` and invert the condition")
                .with_fix(
                    "replace `permit` with `forbid`",
                    vec![Edit {
                        span: t.span.clone(),
                        replacement: "forbid".to_owned(),
                    }],
                ),
            );
        }
        // The principal part of the scope: after `(` up to the first `,` at depth 1.
        let mut depth = 0usize;
        let mut part: Vec<&Token> = Vec::new();
        for t in toks.iter().skip(eff + 2) {
            match t.text(body) {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" if depth == 0 => break,
                ")" | "]" | "}" => depth -= 1,
                "," if depth == 0 => break,
                _ => {}
            }
            part.push(t);
        }
        if let (Some(first), Some(last)) = (part.first(), part.last()) {
            if part.len() > 1 {
                let span = first.span.start..last.span.end;
                out.push(
                    Diagnostic::new(
                        &rules::CONSTRAINED_PRINCIPAL,
                        span.clone(),
                        format!(
                            "the principal is constrained (`{}`); Atlas policies apply to every principal",
                            body.get(span.clone()).unwrap_or("")
                        ),
                    )
                    .with_detail("the principal of a resource policy must be unconstrained")
                    .with_help("write `principal` alone")
                    .with_fix(
                        "leave `principal` unconstrained",
                        vec![Edit {
                            span,
                            replacement: "principal".to_owned(),
                        }],
                    ),
                );
            }
        }
        // Template slots.
        for (i, t) in toks.iter().enumerate() {
            if t.text(body) == "?" {
                if let Some(n) = toks.get(i + 1).filter(|n| n.kind == TokenKind::Ident) {
                    let slot = format!("?{}", n.text(body));
                    out.push(
                        Diagnostic::new(
                            &rules::TEMPLATE_NOT_ALLOWED,
                            t.span.start..n.span.end,
                            format!("`{slot}` makes this a template; Atlas takes static policies only"),
                        )
                        .with_detail("policy templates are not supported")
                        .with_help("replace the slot with a concrete entity, e.g. `ResourcePolicy::Project::\"<24-hex id>\"`"),
                    );
                }
            }
        }
    }

    pub(super) fn legacy_dialect(
        &self,
        body: &str,
        sig: &[&Token],
        refs: &[EntityRef],
        out: &mut Vec<Diagnostic>,
    ) {
        let mut edits = Vec::new();
        let mut first: Option<Range<usize>> = None;
        // Every `cloud::x` path, with or without an id.
        for (i, t) in sig.iter().enumerate() {
            if t.text(body) != LEGACY_NAMESPACE
                || sig.get(i + 1).is_none_or(|n| n.text(body) != "::")
                || i.checked_sub(1)
                    .and_then(|p| sig.get(p))
                    .is_some_and(|p| p.text(body) == "::")
            {
                continue;
            }
            let Some(ty_tok) = sig.get(i + 2).filter(|t| t.kind == TokenKind::Ident) else {
                continue;
            };
            let ty = ty_tok.text(body);
            let current_ty = self.catalog.current_type_name(LEGACY_NAMESPACE, ty);
            first.get_or_insert(t.span.start..ty_tok.span.end);
            edits.push(Edit {
                span: t.span.start..ty_tok.span.end,
                replacement: format!("ResourcePolicy::{current_ty}"),
            });
            if ty == "Action" {
                if let Some(r) = refs.iter().find(|r| r.span.start == t.span.start) {
                    if let Some(cur) = self.catalog.current_action_name(&r.id) {
                        edits.push(Edit {
                            span: r.id_span.clone(),
                            replacement: format!("\"{cur}\""),
                        });
                    }
                }
            }
        }
        if let Some(span) = first {
            out.push(
                Diagnostic::new(
                    &rules::LEGACY_DIALECT,
                    span,
                    "the body uses the legacy `cloud::` names of the 2024 private preview",
                )
                .with_help("Atlas still accepts them, but current docs, actions and attributes use the `ResourcePolicy::` names")
                .with_fix("rewrite with the current `ResourcePolicy::` names", edits),
            );
        }
    }

    pub(super) fn check_escaped_quotes(&self, body: &str, out: &mut Vec<Diagnostic>) {
        let Some(at) = body.find("\\\"") else {
            return;
        };
        let fixed = body.replace("\\\"", "\"");
        let parses = PolicySet::from_str(&fixed).is_ok();
        let edits: Vec<Edit> = body
            .match_indices("\\\"")
            .map(|(i, _)| Edit {
                span: i..i + 1,
                replacement: String::new(),
            })
            .collect();
        let mut d = Diagnostic::new(
            &rules::ESCAPED_QUOTE,
            at..at + 2,
            "`\\\"` in Cedar text: this looks pasted from a JSON string",
        )
        .with_help("in a `.cedar` file quotes are written `\"`, without the backslash");
        if parses {
            d = d.with_fix("remove the backslashes before quotes", edits);
        }
        out.push(d);
    }
}

pub(super) fn check_shard_counts(body: &str, sig: &[&Token], out: &mut Vec<Diagnostic>) {
    for (i, t) in sig.iter().enumerate() {
        let name = t.text(body);
        let wanted = match name {
            "minShardCount" => "<",
            "maxShardCount" => ">",
            _ => continue,
        };
        if i.checked_sub(1)
            .and_then(|p| sig.get(p))
            .is_none_or(|p| p.text(body) != ".")
        {
            continue;
        }
        let is_cmp = |s: &str| matches!(s, "<" | "<=" | ">" | ">=" | "==" | "!=");
        let flip = |s: &str| {
            match s {
                "<" => ">",
                ">" => "<",
                "<=" => ">=",
                ">=" => "<=",
                o => o,
            }
            .to_owned()
        };
        // Operator after the access, or before the start of the access chain (flipped).
        let after = sig.get(i + 1).map(|t| t.text(body)).filter(|s| is_cmp(s));
        let op = match after {
            Some(op) => Some((op.to_owned(), sig.get(i + 1).map(|t| t.span.clone()))),
            None => {
                let mut j = i;
                while j >= 2
                    && sig.get(j - 1).is_some_and(|t| t.text(body) == ".")
                    && sig.get(j - 2).is_some_and(|t| t.kind == TokenKind::Ident)
                {
                    j -= 2;
                }
                j.checked_sub(1)
                    .and_then(|p| sig.get(p))
                    .filter(|t| is_cmp(t.text(body)))
                    .map(|t| (flip(t.text(body)), Some(t.span.clone())))
            }
        };
        let Some((op, Some(op_span))) = op else {
            continue;
        };
        if op != wanted {
            out.push(
                Diagnostic::new(
                    &rules::SHARD_COUNT_OPERATOR,
                    t.span.start.min(op_span.start)..t.span.end.max(op_span.end),
                    format!("`{name}` is compared with `{op}`; Atlas documents it only with `{wanted}`"),
                )
                .with_help(format!(
                    "MongoDB's docs: using the opposite operator causes policy evaluation errors; write `context.cluster.{name} {wanted} N`"
                )),
            );
        }
    }
}
