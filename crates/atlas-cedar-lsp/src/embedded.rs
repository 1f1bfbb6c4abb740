//! Policy bodies embedded in another file: Terraform (`.tf`), CloudFormation
//! templates and Atlas payloads (`.json`).
//!
//! In such a document every feature answers only inside a literal policy body: the
//! request's position is mapped into the body (through escapes, heredoc and YAML
//! indentation, as diagnostics are mapped out of it), the feature runs on the body's
//! decoded text, and what it answers is mapped back to the file (through
//! [`crate::document::Host`]). Anywhere else the answer is empty: the rest of the
//! file is the host language's.

use atlas_cedar_core::iac;
use atlas_cedar_core::payload::{parse_payload, PayloadBody};
use atlas_cedar_core::text::LineIndex;
use atlas_cedar_core::InputKind;
use tower_lsp_server::ls_types::{CompletionItem, CompletionTextEdit, InsertTextFormat};

use crate::document::{Encoding, Host, Lines};

/// Whether a document's kind holds its policies inside another language.
pub fn is_hosted(kind: InputKind) -> bool {
    kind.is_embedded() || kind == InputKind::Payload
}

/// How text written into a body must be spelled in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// As it is: a heredoc, a YAML block or plain scalar.
    Literal,
    /// A JSON or YAML double-quoted string: `\\`, `\"`, `\n`, `\t`.
    Json,
    /// A Terraform quoted string: as JSON, and `$${` / `%%{` for template syntax.
    Hcl,
    /// A YAML single-quoted string: `''`.
    YamlSingle,
}

impl Quoting {
    /// `s` as it must be written inside the body's literal.
    pub fn escape(self, s: &str) -> String {
        if self == Quoting::Literal {
            return s.to_owned();
        }
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match (self, c) {
                (Quoting::YamlSingle, '\'') => out.push_str("''"),
                (Quoting::YamlSingle, _) => out.push(c),
                (_, '\\') => out.push_str("\\\\"),
                (_, '"') => out.push_str("\\\""),
                (_, '\n') => out.push_str("\\n"),
                (_, '\r') => out.push_str("\\r"),
                (_, '\t') => out.push_str("\\t"),
                (Quoting::Hcl, '$' | '%') if chars.peek() == Some(&'{') => {
                    out.push(c);
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out
    }
}

/// One literal body of a document.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// The resource it belongs to (empty in a payload).
    pub resource: String,
    /// The decoded body and its map to file offsets.
    pub body: PayloadBody,
    /// Line starts of the decoded body.
    pub index: LineIndex,
    pub quoting: Quoting,
}

impl Embedded {
    fn new(resource: String, body: PayloadBody, file: &str, kind: InputKind) -> Self {
        let start = body.map_offset(0);
        let before = file.get(..start).and_then(|s| s.chars().next_back());
        let opens = file
            .get(body.raw_span.clone())
            .and_then(|s| s.chars().next());
        let quote = |q: char| before == Some(q) || opens == Some(q);
        let quoting = if quote('"') {
            if kind == InputKind::Terraform {
                Quoting::Hcl
            } else {
                Quoting::Json
            }
        } else if kind == InputKind::CloudFormation && quote('\'') {
            Quoting::YamlSingle
        } else {
            Quoting::Literal
        };
        Embedded {
            resource,
            index: LineIndex::new(&body.text),
            body,
            quoting,
        }
    }

    /// The file offsets the body spans: from its first character to just after its
    /// last.
    pub fn file_span(&self) -> (usize, usize) {
        (
            self.body.map_offset(0),
            self.body.map_offset(self.body.text.len()),
        )
    }

    /// Whether the file offset `at` is inside this body (see [`body_offset`]).
    pub fn contains(&self, at: usize) -> bool {
        body_offset(&self.body, &self.body.text, at).is_some()
    }

