//! `atlas-cedar fmt`: Cedar's formatter, applied policy by policy.
//!
//! Formatting one policy at a time keeps the cost linear in the file and leaves the
//! text between policies (header comments, blank lines) exactly as it was. A file
//! with any policy that does not parse is not touched.

use std::str::FromStr;

use cedar_policy::PolicySet;
use cedar_policy_formatter::{policies_str_to_pretty, Config};

use crate::check::{MAX_NESTING, MAX_OPERATORS};
use crate::lexer::{lex, max_nesting, operator_count};
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

/// The formatted text of a `.cedar` file. Run on a thread with a large stack
/// ([`crate::check::with_stack`]): Cedar's formatter is recursive.
pub fn format_cedar(text: &str) -> Result<String, FormatError> {
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
    let mut last = 0;
    for span in split_policies(text, &tokens) {
        let body = text.get(span.clone()).unwrap_or("");
        let body_tokens = lex(body);
        if max_nesting(body, &body_tokens) > MAX_NESTING
            || operator_count(body, &body_tokens) > MAX_OPERATORS
        {
            return Err(err_at(
                span.start,
                "policy is nested too deeply to format".into(),
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
        out.push_str(text.get(last..span.start).unwrap_or(""));
        out.push_str(pretty.trim_end());
        last = span.end;
    }
    out.push_str(text.get(last..).unwrap_or(""));
    Ok(out)
}

#[cfg(test)]
mod tests {
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
    fn leaves_broken_files_alone() {
        let e = format_cedar("forbid (principal, action\n resource);").err();
        assert_eq!(e.map(|e| (e.line, e.column)), Some((2, 2)));
    }
}
