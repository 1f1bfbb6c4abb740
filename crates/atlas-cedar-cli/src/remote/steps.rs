//! How the CLI shows the deploy engine's steps and events: the plan lines of
//! the other kinds, and the lines `push` prints while it applies them.

use std::sync::atomic::{AtomicUsize, Ordering};

use atlas_cedar_deploy::{Action, Event, Events, Step};

/// Prints the engine's events on stderr as `push` always has: waits as
/// `atlas-cedar: …` notes, each step done as `<symbol> <kind> <key>: <what>`
/// (a resource policy as `<what> <name>`, or on a progress bar), not with
/// `-o json`; each failure as `error: …`.
#[derive(Debug, Default)]
pub struct StderrEvents {
    /// Waiting notes and done lines (off with `-o json`).
    pub progress: bool,
    /// The resource-policy writes to show on a one-line progress bar (on a
    /// terminal), and how many are over.
    pub bar: Option<(usize, AtomicUsize)>,
}

impl StderrEvents {
    pub fn new(progress: bool) -> Self {
        StderrEvents {
            progress,
            bar: None,
        }
    }

    /// Counts a resource-policy write that is over; `[#####-----] 5/10` on
    /// the bar when there is one, ended by a new line after the last.
    fn policy_over(&self, line: Option<String>) {
        let Some((total, over)) = &self.bar else {
            if let Some(line) = line {
                eprintln!("{line}");
            }
            return;
        };
        let done = over.fetch_add(1, Ordering::SeqCst) + 1;
        let filled = (done * 20).checked_div(*total).unwrap_or(20);
        let bar = format!(
            "[{}{}] {done}/{total}",
            "#".repeat(filled),
            "-".repeat(20usize.saturating_sub(filled))
        );
        match line {
            Some(line) => eprint!("\r\x1b[2K{bar} {line}"),
            None => eprint!("\r\x1b[2K"),
        }
        if done == *total {
            eprintln!();
        }
    }
}

impl Events for StderrEvents {
    fn event(&self, event: Event) {
        let policy = |kind: &str| kind == atlas_cedar_deploy::policies::KIND;
        match event {
            Event::Waiting { message } if self.progress => eprintln!("atlas-cedar: {message}"),
            Event::StepDone {
                kind, key, done, ..
            } if self.progress && policy(kind) => {
                self.policy_over(Some(format!("{done} {key}")));
            }
            Event::StepDone {
                kind,
                key,
                action,
                done,
            } if self.progress => eprintln!("{} {kind} {key}: {done}", action.symbol()),
            Event::StepFailed { kind, message, .. } => {
                if policy(kind) && self.bar.is_some() {
                    self.policy_over(None);
                }
                eprintln!("error: {message}");
            }
            _ => {}
        }
    }
}

/// The steps as plan lines (text output); a resource policy is shown by its
/// name alone, its Atlas id only when it changes.
pub fn render<'a>(steps: impl IntoIterator<Item = &'a Step>) -> String {
    let mut out = String::new();
    for s in steps {
        let policy = s.kind == atlas_cedar_deploy::policies::KIND;
        let what = if policy {
            s.key.clone()
        } else {
            format!("{} {}", s.kind, s.key)
        };
        if s.action == Action::Unchanged {
            let why = if s.reason.is_empty() || policy {
                String::new()
            } else {
                format!(" ({})", s.reason)
            };
            out.push_str(&format!("  unchanged {what}{why}\n"));
            for w in &s.warnings {
                out.push_str(&format!("    warning: {w}\n"));
            }
            continue;
        }
        out.push_str(&format!("{} {} {what}", s.action.symbol(), s.action.word()));
        if !s.reason.is_empty() {
            out.push_str(&format!(" ({})", s.reason));
        }
        out.push('\n');
        for d in &s.details {
            out.push_str(&format!("    {d}\n"));
        }
        for w in &s.warnings {
            out.push_str(&format!("    warning: {w}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use atlas_cedar_deploy::Phase;

    #[test]
    fn render_and_counts() {
        let mut a = Step::new(
            "search index",
            "p/c/db.coll/default",
            Action::Replace,
            Phase::Indexes,
        );
        a.reason = "collection movies → films".to_owned();
        a.details
            .push("~ mappings.dynamic: false → true".to_owned());
        let mut b = Step::new(
            "export bucket",
            "p/AWS/bucket",
            Action::Unchanged,
            Phase::Other,
        );
        b.warnings.push("the old name still exists".to_owned());
        let text = render(&[a, b]);
        assert!(text.starts_with(
            "-/+ replace search index p/c/db.coll/default (collection movies → films)\n    ~ mappings"
        ), "{text}");
        assert!(
            text.contains(
                "  unchanged export bucket p/AWS/bucket\n    warning: the old name still exists\n"
            ),
            "{text}"
        );
    }
}
