//! Cedar's own validation against the Atlas schema, its errors turned into
//! findings with did-you-mean suggestions for actions and attributes.

use super::*;

impl Engine {
    pub(super) fn validate(
        &self,
        body: &str,
        sig: &[&Token],
        ns: &NamespaceSchema,
        pset: &PolicySet,
        shift: usize,
        out: &mut Vec<Diagnostic>,
    ) {
        let result = ns.validator.validate(pset, ValidationMode::Strict);
        // Cedar's source locations are offsets in the text it parsed.
        let label = |e: &dyn miette::Diagnostic| {
            first_label(e).map(|r| r.start.saturating_sub(shift)..r.end.saturating_sub(shift))
        };
        let mut found: Vec<(Diagnostic, usize)> = Vec::new();
        // Cedar's order depends on hash maps: sort for stable output.
        let mut errors: Vec<_> = result
            .validation_errors()
            .map(|e| (label(e).map(|r| (r.start, r.end)), e.to_string(), e))
            .collect();
        errors.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        for (_, _, e) in errors {
            use cedar_policy::ValidationError as V;
            let rule: &'static Rule = match e {
                V::UnrecognizedActionId(_) => &rules::UNKNOWN_ACTION,
                V::UnsafeAttributeAccess(_) => &rules::UNKNOWN_ATTRIBUTE,
                V::UnsafeOptionalAttributeAccess(_) => &rules::MISSING_HAS_GUARD,
                V::UnexpectedType(_) | V::IncompatibleTypes(_) => &rules::TYPE_MISMATCH,
                V::UnrecognizedEntityType(_) => &rules::UNKNOWN_ENTITY_TYPE,
                V::InvalidActionApplication(_) => &rules::ACTION_NOT_APPLICABLE,
                V::UndefinedFunction(_)
                | V::WrongNumberArguments(_)
                | V::FunctionArgumentValidation(_)
                | V::NonLitExtConstructor(_) => &rules::INVALID_CALL,
                _ => &rules::SCHEMA_VALIDATION,
            };
            let full = e.to_string();
            let span = label(e).unwrap_or(0..body.len());
            let mut d = Diagnostic::new(rule, span.clone(), strip_policy_prefix(&full))
                .with_detail(full)
                .with_help_opt(e.help().map(|h| h.to_string()));
            // Cedar reports an expression once per action it is checked for; report it
            // once, saying how many actions.
            if let Some(prev) = found.iter_mut().find(|(p, _): &&mut (Diagnostic, usize)| {
                std::ptr::eq(p.rule, rule) && p.span == span
            }) {
                prev.1 += 1;
                continue;
            }
            if std::ptr::eq(rule, &rules::UNKNOWN_ACTION) {
                suggest_action(body, sig, &span, ns, &mut d);
            } else if std::ptr::eq(rule, &rules::UNKNOWN_ATTRIBUTE) {
                suggest_attribute(body, sig, &span, ns, &mut d);
            } else if std::ptr::eq(rule, &rules::MISSING_HAS_GUARD) {
                suggest_has_guard(body, sig, &span, &mut d);
            }
            found.push((d, 1));
        }
        for (mut d, n) in found {
            if n > 1 {
                d.message = format!("{} (and for {} other actions)", d.message, n - 1);
            }
            out.push(d);
        }
        // Warnings about a policy that does not validate are noise (an unknown action
        // also makes the policy "impossible").
        let has_errors = result.validation_errors().next().is_some();
        for w in result.validation_warnings().filter(|_| !has_errors) {
            let span = label(w).unwrap_or(0..body.len());
            out.push(
                Diagnostic::new(
                    &rules::VALIDATOR_WARNING,
                    span,
                    strip_policy_prefix(&w.to_string()),
                )
                .with_help_opt(w.help().map(|h| h.to_string())),
            );
        }
    }
}

pub(super) fn first_label(d: &dyn miette::Diagnostic) -> Option<Range<usize>> {
    let label = d.labels()?.next()?;
    Some(label.offset()..label.offset() + label.len())
}

/// Cedar prefixes validation messages with the policy id it made up (`policy0`).
pub(super) fn strip_policy_prefix(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("for policy `") {
        if let Some((_, tail)) = rest.split_once("`, ") {
            return tail.to_owned();
        }
    }
    msg.to_owned()
}

/// Where nesting first exceeds the limit (or the start).
pub(super) fn string_in_span<'a>(sig: &[&'a Token], span: &Range<usize>) -> Option<&'a Token> {
    sig.iter().copied().rfind(|t| {
        t.kind == TokenKind::String && t.span.start >= span.start && t.span.end <= span.end
    })
}

