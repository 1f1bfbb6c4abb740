//! `atlas-cedar completions SHELL` and `atlas-cedar man`: generated from the
//! clap definition of the command line, so they never drift from it.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _};
use clap_complete::Shell;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  atlas-cedar completions bash > ~/.local/share/bash-completion/completions/atlas-cedar
  atlas-cedar completions zsh > ~/.zfunc/_atlas-cedar     # with fpath+=~/.zfunc
  atlas-cedar completions fish > ~/.config/fish/completions/atlas-cedar.fish
  atlas-cedar completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  atlas-cedar man | man -l -
  atlas-cedar man > /usr/local/share/man/man1/atlas-cedar.1
  atlas-cedar man --dir /usr/local/share/man/man1   # one page per subcommand too")]
pub struct ManArgs {
    /// Write atlas-cedar.1 and one page per subcommand (atlas-cedar-lint.1, …)
    /// into this directory instead of printing atlas-cedar.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// The name users type, whatever the binary file is called.
const BIN: &str = "atlas-cedar";

fn command() -> clap::Command {
    crate::Cli::command().name(BIN).bin_name(BIN)
}

pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, BIN, &mut out);
    write_stdout(&out)
}

pub fn man(args: ManArgs) -> ExitCode {
    let cmd = command();
    if let Some(dir) = args.dir {
        return match std::fs::create_dir_all(&dir)
            .and_then(|()| clap_mangen::generate_to(cmd, &dir))
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write man pages to {}: {e}", dir.display());
                ExitCode::from(2)
            }
        };
    }
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
        eprintln!("error: cannot render the man page: {e}");
        return ExitCode::from(2);
    }
    write_stdout(&out)
}

/// Writes all of `bytes`; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::from(2)
        }
    }
}
