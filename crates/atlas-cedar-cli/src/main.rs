//! `atlas-cedar`: lint, format and ship MongoDB Atlas resource policies.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod remote;

#[derive(Debug, Parser)]
#[command(name = "atlas-cedar", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Remote(remote::RemoteCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Remote(cmd) => remote::run(cmd),
    }
}
