//! Renderers: one diagnostic type in, several formats out.

use std::fmt::Write as _;

use atlas_cedar_core::text::{ColumnUnit, LineIndex};
use atlas_cedar_core::{rules, Diagnostic, FileReport, Severity};
use serde_json::{json, Value};

/// Where the rule documentation lives (for links in SARIF and the language server).
pub const DOCS_URL: &str = "https://github.com/atlas-cedar/atlas-cedar/blob/main/docs/rules.md";

/// 1-based start and end positions of a diagnostic, columns in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// Positions for a file's diagnostics, sharing one line index.
pub struct Locator<'a> {
    text: &'a str,
    index: LineIndex,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            index: LineIndex::new(text),
        }
    }

    pub fn position(&self, span: &std::ops::Range<usize>) -> Position {
        let s = self.index.line_col(self.text, span.start, ColumnUnit::Char);
        let e = self.index.line_col(self.text, span.end, ColumnUnit::Char);
        Position {
            line: s.line + 1,
            column: s.col + 1,
            end_line: e.line + 1,
            end_column: e.col + 1,
        }
    }
}

/// `--format json`: one object, documented in README ("JSON output").
pub fn json(reports: &[FileReport]) -> Value {
    let mut diags = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    for r in reports {
        let loc = Locator::new(&r.text);
        for d in &r.diagnostics {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
                Severity::Info => {}
            }
            let p = loc.position(&d.span);
            let fix = d.fix.as_ref().map(|f| {
                json!({
                    "title": f.title,
                    "edits": f.edits.iter().map(|e| {
                        let ep = loc.position(&e.span);
                        json!({
                            "line": ep.line, "column": ep.column,
                            "end_line": ep.end_line, "end_column": ep.end_column,
                            "replacement": e.replacement,
                        })
                    }).collect::<Vec<_>>(),
                })
            });
            diags.push(json!({
                "file": r.name,
                "line": p.line,
                "column": p.column,
                "end_line": p.end_line,
                "end_column": p.end_column,
                "code": d.rule.code,
                "rule": d.rule.name,
                "severity": d.severity.as_str(),
                "error_type": d.error_type().map(|e| e.as_str()),
                "message": d.message,
                "detail": d.atlas_detail(),
                "help": d.help,
                "fix": fix,
                "policy_index": d.body,
            }));
        }
    }
    json!({
        "version": 1,
        "diagnostics": diags,
        "summary": {
            "files": reports.len(),
            "policies": reports.iter().map(|r| r.bodies.len()).sum::<usize>(),
            "errors": errors,
            "warnings": warnings,
        }
    })
}

/// `--format gitlab`: a GitLab Code Quality report (an array of issues).
pub fn gitlab(reports: &[FileReport]) -> Value {
    use std::hash::{Hash, Hasher};
    let mut issues = Vec::new();
    for r in reports {
        let loc = Locator::new(&r.text);
        for d in &r.diagnostics {
            let p = loc.position(&d.span);
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&r.name, d.rule.code, p.line, p.column, &d.message).hash(&mut h);
            issues.push(json!({
                "description": format!("{}: {}", d.rule.code, d.message),
                "check_name": format!("{}({})", d.rule.code, d.rule.name),
                "fingerprint": format!("{:016x}", h.finish()),
                "severity": match d.severity {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                    Severity::Info => "info",
                },
                "location": {
                    "path": r.name,
                    "lines": { "begin": p.line, "end": p.end_line },
                },
            }));
        }
    }
    Value::Array(issues)
}