    /// The body's text with positions in `file` (whose line index is `index`).
    pub fn lines<'a>(
        &'a self,
        file: &'a str,
        index: &'a LineIndex,
        encoding: Encoding,
    ) -> Lines<'a> {
        Lines {
            text: &self.body.text,
            index: &self.index,
            encoding,
            host: Some(Host {
                text: file,
                index,
                body: &self.body,
            }),
        }
    }
}

/// The literal policy bodies of a document of kind `kind`, in file order. A file
/// that does not parse has none (its syntax errors are the host language's).
/// Run it on the checker thread: the HCL and YAML parsers recurse.
pub fn extract(text: &str, kind: InputKind) -> Vec<Embedded> {
    let kind = kind.of_text(text);
    if !kind.may_hold_policies(text) {
        return Vec::new();
    }
    let found: Vec<(String, PayloadBody)> = match kind {
        InputKind::Terraform => iac::terraform(text)
            .map(|e| e.bodies.into_iter().map(|b| (b.resource, b.body)).collect())
            .unwrap_or_default(),
        InputKind::CloudFormation => iac::cloudformation(text)
            .map(|e| e.bodies.into_iter().map(|b| (b.resource, b.body)).collect())
            .unwrap_or_default(),
        InputKind::Payload => parse_payload(text)
            .map(|bs| bs.into_iter().map(|b| (String::new(), b)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut out: Vec<Embedded> = found
        .into_iter()
        .map(|(resource, body)| Embedded::new(resource, body, text, kind))
        .collect();
    out.sort_by_key(|e| e.file_span());
    out
}

/// The body offset of the file offset `at`, `None` outside the body: the last body
/// character that starts at or before `at` (`map_offset` never decreases), so a
/// position inside an escape is the escaped character's. Just after the last
/// character is inside (the cursor at the end of a quoted body), unless that is a
/// line break: then it is the start of the heredoc's closing marker's line, or of
/// the YAML line after a block scalar.
pub fn body_offset(body: &PayloadBody, text: &str, at: usize) -> Option<usize> {
    let end = body.map_offset(text.len());
    if at < body.map_offset(0) || at > end || (at == end && text.ends_with('\n')) {
        return None;
    }
    // Invariant: map_offset(lo) <= at, and the answer is in lo..=hi.
    let (mut lo, mut hi) = (0, text.len());
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if body.map_offset(mid) <= at {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    while !text.is_char_boundary(lo) {
        lo -= 1;
    }
    // In indentation the body does not have (a `<<-` heredoc's, a YAML block's): at
    // the start of the line's text, not the end of the line before.
    if body.map_offset(lo) < at && text.get(lo..).is_some_and(|t| t.starts_with('\n')) {
        return Some(lo + 1);
    }
    Some(lo)
}

/// Completion items computed on a body's text, spelled for its literal: inserted
/// text (and the text filtered on) is escaped as the file needs. Snippets are
/// already plain text where escaping applies (their `$` syntax cannot be escaped).
pub fn escape_items(items: &mut [CompletionItem], quoting: Quoting) {
    if quoting == Quoting::Literal {
        return;
    }
    for item in items {
        if let Some(CompletionTextEdit::Edit(edit)) = &mut item.text_edit {
            edit.new_text = quoting.escape(&edit.new_text);
        }
        if let Some(f) = &mut item.filter_text {
            *f = quoting.escape(f);
        }
        if let Some(t) = &mut item.insert_text {
            *t = quoting.escape(t);
        }
        item.insert_text_format = Some(InsertTextFormat::PLAIN_TEXT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TF: &str = "resource \"mongodbatlas_resource_policy\" \"r\" {\n  policies = [\n    {\n      body = <<-EOF\n        forbid (principal, action, resource)\n        when { context.a == \"b\" };\n      EOF\n    },\n    { body = \"permit (principal, action, resource)\\nwhen { context.x == \\\"y\\\" };\" },\n  ]\n}\n";

    #[test]
    fn heredoc_and_quoted_bodies_map_both_ways() {
        let found = extract(TF, InputKind::Terraform);
        assert_eq!(found.len(), 2);
        let [heredoc, quoted] = [&found[0], &found[1]];
        assert_eq!(heredoc.quoting, Quoting::Literal);
        assert_eq!(quoted.quoting, Quoting::Hcl);
        assert_eq!(heredoc.resource, "mongodbatlas_resource_policy.r");
        // Every body character round-trips through the file.
        for e in &found {
            for (i, _) in e.body.text.char_indices() {
                let at = e.body.map_offset(i);
                assert_eq!(body_offset(&e.body, &e.body.text, at), Some(i), "{i}");
            }
        }
        // `forbid` in the file is `forbid` in the body.
        let at = TF.find("forbid").unwrap_or(0);
        assert_eq!(body_offset(&heredoc.body, &heredoc.body.text, at), Some(0));
        // Inside `\"y\"`: the backslash and the quote are the same body character.
        let esc = TF.find("\\\"y").unwrap_or(0);
        let q = quoted.body.text.find("\"y").unwrap_or(0);
        assert_eq!(body_offset(&quoted.body, &quoted.body.text, esc), Some(q));
        assert_eq!(
            body_offset(&quoted.body, &quoted.body.text, esc + 1),
            Some(q)
        );
        // In the stripped indentation: the start of the line's text.
        let when = heredoc.body.text.find("when").unwrap();
        let indent = TF.find("        when").unwrap() + 3;
        assert_eq!(
            body_offset(&heredoc.body, &heredoc.body.text, indent),
            Some(when)
        );
        // Outside every body.
        for word in ["resource", "policies", "body =", "EOF\n    }"] {
            let at = TF.find(word).unwrap_or(0);
            assert!(!found.iter().any(|e| e.contains(at)), "{word}");
        }
    }

    #[test]
    fn positions_come_back_in_the_file() {
        let found = extract(TF, InputKind::Terraform);
        let index = LineIndex::new(TF);
        let lines = found[0].lines(TF, &index, Encoding::Utf16);
        // `when` is on line 5 (0-based), after 8 columns of indentation.
        let when = found[0].body.text.find("when").unwrap_or(0);
        let p = lines.position(when);
        assert_eq!((p.line, p.character), (5, 8));
        assert_eq!(lines.offset(p), Some(when));
        assert_eq!(
            lines.offset(tower_lsp_server::ls_types::Position::new(0, 2)),
            None
        );
    }

    #[test]
    fn escaping_follows_the_literal() {
        let s = "a \"b\"\n\\ ${x} 'c'";
        assert_eq!(Quoting::Literal.escape(s), s);
        assert_eq!(Quoting::Json.escape(s), "a \\\"b\\\"\\n\\\\ ${x} 'c'");
        assert_eq!(Quoting::Hcl.escape(s), "a \\\"b\\\"\\n\\\\ $${x} 'c'");
        assert_eq!(Quoting::YamlSingle.escape(s), "a \"b\"\n\\ ${x} ''c''");
    }

    #[test]
    fn payloads_and_templates_have_bodies_and_cedar_has_none() {
        let payload = "{\"policies\": [{\"body\": \"forbid (principal, action, resource);\"}]}";
        let found = extract(payload, InputKind::Payload);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].quoting, Quoting::Json);
        let yaml = "Resources:\n  R:\n    Type: MongoDB::Atlas::ResourcePolicy\n    Properties:\n      Policies:\n        - Body: |\n            forbid (principal, action, resource);\n";
        let found = extract(yaml, InputKind::CloudFormation);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].quoting, Quoting::Literal);
        assert!(extract("variable \"x\" {\n", InputKind::Terraform).is_empty());
        assert!(extract("forbid (principal, action, resource);", InputKind::Cedar).is_empty());
    }
}
