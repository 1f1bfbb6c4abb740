//! Hover: what an action governs and its context attributes, an attribute's type and
//! whether it needs a `has` guard, what an entity id (a region's location) is.

use std::collections::BTreeMap;

use atlas_cedar_core::catalog::OBJECT_ID_TYPES;
use atlas_cedar_core::check::entity_refs;
use atlas_cedar_core::lexer::TokenKind;
use atlas_cedar_core::schema::{ActionInfo, AttrType, Attribute, NamespaceSchema};
use atlas_cedar_core::Engine;
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use crate::context::{access_path_before, attribute, attributes_at, entity_path_before, Policy};
use crate::document::Lines;

/// What each built-in action governs.
const GOVERNS: [(&str, &str); 11] = [
    ("cluster.modify", "creating or changing a cluster: cloud provider, regions, tier, disk, TLS, sharding, encryption"),
    ("search.index.modify", "creating or changing an Atlas Search or Vector Search index (deleting one is always allowed)"),
    ("search.deployment.modify", "creating, changing or removing dedicated search nodes"),
    ("project.ipAccessList.modify", "changes to a project's IP access list"),
    ("project.maintenanceWindow.modify", "setting or clearing a project's maintenance window"),
    ("project.vpcPeering.modify", "creating or changing a project's VPC peering connections"),
    ("project.privateEndpoint.modify", "creating or changing a project's private endpoints"),
    ("project.aiModelAPI.modify", "creating model API keys for the Embedding & Reranking API"),
    ("project.rerank.modify", "enabling or changing reranking in a project"),
    ("cluster.createEdit", "legacy name of `cluster.modify` (2024 private preview)"),
    ("project.edit", "legacy project action of the 2024 private preview"),
];

fn flatten(prefix: &str, attrs: &BTreeMap<String, Attribute>, out: &mut Vec<String>) {
    for (name, a) in attrs {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match &a.ty {
            AttrType::Record(inner) => {
                if !a.required {
                    out.push(format!(
                        "- `{path}`: Record (optional: needs a `has` guard)"
                    ));
                }
                flatten(&path, inner, out);
            }
            ty => out.push(format!(
                "- `{path}`: {ty}{}",
                if a.required {
                    ""
                } else {
                    " (optional: needs a `has` guard)"
                }
            )),
        }
    }
}

/// Markdown describing an action.
pub fn action_markdown(ns: &NamespaceSchema, a: &ActionInfo) -> String {
    let governs = GOVERNS.iter().find(|(n, _)| *n == a.name).map_or_else(
        || format!("the `{}` operation", a.name),
        |(_, g)| (*g).to_owned(),
    );
    let mut lines = vec![
        format!("**`{}::Action::\"{}\"`**", ns.name, a.name),
        String::new(),
        format!("Governs {governs}."),
        String::new(),
        format!(
            "Applies to principal {} and resource {}.",
            a.principal_types.join(", "),
            a.resource_types.join(", ")
        ),
    ];
    if !a.context.is_empty() {
        lines.push(String::new());
        lines.push("Context attributes (`context.…`):".to_owned());
        flatten("", &a.context, &mut lines);
    }
    lines.join("\n")
}

fn attribute_markdown(path: &[String], view: &crate::context::AttrView<'_>) -> String {
    let (last, parent) = path
        .split_last()
        .map_or(("", &[][..]), |(l, p)| (l.as_str(), p));
    let guard = if view.required {
        "Always present: no `has` guard needed.".to_owned()
    } else {
        let owner = std::iter::once("context")
            .chain(parent.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".");
        format!("Optional: needs a `has` guard, e.g. `{owner} has {last} && {owner}.{last} …`.")
    };
    format!(
        "**`context.{}`**: `{}`\n\n{guard}\n\nIn the context of: {}.",
        path.join("."),
        view.ty,
        view.actions.join(", ")
    )
}

