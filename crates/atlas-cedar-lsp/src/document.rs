//! Open documents: their text, version and position conversion.
//!
//! Positions arrive in the negotiated encoding (UTF-16 by default, UTF-8 when the
//! client offers it) and are converted to byte offsets at once; everything inside
//! works on byte offsets, like the core.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use atlas_cedar_core::payload::PayloadBody;
use atlas_cedar_core::text::{ColumnUnit, LineCol, LineIndex};
use atlas_cedar_core::InputKind;
use tower_lsp_server::ls_types::{Position, TextDocumentContentChangeEvent};

use crate::analysis::{DocumentCache, Resolved};
use crate::embedded::Embedded;

/// The position encoding agreed with the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

impl Encoding {
    pub fn unit(self) -> ColumnUnit {
        match self {
            Encoding::Utf8 => ColumnUnit::Utf8,
            Encoding::Utf16 => ColumnUnit::Utf16,
        }
    }
}

/// A text with its line index: converts between byte offsets and LSP positions.
///
/// With a [`Host`], `text` is a policy body embedded in another file (Terraform,
/// CloudFormation, a payload): offsets are the body's, positions the host file's.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    pub text: &'a str,
    pub index: &'a LineIndex,
    pub encoding: Encoding,
    pub host: Option<Host<'a>>,
}

/// The file a body is embedded in, and the body's map to offsets in it.
#[derive(Debug, Clone, Copy)]
pub struct Host<'a> {
    pub text: &'a str,
    pub index: &'a LineIndex,
    pub body: &'a PayloadBody,
}

impl<'a> Lines<'a> {
    /// A document's own text (no host).
    pub fn new(text: &'a str, index: &'a LineIndex, encoding: Encoding) -> Self {
        Lines {
            text,
            index,
            encoding,
            host: None,
        }
    }

    /// The host file's own lines.
    fn host_lines(&self) -> Option<Lines<'a>> {
        self.host
            .map(|h| Lines::new(h.text, h.index, self.encoding))
    }
}

