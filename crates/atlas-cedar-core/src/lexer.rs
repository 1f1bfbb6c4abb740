//! A small, error-tolerant Cedar tokenizer.
//!
//! Cedar's own parser stops at (and recovers poorly from) broken input and gives no
//! access to tokens. This lexer never fails: every byte of the input belongs to exactly
//! one token, so the splitter, the nesting guard, the entity scan and the language
//! server can all work on half-typed text. It is *not* used to decide what is valid
//! Cedar: that is always `cedar-policy`'s job.

use std::ops::Range;

/// The kind of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An identifier or keyword (`forbid`, `context`, `ResourcePolicy`, …).
    Ident,
    /// A string literal, quotes included (possibly unterminated).
    String,
    /// An integer literal.
    Int,
    /// A `//` comment up to (not including) the end of the line.
    Comment,
    /// Spaces, tabs and newlines.
    Whitespace,
    /// Punctuation or an operator (`::`, `==`, `(`, `;`, `@`, `?` …).
    Punct,
    /// A byte sequence Cedar has no token for (a backslash, a stray `$` …).
    Unknown,
}

/// One token: its kind and its byte range in the lexed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

impl Token {
    /// The token's text in `src`.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.span.clone()).unwrap_or("")
    }

    /// Whether this token is trivia (whitespace or a comment).
    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, TokenKind::Whitespace | TokenKind::Comment)
    }
}

const TWO_CHAR_PUNCT: [&str; 8] = ["::", "==", "!=", "<=", ">=", "&&", "||", "=>"];

/// Splits `src` into tokens. Never fails; the tokens cover `src` exactly.
pub fn lex(src: &str) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(src.len() / 4 + 1);
    tokens.extend(Lexer::new(src));
    tokens
}

/// The tokens of `src`, one at a time (no allocation: large files stream through).
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    src: &'a str,
    i: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, i: 0 }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut i = self.i;
        let start = i;
        let b = *bytes.get(i)?;
        let kind = if b.is_ascii_whitespace() {
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            TokenKind::Whitespace
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while bytes.get(i).is_some_and(|&c| c != b'\n') {
                i += 1;
            }
            TokenKind::Comment
        } else if b == b'"' {
            i += 1;
            loop {
                match bytes.get(i) {
                    None => break,
                    Some(b'\\') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            i = i.min(bytes.len());
            TokenKind::String
        } else if b.is_ascii_alphabetic() || b == b'_' {
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            TokenKind::Ident
        } else if b.is_ascii_digit() {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            TokenKind::Int
        } else if b.is_ascii_punctuation() && b != b'\\' && b != b'$' && b != b'`' && b != b'#' {
            let two = src.get(i..i + 2).unwrap_or("");
            i += if TWO_CHAR_PUNCT.contains(&two) { 2 } else { 1 };
            TokenKind::Punct
        } else {
            // One whole UTF-8 character.
            i += src
                .get(i..)
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            TokenKind::Unknown
        };
        self.i = i;
        Some(Token {
            kind,
            span: start..i,
        })
    }
}

/// The deepest nesting of `(`, `[` and `{` in the tokens, plus the longest run of
/// prefix operators (`!`, `-`), both of which make Cedar's recursive parser recurse.
pub fn max_nesting(src: &str, tokens: &[Token]) -> usize {
    let mut depth: usize = 0;
    let mut max = 0;
    let mut unary_run = 0;
    for t in tokens.iter().filter(|t| !t.is_trivia()) {
        let text = t.text(src);
        match text {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth = depth.saturating_sub(1),
            _ => {}
        }
        if text == "!" || text == "-" {
            unary_run += 1;
        } else {
            unary_run = 0;
        }
        max = max.max(depth + unary_run);
    }
    max
}

/// How many binary operators and member accesses the tokens contain. Cedar builds a
/// left-deep tree for `a && b && c …`, and later passes recurse over it: a body with
/// tens of thousands of operators overflows the stack just like deep parentheses.
pub fn operator_count(src: &str, tokens: &[Token]) -> usize {
    tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Punct)
        .filter(|t| {
            matches!(
                t.text(src),
                "&&" | "||" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "."
            )
        })
        .count()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, &str)> {
        lex(src)
            .iter()
            .filter(|t| !t.is_trivia())
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    #[test]
    fn tokens_cover_input_exactly() {
        let src = "forbid (principal, action == A::\"x\\\"y\", resource) // hé\nwhen { 1 <= 2 };\\ \"open";
        let toks = lex(src);
        let mut pos = 0;
        for t in &toks {
            assert_eq!(t.span.start, pos);
            pos = t.span.end;
        }
        assert_eq!(pos, src.len());
    }

    #[test]
    fn recognises_strings_comments_and_operators() {
        let k = kinds("a::\"b\\\"c\" <= 3 // x\n\\\"");
        assert_eq!(
            k,
            vec![
                (TokenKind::Ident, "a"),
                (TokenKind::Punct, "::"),
                (TokenKind::String, "\"b\\\"c\""),
                (TokenKind::Punct, "<="),
                (TokenKind::Int, "3"),
                (TokenKind::Unknown, "\\"),
                (TokenKind::String, "\""),
            ]
        );
    }

    #[test]
    fn nesting_counts_brackets_and_unary_runs() {
        let src = "((([x]))) !!!!a";
        assert_eq!(max_nesting(src, &lex(src)), 4);
        let src = "!!!!!!a";
        assert_eq!(max_nesting(src, &lex(src)), 6);
    }
}
