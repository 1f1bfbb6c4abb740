//! Completion: actions, entity types, entity ids (regions with their location),
//! `context.` attributes for the actions in scope, set methods, keywords and whole
//! policy snippets.

use std::ops::Range;

use atlas_cedar_core::catalog::OBJECT_ID_TYPES;
use atlas_cedar_core::lexer::{Token, TokenKind};
use atlas_cedar_core::schema::{AttrType, NamespaceSchema};
use atlas_cedar_core::Engine;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, InsertTextFormat,
    MarkupContent, MarkupKind, TextEdit,
};

use crate::context::{access_path_before, attributes_at, entity_path_before, Policy};
use crate::document::Lines;

/// What the completion request is answered from.
#[derive(Debug)]
pub struct Request<'a> {
    pub engine: &'a Engine,
    pub lines: Lines<'a>,
    pub offset: usize,
    pub snippets: bool,
}

struct Out<'a> {
    items: Vec<CompletionItem>,
    lines: &'a Lines<'a>,
    /// The document range a chosen item replaces.
    replace: Range<usize>,
}

impl Out<'_> {
    fn push(
        &mut self,
        label: String,
        kind: CompletionItemKind,
        detail: Option<String>,
        insert: String,
    ) {
        self.push_doc(label, kind, detail, None, insert, false);
    }

    fn push_doc(
        &mut self,
        label: String,
        kind: CompletionItemKind,
        detail: Option<String>,
        doc: Option<String>,
        insert: String,
        snippet: bool,
    ) {
        let sort = format!("{:04}", self.items.len());
        self.items.push(CompletionItem {
            filter_text: Some(label.clone()),
            label,
            kind: Some(kind),
            detail,
            documentation: doc.map(|value| {
                Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value,
                })
            }),
            sort_text: Some(sort),
            insert_text_format: Some(if snippet {
                InsertTextFormat::SNIPPET
            } else {
                InsertTextFormat::PLAIN_TEXT
            }),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: self.lines.range(&self.replace),
                new_text: insert,
            })),
            ..CompletionItem::default()
        });
    }
}

const SET_METHODS: [(&str, &str, &str); 4] = [
    (
        "contains",
        "contains($1)",
        "`s.contains(x)`: whether the set holds `x`",
    ),
    (
        "containsAll",
        "containsAll([$1])",
        "`s.containsAll(t)`: whether the set holds every element of `t`",
    ),
    (
        "containsAny",
        "containsAny([$1])",
        "`s.containsAny(t)`: whether the set holds some element of `t`",
    ),
    (
        "isEmpty",
        "isEmpty()",
        "`s.isEmpty()`: whether the set has no element",
    ),
];

const KEYWORDS: [&str; 17] = [
    "principal",
    "action",
    "resource",
    "context",
    "when",
    "unless",
    "has",
    "like",
    "in",
    "is",
    "if",
    "then",
    "else",
    "true",
    "false",
    "forbid",
    "permit",
];

/// Whole-policy snippets: label, description, snippet body.
pub const SNIPPETS: [(&str, &str, &str); 6] = [
    (
        "forbid policy",
        "a forbid policy for one action",
        "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"${1:cluster.modify}\",\n  resource\n)\nwhen {\n  ${0:context.cluster.isConvertingToSharded}\n};",
    ),
    (
        "forbid regions",
        "clusters only in the listed regions",
        "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nunless {\n  [ResourcePolicy::Region::\"${1:aws:us-east-1}\"].containsAll(context.cluster.regions)\n};",
    ),
    (
        "forbid cloud provider",
        "no clusters on one cloud provider",
        "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nwhen {\n  context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\"${1|aws,azure,gcp|}\")\n};",
    ),
    (
        "forbid TLS below 1.2",
        "clusters must require TLS 1.2",
        "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nwhen {\n  context.cluster.minTLSVersion != ResourcePolicy::TLSVersion::\"${1:tls1_2}\"\n};",
    ),
    (
        "forbid open IP access list",
        "no 0.0.0.0/0 in a project's IP access list",
        "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"project.ipAccessList.modify\",\n  resource\n)\nwhen {\n  context.project.ipAccessList.contains(ip(\"${1:0.0.0.0/0}\"))\n};",
    ),
    (
        "forbid in project",
        "a guardrail for one project only",
        "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"${1:cluster.modify}\",\n  resource in ResourcePolicy::Project::\"${2:6217f7fff7957854e2d09179}\"\n)\nwhen {\n  ${0:context.cluster.isConvertingToSharded}\n};",
    ),
];

