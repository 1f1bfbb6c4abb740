//! Suppression comments: `// atlas-cedar: allow(RULE[, RULE…]) reason`.
//!
//! - Directly above a policy (in the comment block touching it, no blank line
//!   between), a suppression applies to that policy.
//! - Before the first policy and separated from it by a blank line, it applies to the
//!   whole file.
//!
//! Only findings Atlas does not reject can be suppressed (warnings and tool rules):
//! silencing an Atlas error would only move the failure to the push. A suppression
//! without a reason, one that names an unknown rule or an Atlas rule, one attached to
//! nothing, and one that suppresses nothing are each reported.

use std::ops::Range;

use crate::diagnostic::{Diagnostic, Edit};
use crate::lexer::{Token, TokenKind};
use crate::rules::{self, Rule};

/// One parsed suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// The comment.
    pub span: Range<usize>,
    pub rules: Vec<&'static Rule>,
    /// The body it applies to, or `None` for the whole file.
    pub target: Option<usize>,
    pub reason: String,
    pub used: bool,
}

const MARKER: &str = "atlas-cedar:";

/// Finds the suppression comments of a `.cedar` file among `tokens` (all of the file's
/// tokens, or only its comments). Malformed ones are reported in `problems` right away.
pub fn parse(
    src: &str,
    tokens: &[Token],
    bodies: &[Range<usize>],
    problems: &mut Vec<Diagnostic>,
) -> Vec<Suppression> {
    let mut out = Vec::new();
    for t in tokens.iter().filter(|t| t.kind == TokenKind::Comment) {
        let text = t.text(src);
        let Some(rest) = text
            .strip_prefix("//")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(MARKER))
        else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(args) = rest.strip_prefix("allow(") else {
            problems.push(invalid(
                t.span.clone(),
                "expected `allow(RULE) reason` after `atlas-cedar:`",
            ));
            continue;
        };
        let Some((list, reason)) = args.split_once(')') else {
            problems.push(invalid(t.span.clone(), "missing `)` in `allow(…)`"));
            continue;
        };
        let mut rule_list = Vec::new();
        let mut ok = true;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match rules::find(name) {
                Some(r) if r.error_type.is_some() => {
                    problems.push(invalid(
                        t.span.clone(),
                        &format!(
                            "`{}` cannot be suppressed: Atlas rejects the body with {} anyway",
                            r.code,
                            r.error_type.map_or("", |e| e.as_str())
                        ),
                    ));
                    ok = false;
                }
                Some(r) => rule_list.push(r),
                None => {
                    problems.push(invalid(
                        t.span.clone(),
                        &format!("unknown rule `{name}`; `atlas-cedar explain --list` shows them"),
                    ));
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        if rule_list.is_empty() {
            problems.push(invalid(t.span.clone(), "`allow()` names no rule"));
            continue;
        }
        let target = match attach(src, t, bodies) {
            Ok(target) => target,
            Err(msg) => {
                problems.push(invalid(t.span.clone(), msg));
                continue;
            }
        };
        out.push(Suppression {
            span: t.span.clone(),
            rules: rule_list,
            target,
            reason: reason.trim().to_owned(),
            used: false,
        });
    }
    out
}

/// Which body a suppression comment belongs to.
fn attach(
    src: &str,
    comment: &Token,
    bodies: &[Range<usize>],
) -> Result<Option<usize>, &'static str> {
    const NOT_ATTACHED: &str =
        "this suppression is attached to no policy: put it on the line before one";
    let next = bodies
        .iter()
        .enumerate()
        .find(|(_, b)| b.start >= comment.span.end);
    let Some((idx, body)) = next else {
        return Err(NOT_ATTACHED);
    };
    // Between the comment and the policy: only comments and whitespace, and no blank line.
    let between = src.get(comment.span.end..body.start).unwrap_or("");
    let mut blank_line = false;
    for t in crate::lexer::Lexer::new(between) {
        match t.kind {
            TokenKind::Comment => {}
            TokenKind::Whitespace => {
                if t.text(between).matches('\n').count() > 1 {
                    blank_line = true;
                }
            }
            _ => return Err(NOT_ATTACHED),
        }
    }
    if !blank_line {
        return Ok(Some(idx));
    }
    if idx == 0 {
        return Ok(None);
    }
    Err("this suppression is separated from the next policy by a blank line: put it on the line right before the policy (file-wide suppressions go before the first policy)")
}

fn invalid(span: Range<usize>, msg: &str) -> Diagnostic {
    Diagnostic::new(&rules::INVALID_SUPPRESSION, span, msg.to_owned())
        .with_help("write `// atlas-cedar: allow(RULE) reason` on the line before a policy")
}

/// Removes the diagnostics the suppressions cover and marks those suppressions used.
pub fn apply(sups: &mut [Suppression], diags: &mut Vec<Diagnostic>) {
    if sups.is_empty() {
        return;
    }
    diags.retain(|d| {
        for s in sups.iter_mut() {
            let applies = s.target.is_none() || s.target == d.body;
            if applies && s.rules.iter().any(|r| std::ptr::eq(*r, d.rule)) {
                s.used = true;
                return false;
            }
        }
        true
    });
}

/// Reports suppressions that covered nothing or give no reason.
pub fn report(sups: &[Suppression], out: &mut Vec<Diagnostic>) {
    for s in sups {
        let names = s
            .rules
            .iter()
            .map(|r| format!("{}({})", r.code, r.name))
            .collect::<Vec<_>>()
            .join(", ");
        if !s.used {
            out.push(
                Diagnostic::new(
                    &rules::UNUSED_SUPPRESSION,
                    s.span.clone(),
                    format!("this suppression of {names} suppresses nothing"),
                )
                .with_help("remove it")
                .with_fix(
                    "remove the unused suppression",
                    vec![Edit {
                        span: s.span.clone(),
                        replacement: String::new(),
                    }],
                ),
            );
        }
        if s.reason.is_empty() {
            out.push(
                Diagnostic::new(
                    &rules::SUPPRESSION_WITHOUT_REASON,
                    s.span.clone(),
                    format!("the suppression of {names} gives no reason"),
                )
                .with_help("say why after the `)`: `// atlas-cedar: allow(unconditional-forbid) project freeze until the audit`"),
            );
        }
    }
}
