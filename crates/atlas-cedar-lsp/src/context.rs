//! Where the cursor is: the policy around it, its tokens, the namespace and actions
//! it is about, and the schema's view of a `context.…` path. Works on half-typed text
//! (the core's lexer never fails).

use std::collections::BTreeMap;
use std::ops::Range;

use atlas_cedar_core::check::entity_refs;
use atlas_cedar_core::lexer::{lex, Token, TokenKind};
use atlas_cedar_core::schema::{ActionInfo, AttrType, Attribute, NamespaceSchema};
use atlas_cedar_core::split::split_policies;
use atlas_cedar_core::Engine;

/// Larger documents are only lexed around the cursor.
const WINDOW: usize = 256 * 1024;

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The part of `text` that is lexed to find the policy at `offset`.
fn window(text: &str, offset: usize) -> Range<usize> {
    if text.len() <= 4 * WINDOW {
        return 0..text.len();
    }
    let mut start = floor_boundary(text, offset.saturating_sub(WINDOW));
    if start > 0 {
        // Start at a line start so that the splitter sees `forbid (` at line starts.
        start = text
            .get(start..)
            .and_then(|t| t.find('\n'))
            .map_or(start, |n| start + n + 1);
    }
    let end = floor_boundary(text, offset.saturating_add(WINDOW / 4));
    start.min(offset)..end.max(offset)
}

/// The policy around a byte offset: its text, tokens and where the cursor is in it.
#[derive(Debug)]
pub struct Policy<'a> {
    /// The body (from its first token up to the cursor or its `;`).
    pub body: &'a str,
    /// Where the body starts in the document.
    pub base: usize,
    /// The cursor, relative to `body`.
    pub rel: usize,
    pub tokens: Vec<Token>,
}

impl<'a> Policy<'a> {
    /// The policy the cursor is in (an unterminated one extends to the cursor), or
    /// `None` between policies.
    pub fn at(text: &'a str, offset: usize) -> Option<Policy<'a>> {
        let offset = floor_boundary(text, offset);
        let w = window(text, offset);
        let wtext = text.get(w.clone())?;
        let rel = offset.checked_sub(w.start)?;
        let tokens = lex(wtext);
        let spans = split_policies(wtext, &tokens);
        let span = spans.iter().rev().find(|s| s.start <= rel)?;
        let terminated = wtext.get(span.clone()).is_some_and(|b| b.ends_with(';'));
        if terminated && rel >= span.end {
            return None;
        }
        let end = span.end.max(rel);
        let body = wtext.get(span.start..end)?;
        Some(Policy {
            body,
            base: w.start + span.start,
            rel: rel - span.start,
            tokens: lex(body),
        })
    }

    /// Every policy's span in the document (for symbols and folding).
    pub fn spans(text: &str) -> Vec<Range<usize>> {
        split_policies(text, &lex(text))
    }

    pub fn sig(&self) -> Vec<&Token> {
        self.tokens.iter().filter(|t| !t.is_trivia()).collect()
    }

    pub fn text(&self, t: &Token) -> &'a str {
        t.text(self.body)
    }

    /// The token the cursor is in or just after (for hover and definition).
    pub fn token_at(&self) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|t| t.span.start <= self.rel && self.rel < t.span.end)
            .filter(|t| !t.is_trivia())
            .or_else(|| {
                self.tokens.iter().find(|t| {
                    t.span.end == self.rel && matches!(t.kind, TokenKind::Ident | TokenKind::String)
                })
            })
    }

    /// Whether the cursor is inside a comment.
    pub fn in_comment(&self) -> bool {
        self.tokens.iter().any(|t| {
            t.kind == TokenKind::Comment && t.span.start < self.rel && self.rel <= t.span.end
        })
    }

    /// The namespace the body uses (the default one when it names none).
    pub fn namespace<'e>(&self, engine: &'e Engine) -> Option<&'e NamespaceSchema> {
        let sig = self.sig();
        engine
            .namespace_of(self.body, &sig)
            .or_else(|| engine.schemas.default_namespace())
    }

    /// The actions the policy's scope names (`action == …`, `action in [...]`), or all
    /// of the namespace's actions when the scope does not constrain them.
    pub fn scope_actions<'e>(&self, ns: &'e NamespaceSchema) -> Vec<&'e ActionInfo> {
        let sig = self.sig();
        let scope = scope_tokens(self.body, &sig);
        let named: Vec<&'e ActionInfo> = entity_refs(self.body, scope)
            .into_iter()
            .filter(|r| r.path.last().is_some_and(|t| t == "Action"))
            .filter_map(|r| ns.actions.get(&r.id))
            .collect();
        if named.is_empty() {
            ns.actions.values().collect()
        } else {
            named
        }
    }
}

