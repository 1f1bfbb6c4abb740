//! Warnings about bodies that Atlas accepts but that probably do not do what
//! their author meant (lockouts, always-false `has`, literal conditions).

use super::*;

pub(super) fn check_lockout(
    body: &str,
    sig: &[&Token],
    pset: &PolicySet,
    chunks: &[Range<usize>],
    out: &mut Vec<Diagnostic>,
) {
    for (i, p) in pset.policies().enumerate() {
        if p.effect() != Effect::Forbid {
            continue;
        }
        // Converting the policy to JSON to look at its conditions costs more than
        // parsing it; only do it when the tokens show a literal-only condition.
        let chunk = chunks.get(i).cloned().unwrap_or(0..body.len());
        let trivially_true = !p.has_non_scope_constraint()
            || (has_literal_condition(body, sig, &chunk) && conditions_trivially_true(p));
        if !trivially_true {
            continue;
        }
        // A scoped forbid, or a bare forbid of project setting actions only, is a
        // deliberate freeze, not a lockout (see the rule's docs for the line).
        if !matches!(p.resource_constraint(), ResourceConstraint::Any) {
            continue;
        }
        let freezes_settings_only = match p.action_constraint() {
            ActionConstraint::Any => false,
            ActionConstraint::Eq(a) => is_setting_freeze(a.id().unescaped()),
            ActionConstraint::In(list) => {
                !list.is_empty() && list.iter().all(|a| is_setting_freeze(a.id().unescaped()))
            }
        };
        if freezes_settings_only {
            continue;
        }
        let actions = match p.action_constraint() {
            ActionConstraint::Any => "every action".to_owned(),
            ActionConstraint::Eq(a) => format!("`{}`", a.id().unescaped()),
            ActionConstraint::In(list) => list
                .iter()
                .map(|a| format!("`{}`", a.id().unescaped()))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let scope = "anywhere in the organization";
        let span = sig
            .iter()
            .find(|t| t.span.start >= chunk.start && t.text(body) == "forbid")
            .map_or(chunk.start..chunk.start, |t| t.span.clone());
        out.push(
            Diagnostic::new(
                &rules::UNCONDITIONAL_FORBID,
                span,
                format!("this policy forbids {actions} unconditionally {scope}"),
            )
            .with_help("add a `when { … }` or `unless { … }` condition, or scope an intended freeze with `resource in ResourcePolicy::Project::\"…\"`"),
        );
    }
}

/// `project.<setting>.modify` (IP access list, maintenance window, VPC peering,
/// private endpoints, …): an action that changes one kind of a project's settings.
pub(super) fn is_setting_freeze(action: &str) -> bool {
    let parts: Vec<&str> = action.split('.').collect();
    matches!(parts.as_slice(), ["project", setting, "modify"] if !setting.is_empty())
}

/// `context.a.b has x` where no action's context has `a.b.x`: always false.
pub(super) fn check_has_unknown(
    body: &str,
    sig: &[&Token],
    ns: &NamespaceSchema,
    out: &mut Vec<Diagnostic>,
) {
    for (i, t) in sig.iter().enumerate() {
        if t.text(body) != "has" || t.kind != TokenKind::Ident {
            continue;
        }
        let Some(attr_tok) = sig.get(i + 1).filter(|n| n.kind == TokenKind::Ident) else {
            continue;
        };
        let attr = attr_tok.text(body);
        let Some(prev) = i.checked_sub(1).and_then(|p| sig.get(p)) else {
            continue;
        };
        let Some((path, _)) = access_path(body, sig, &(0..prev.span.end)) else {
            continue;
        };
        if path.first().map(String::as_str) != Some("context") {
            continue;
        }
        let rest = path.get(1..).unwrap_or(&[]);
        let mut known = false;
        let mut candidates: Vec<&str> = Vec::new();
        for a in ns.actions.values() {
            if let Some(rec) = record_at(&a.context, rest) {
                known |= rec.contains_key(attr);
                candidates.extend(rec.keys().map(String::as_str));
            }
        }
        if known || candidates.is_empty() {
            continue;
        }
        let mut d = Diagnostic::new(
            &rules::HAS_UNKNOWN_ATTRIBUTE,
            attr_tok.span.clone(),
            format!(
                "`{} has {attr}` is always false: no action's context has `{attr}` there",
                path.join(".")
            ),
        );
        if let Some(best) = did_you_mean(attr, candidates.iter().copied()) {
            d = d.with_help(format!("did you mean `{best}`?"));
            // Rename every use of the misspelt attribute in the body.
            let edits = sig
                .iter()
                .filter(|t| t.kind == TokenKind::Ident && t.text(body) == attr)
                .map(|t| Edit {
                    span: t.span.clone(),
                    replacement: best.to_owned(),
                })
                .collect();
            d = d.with_fix(format!("rename `{attr}` to `{best}`"), edits);
        }
        out.push(d);
    }
}

/// Whether some `when`/`unless` block of the policy is a lone literal (`{ true }`).
pub(super) fn has_literal_condition(body: &str, sig: &[&Token], chunk: &Range<usize>) -> bool {
    let toks: Vec<&str> = sig
        .iter()
        .filter(|t| t.span.start >= chunk.start && t.span.end <= chunk.end)
        .map(|t| t.text(body))
        .collect();
    toks.windows(4).any(|w| {
        matches!(w, [kw, "{", lit, "}"] if (*kw == "when" || *kw == "unless") && (*lit == "true" || *lit == "false"))
    })
}

pub(super) fn conditions_trivially_true(p: &cedar_policy::Policy) -> bool {
    let Ok(json) = p.to_json() else { return false };
    json.get("conditions")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|conds| {
            conds.iter().all(|c| {
                let kind = c.get("kind").and_then(serde_json::Value::as_str);
                let value = c
                    .get("body")
                    .and_then(|b| b.get("Value"))
                    .and_then(serde_json::Value::as_bool);
                matches!(
                    (kind, value),
                    (Some("when"), Some(true)) | (Some("unless"), Some(false))
                )
            })
        })
}
