//! Core diagnostics and fixes as LSP diagnostics and code actions.

use std::collections::HashMap;
use std::str::FromStr;

use atlas_cedar_core::{Diagnostic, Severity};
use serde_json::json;
use tower_lsp_server::ls_types::{
    self as lsp, CodeAction, CodeActionKind, CodeDescription, DiagnosticSeverity, NumberOrString,
    TextEdit, Uri, WorkspaceEdit,
};

use crate::document::Lines;

/// What every diagnostic's `source` says.
pub const SOURCE: &str = "atlas-cedar";
/// Where the rules are documented; `#<code in lower case>` is appended.
pub const RULES_URL: &str = "https://github.com/atlas-cedar/atlas-cedar/blob/main/docs/rules.md";

/// The documentation link of a rule code.
pub fn rule_url(code: &str) -> Option<Uri> {
    Uri::from_str(&format!("{RULES_URL}#{}", code.to_ascii_lowercase())).ok()
}

/// An LSP diagnostic: the rule code, a link to its docs, the help line appended to
/// the message, and the Atlas `errorType`, rule name, Atlas `detail` and fix title in
/// `data`.
pub fn diagnostic(d: &Diagnostic, lines: &Lines<'_>) -> lsp::Diagnostic {
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    lsp::Diagnostic {
        range: lines.range(&d.span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.rule.code.to_owned())),
        code_description: rule_url(d.rule.code).map(|href| CodeDescription { href }),
        source: Some(SOURCE.to_owned()),
        message,
        related_information: None,
        tags: None,
        data: Some(json!({
            "rule": d.rule.name,
            "errorType": d.error_type().map(|e| e.as_str()),
            "detail": d.atlas_detail(),
            "fix": d.fix.as_ref().map(|f| f.title.as_str()),
        })),
    }
}

fn overlaps(a: &lsp::Range, b: &lsp::Range) -> bool {
    let key = |p: &lsp::Position| (p.line, p.character);
    key(&a.start) <= key(&b.end) && key(&b.start) <= key(&a.end)
}

/// Quick fixes for the diagnostics overlapping `range`.
pub fn code_actions(
    uri: &Uri,
    diags: &[Diagnostic],
    range: &lsp::Range,
    lines: &Lines<'_>,
) -> Vec<CodeAction> {
    let mut out = Vec::new();
    for d in diags {
        let Some(fix) = &d.fix else { continue };
        let lsp_diag = diagnostic(d, lines);
        if !overlaps(&lsp_diag.range, range) {
            continue;
        }
        let edits = fix
            .edits
            .iter()
            .map(|e| TextEdit {
                range: lines.range(&e.span),
                new_text: e.replacement.clone(),
            })
            .collect();
        out.push(CodeAction {
            title: fix.title.clone(),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![lsp_diag]),
            edit: Some(WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), edits)])),
                ..WorkspaceEdit::default()
            }),
            command: None,
            is_preferred: Some(true),
            disabled: None,
            data: None,
        });
    }
    out
}
