//! The one diagnostic type. Every renderer (human, JSON, Atlas, SARIF, GitHub, the
//! language server) is a function of this.

use std::ops::Range;

use crate::rules::{ErrorType, Rule, Severity};

/// A text replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Range<usize>,
    pub replacement: String,
}

/// A suggested fix: a title and the edits that apply it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
}

/// One finding. Spans are byte ranges into the text the finding is about: the file
/// once a file has been checked, the body while a body is being checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: &'static Rule,
    pub severity: Severity,
    /// One line, lower case, user input in backticks.
    pub message: String,
    /// What Atlas would put in `errors[].detail`, when it differs from `message`.
    pub detail: Option<String>,
    pub span: Range<usize>,
    pub help: Option<String>,
    pub fix: Option<Fix>,
    /// Which body of the file (0-based) the finding is in, if any.
    pub body: Option<usize>,
}

impl Diagnostic {
    pub fn new(rule: &'static Rule, span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            severity: rule.severity,
            message: message.into(),
            detail: None,
            span,
            help: None,
            fix: None,
            body: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_fix(mut self, title: impl Into<String>, edits: Vec<Edit>) -> Self {
        self.fix = Some(Fix {
            title: title.into(),
            edits,
        });
        self
    }

    /// The Atlas error class, if Atlas would reject the body for this.
    pub fn error_type(&self) -> Option<ErrorType> {
        self.rule.error_type
    }

    /// The `detail` string Atlas would answer with.
    pub fn atlas_detail(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.message)
    }

    /// Moves every span by `delta` bytes (body-relative → file-relative).
    pub fn shift(&mut self, delta: usize) {
        self.map_spans(&|o| o + delta);
    }

    /// Maps every offset through `f`.
    pub fn map_spans(&mut self, f: &dyn Fn(usize) -> usize) {
        self.span = f(self.span.start)..f(self.span.end);
        if let Some(fix) = &mut self.fix {
            for e in &mut fix.edits {
                e.span = f(e.span.start)..f(e.span.end);
            }
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let code = match self.rule.error_type {
            Some(et) => format!("{}({}) [{}]", self.rule.code, self.rule.name, et.as_str()),
            None => format!("{}({})", self.rule.code, self.rule.name),
        };
        Some(Box::new(code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let fix = self
            .fix
            .as_ref()
            .filter(|f| self.help.as_deref() != Some(f.title.as_str()))
            .map(|f| format!("fix: {}", f.title));
        match (&self.help, fix) {
            (Some(h), Some(f)) => Some(Box::new(format!("{h}\n{f}"))),
            (Some(h), None) => Some(Box::new(h)),
            (None, Some(f)) => Some(Box::new(f)),
            (None, None) => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = miette::SourceSpan::from(self.span.start..self.span.end.max(self.span.start));
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(None, span),
        )))
    }
}
