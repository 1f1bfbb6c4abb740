//! Commands that talk to the Atlas Admin API (or the local emulator):
//! `plan`, `push`, `policies …`, `emulator`.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Start a local Atlas Admin API emulator (not yet implemented).
    Emulator,
}

pub fn run(cmd: RemoteCommand) -> ExitCode {
    match cmd {
        RemoteCommand::Emulator => {
            eprintln!("error: the emulator is not implemented yet");
            ExitCode::from(2)
        }
    }
}