/// A snippet as plain text, every placeholder replaced by its default.
pub fn snippet_to_plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i + 1..).unwrap_or("");
        if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}').unwrap_or(inner.len());
            let spec = inner.get(..close).unwrap_or("");
            let default = match spec.split_once(':') {
                Some((_, d)) => d.to_owned(),
                None => match spec.split_once('|') {
                    Some((_, choices)) => choices
                        .trim_end_matches('|')
                        .split(',')
                        .next()
                        .unwrap_or("")
                        .to_owned(),
                    None => String::new(),
                },
            };
            out.push_str(&default);
            rest = inner.get(close + 1..).unwrap_or("");
        } else {
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            rest = after.get(digits..).unwrap_or("");
        }
    }
    out.push_str(rest);
    out
}

/// The completion items at the request's offset.
pub fn complete(req: &Request<'_>) -> Vec<CompletionItem> {
    let text = req.lines.text;
    let mut out = Out {
        items: Vec::new(),
        lines: &req.lines,
        replace: req.offset..req.offset,
    };
    let Some(policy) = Policy::at(text, req.offset) else {
        snippets(req, &mut out);
        return out.items;
    };
    if policy.in_comment() {
        return Vec::new();
    }
    let rel = policy.rel;
    let sig = policy.sig();
    // The token being typed, if any.
    let current = sig.iter().position(|t| {
        t.span.start < rel
            && (rel < t.span.end || t.span.end == rel)
            && matches!(
                t.kind,
                TokenKind::Ident | TokenKind::String | TokenKind::Int
            )
    });
    let cur_tok: Option<&Token> = current.and_then(|i| sig.get(i).copied());
    let before = current.unwrap_or_else(|| sig.iter().take_while(|t| t.span.end <= rel).count());
    let Some(ns) = policy.namespace(req.engine) else {
        return Vec::new();
    };

    // Inside a string: entity ids (`Ns::Type::"…`).
    if let Some(tok) = cur_tok.filter(|t| t.kind == TokenKind::String) {
        let s = policy.text(tok);
        let terminated = s.len() >= 2 && s.ends_with('"') && !s.ends_with("\\\"");
        if terminated && rel >= tok.span.end {
            return Vec::new();
        }
        let path = entity_path_before(policy.body, &sig, before);
        let content_end = if terminated {
            tok.span.end - 1
        } else {
            tok.span.end
        };
        out.replace = policy.base + tok.span.start + 1..policy.base + content_end.max(rel);
        let close = if terminated { "" } else { "\"" };
        ids_for_path(req.engine, ns, &path, close, &mut out);
        return out.items;
    }
    if let Some(tok) = cur_tok {
        out.replace = policy.base + tok.span.start..req.offset;
    }
    let prev = before.checked_sub(1).and_then(|i| sig.get(i)).copied();
    let prev_text = prev.map(|t| policy.text(t));

    // Action position: `action ==`, `action in [`, `action in [a, `, even after a
    // partly typed `Ns::Action::` path.
    let path_start = path_start(&policy, &sig, before);
    if in_action_position(&policy, &sig, path_start) {
        let typed: Vec<String> = sig
            .get(path_start..before)
            .unwrap_or(&[])
            .iter()
            .filter(|t| t.kind == TokenKind::Ident)
            .map(|t| policy.text(t).to_owned())
            .collect();
        if let Some(first) = sig.get(path_start).filter(|_| path_start < before) {
            out.replace = policy.base + first.span.start..req.offset;
        }
        actions(req.engine, ns, typed.first().map(String::as_str), &mut out);
        return out.items;
    }

    match prev_text {
        Some("::") => {
            let path = entity_path_before(policy.body, &sig, before);
            match path.as_slice() {
                [one] if req.engine.schemas.get(one).is_some() => {
                    if let Some(target) = req.engine.schemas.get(one) {
                        entity_types(target, &mut out);
                    }
                }
                [] => {}
                _ => {
                    ids_for_path(req.engine, ns, &path, "\"", &mut out);
                    // Insert the opening quote too.
                    for item in &mut out.items {
                        if let Some(CompletionTextEdit::Edit(e)) = &mut item.text_edit {
                            e.new_text.insert(0, '"');
                        }
                    }
                }
            }
        }
        Some(".") => {
            let path = access_path_before(policy.body, &sig, before.saturating_sub(1));
            attribute_or_methods(
                &policy,
                ns,
                &path,
                prev_before_dot(&policy, &sig, before),
                &mut out,
            );
        }
        Some("has") => {
            let path = access_path_before(policy.body, &sig, before.saturating_sub(1));
            if path.first().is_some_and(|r| r == "context") {
                let actions = policy.scope_actions(ns);
                context_attributes(&actions, path.get(1..).unwrap_or(&[]), &mut out);
            }
        }
        None => snippets(req, &mut out),
        Some(p) if p.starts_with('@') || p == ")" && is_annotation_end(&policy, &sig, before) => {
            snippets(req, &mut out)
        }
        _ => {
            // An entity literal where the schema says which type goes: the argument
            // of a set method, or the other side of `==`/`!=`.
            if let Some(ty) = expected_entity_type(&policy, ns, &sig, before) {
                entity_literals(req.engine, ns, &ty, &mut out);
            }
            for k in KEYWORDS {
                out.push(
                    k.to_owned(),
                    CompletionItemKind::KEYWORD,
                    None,
                    k.to_owned(),
                );
            }
            for n in req.engine.schemas.namespaces() {
                out.push(
                    n.name.clone(),
                    CompletionItemKind::MODULE,
                    Some("namespace".into()),
                    n.name.clone(),
                );
            }
        }
    }
    out.items
}