pub(super) fn suggest_action(
    body: &str,
    sig: &[&Token],
    span: &Range<usize>,
    ns: &NamespaceSchema,
    d: &mut Diagnostic,
) {
    let Some(tok) = string_in_span(sig, span) else {
        return;
    };
    let Some(name) = unescape(tok.text(body)) else {
        return;
    };
    if let Some(best) = did_you_mean(&name, ns.actions.keys().map(String::as_str)) {
        d.help = Some(format!("did you mean `{best}`?"));
        d.fix = Some(crate::diagnostic::Fix {
            title: format!("replace with `{best}`"),
            edits: vec![Edit {
                span: tok.span.clone(),
                replacement: format!("\"{best}\""),
            }],
        });
    } else {
        d.help = Some(format!(
            "the actions of `{}` are {}",
            ns.name,
            ns.actions
                .keys()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// The `context.a.b.c` path that ends at the last identifier in `span`.
pub(super) fn access_path<'a>(
    body: &str,
    sig: &[&'a Token],
    span: &Range<usize>,
) -> Option<(Vec<String>, &'a Token)> {
    let idx = sig.iter().rposition(|t| {
        t.kind == TokenKind::Ident && t.span.end <= span.end && t.span.start >= span.start
    })?;
    let last = *sig.get(idx)?;
    let mut path = vec![last.text(body).to_owned()];
    let mut i = idx;
    while i >= 2
        && sig.get(i - 1).is_some_and(|t| t.text(body) == ".")
        && sig.get(i - 2).is_some_and(|t| t.kind == TokenKind::Ident)
    {
        path.push(sig.get(i - 2)?.text(body).to_owned());
        i -= 2;
    }
    path.reverse();
    Some((path, last))
}

pub(super) fn suggest_attribute(
    body: &str,
    sig: &[&Token],
    span: &Range<usize>,
    ns: &NamespaceSchema,
    d: &mut Diagnostic,
) {
    let Some((path, last)) = access_path(body, sig, span) else {
        return;
    };
    let Some((attr, parents)) = path.split_last() else {
        return;
    };
    // Attributes of the record at the parent path, for every action that has it.
    let mut candidates: Vec<&str> = Vec::new();
    if parents.first().map(String::as_str) == Some("context") {
        for a in ns.actions.values() {
            if let Some(rec) = record_at(&a.context, parents.get(1..).unwrap_or(&[])) {
                candidates.extend(rec.keys().map(String::as_str));
            }
        }
    }
    let owners: Vec<&str> = ns
        .actions
        .values()
        .filter(|a| {
            record_at(&a.context, parents.get(1..).unwrap_or(&[]))
                .is_some_and(|r| r.contains_key(attr))
        })
        .map(|a| a.name.as_str())
        .collect();
    if parents.first().map(String::as_str) == Some("context") && !owners.is_empty() {
        let list = owners
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let example = owners.first().copied().unwrap_or_default();
        d.help = Some(format!(
            "`{}` exists only in the context of {list}: constrain the scope, e.g. `action == {}::Action::\"{example}\"`",
            path.join("."),
            ns.name
        ));
        return;
    }
    if candidates.is_empty() {
        candidates = ns.all_attribute_names();
    }
    if let Some(best) = did_you_mean(attr, candidates.iter().copied()) {
        if best != attr {
            d.help = Some(format!("did you mean `{best}`?"));
            d.fix = Some(crate::diagnostic::Fix {
                title: format!("replace with `{best}`"),
                edits: vec![Edit {
                    span: last.span.clone(),
                    replacement: best.to_owned(),
                }],
            });
        }
    }
}

pub(super) fn record_at<'a>(
    attrs: &'a std::collections::BTreeMap<String, Attribute>,
    path: &[String],
) -> Option<&'a std::collections::BTreeMap<String, Attribute>> {
    let Some((first, rest)) = path.split_first() else {
        return Some(attrs);
    };
    match &attrs.get(first)?.ty {
        AttrType::Record(inner) => record_at(inner, rest),
        _ => None,
    }
}

pub(super) fn suggest_has_guard(
    body: &str,
    sig: &[&Token],
    span: &Range<usize>,
    d: &mut Diagnostic,
) {
    let Some((path, last)) = access_path(body, sig, span) else {
        return;
    };
    let Some((attr, parents)) = path.split_last() else {
        return;
    };
    let parent = parents.join(".");
    let guard = format!("{parent} has {attr}");
    d.help = Some(format!(
        "`{attr}` is optional: guard it with `{guard} && …`"
    ));
    // Offer the edit only where `guard &&` keeps the meaning: the access starts a
    // comparison at the top of a condition or conjunction.
    let Some(first_idx) = sig.iter().position(|t| t.span.start == span.start) else {
        return;
    };
    let before = first_idx
        .checked_sub(1)
        .and_then(|i| sig.get(i))
        .map(|t| t.text(body));
    let after_idx = sig
        .iter()
        .position(|t| std::ptr::eq(*t, last))
        .map(|i| i + 1);
    let after = after_idx.and_then(|i| sig.get(i)).map(|t| t.text(body));
    if matches!(before, Some("{" | "&&" | "||" | "("))
        && matches!(after, Some("<" | "<=" | ">" | ">=" | "==" | "!="))
    {
        d.fix = Some(crate::diagnostic::Fix {
            title: format!("add `{guard} &&`"),
            edits: vec![Edit {
                span: span.start..span.start,
                replacement: format!("{guard} && "),
            }],
        });
    }
}
