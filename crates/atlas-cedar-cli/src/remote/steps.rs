//! How the CLI shows the deploy engine's steps and events: the plan lines of
//! the other kinds, and the lines `push` prints while it applies them.

use atlas_cedar_deploy::{Action, Event, Events, Step};

/// Prints the engine's events on stderr as `push` always has: waits as
/// `atlas-cedar: …` notes, each step done as `<symbol> <kind> <key>: <what>`
/// (not with `-o json`), each failure as `error: …`.
#[derive(Debug, Clone, Copy)]
pub struct StderrEvents {
    /// Waiting notes and done lines (off with `-o json`).
    pub progress: bool,
}

impl Events for StderrEvents {
    fn event(&self, event: Event) {
        match event {
            Event::Waiting { message } if self.progress => eprintln!("atlas-cedar: {message}"),
            Event::StepDone {
                kind,
                key,
                action,
                done,
            } if self.progress => eprintln!("{} {kind} {key}: {done}", action.symbol()),
            Event::StepFailed { message, .. } => eprintln!("error: {message}"),
            _ => {}
        }
    }
}

/// The steps as plan lines (text output).
pub fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        if s.action == Action::Unchanged {
            let why = if s.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.reason)
            };
            out.push_str(&format!("  unchanged {} {}{why}\n", s.kind, s.key));
            for w in &s.warnings {
                out.push_str(&format!("    warning: {w}\n"));
            }
            continue;
        }
        out.push_str(&format!(
            "{} {} {} {}",
            s.action.symbol(),
            s.action.word(),
            s.kind,
            s.key
        ));
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