/// The entity type expected at sig token `before`: `s.contains(|`,
/// `s.containsAny([|`, `s.containsAll([a, |`, `attr == |`, for `context` paths whose
/// schema type is an entity or a set of entities.
fn expected_entity_type(
    policy: &Policy<'_>,
    ns: &NamespaceSchema,
    sig: &[&Token],
    before: usize,
) -> Option<String> {
    let tok = |i: usize| sig.get(i).map(|t| policy.text(t));
    let mut i = before.checked_sub(1)?;
    // Back over `literal ,` inside a set literal.
    loop {
        let t = sig.get(i)?;
        let back = match tok(i)? {
            "," | "::" => true,
            _ if t.kind == TokenKind::String => true,
            _ if t.kind == TokenKind::Ident => {
                matches!(i.checked_sub(1).and_then(tok), Some("::" | "," | "["))
            }
            _ => false,
        };
        if !back {
            break;
        }
        i = i.checked_sub(1)?;
    }
    let (path_end, want_set) = match tok(i)? {
        "==" | "!=" => (i, false),
        "[" => {
            let open = i.checked_sub(1)?;
            let method = open.checked_sub(1)?;
            if tok(open)? != "(" || !matches!(tok(method)?, "containsAny" | "containsAll") {
                return None;
            }
            (method.checked_sub(1)?, true)
        }
        "(" => {
            let method = i.checked_sub(1)?;
            if tok(method)? != "contains" {
                return None;
            }
            (method.checked_sub(1)?, true)
        }
        _ => return None,
    };
    // `path_end` is the `.` before the method (or the operator): the path ends there.
    let path = access_path_before(policy.body, sig, path_end);
    if path.first().map(String::as_str) != Some("context") {
        return None;
    }
    let actions = policy.scope_actions(ns);
    let view = crate::context::attribute(&actions, path.get(1..)?)?;
    let target: &AttrType = match (view.ty, want_set) {
        (AttrType::Set(inner), true) => inner.as_ref(),
        (t, false) => t,
        _ => return None,
    };
    match target {
        AttrType::Entity(name) => Some(name.rsplit("::").next().unwrap_or(name).to_owned()),
        _ => None,
    }
}

/// `Ns::Type::"id"` for every fixed id of `ty` (regions with their location).
fn entity_literals(engine: &Engine, ns: &NamespaceSchema, ty: &str, out: &mut Out<'_>) {
    let current = engine.catalog.current_type_name(&ns.name, ty);
    let Some(ids) = engine.catalog.ids(current) else {
        return;
    };
    for (id, desc) in ids {
        let literal = format!("{}::{ty}::\"{id}\"", ns.name);
        out.push(
            literal.clone(),
            CompletionItemKind::VALUE,
            Some(desc.clone()),
            literal,
        );
    }
}

/// Whether sig token `before - 1` closes an annotation `@id("…")`.
fn is_annotation_end(policy: &Policy<'_>, sig: &[&Token], before: usize) -> bool {
    let open = before.checked_sub(3).and_then(|i| sig.get(i));
    let at = before.checked_sub(5).and_then(|i| sig.get(i));
    open.is_some_and(|t| policy.text(t) == "(") && at.is_some_and(|t| policy.text(t) == "@")
}

