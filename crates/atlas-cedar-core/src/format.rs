//! `atlas-cedar fmt`: Cedar's formatter, applied policy by policy.
//!
//! Formatting one policy at a time keeps the cost linear in the file and leaves the
//! text between policies (header comments, blank lines) exactly as it was. A file
//! with any policy that does not parse is not touched.

use std::str::FromStr;

use cedar_policy::PolicySet;
use cedar_policy_formatter::{policies_str_to_pretty, Config};

use crate::check::{MAX_NESTING, MAX_OPERATORS};
use crate::lexer::{guard, lex};
use crate::split::split_policies;
use crate::text::{ColumnUnit, LineIndex};

/// Why a file was left alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct FormatError {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

/// The largest body `fmt` formats, in bytes. Cedar's formatter needs several hundred
/// bytes of memory per input byte and more than linear time (a 350 KB policy: 15 s,
/// 250 MB); a larger body is left as it is, and said so.
pub const MAX_FORMAT_BODY: usize = 64 * 1024;

/// What formatting may not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatOptions {
    /// The maximum body size `lint` applies: a body is never formatted across it
    /// (either way), so formatting never changes the verdict on size.
    pub max_body_size: usize,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            max_body_size: crate::check::DEFAULT_MAX_BODY_SIZE,
        }
    }
}

/// A formatted file, and the policies left as they were (with why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    pub text: String,
    /// One note per policy left unformatted; the rest of the file is formatted.
    pub kept: Vec<FormatError>,
}

/// The formatted text of a `.cedar` file, with the default [`FormatOptions`]; policies
/// that cannot be formatted safely are left as they are (see [`format_cedar_with`]).
pub fn format_cedar(text: &str) -> Result<String, FormatError> {
    format_cedar_with(text, &FormatOptions::default()).map(|f| f.text)
}