/// The hover at `offset`, if the token there means something to Atlas.
pub fn hover(engine: &Engine, lines: &Lines<'_>, offset: usize) -> Option<Hover> {
    let policy = Policy::at(lines.text, offset)?;
    let tok = policy.token_at()?.clone();
    let sig = policy.sig();
    let idx = sig.iter().position(|t| t.span == tok.span)?;
    let ns = policy.namespace(engine)?;
    let text = policy.text(&tok);
    let markdown = match tok.kind {
        TokenKind::String => {
            let path = entity_path_before(policy.body, &sig, idx);
            let (ty, ns_path) = path.split_last()?;
            let target = if ns_path.is_empty() {
                ns
            } else {
                engine.schemas.get(&ns_path.join("::"))?
            };
            let r = entity_refs(policy.body, &sig)
                .into_iter()
                .find(|r| r.id_span == tok.span)?;
            if ty == "Action" {
                match target.actions.get(&r.id) {
                    Some(a) => action_markdown(target, a),
                    None => format!("`{}` is not an action of `{}`", r.id, target.name),
                }
            } else {
                let current = engine.catalog.current_type_name(&target.name, ty);
                if let Some(region) = engine.catalog.region(&r.id).filter(|_| current == "Region") {
                    format!(
                        "**Region `{}`**: {}\n\n{} region `{}`, Atlas name `{}`.",
                        r.id,
                        region.location,
                        region.provider,
                        region.native_code,
                        region.atlas_name
                    )
                } else if let Some(ids) = engine.catalog.ids(current) {
                    match ids.get(&r.id) {
                        Some(desc) => format!("**{current} `{}`**: {desc}", r.id),
                        None => format!(
                            "`{}` is not a known {current} id; known: {}",
                            r.id,
                            ids.keys()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }
                } else if OBJECT_ID_TYPES.contains(&current) {
                    format!("**{current} `{}`**: a 24-hex Atlas id", r.id)
                } else {
                    return None;
                }
            }
        }
        TokenKind::Ident => {
            let next = sig.get(idx + 1).map(|t| policy.text(t));
            let prev = idx
                .checked_sub(1)
                .and_then(|i| sig.get(i))
                .map(|t| policy.text(t));
            if next == Some("::") {
                let mut path = entity_path_before(policy.body, &sig, idx + 1);
                if path.is_empty() {
                    path.push(text.to_owned());
                }
                if path.len() == 1 && engine.schemas.get(text).is_some() {
                    format!("namespace `{text}`")
                } else {
                    let (_, ns_path) = path.split_last()?;
                    let target = if ns_path.is_empty() {
                        ns
                    } else {
                        engine.schemas.get(&ns_path.join("::"))?
                    };
                    entity_type_markdown(engine, target, text)
                }
            } else if prev == Some(".") || text == "context" || prev == Some("has") {
                let path = if prev == Some("has") {
                    let mut p = access_path_before(policy.body, &sig, idx.saturating_sub(1));
                    p.push(text.to_owned());
                    p
                } else {
                    access_path_before(policy.body, &sig, idx + 1)
                };
                if path.first().map(String::as_str) != Some("context") {
                    return None;
                }
                let actions = policy.scope_actions(ns);
                let rest = path.get(1..).unwrap_or(&[]);
                if rest.is_empty() {
                    let attrs = attributes_at(&actions, rest);
                    format!(
                        "**`context`** of {}: {}",
                        actions
                            .iter()
                            .map(|a| a.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        attrs
                            .keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    match attribute(&actions, rest) {
                        Some(view) => attribute_markdown(rest, &view),
                        None => format!(
                            "`context.{}` is not in the context of {}",
                            rest.join("."),
                            actions
                                .iter()
                                .map(|a| a.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }
                }
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: markdown,
        }),
        range: Some(lines.range(&(policy.base + tok.span.start..policy.base + tok.span.end))),
    })
}

fn entity_type_markdown(engine: &Engine, ns: &NamespaceSchema, ty: &str) -> String {
    if ty == "Action" {
        return format!(
            "**`{}::Action`**: {}",
            ns.name,
            ns.actions
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let known = ns.entity_types.iter().any(|t| t == ty);
    let current = engine.catalog.current_type_name(&ns.name, ty);
    let mut s = format!(
        "**entity type `{}::{ty}`**{}",
        ns.name,
        if known { "" } else { " (not in the schema)" }
    );
    if let Some(ids) = engine.catalog.ids(current) {
        let shown: Vec<String> = ids.keys().take(8).map(|k| format!("`{k}`")).collect();
        s.push_str(&format!(
            "\n\n{} known ids: {}{}",
            ids.len(),
            shown.join(", "),
            if ids.len() > shown.len() { ", …" } else { "" }
        ));
    } else if OBJECT_ID_TYPES.contains(&current) {
        s.push_str("\n\nids are 24-hex Atlas ids");
    }
    s
}
