//! `atlas-cedar explain`.

use std::process::ExitCode;

use atlas_cedar_core::rules::{self, Rule};
use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  atlas-cedar explain AC300
  atlas-cedar explain unknown-entity-id
  atlas-cedar explain --list")]
pub struct ExplainArgs {
    /// A rule code (`AC300`) or name (`unknown-entity-id`).
    #[arg(required_unless_present = "list")]
    pub rule: Option<String>,
    /// List every rule.
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: ExplainArgs) -> ExitCode {
    if args.list {
        for r in rules::ALL {
            println!(
                "{}  {:<26} {:<8} {:<35} {}",
                r.code,
                r.name,
                r.severity.as_str(),
                r.error_type.map_or("-", |e| e.as_str()),
                r.summary
            );
        }
        return ExitCode::SUCCESS;
    }
    let key = args.rule.unwrap_or_default();
    match rules::find(&key) {
        Some(r) => {
            print!("{}", render(r));
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: unknown rule `{key}`; `atlas-cedar explain --list` shows every rule");
            ExitCode::from(2)
        }
    }
}

/// A rule's documentation as Markdown (also used for docs/rules.md).
pub fn render(r: &Rule) -> String {
    format!(
        "# {} {}\n\nSeverity: {}. Atlas errorType: {}.\n\n{}.\n\n{}\n",
        r.code,
        r.name,
        r.severity.as_str(),
        r.error_type
            .map_or("none (Atlas accepts the body)", |e| e.as_str()),
        r.summary,
        r.docs
    )
}