/// `--format github`: workflow commands that become annotations on the pull request.
pub fn github(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let loc = Locator::new(&r.text);
        for d in &r.diagnostics {
            let p = loc.position(&d.span);
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let title = match d.error_type() {
                Some(et) => format!("{} {} ({})", d.rule.code, d.rule.name, et.as_str()),
                None => format!("{} {}", d.rule.code, d.rule.name),
            };
            let mut msg = d.message.clone();
            if let Some(h) = &d.help {
                msg.push_str("\nhelp: ");
                msg.push_str(h);
            }
            let _ = writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                escape_property(&r.name),
                p.line,
                p.column,
                p.end_line,
                p.end_column,
                escape_property(&title),
                escape_data(&msg)
            );
        }
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `--format sarif`: SARIF 2.1.0, columns in Unicode code points.
pub fn sarif(reports: &[FileReport]) -> Value {
    let rule_list: Vec<Value> = rules::ALL
        .iter()
        .map(|r| {
            json!({
                "id": r.code,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.summary },
                "help": { "text": r.docs, "markdown": r.docs },
                "helpUri": format!("{DOCS_URL}#{}", r.code.to_ascii_lowercase()),
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": {
                    "errorType": r.error_type.map(|e| e.as_str()),
                    "tags": [if r.error_type.is_some() { "atlas" } else { "advice" }],
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    for r in reports {
        let loc = Locator::new(&r.text);
        for d in &r.diagnostics {
            let p = loc.position(&d.span);
            let index = rules::ALL.iter().position(|x| std::ptr::eq(*x, d.rule));
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str(". help: ");
                text.push_str(h);
            }
            let mut result = json!({
                "ruleId": d.rule.code,
                "ruleIndex": index,
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&r.name) },
                        "region": {
                            "startLine": p.line,
                            "startColumn": p.column,
                            "endLine": p.end_line,
                            "endColumn": p.end_column,
                        }
                    }
                }],
                "properties": { "errorType": d.error_type().map(|e| e.as_str()) },
            });
            if let (Some(fix), Some(obj)) = (&d.fix, result.as_object_mut()) {
                let replacements: Vec<Value> = fix
                    .edits
                    .iter()
                    .map(|e| {
                        let ep = loc.position(&e.span);
                        json!({
                            "deletedRegion": {
                                "startLine": ep.line, "startColumn": ep.column,
                                "endLine": ep.end_line, "endColumn": ep.end_column,
                            },
                            "insertedContent": { "text": e.replacement },
                        })
                    })
                    .collect();
                obj.insert(
                    "fixes".to_owned(),
                    json!([{
                        "description": { "text": fix.title },
                        "artifactChanges": [{
                            "artifactLocation": { "uri": uri(&r.name) },
                            "replacements": replacements,
                        }],
                    }]),
                );
            }
            results.push(result);
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "atlas-cedar",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/atlas-cedar/atlas-cedar",
                    "rules": rule_list,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative URI reference for a path: `/` kept, every byte outside RFC 3986's
/// unreserved set percent-encoded (spaces, `#`, `%`, non-ASCII …).
fn uri(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `--format atlas`: for each input Atlas would reject, its exact 400 body, one per line.
pub fn atlas(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        if let Some(resp) = atlas_cedar_core::atlas::response_for(r) {
            if let Ok(line) = serde_json::to_string(&resp) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

/// The human renderer: miette's graphical report for each diagnostic.
pub fn human(reports: &[FileReport], color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
        .with_width(100);
    let mut out = String::new();
    for r in reports {
        let loc = Locator::new(&r.text);
        for d in &r.diagnostics {
            let p = loc.position(&d.span);
            let wrapped = WithSource {
                diag: d,
                source: NamedText {
                    name: r.name.clone(),
                    text: &r.text,
                },
            };
            let mut s = String::new();
            if handler.render_report(&mut s, &wrapped).is_err() {
                s = format!(
                    "{}:{}:{}: {}: {}\n",
                    r.name, p.line, p.column, d.rule.code, d.message
                );
            }
            out.push_str(&s);
        }
    }
    out
}

/// A diagnostic with its file's text, for miette.
struct WithSource<'a> {
    diag: &'a Diagnostic,
    source: NamedText<'a>,
}

impl std::fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.diag, f)
    }
}

impl std::fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.diag, f)
    }
}

impl std::error::Error for WithSource<'_> {}

impl miette::Diagnostic for WithSource<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        miette::Diagnostic::code(self.diag)
    }
    fn severity(&self) -> Option<miette::Severity> {
        miette::Diagnostic::severity(self.diag)
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        miette::Diagnostic::help(self.diag)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        miette::Diagnostic::labels(self.diag)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
}

/// A file's text with its name, without copying the text.
struct NamedText<'a> {
    name: String,
    text: &'a str,
}

impl miette::SourceCode for NamedText<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(
            super::uri("p/régions #1.cedar"),
            "p/r%C3%A9gions%20%231.cedar"
        );
        assert_eq!(super::uri("a\\b_c-1.cedar"), "a/b_c-1.cedar");
    }
}
