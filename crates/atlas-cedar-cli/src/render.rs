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
///
/// Columns count characters from a checkpoint on the same line (the nearest position
/// already converted before the offset), not from the line start: a one-line 1 MB
/// payload with thousands of findings costs linear time, not quadratic.
pub struct Locator<'a> {
    text: &'a str,
    index: LineIndex,
    /// Converted offsets: offset → (0-based line, 0-based column in chars).
    known: std::cell::RefCell<std::collections::BTreeMap<usize, (usize, usize)>>,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            index: LineIndex::new(text),
            known: std::cell::RefCell::new(std::collections::BTreeMap::new()),
        }
    }

    /// The 0-based line and column (in chars) of a byte offset (clamped to the text,
    /// rounded down to a character boundary).
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.index.line_col(self.text, offset, ColumnUnit::Utf8);
        let line_start = offset - line.col;
        let mut known = self.known.borrow_mut();
        let from = known
            .range(line_start..=offset)
            .next_back()
            .map(|(o, (_, c))| (*o, *c))
            .unwrap_or((line_start, 0));
        let col = from.1
            + self
                .text
                .get(from.0..offset)
                .map_or(0, |s| s.chars().count());
        known.insert(offset, (line.line, col));
        (line.line, col)
    }

    pub fn position(&self, span: &std::ops::Range<usize>) -> Position {
        let s = self.line_col(span.start);
        let e = self.line_col(span.end);
        Position {
            line: s.0 + 1,
            column: s.1 + 1,
            end_line: e.0 + 1,
            end_column: e.1 + 1,
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

/// Longest piece of a source line shown under a finding, in bytes (a longer line is
/// shown as an excerpt around the span, marked with `…`).
pub const EXCERPT_BYTES: usize = 160;
/// Lines of a multi-line span shown; the label stops at the last of them.
pub const SPAN_LINES: usize = 6;
/// Findings of one rule shown in full per policy; the rest are counted.
pub const SHOWN_PER_RULE: usize = 10;
/// Longest message or help shown, in characters.
pub const MESSAGE_CHARS: usize = 1000;

/// The human renderer: miette's graphical report for each diagnostic, over an excerpt
/// of the lines around its span, so that the output per finding is bounded whatever
/// the file (a 1 MB line, a 10,000-line span, wide characters).
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
        let lines = LineIndex::new(&r.text);
        let mut seen: std::collections::HashMap<(Option<usize>, &str), usize> =
            std::collections::HashMap::new();
        let mut omitted: std::collections::BTreeMap<(Option<usize>, &str), usize> =
            std::collections::BTreeMap::new();
        for d in &r.diagnostics {
            let key = (d.body, d.rule.code);
            let n = seen.entry(key).or_default();
            *n += 1;
            if *n > SHOWN_PER_RULE {
                *omitted.entry(key).or_default() += 1;
                continue;
            }
            let p = loc.position(&d.span);
            let excerpt = Excerpt::new(&r.text, &lines, d, p.column - 1);
            let wrapped = WithSource {
                diag: d,
                source: excerpt.source(&r.name),
                labels: excerpt.labels,
            };
            let mut s = String::new();
            if handler.render_report(&mut s, &wrapped).is_err() {
                s = format!(
                    "{}:{}:{}: {}: {}\n",
                    r.name,
                    p.line,
                    p.column,
                    d.rule.code,
                    clamp(&d.message)
                );
            }
            out.push_str(&s);
        }
        for ((body, code), n) in omitted {
            let place = match body {
                Some(i) => format!("policy {} of {}", i + 1, r.name),
                None => r.name.clone(),
            };
            let _ = writeln!(
                out,
                "… and {n} more {code} finding{} in {place} (`--format json` lists every one)\n",
                if n == 1 { "" } else { "s" }
            );
        }
    }
    out
}

/// At most [`MESSAGE_CHARS`] of a message, with the count of the rest.
fn clamp(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(MESSAGE_CHARS) {
        None => std::borrow::Cow::Borrowed(s),
        Some((cut, _)) => std::borrow::Cow::Owned(format!(
            "{}… ({} more characters)",
            s.get(..cut).unwrap_or(""),
            s.get(cut..).map_or(0, |r| r.chars().count())
        )),
    }
}

/// The lines around a diagnostic, each cut to a window of at most [`EXCERPT_BYTES`],
/// with the diagnostic's labels moved into the excerpt's offsets.
struct Excerpt {
    text: String,
    /// 0-based line number of the excerpt's first line in the file.
    first_line: usize,
    /// The excerpt line holding the primary span's start, and what to add to a column
    /// there to get the file's column.
    start_line: usize,
    column_shift: isize,
    labels: Vec<miette::LabeledSpan>,
}