/// The first token of the `Ident (:: Ident)* ::?` path ending at sig token `before`.
fn path_start(policy: &Policy<'_>, sig: &[&Token], before: usize) -> usize {
    let mut i = before;
    while let Some(t) = i.checked_sub(1).and_then(|p| sig.get(p)) {
        if t.kind == TokenKind::Ident || policy.text(t) == "::" {
            i -= 1;
        } else {
            break;
        }
    }
    i
}

/// Whether an action literal belongs at sig token `at`.
fn in_action_position(policy: &Policy<'_>, sig: &[&Token], at: usize) -> bool {
    let tok = |i: usize| sig.get(i).map(|t| policy.text(t));
    let Some(p) = at.checked_sub(1) else {
        return false;
    };
    match tok(p) {
        Some("==") => p.checked_sub(1).and_then(tok) == Some("action"),
        Some("in") => p.checked_sub(1).and_then(tok) == Some("action"),
        Some("[") | Some(",") => {
            // Back over `literal ,` pairs to the `[`, then `action in`.
            let mut i = p;
            loop {
                match tok(i) {
                    Some("[") => {
                        return i.checked_sub(1).and_then(tok) == Some("in")
                            && i.checked_sub(2).and_then(tok) == Some("action");
                    }
                    Some(",") | Some("::") => {}
                    Some(_)
                        if sig.get(i).is_some_and(|t| {
                            matches!(t.kind, TokenKind::Ident | TokenKind::String)
                        }) => {}
                    _ => return false,
                }
                let Some(next) = i.checked_sub(1) else {
                    return false;
                };
                i = next;
            }
        }
        _ => false,
    }
}

