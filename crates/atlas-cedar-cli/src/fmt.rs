//! `atlas-cedar fmt`.

use std::io::{Read, Write};
use std::process::ExitCode;

use atlas_cedar_core::check::with_stack;
use atlas_cedar_core::format::{format_cedar_with, FormatOptions};
use atlas_cedar_core::safe_write::{write_file_with, Existing, WriteError};
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
    /// Also rewrite files without write permission (they stay read-only); by default
    /// they are left unchanged with an error.
    #[arg(long)]
    pub allow_read_only: bool,
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
            Input::File(p) => match inputs::read_file(p) {
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
                Err(reason) => {
                    eprintln!("error: {name}: cannot read: {reason}");
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
                } else if let Err(e) = write_back(p, &text, &formatted, args.allow_read_only) {
                    eprintln!("error: {name}: {e}");
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

/// Replaces a file's contents with `text`, safely
/// ([`atlas_cedar_core::safe_write`]): a symbolic link is followed and its target
/// rewritten (the link stays a link); a file without write permission is left
/// unchanged unless `allow_read_only`; if the file no longer holds `original`
/// (edited while we formatted), nothing is replaced.
fn write_back(
    path: &std::path::Path,
    original: &str,
    text: &str,
    allow_read_only: bool,
) -> Result<(), String> {
    let target = std::fs::canonicalize(path)
        .map_err(|e| format!("cannot write: {}", inputs::io_reason(&e)))?;
    let perms = std::fs::metadata(&target)
        .map_err(|e| format!("cannot write: {}", inputs::io_reason(&e)))?
        .permissions();
    if perms.readonly() && !allow_read_only {
        return Err(
            "the file is read-only; left unchanged (pass --allow-read-only to format it anyway)"
                .to_owned(),
        );
    }
    let existing = Existing::ReplaceIfUnchanged(original.as_bytes());
    #[cfg(debug_assertions)]
    let pause: &dyn Fn() = &test_pause;
    #[cfg(not(debug_assertions))]
    let pause: &dyn Fn() = &|| {};
    write_file_with(&target, text.as_bytes(), existing, pause).map_err(|e| match e {
        WriteError::Changed => {
            "the file changed while it was being formatted; left unchanged (run fmt again)"
                .to_owned()
        }
        WriteError::Other(why) => why,
    })
}

/// Tests only (debug builds): with `ATLAS_CEDAR_TEST_FMT_PAUSE=DIR`, announce that
/// the new text is ready (`DIR/ready`) and wait for `DIR/go` before the last check,
/// so a test can edit the file at exactly this point.
#[cfg(debug_assertions)]
fn test_pause() {
    let Some(dir) = std::env::var_os("ATLAS_CEDAR_TEST_FMT_PAUSE") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    if std::fs::write(dir.join("ready"), "").is_err() {
        return;
    }
    for _ in 0..6000 {
        if dir.join("go").exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
