//! Byte offsets to line and column.
//!
//! Inside the core every position is a byte offset into the text it came from. They
//! are converted at the edge: 1-based line and column (in Unicode scalar values) for
//! people and machine formats, UTF-16 or UTF-8 code units for the language server.

/// Line starts of a text, for offset → line/column conversion.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

/// A 0-based line and a 0-based column in the chosen unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

/// The unit columns are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnUnit {
    /// Unicode scalar values (what editors show as "column" and what the CLI prints).
    Char,
    /// UTF-16 code units (the LSP default).
    Utf16,
    /// Bytes (UTF-8 code units).
    Utf8,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// The 0-based line and column of byte `offset` (clamped to the text).
    /// The 0-based line of a byte offset (a binary search: no scan of the line).
    pub fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    pub fn line_col(&self, text: &str, offset: usize, unit: ColumnUnit) -> LineCol {
        let offset = offset.min(self.len);
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let line_start = self.starts.get(line).copied().unwrap_or(0);
        let mut end = offset;
        while end > line_start && !text.is_char_boundary(end) {
            end -= 1;
        }
        let prefix = text.get(line_start..end).unwrap_or("");
        let col = match unit {
            ColumnUnit::Char => prefix.chars().count(),
            ColumnUnit::Utf16 => prefix.encode_utf16().count(),
            ColumnUnit::Utf8 => prefix.len(),
        };
        LineCol { line, col }
    }

    /// The byte offset of a 0-based line and column, or `None` when out of range.
    pub fn offset(&self, text: &str, pos: LineCol, unit: ColumnUnit) -> Option<usize> {
        let start = *self.starts.get(pos.line)?;
        let end = self
            .starts
            .get(pos.line + 1)
            .map_or(self.len, |next| next.saturating_sub(1));
        let line = text.get(start..end)?;
        let mut seen = 0;
        if pos.col == 0 {
            return Some(start);
        }
        for (i, ch) in line.char_indices() {
            seen += match unit {
                ColumnUnit::Char => 1,
                ColumnUnit::Utf16 => ch.len_utf16(),
                ColumnUnit::Utf8 => ch.len_utf8(),
            };
            if seen == pos.col {
                return Some(start + i + ch.len_utf8());
            }
            if seen > pos.col {
                return None;
            }
        }
        None
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_every_unit() {
        let text = "ab\n😀é x";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap_or(0);
        assert_eq!(
            idx.line_col(text, x, ColumnUnit::Char),
            LineCol { line: 1, col: 3 }
        );
        assert_eq!(
            idx.line_col(text, x, ColumnUnit::Utf16),
            LineCol { line: 1, col: 4 }
        );
        assert_eq!(
            idx.line_col(text, x, ColumnUnit::Utf8),
            LineCol { line: 1, col: 7 }
        );
        for unit in [ColumnUnit::Char, ColumnUnit::Utf16, ColumnUnit::Utf8] {
            let lc = idx.line_col(text, x, unit);
            assert_eq!(idx.offset(text, lc, unit), Some(x));
        }
        assert_eq!(
            idx.offset(text, LineCol { line: 9, col: 0 }, ColumnUnit::Char),
            None
        );
    }
}
