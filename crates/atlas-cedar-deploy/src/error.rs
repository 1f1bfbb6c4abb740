//! Why a plan could not be made: the manifest (or a file it names) is wrong,
//! or Atlas could not be read. Front ends print the error as it displays
//! (`atlas-cedar.toml:12: [[search_index]] number 2: …`); the fields say
//! where, for editors and other front ends.

use std::fmt;
use std::path::PathBuf;

/// Why a plan (or the manifest it starts from) could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The manifest or a file it names is wrong. `file` is where the problem
    /// is (the manifest, or the JSON file it names); `line` and `column`
    /// are 1-based.
    #[error("{}: {message}", Location(file, *line, *column))]
    Manifest {
        file: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// The manifest's lint configuration (or its TOML) is wrong.
    #[error(transparent)]
    Config(#[from] atlas_cedar_core::config::ConfigError),
    /// Atlas answered a read of the plan with an error; `context` names what
    /// was being read (`export buckets of project …`).
    #[error("{}{source}", Context(context.as_deref()))]
    Atlas {
        context: Option<String>,
        #[source]
        source: atlas_cedar_client::Error,
    },
}

impl PlanError {
    /// A problem of the manifest at `file` (no line known).
    pub fn manifest(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        PlanError::Manifest {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// A problem of the manifest at `file`, line `line` (1-based).
    pub fn at_line(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        PlanError::Manifest {
            file: file.into(),
            line: Some(line),
            column: None,
            message: message.into(),
        }
    }

    /// Atlas refused a read; `context` names what.
    pub fn atlas(context: impl Into<String>, source: atlas_cedar_client::Error) -> Self {
        PlanError::Atlas {
            context: Some(context.into()),
            source,
        }
    }
}

impl From<atlas_cedar_client::Error> for PlanError {
    fn from(source: atlas_cedar_client::Error) -> Self {
        PlanError::Atlas {
            context: None,
            source,
        }
    }
}

/// `file[:line[:column]]`.
struct Location<'a>(&'a PathBuf, Option<usize>, Option<usize>);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())?;
        if let Some(line) = self.1 {
            write!(f, ":{line}")?;
            if let Some(col) = self.2 {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// `context: ` or nothing.
struct Context<'a>(Option<&'a str>);

impl fmt::Display for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(c) => write!(f, "{c}: "),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_display_file_line_and_column() {
        assert_eq!(
            PlanError::at_line("atlas-cedar.toml", 7, "[[x]] number 2: bad").to_string(),
            "atlas-cedar.toml:7: [[x]] number 2: bad"
        );
        assert_eq!(
            PlanError::manifest("atlas-cedar.toml", "no project").to_string(),
            "atlas-cedar.toml: no project"
        );
        let e = PlanError::Manifest {
            file: "search/v.json".into(),
            line: Some(3),
            column: Some(9),
            message: "invalid JSON: x".into(),
        };
        assert_eq!(e.to_string(), "search/v.json:3:9: invalid JSON: x");
    }
}
