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

/// The deepest nesting of `(`, `[` and `{` in the tokens, plus the `if … then … else`
/// expressions open at that point, plus the longest run of prefix operators (`!`,
/// `-`): each level makes Cedar's parser, validator and formatter recurse once more.
pub fn max_nesting(src: &str, tokens: &[Token]) -> usize {
    nesting(src, tokens).0
}

/// [`max_nesting`] and the offset of the first token at that depth.
///
/// An `if` stays open until the bracket it is in closes, or a `,` or `;` ends the
/// expression: in Cedar's grammar its `else` branch runs to the end of the enclosing
/// expression, so `if a then b else if c then d else …` nests once per `if` just as
/// `if a then if c then … else d else b` does. This over-counts nothing that recurses
/// less (an `if` in a condition), which is the safe side for a guard.
pub fn nesting(src: &str, tokens: &[Token]) -> (usize, usize) {
    nesting_over(src, tokens, usize::MAX)
}

/// The deepest nesting and the offset of the first token deeper than `limit` (or,
/// when none is, the first token at the deepest level).
fn nesting_over(src: &str, tokens: &[Token], limit: usize) -> (usize, usize) {
    // Open `if`s per open bracket (the first entry is the top level).
    let mut frames: Vec<usize> = vec![0];
    let mut open_ifs: usize = 0;
    let mut max = 0;
    let mut at = tokens
        .iter()
        .find(|t| !t.is_trivia())
        .map_or(0, |t| t.span.start);
    let mut over = None;
    let mut unary_run = 0;
    for t in tokens.iter().filter(|t| !t.is_trivia()) {
        let text = t.text(src);
        match text {
            "(" | "[" | "{" => frames.push(0),
            ")" | "]" | "}" if frames.len() > 1 => {
                open_ifs -= frames.pop().unwrap_or(0);
            }
            "," | ";" => {
                if let Some(last) = frames.last_mut() {
                    open_ifs -= *last;
                    *last = 0;
                }
            }
            "if" if t.kind == TokenKind::Ident => {
                if let Some(last) = frames.last_mut() {
                    *last += 1;
                    open_ifs += 1;
                }
            }
            _ => {}
        }
        if text == "!" || text == "-" {
            unary_run += 1;
        } else {
            unary_run = 0;
        }
        let depth = frames.len() - 1 + open_ifs + unary_run;
        if depth > max {
            max = depth;
            at = t.span.start;
        }
        if depth > limit && over.is_none() {
            over = Some(t.span.start);
        }
    }
    (max, over.unwrap_or(at))
}

/// Why a body is refused before Cedar sees it: too deep or too many operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardError {
    /// Byte offset (in the guarded text) of the deepest point.
    pub offset: usize,
    /// `nests 20001 levels deep (the limit is 64)` or `has 5000 operators (…)`.
    pub what: String,
}

/// The nesting/operator guard every command runs before Cedar's recursive parser,
/// validator or formatter: `lint`, `fmt`, `analyze`, `diff` and the language server.
pub fn guard(
    src: &str,
    tokens: &[Token],
    max_depth: usize,
    max_ops: usize,
) -> Result<(), GuardError> {
    let (depth, at) = nesting_over(src, tokens, max_depth);
    if depth > max_depth {
        return Err(GuardError {
            offset: at,
            what: format!("nests {depth} levels deep (the limit is {max_depth})"),
        });
    }
    let ops = operator_count(src, tokens);
    if ops > max_ops {
        return Err(GuardError {
            offset: at,
            what: format!("has {ops} operators (the limit is {max_ops})"),
        });
    }
    Ok(())
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

    #[test]
    fn nesting_counts_if_then_else() {
        // Nested in the `then` branch and chained in the `else` branch: both recurse.
        let src = "{ if a then if b then if c then 1 else 2 else 3 else 4 }";
        assert_eq!(max_nesting(src, &lex(src)), 4);
        let src = "{ if a then 1 else if b then 2 else if c then 3 else 4 }";
        assert_eq!(max_nesting(src, &lex(src)), 4);
        // A bracket, a `,` or a `;` ends the `if`s opened inside it.
        let src = "{ [if a then 1 else 2, if b then 3 else 4] && (if c then 1 else 2) } ; if";
        assert_eq!(max_nesting(src, &lex(src)), 3);
        let src = format!(
            "{{ {} 1 {} }}",
            "if x then ".repeat(500),
            "else 2 ".repeat(500)
        );
        assert!(guard(&src, &lex(&src), 64, 4000).is_err());
    }
}