impl Lines<'_> {
    /// The LSP position of a byte offset (clamped to the text); in a hosted body, the
    /// position in the host file of that body offset.
    pub fn position(&self, offset: usize) -> Position {
        if let (Some(host), Some(lines)) = (self.host, self.host_lines()) {
            return lines.position(host.body.map_offset(offset.min(self.text.len())));
        }
        let lc = self.index.line_col(self.text, offset, self.encoding.unit());
        Position::new(to_u32(lc.line), to_u32(lc.col))
    }

    pub fn range(&self, span: &Range<usize>) -> tower_lsp_server::ls_types::Range {
        tower_lsp_server::ls_types::Range::new(
            self.position(span.start),
            self.position(span.end.max(span.start)),
        )
    }

    /// The byte offset of an LSP position. A column past the end of its line means the
    /// end of the line (as the protocol says); a line past the end of the text is an
    /// error, except the line just after the last one at column 0 (the very end).
    /// A column inside a UTF-16 surrogate pair rounds down to the character's start.
    /// In a hosted body, `pos` is a host position: `None` outside the body.
    pub fn offset(&self, pos: Position) -> Option<usize> {
        if let (Some(host), Some(lines)) = (self.host, self.host_lines()) {
            let at = lines.offset(pos)?;
            return crate::embedded::body_offset(host.body, self.text, at);
        }
        let line = pos.line as usize;
        if line >= self.index.line_count() {
            return (line == self.index.line_count() && pos.character == 0)
                .then_some(self.text.len());
        }
        let start = self
            .index
            .offset(self.text, LineCol { line, col: 0 }, self.encoding.unit())?;
        let rest = self.text.get(start..)?;
        let mut end = rest.find('\n').map_or(self.text.len(), |n| start + n);
        if self.text.get(..end).is_some_and(|t| t.ends_with('\r')) {
            end -= 1;
        }
        let line_text = self.text.get(start..end)?;
        let want = pos.character as usize;
        let mut seen = 0;
        for (i, ch) in line_text.char_indices() {
            let next = seen
                + match self.encoding {
                    Encoding::Utf8 => ch.len_utf8(),
                    Encoding::Utf16 => ch.len_utf16(),
                };
            // At this character, or inside it (round down to its start).
            if seen == want || next > want {
                return Some(start + i);
            }
            seen = next;
        }
        Some(end)
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// One open document.
#[derive(Debug)]
pub struct Document {
    pub text: String,
    pub index: LineIndex,
    pub version: i32,
    pub kind: InputKind,
    /// The file's path, when the URI is a `file:` URI.
    pub path: Option<PathBuf>,
    /// Set when an edit could not be applied: the server's text no longer matches the
    /// editor's until the next full-text change or reopen.
    pub desync: Option<String>,
    /// Per-body results of earlier checks, reused for unchanged policies.
    pub cache: Arc<Mutex<DocumentCache>>,
    /// The engine of the last check (for completion and hover).
    pub resolved: Option<Resolved>,
    /// A Terraform, CloudFormation or payload document's policy bodies, found on
    /// the first request after an edit.
    pub embedded: Option<Arc<Vec<Embedded>>>,
}

impl Document {
    pub fn new(text: String, version: i32, kind: InputKind, path: Option<PathBuf>) -> Self {
        Document {
            index: LineIndex::new(&text),
            text,
            version,
            kind,
            path,
            desync: None,
            cache: Arc::new(Mutex::new(DocumentCache::default())),
            resolved: None,
            embedded: None,
        }
    }

    pub fn lines(&self, encoding: Encoding) -> Lines<'_> {
        Lines::new(&self.text, &self.index, encoding)
    }

    /// Applies one content change. A range outside the text is an error and leaves the
    /// text unchanged.
    pub fn apply(
        &mut self,
        change: &TextDocumentContentChangeEvent,
        encoding: Encoding,
    ) -> Result<(), String> {
        match change.range {
            None => {
                self.text.clone_from(&change.text);
                self.desync = None;
            }
            Some(range) => {
                let lines = self.lines(encoding);
                let start = lines.offset(range.start);
                let end = lines.offset(range.end);
                match (start, end) {
                    (Some(s), Some(e)) if s <= e => {
                        self.text.replace_range(s..e, &change.text);
                    }
                    _ => {
                        return Err(format!(
                            "edit range {}:{}-{}:{} is outside the document ({} lines)",
                            range.start.line,
                            range.start.character,
                            range.end.line,
                            range.end.character,
                            self.index.line_count()
                        ))
                    }
                }
            }
        }
        self.index = LineIndex::new(&self.text);
        self.embedded = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip_in_both_encodings() {
        let text = "a😀b\r\n中c\nlast";
        let index = LineIndex::new(text);
        for encoding in [Encoding::Utf8, Encoding::Utf16] {
            let lines = Lines::new(text, &index, encoding);
            for (i, _) in text.char_indices() {
                if text.get(i..).is_some_and(|t| t.starts_with('\n')) {
                    continue;
                }
                let p = lines.position(i);
                assert_eq!(lines.offset(p), Some(i), "{encoding:?} {i} {p:?}");
            }
            // Past the end of a line: its end (before \r\n).
            assert_eq!(lines.offset(Position::new(0, 99)), text.find('\r'));
            assert_eq!(lines.offset(Position::new(7, 0)), None);
        }
        let utf16 = Lines::new(text, &index, Encoding::Utf16);
        assert_eq!(
            utf16.position(text.find('b').unwrap_or(0)),
            Position::new(0, 3)
        );
        let utf8 = Lines::new(text, &index, Encoding::Utf8);
        assert_eq!(
            utf8.position(text.find('b').unwrap_or(0)),
            Position::new(0, 5)
        );
    }
}