/// The formatted text of a `.cedar` file. Run on a thread with a large stack
/// ([`crate::check::with_stack`]): Cedar's formatter is recursive.
///
/// A file with a policy that does not parse, or that nests too deeply, is an error
/// (the file is left unchanged). A policy above [`MAX_FORMAT_BODY`] or
/// `max_body_size`, or that formatting would grow past `max_body_size`, is kept as it
/// is and named in [`Formatted::kept`].
pub fn format_cedar_with(text: &str, options: &FormatOptions) -> Result<Formatted, FormatError> {
    let tokens = lex(text);
    let index = LineIndex::new(text);
    let err_at = |offset: usize, message: String| {
        let lc = index.line_col(text, offset, ColumnUnit::Char);
        FormatError {
            line: lc.line + 1,
            column: lc.col + 1,
            message,
        }
    };
    let config = Config {
        line_width: 80,
        indent_width: 2,
    };
    let mut out = String::with_capacity(text.len());
    let mut kept = Vec::new();
    let mut last = 0;
    for span in split_policies(text, &tokens) {
        let body = text.get(span.clone()).unwrap_or("");
        let limit = options.max_body_size.min(MAX_FORMAT_BODY);
        if body.len() > limit {
            let why = if body.len() > options.max_body_size {
                format!(
                    "it is {} bytes, over the maximum body size of {} bytes (`lint` reports it)",
                    body.len(),
                    options.max_body_size
                )
            } else {
                format!(
                    "it is {} bytes and fmt formats policies of up to {MAX_FORMAT_BODY} bytes",
                    body.len()
                )
            };
            kept.push(err_at(span.start, format!("policy left as it is: {why}")));
            continue;
        }
        let body_tokens = lex(body);
        if let Err(g) = guard(body, &body_tokens, MAX_NESTING, MAX_OPERATORS) {
            return Err(err_at(
                span.start + g.offset,
                format!(
                    "policy {} and is not formatted, file left unchanged",
                    g.what
                ),
            ));
        }
        if let Err(e) = PolicySet::from_str(body) {
            let offset = e
                .iter()
                .next()
                .and_then(|e| miette::Diagnostic::labels(e).and_then(|mut l| l.next()))
                .map_or(0, |l| l.offset());
            return Err(err_at(
                span.start + offset,
                format!(
                    "syntax error, file left unchanged: {}",
                    e.iter().next().map(ToString::to_string).unwrap_or_default()
                ),
            ));
        }
        let pretty = policies_str_to_pretty(body, &config)
            .map_err(|e| err_at(span.start, format!("cannot format: {e}")))?;
        let pretty = pretty.trim_end();
        if pretty.len() > options.max_body_size {
            kept.push(err_at(
                span.start,
                format!(
                    "policy left as it is: formatted it would be {} bytes, over the maximum body size of {} bytes",
                    pretty.len(),
                    options.max_body_size
                ),
            ));
            continue;
        }
        out.push_str(text.get(last..span.start).unwrap_or(""));
        out.push_str(pretty);
        last = span.end;
    }
    out.push_str(text.get(last..).unwrap_or(""));
    Ok(Formatted { text: out, kept })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn formats_each_policy_and_keeps_comments_between() {
        let src = "// header\n\nforbid(principal,action==ResourcePolicy::Action::\"cluster.modify\",resource)when{context.cluster.minShardCount<3 // few\n};\n\n// second\nforbid (principal, action, resource) when { context.project.clustersInProject > 2 };\n";
        let once = format_cedar(src).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(once.starts_with("// header\n\nforbid (\n"));
        assert!(once.contains("// few"));
        assert!(once.contains("\n\n// second\n"));
        assert_eq!(format_cedar(&once), Ok(once.clone()));
    }

    #[test]
    fn never_formats_a_body_across_the_size_limit() {
        // 40 conditions on one line grow by a third once the formatter puts each on
        // its own indented line.
        let conds: Vec<String> = (0..40)
            .map(|i| format!("context.project.clustersInProject>{i}"))
            .collect();
        let body = format!(
            "forbid(principal,action,resource)when{{{}}};",
            conds.join("&&")
        );
        let src = format!("{body}\nforbid (principal, action, resource) when {{ true }};\n");
        let roomy = format_cedar_with(
            &src,
            &FormatOptions {
                max_body_size: 10_000,
            },
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(roomy.kept.is_empty());
        let grown = roomy.text.find(";\n").unwrap_or(0) + 1;
        assert!(grown > body.len() + 100, "{grown} vs {}", body.len());
        // A limit between the two sizes: the body is kept as written, and said so.
        let limit = (body.len() + grown) / 2;
        let f = format_cedar_with(
            &src,
            &FormatOptions {
                max_body_size: limit,
            },
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(f.text.starts_with(&format!("{body}\n")), "{}", f.text);
        assert_eq!(f.kept.len(), 1);
        assert_eq!((f.kept[0].line, f.kept[0].column), (1, 1));
        assert!(
            f.kept[0]
                .message
                .contains(&format!("over the maximum body size of {limit} bytes")),
            "{}",
            f.kept[0].message
        );
        // A body already over the limit is not shrunk under it either.
        let f = format_cedar_with(&src, &FormatOptions { max_body_size: 100 })
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(f.text.starts_with(&format!("{body}\n")), "{}", f.text);
        assert!(f.kept[0]
            .message
            .contains("over the maximum body size of 100 bytes"));
    }

    #[test]
    fn keeps_bodies_too_large_to_format() {
        let body = format!(
            "forbid (principal, action, resource) when {{ context.x == \"{}\" }};",
            "a".repeat(MAX_FORMAT_BODY)
        );
        let src = format!("forbid(principal,action,resource);\n{body}\n");
        let f = format_cedar_with(
            &src,
            &FormatOptions {
                max_body_size: 1 << 30,
            },
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(f
            .text
            .starts_with("forbid (principal, action, resource);\n"));
        assert!(f.text.ends_with(&format!("{body}\n")));
        assert_eq!(f.kept.len(), 1);
        assert_eq!(f.kept[0].line, 2);
        assert!(f.kept[0]
            .message
            .contains("fmt formats policies of up to 65536 bytes"));
    }

    #[test]
    fn refuses_deep_if_chains() {
        let body = format!(
            "forbid (principal, action, resource) when {{ {} 1 {} }};",
            "if true then ".repeat(2_000),
            "else 2 ".repeat(2_000)
        );
        let e = format_cedar_with(
            &body,
            &FormatOptions {
                max_body_size: 1 << 30,
            },
        )
        .err();
        assert!(e.is_some_and(|e| e.message.contains("levels deep (the limit is 64)")));
    }

    #[test]
    fn leaves_broken_files_alone() {
        let e = format_cedar("forbid (principal, action\n resource);").err();
        assert_eq!(e.map(|e| (e.line, e.column)), Some((2, 2)));
    }
}
