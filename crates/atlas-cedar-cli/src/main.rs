//! `atlas-cedar`: lint, format and ship MongoDB Atlas resource policies.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod analyzecmd;
#[cfg(test)]
mod build_commit;
mod docs;
mod explain;
mod extras;
mod fmt;
mod lint;
mod remote;
mod remotediff;
mod render;
mod settings;
mod testcmd;

// Turning command-line paths into inputs is the core's; `crate::inputs` still names it.
use atlas_cedar_core::inputs;

/// `atlas-cedar --version`: the version, the commit it was built from and the
/// target it was built for (build.rs; "unknown" commit outside a git checkout).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("ATLAS_CEDAR_COMMIT"),
    " ",
    env!("ATLAS_CEDAR_TARGET"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "atlas-cedar",
    version = VERSION,
    about = "Lint, format and ship MongoDB Atlas resource policies (Cedar)",
    after_help = "Examples:
  atlas-cedar lint policies/
  atlas-cedar fmt --check policies/
  atlas-cedar explain AC300"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policies the way Atlas does, before you push them.
    Lint(lint::LintArgs),
    /// Format policies with Cedar's formatter, one policy at a time.
    Fmt(fmt::FmtArgs),
    /// Show a rule's documentation: what, why, an example and the fix.
    Explain(explain::ExplainArgs),
    /// Print generated documentation (docs/rules.md, docs/cli.md).
    #[command(hide = true)]
    Docs(docs::DocsArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(extras::CompletionsArgs),
    /// Print the man page (roff), generated from this command line.
    Man(extras::ManArgs),
    /// Run policy tests (`*.test.toml`) under Atlas semantics.
    Test(testcmd::TestArgs),
    /// Start the language server (LSP over stdin/stdout) for editors.
    #[command(after_help = "Examples:
  atlas-cedar lsp            # what an editor runs (see editors/README.md)
  atlas-cedar lsp --stdio    # the same, for clients that pass --stdio")]
    Lsp {
        /// Accepted for clients that pass it (stdio is the only transport).
        #[arg(long, hide = true)]
        stdio: bool,
    },
    /// Find vacuous, lockout, redundant and erroring policy bodies, with examples.
    Analyze(analyzecmd::AnalyzeArgs),
    /// Compare two versions of policies: cosmetic or behavioural, with examples.
    Diff(analyzecmd::DiffArgs),
    #[command(flatten)]
    Remote(remote::RemoteCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Docs(args) => docs::run(args, &Cli::command()),
        Command::Completions(args) => extras::completions(args),
        Command::Man(args) => extras::man(args),
        Command::Test(args) => testcmd::run(args),
        Command::Lsp { .. } => atlas_cedar_lsp::run_stdio(),
        Command::Analyze(args) => analyzecmd::run_analyze(args),
        Command::Diff(args) => analyzecmd::run_diff(args),
        Command::Remote(cmd) => remote::run(cmd),
    }
}
