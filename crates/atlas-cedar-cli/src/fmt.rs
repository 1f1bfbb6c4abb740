//! `atlas-cedar fmt`.

use std::io::{Read, Write};
use std::process::ExitCode;

use atlas_cedar_core::check::with_stack;
use atlas_cedar_core::format::{format_cedar_with, FormatOptions};
use clap::Args;

use crate::inputs::{self, Excludes, Input};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  atlas-cedar fmt policies/            # rewrite files in place
  atlas-cedar fmt --check policies/    # exit 1 if a file is not formatted
  atlas-cedar fmt - < in.cedar > out.cedar

Exit status: 0 formatted (or nothing to do), 1 with --check when a file would
change, 2 when a file cannot be formatted (syntax error) or read.")]
pub struct FmtArgs {
    /// Files, directories (recursively, .cedar), globs, or `-` (stdin to stdout).
    #[arg(default_value = ".")]
    pub paths: Vec<String>,
    /// Do not write; list the files that would change and exit 1 if any.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub config: crate::settings::ConfigArgs,
}

pub fn run(args: FmtArgs) -> ExitCode {
    // The maximum body size `lint` applies: no policy is formatted across it.
    let options = match crate::settings::load(&args.config) {
        Ok(loaded) => FormatOptions {
            max_body_size: loaded.engine.settings.max_body_size,
        },
        Err(e) => return crate::settings::fail(&e),
    };
    let inputs = inputs::collect(&args.paths, &Excludes::none());
    let mut failed = false;
    let mut unformatted = 0usize;
    let mut changed = 0usize;
    for input in &inputs {
        let name = input.display_name(None);
        let text = match input {
            Input::Error(_, msg) => {
                eprintln!("error: {name}: {msg}");
                failed = true;
                continue;
            }
            Input::Stdin => {
                let mut s = String::new();
                match std::io::stdin().read_to_string(&mut s) {
                    Ok(_) => s,
                    Err(e) => {
                        eprintln!("error: <stdin>: cannot read: {e}");
                        failed = true;
                        continue;
                    }
                }
            }
            Input::File(p) => match std::fs::read(p) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!(
                            "error: {name}: invalid UTF-8 at byte {}, file left unchanged",
                            e.utf8_error().valid_up_to()
                        );
                        failed = true;
                        continue;
                    }
                },
                Err(e) => {
                    eprintln!("error: {name}: cannot read: {e}");
                    failed = true;
                    continue;
                }
            },
        };
        let formatted = match with_stack(|| format_cedar_with(&text, &options)) {
            Ok(f) => {
                for note in &f.kept {
                    eprintln!("note: {name}:{note}");
                }
                f.text
            }
            Err(e) => {
                eprintln!("error: {name}:{e}");
                failed = true;
                continue;
            }
        };
        match input {
            Input::Stdin => {
                if args.check {
                    if formatted != text {
                        eprintln!("would reformat <stdin>");
                        unformatted += 1;
                    }
                } else {
                    let mut out = std::io::stdout().lock();
                    if out.write_all(formatted.as_bytes()).is_err() {
                        return ExitCode::from(2);
                    }
                }
            }
            Input::File(p) if formatted != text => {
                if args.check {
                    println!("would reformat {name}");
                    unformatted += 1;
                } else if let Err(e) = write_atomically(p, &formatted) {
                    eprintln!("error: {name}: cannot write: {e}");
                    failed = true;
                } else {
                    changed += 1;
                }
            }
            _ => {}
        }
    }
    if !args.check && changed > 0 {
        eprintln!(
            "formatted {changed} file{}",
            if changed == 1 { "" } else { "s" }
        );
    }
    if failed {
        ExitCode::from(2)
    } else if unformatted > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes through a temporary file in the same directory, then renames, so an
/// interrupted run never leaves a half-written policy. Keeps the file's permissions.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.atlas-cedar-fmt.tmp"));
    let perms = std::fs::metadata(path)?.permissions();
    std::fs::write(&tmp, text)?;
    std::fs::set_permissions(&tmp, perms)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