/// The tokens between the effect's `(` and its matching `)`.
fn scope_tokens<'t, 's>(body: &str, sig: &'s [&'t Token]) -> &'s [&'t Token] {
    let Some(open) = sig.iter().position(|t| t.text(body) == "(") else {
        return &[];
    };
    let mut depth = 0usize;
    let mut close = sig.len();
    for (i, t) in sig.iter().enumerate().skip(open) {
        match t.text(body) {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    close = i;
                    break;
                }
            }
            _ => {}
        }
    }
    sig.get(open + 1..close).unwrap_or(&[])
}

/// The `a.b.c` path ending just before sig token `end` (exclusive), read backwards
/// over `Ident (. Ident)*`. Returns the names from the root.
pub fn access_path_before(body: &str, sig: &[&Token], end: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = end;
    while let Some(t) = i.checked_sub(1).and_then(|p| sig.get(p)) {
        if t.kind != TokenKind::Ident {
            break;
        }
        out.push(t.text(body).to_owned());
        i -= 1;
        match i.checked_sub(1).and_then(|p| sig.get(p)) {
            Some(dot) if dot.text(body) == "." => i -= 1,
            _ => break,
        }
    }
    out.reverse();
    out
}

/// The `Ns::Type` path ending just before sig token `end` (which follows a `::`),
/// read backwards over `Ident (:: Ident)*`. Returns the names from the root.
pub fn entity_path_before(body: &str, sig: &[&Token], end: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = end;
    loop {
        match i.checked_sub(1).and_then(|p| sig.get(p)) {
            Some(sep) if sep.text(body) == "::" => i -= 1,
            _ => break,
        }
        let Some(t) = i
            .checked_sub(1)
            .and_then(|p| sig.get(p))
            .filter(|t| t.kind == TokenKind::Ident)
        else {
            break;
        };
        out.push(t.text(body).to_owned());
        i -= 1;
    }
    out.reverse();
    out
}

/// One attribute as seen by several actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrView<'e> {
    pub ty: &'e AttrType,
    /// Required in every action that has it.
    pub required: bool,
    pub actions: Vec<&'e str>,
}

/// The record at `path` in an action's context.
fn record_at<'e>(
    mut rec: &'e BTreeMap<String, Attribute>,
    path: &[String],
) -> Option<&'e BTreeMap<String, Attribute>> {
    for seg in path {
        match &rec.get(seg)?.ty {
            AttrType::Record(inner) => rec = inner,
            _ => return None,
        }
    }
    Some(rec)
}

/// The attributes of the record at `path` (below `context`) across `actions`.
pub fn attributes_at<'e>(
    actions: &[&'e ActionInfo],
    path: &[String],
) -> BTreeMap<&'e str, AttrView<'e>> {
    let mut out: BTreeMap<&'e str, AttrView<'e>> = BTreeMap::new();
    for a in actions {
        let Some(rec) = record_at(&a.context, path) else {
            continue;
        };
        for (name, attr) in rec {
            let view = out.entry(name.as_str()).or_insert(AttrView {
                ty: &attr.ty,
                required: true,
                actions: Vec::new(),
            });
            view.required &= attr.required;
            view.actions.push(a.name.as_str());
        }
    }
    out
}

/// The attribute at `path` (below `context`, non-empty) across `actions`.
pub fn attribute<'e>(actions: &[&'e ActionInfo], path: &[String]) -> Option<AttrView<'e>> {
    let (last, parent) = path.split_last()?;
    attributes_at(actions, parent).remove(last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_policy_around_the_cursor() {
        let text = "forbid (principal, action, resource);\n// c\nforbid (principal, action == ";
        let p = Policy::at(text, text.len()).unwrap_or_else(|| unreachable!());
        assert_eq!(p.body, "forbid (principal, action == ");
        assert!(Policy::at(text, text.find(';').unwrap_or(0) + 1).is_none());
        let inside = Policy::at(text, 3).unwrap_or_else(|| unreachable!());
        assert_eq!(inside.base, 0);
    }
}