/// The sig token before the `.` at `before - 1`'s path, to tell `].` and `).` apart.
fn prev_before_dot<'t>(policy: &Policy<'_>, sig: &[&'t Token], before: usize) -> Option<&'t Token> {
    let dot = before.checked_sub(1)?;
    let prev = sig.get(dot.checked_sub(1)?)?;
    matches!(policy.text(prev), "]" | ")" | "\"").then_some(*prev)
}

fn attribute_or_methods(
    policy: &Policy<'_>,
    ns: &NamespaceSchema,
    path: &[String],
    closer: Option<&Token>,
    out: &mut Out<'_>,
) {
    if closer.is_some() {
        set_methods(out);
        return;
    }
    if path.first().map(String::as_str) != Some("context") {
        set_methods(out);
        return;
    }
    let actions = policy.scope_actions(ns);
    let rest = path.get(1..).unwrap_or(&[]);
    if rest.is_empty() {
        context_attributes(&actions, rest, out);
        return;
    }
    match crate::context::attribute(&actions, rest) {
        Some(view) => match view.ty {
            AttrType::Record(_) => context_attributes(&actions, rest, out),
            AttrType::Set(_) => set_methods(out),
            _ => {}
        },
        None => set_methods(out),
    }
}

fn set_methods(out: &mut Out<'_>) {
    for (name, snippet, doc) in SET_METHODS {
        out.push_doc(
            name.to_owned(),
            CompletionItemKind::METHOD,
            Some("set method".into()),
            Some(doc.to_owned()),
            snippet.to_owned(),
            true,
        );
    }
}

fn context_attributes(
    actions: &[&atlas_cedar_core::schema::ActionInfo],
    path: &[String],
    out: &mut Out<'_>,
) {
    for (name, view) in attributes_at(actions, path) {
        let guard = if view.required {
            "always present".to_owned()
        } else {
            format!("optional: guard with `has {name}` before reading it")
        };
        out.push_doc(
            name.to_owned(),
            CompletionItemKind::FIELD,
            Some(format!(
                "{}{}",
                view.ty,
                if view.required { "" } else { " (optional)" }
            )),
            Some(format!(
                "{guard}\n\nin the context of: {}",
                view.actions.join(", ")
            )),
            name.to_owned(),
            false,
        );
    }
}

fn entity_types(ns: &NamespaceSchema, out: &mut Out<'_>) {
    let mut types: Vec<&str> = ns.entity_types.iter().map(String::as_str).collect();
    types.push("Action");
    types.sort_unstable();
    types.dedup();
    for t in types {
        out.push(
            t.to_owned(),
            CompletionItemKind::CLASS,
            Some(format!("entity type in {}", ns.name)),
            t.to_owned(),
        );
    }
}

/// Action literals, `Ns::Action::"name"`, for the namespace typed (or the body's).
fn actions(engine: &Engine, body_ns: &NamespaceSchema, typed_ns: Option<&str>, out: &mut Out<'_>) {
    let mut spaces: Vec<&NamespaceSchema> = Vec::new();
    match typed_ns.and_then(|n| engine.schemas.get(n)) {
        Some(n) => spaces.push(n),
        None => {
            spaces.push(body_ns);
            spaces.extend(
                engine
                    .schemas
                    .namespaces()
                    .filter(|n| n.name != body_ns.name),
            );
        }
    }
    for n in spaces {
        for a in n.actions.values() {
            let literal = format!("{}::Action::\"{}\"", n.name, a.name);
            out.push_doc(
                literal.clone(),
                CompletionItemKind::ENUM_MEMBER,
                Some(format!("action on {}", a.resource_types.join(", "))),
                Some(crate::hover::action_markdown(n, a)),
                literal,
                false,
            );
        }
    }
}

/// Ids of the entity type at the end of `path` (`[Ns, Type]` or `[Type]`).
fn ids_for_path(
    engine: &Engine,
    body_ns: &NamespaceSchema,
    path: &[String],
    close: &str,
    out: &mut Out<'_>,
) {
    let Some((ty, ns_path)) = path.split_last() else {
        return;
    };
    let ns = if ns_path.is_empty() {
        Some(body_ns)
    } else {
        engine.schemas.get(&ns_path.join("::"))
    };
    let Some(ns) = ns else { return };
    if ty == "Action" {
        for a in ns.actions.values() {
            out.push_doc(
                a.name.clone(),
                CompletionItemKind::ENUM_MEMBER,
                Some(format!("action on {}", a.resource_types.join(", "))),
                Some(crate::hover::action_markdown(ns, a)),
                format!("{}{close}", a.name),
                false,
            );
        }
        return;
    }
    let current = engine.catalog.current_type_name(&ns.name, ty);
    if current == "Region" {
        for r in engine.catalog.regions() {
            out.push_doc(
                r.id(),
                CompletionItemKind::VALUE,
                Some(r.location.clone()),
                Some(format!(
                    "{} region `{}` (Atlas name `{}`)",
                    r.provider, r.native_code, r.atlas_name
                )),
                format!("{}{close}", r.id()),
                false,
            );
        }
        // Ids added in atlas-cedar.toml.
        if let Some(ids) = engine.catalog.ids("Region") {
            for (id, desc) in ids {
                if engine.catalog.region(id).is_none() {
                    out.push(
                        id.clone(),
                        CompletionItemKind::VALUE,
                        Some(desc.clone()),
                        format!("{id}{close}"),
                    );
                }
            }
        }
    } else if let Some(ids) = engine.catalog.ids(current) {
        for (id, desc) in ids {
            out.push(
                id.clone(),
                CompletionItemKind::VALUE,
                Some(desc.clone()),
                format!("{id}{close}"),
            );
        }
    } else if OBJECT_ID_TYPES.contains(&current) {
        out.push_doc(
            "<24-hex id>".to_owned(),
            CompletionItemKind::TEXT,
            Some(format!("a {current} id from the Atlas UI")),
            Some(format!(
                "{current} ids are 24 lower-case hex digits, like `6217f7fff7957854e2d09179`"
            )),
            format!("6217f7fff7957854e2d09179{close}"),
            false,
        );
    }
}

fn snippets(req: &Request<'_>, out: &mut Out<'_>) {
    for (label, detail, body) in SNIPPETS {
        let insert = if req.snippets {
            body.to_owned()
        } else {
            snippet_to_plain(body)
        };
        out.push_doc(
            label.to_owned(),
            CompletionItemKind::SNIPPET,
            Some(detail.to_owned()),
            Some(format!("```cedar\n{}\n```", snippet_to_plain(body))),
            insert,
            req.snippets,
        );
    }
    for k in ["forbid", "permit"] {
        out.push(
            k.to_owned(),
            CompletionItemKind::KEYWORD,
            None,
            k.to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_snippet_is_a_valid_atlas_policy() {
        atlas_cedar_core::check::with_stack(|| {
            let engine = Engine::builtin().unwrap();
            for (label, _, body) in SNIPPETS {
                let text = snippet_to_plain(body);
                let r = engine.check_text("s.cedar", &text, atlas_cedar_core::InputKind::Cedar);
                assert!(
                    !r.has_errors(),
                    "{label}: {text}\n{:?}",
                    r.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
                );
            }
        });
    }

    #[test]
    fn snippets_become_plain_text() {
        assert_eq!(snippet_to_plain("a ${1:x} b ${2|p,q|} $0c"), "a x b p c");
    }
}