impl Excerpt {
    fn new(text: &str, lines: &LineIndex, d: &Diagnostic, start_column: usize) -> Self {
        use atlas_cedar_core::text::LineCol;
        let floor = |mut o: usize| {
            o = o.min(text.len());
            while o > 0 && !text.is_char_boundary(o) {
                o -= 1;
            }
            o
        };
        let line_of = |o: usize| lines.line_col(text, o, ColumnUnit::Utf8).line;
        let line_start = |l: usize| {
            lines
                .offset(text, LineCol { line: l, col: 0 }, ColumnUnit::Utf8)
                .unwrap_or(text.len())
        };
        let line_end = |l: usize| {
            let next = lines
                .offset(
                    text,
                    LineCol {
                        line: l + 1,
                        col: 0,
                    },
                    ColumnUnit::Utf8,
                )
                .map_or(text.len(), |n| n.saturating_sub(1));
            if text.as_bytes().get(next.wrapping_sub(1)) == Some(&b'\r') && next > line_start(l) {
                next - 1
            } else {
                next
            }
        };
        let start = floor(d.span.start);
        let end = floor(d.span.end.max(d.span.start));
        let l0 = line_of(start);
        let l1 = line_of(end).min(l0 + SPAN_LINES - 1);
        let last_line = line_of(text.len());
        let first = l0.saturating_sub(1);
        let last = (l1 + 1).min(last_line);
        let mut excerpt = String::new();
        // Per excerpt line: (file window start, window end, excerpt offset of window start).
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        let mut start_line = 0;
        let mut column_shift = 0isize;
        for l in first..=last {
            let (ls, le) = (line_start(l), line_end(l).max(line_start(l)));
            let anchor = if l == l0 {
                start
            } else if l == l1 {
                end
            } else {
                ls
            };
            let (ws, we) = if le - ls <= EXCERPT_BYTES {
                (ls, le)
            } else {
                let mut ws = anchor.saturating_sub(EXCERPT_BYTES / 3).max(ls);
                while ws < le && !text.is_char_boundary(ws) {
                    ws += 1;
                }
                let mut we = (ws + EXCERPT_BYTES).min(le);
                while we > ws && !text.is_char_boundary(we) {
                    we -= 1;
                }
                (ws, we)
            };
            if l > first {
                excerpt.push('\n');
            }
            if ws > ls {
                excerpt.push('…');
            }
            let base = excerpt.len();
            // miette takes a lone CR for a line break; the file's lines end at LF.
            excerpt.push_str(&text.get(ws..we).unwrap_or("").replace('\r', " "));
            if we < le {
                excerpt.push('…');
            }
            if l == l0 {
                start_line = l - first;
                // miette counts columns in bytes from the excerpt line's start.
                let shown = start.saturating_sub(ws) + if ws > ls { '…'.len_utf8() } else { 0 };
                column_shift = start_column as isize - shown as isize;
            }
            windows.push((ws, we, base));
        }
        let map = |o: usize, is_end: bool| -> Option<usize> {
            let o = floor(o);
            let l = line_of(o);
            if l < l0 || l < first {
                return None;
            }
            if l > l1 {
                return if is_end {
                    windows
                        .get(l1 - first)
                        .map(|(ws, we, base)| base + (we - ws))
                } else {
                    None
                };
            }
            let (ws, we, base) = *windows.get(l - first)?;
            Some(base + o.clamp(ws, we) - ws)
        };
        let labels = miette::Diagnostic::labels(d)
            .map(|ls| {
                ls.filter_map(|label| {
                    let s = map(label.offset(), false)?;
                    let e = map(label.offset() + label.len(), true)?.max(s);
                    Some(miette::LabeledSpan::new(
                        label.label().map(str::to_owned),
                        s,
                        e - s,
                    ))
                })
                .collect()
            })
            .unwrap_or_default();
        Excerpt {
            text: excerpt,
            first_line: first,
            start_line,
            column_shift,
            labels,
        }
    }

    fn source(&self, name: &str) -> NamedText {
        NamedText {
            name: name.to_owned(),
            text: self.text.clone(),
            first_line: self.first_line,
            start_line: self.start_line,
            column_shift: self.column_shift,
        }
    }
}

/// A diagnostic with an excerpt of its file, for miette.
struct WithSource<'a> {
    diag: &'a Diagnostic,
    source: NamedText,
    labels: Vec<miette::LabeledSpan>,
}

impl std::fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.diag, f)
    }
}

impl std::fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&clamp(&self.diag.to_string()))
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
            .map(|h| Box::new(clamp(&h.to_string()).into_owned()) as Box<dyn std::fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
}

/// An excerpt of a file's text with the file's name and where the excerpt starts.
struct NamedText {
    name: String,
    text: String,
    first_line: usize,
    start_line: usize,
    column_shift: isize,
}

impl miette::SourceCode for NamedText {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let inner =
            self.text
                .as_str()
                .read_span(span, context_lines_before, context_lines_after)?;
        let column = if inner.line() == self.start_line {
            inner.column().saturating_add_signed(self.column_shift)
        } else {
            inner.column()
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
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
