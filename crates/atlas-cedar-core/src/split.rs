//! Splitting a `.cedar` file into policy bodies.
//!
//! Atlas stores one Cedar policy per body, so a file holding several policies is cut
//! into bodies before anything else. A body runs from its first token (an annotation
//! or the effect) to its terminating `;`, inclusive; comments and blank lines between
//! policies belong to no body. Broken input is cut where a new policy visibly starts
//! (`forbid (` or `permit (` at the start of a line), so one policy's missing `)` or
//! `;` does not swallow the rest of the file.

use std::ops::Range;

use crate::lexer::{Token, TokenKind};

/// Byte ranges of the policy bodies in `src`, in order, from its tokens.
pub fn split_policies(src: &str, tokens: &[Token]) -> Vec<Range<usize>> {
    split_iter(src, tokens.iter().cloned())
}

/// [`split_policies`] lexing as it goes, without holding every token of a large file.
pub fn split_text(src: &str) -> Vec<Range<usize>> {
    split_iter(src, crate::lexer::Lexer::new(src))
}

/// [`split_text`], also keeping the comment tokens (for suppressions): one lexing
/// pass, and only the comments held.
pub fn split_text_with_comments(src: &str) -> (Vec<Range<usize>>, Vec<Token>) {
    let mut comments = Vec::new();
    let spans = split_iter(
        src,
        crate::lexer::Lexer::new(src).inspect(|t| {
            if t.kind == TokenKind::Comment {
                comments.push(t.clone());
            }
        }),
    );
    (spans, comments)
}

fn split_iter(src: &str, tokens: impl Iterator<Item = Token>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut last_end = 0;
    let mut depth: usize = 0;
    let mut has_effect = false;
    let mut prev_text: &str = "";
    let mut significant = tokens.filter(|t| !t.is_trivia()).peekable();
    while let Some(tok) = significant.next() {
        let text = tok.text(src);
        let is_effect = tok.kind == TokenKind::Ident
            && (text == "forbid" || text == "permit")
            && significant.peek().is_some_and(|next| next.text(src) == "(")
            && prev_text != ".";
        if let Some(s) = start {
            if is_effect && has_effect && at_line_start(src, tok.span.start) {
                // A new policy starts while the previous one is still open.
                out.push(s..last_end);
                start = None;
                depth = 0;
                has_effect = false;
            }
        }
        if start.is_none() {
            start = Some(tok.span.start);
        }
        if is_effect && depth == 0 {
            has_effect = true;
        }
        match text {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth = depth.saturating_sub(1),
            _ => {}
        }
        last_end = tok.span.end;
        if text == ";" && depth == 0 {
            if let Some(s) = start.take() {
                out.push(s..tok.span.end);
            }
            has_effect = false;
        }
        prev_text = text;
    }
    if let Some(s) = start {
        out.push(s..last_end);
    }
    out
}

fn at_line_start(src: &str, offset: usize) -> bool {
    let before = src.get(..offset).unwrap_or("");
    before
        .rsplit('\n')
        .next()
        .is_none_or(|line| line.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::lex;

    fn bodies(src: &str) -> Vec<&str> {
        split_policies(src, &lex(src))
            .into_iter()
            .map(|r| src.get(r).unwrap_or(""))
            .collect()
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        let src = "// header\nforbid (principal, action, resource) when { \";\" == \";\" };\n\n@id(\"b\")\nforbid (principal, action, resource); // trailing\n";
        assert_eq!(
            bodies(src),
            vec![
                "forbid (principal, action, resource) when { \";\" == \";\" };",
                "@id(\"b\")\nforbid (principal, action, resource);"
            ]
        );
    }

    #[test]
    fn recovers_at_a_new_policy_after_an_unclosed_one() {
        let src = "forbid (principal, action, resource) when { (1 < 2 };\nforbid (principal, action, resource);\nforbid (principal, action, resource)\nforbid (principal, action, resource);";
        assert_eq!(
            bodies(src),
            vec![
                "forbid (principal, action, resource) when { (1 < 2 };",
                "forbid (principal, action, resource);",
                "forbid (principal, action, resource)",
                "forbid (principal, action, resource);",
            ]
        );
    }

    #[test]
    fn streaming_split_matches() {
        let src = "forbid (principal, action, resource) when { (1 < 2 };\nforbid (principal, action, resource)\n// c\nforbid (p);";
        assert_eq!(split_text(src), split_policies(src, &lex(src)));
    }

    #[test]
    fn keeps_unterminated_tail() {
        assert_eq!(
            bodies("forbid (principal, action, resource)\n// end"),
            vec!["forbid (principal, action, resource)"]
        );
        assert!(bodies("  // only a comment\n").is_empty());
    }
}
