//! `atlas-cedar lint`.

use std::io::{IsTerminal, Read, Write};

use std::process::ExitCode;

use atlas_cedar_core::check::{mark_duplicates, BodyCache};
use atlas_cedar_core::{rules, Engine, FileReport, InputKind, Severity};
use clap::{Args, ValueEnum};
use rayon::prelude::*;

use crate::inputs::{self, Excludes, Input};
use crate::render;
use crate::settings::{self, ConfigArgs};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics with source excerpts on stderr.
    Human,
    /// One JSON object on stdout (schema in README, "JSON output").
    Json,
    /// For each input Atlas would reject, the exact 400 body it would answer, one per line.
    Atlas,
    /// SARIF 2.1.0 on stdout (GitHub code scanning and other SARIF viewers).
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// A GitLab Code Quality report (JSON array) on stdout.
    Gitlab,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  atlas-cedar lint policies/
  atlas-cedar lint 'policies/**/*.cedar' request.json
  cat policy.cedar | atlas-cedar lint - --stdin-filename policy.cedar
  atlas-cedar lint main.tf stack.yaml          # bodies in Terraform / CloudFormation
  atlas-cedar lint policies --format sarif > results.sarif
  atlas-cedar lint policies --format atlas      # what Atlas would answer

Exit status: 0 clean (warnings allowed unless --deny-warnings), 1 findings,
2 usage, configuration or I/O failure.")]
pub struct LintArgs {
    /// Files, directories (searched recursively for .cedar files; also .tf files and
    /// CloudFormation templates when `[lint]` `terraform`/`cloudformation` is set),
    /// globs, or `-` for standard input. `.json` files are read as Atlas request
    /// payloads (or CloudFormation templates), `.tf` files as Terraform, `.yaml`,
    /// `.yml` and `.template` files as CloudFormation templates.
    #[arg(default_value = ".")]
    pub paths: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit with status 1 when there are warnings.
    #[arg(long)]
    pub deny_warnings: bool,
    /// The name to use for standard input in messages (and to tell `.json` payloads).
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,
    /// Only print the summary line (human format).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// The result of linting, for `lint` and for commands that lint first (`plan`, `push`).
#[derive(Debug)]
pub struct LintRun {
    pub reports: Vec<FileReport>,
    pub io_failure: bool,
}

impl LintRun {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, sev: Severity) -> usize {
        self.reports
            .iter()
            .flat_map(|r| &r.diagnostics)
            .filter(|d| d.severity == sev)
            .count()
    }
}

/// Reads and checks every input, in parallel, on threads with a large stack.
pub fn run_inputs(engine: &Engine, inputs: &[Input], stdin_name: Option<&str>) -> LintRun {
    let stdin = if inputs.contains(&Input::Stdin) {
        let mut buf = Vec::new();
        Some(std::io::stdin().read_to_end(&mut buf).map(|_| buf))
    } else {
        None
    };
    // Identical bodies, in one file or across files, are checked once.
    let cache = BodyCache::new();
    let check = |input: &Input| -> FileReport {
        let name = input.display_name(stdin_name);
        match input {
            Input::Error(_, msg) => FileReport::io_error(&name, msg.clone()),
            Input::File(p) => match inputs::read_file(p) {
                Ok(bytes) => {
                    engine.check_bytes_cached(&name, bytes, InputKind::from_path(&name), &cache)
                }
                Err(reason) => {
                    FileReport::io_error(&name, format!("cannot read `{name}`: {reason}"))
                }
            },
            Input::Stdin => match &stdin {
                Some(Ok(bytes)) => {
                    let kind = match stdin_name {
                        Some(n) => InputKind::from_path(n),
                        None if bytes
                            .iter()
                            .find(|b| !b.is_ascii_whitespace())
                            .is_some_and(|b| *b == b'{' || *b == b'[') =>
                        {
                            InputKind::Payload
                        }
                        None => InputKind::Cedar,
                    };
                    engine.check_bytes_cached(&name, bytes.clone(), kind, &cache)
                }
                Some(Err(e)) => {
                    FileReport::io_error(&name, format!("cannot read standard input: {e}"))
                }
                None => FileReport::io_error(&name, "standard input was not read"),
            },
        }
    };
    // The core's workers (large stacks): a large file's batches of bodies run there too.
    let mut reports: Vec<FileReport> = match atlas_cedar_core::check::pool() {
        Some(pool) => pool.install(|| inputs.par_iter().map(check).collect()),
        None => atlas_cedar_core::check::with_stack(|| inputs.iter().map(check).collect()),
    };
    check_referenced_files(engine, inputs, &mut reports);
    mark_duplicates(engine, &mut reports);
    let io_failure = reports
        .iter()
        .flat_map(|r| &r.diagnostics)
        .any(|d| std::ptr::eq(d.rule, &rules::IO_ERROR));
    LintRun {
        reports,
        io_failure,
    }
}

/// The files Terraform inputs read with `body = file("…")`: each is checked as the
/// one body Terraform sends, noting which resources use it. A file also given as an
/// input is checked once, that way.
fn check_referenced_files(engine: &Engine, inputs: &[Input], reports: &mut Vec<FileReport>) {
    let mut refs: std::collections::BTreeMap<std::path::PathBuf, Vec<String>> =
        std::collections::BTreeMap::new();
    for (r, input) in reports.iter().zip(inputs) {
        if r.kind != InputKind::Terraform {
            continue;
        }
        let dir = match input {
            Input::File(p) => p
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
            _ => std::path::PathBuf::new(),
        };
        // The `file()` references the check found (the file is not parsed again).
        if r.file_refs.is_empty() {
            continue;
        }
        let index = atlas_cedar_core::text::LineIndex::new(&r.text);
        for f in &r.file_refs {
            let line = index
                .line_col(
                    &r.text,
                    f.span.start,
                    atlas_cedar_core::text::ColumnUnit::Char,
                )
                .line
                + 1;
            refs.entry(dir.join(&f.path))
                .or_default()
                .push(format!("`{}` ({}:{line})", f.resource, r.name));
        }
    }
    // Each input's path resolved once (not once per referenced file).
    let canonical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let input_index: std::collections::HashMap<std::path::PathBuf, usize> = inputs
        .iter()
        .enumerate()
        .filter_map(|(i, input)| match input {
            Input::File(p) => Some((canonical(p), i)),
            _ => None,
        })
        .collect();
    for (path, users) in refs {
        let name = inputs::display_path(&path);
        // Checked like every input: a regular file within the size cap (a
        // FIFO is refused, not waited on).
        let report = match inputs::read_file(&path) {
            Ok(bytes) => atlas_cedar_core::check::with_stack(|| {
                engine.check_referenced(&name, bytes, &users)
            }),
            Err(reason) => FileReport::io_error(
                &name,
                format!(
                    "cannot read `{name}`, the body of {}: {reason}",
                    users.join(", "),
                ),
            ),
        };
        let existing = input_index.get(&canonical(&path)).copied();
        match existing.and_then(|i| reports.get_mut(i)) {
            Some(slot) => *slot = report,
            None => reports.push(report),
        }
    }
}

pub fn run(args: LintArgs) -> ExitCode {
    let loaded = match settings::load(&args.config) {
        Ok(l) => l,
        Err(e) => return settings::fail(&e),
    };
    let excludes = match Excludes::new(&loaded.config.root, &loaded.config.lint.exclude) {
        Ok(x) => x,
        Err(e) => return settings::fail(&e),
    };
    let include = inputs::Include {
        terraform: loaded.config.lint.terraform,
        cloudformation: loaded.config.lint.cloudformation,
    };
    let inputs = inputs::collect_including(&args.paths, &excludes, include);
    let mut run = run_inputs(&loaded.engine, &inputs, args.stdin_filename.as_deref());
    if let Some(report) = manifest_report(&loaded.config) {
        run.reports.push(report);
    }
    let deny_warnings = args.deny_warnings || loaded.config.lint.deny_warnings;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        Format::Human => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            if !args.quiet {
                eprint!("{}", render::human(&run.reports, color));
            }
            eprintln!("{}", summary(&run));
            Ok(())
        }
        Format::Json => writeln!(out, "{}", render::json(&run.reports)),
        Format::Sarif => writeln!(out, "{:#}", render::sarif(&run.reports)),
        Format::Github => write!(out, "{}", render::github(&run.reports)),
        Format::Gitlab => writeln!(out, "{:#}", render::gitlab(&run.reports)),
        Format::Atlas => {
            for r in &run.reports {
                if let Some(resp) = atlas_cedar_core::atlas::response_for(r) {
                    eprintln!(
                        "{}: Atlas would answer 400 {}",
                        r.name,
                        resp.error_type.as_str()
                    );
                }
            }
            write!(out, "{}", render::atlas(&run.reports))
        }
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write output: {e}");
            return ExitCode::from(2);
        }
    }
    if run.io_failure {
        ExitCode::from(2)
    } else if run.errors() > 0 || (deny_warnings && run.warnings() > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// AC905 when the config file is also a `plan`/`push` manifest whose sections
/// `plan` would refuse (checked offline, as `plan` checks them before any
/// request; the files `[[resource_policy]]` globs match are not read).
fn manifest_report(config: &atlas_cedar_core::config::Config) -> Option<FileReport> {
    use atlas_cedar_deploy::{Manifest, PlanError};
    let path = config.path.as_deref()?;
    if config.other.is_empty() {
        return None;
    }
    let read = |file: &std::path::Path| {
        inputs::read_file(file)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    };
    // The configuration already parsed is the manifest's; only its text is read.
    let manifest_text = read(path);
    let problem = Manifest::with_config(path, manifest_text.clone(), config.clone())
        .and_then(|mut m| {
            // Where plan would take the project from the environment, which a
            // pre-commit hook may not have.
            m.project_fallback = Some("000000000000000000000000".to_owned());
            atlas_cedar_deploy::check_sections(&m)
        })
        .err()?;
    let (file, line, column, message) = match problem {
        PlanError::Manifest {
            file,
            line,
            column,
            message,
        } => (file, line, column, message),
        other => (path.to_path_buf(), None, None, other.to_string()),
    };
    // The problem is in the manifest, or in a JSON file an entry names.
    let text = if file == path {
        manifest_text
    } else {
        read(&file)
    };
    let start = match line {
        Some(l) => {
            let index = atlas_cedar_core::text::LineIndex::new(&text);
            index
                .offset(
                    &text,
                    atlas_cedar_core::text::LineCol {
                        line: l.saturating_sub(1),
                        col: column.map_or(0, |c| c.saturating_sub(1)),
                    },
                    atlas_cedar_core::text::ColumnUnit::Char,
                )
                .unwrap_or(0)
        }
        None => 0,
    };
    let end = text
        .get(start..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |n| start + n);
    let name = inputs::display_path(&file);
    let mut report = FileReport::new(&name, text, InputKind::from_path(&name));
    report.diagnostics.push(
        atlas_cedar_core::Diagnostic::new(&rules::INVALID_MANIFEST, start..end, message)
            .with_help("plan and push would refuse this manifest; see docs/push.md"),
    );
    Some(report)
}

fn summary(run: &LintRun) -> String {
    let files = run.reports.len();
    let policies: usize = run.reports.iter().map(|r| r.bodies.len()).sum();
    let (e, w) = (run.errors(), run.warnings());
    let plural = |n: usize, s: &str| {
        if n == 1 {
            format!("{n} {s}")
        } else {
            format!("{n} {s}s")
        }
    };
    if e == 0 && w == 0 {
        format!(
            "checked {} in {}: no problems",
            plural(policies, "policy").replace("policys", "policies"),
            plural(files, "file")
        )
    } else {
        format!(
            "checked {} in {}: {}, {}",
            plural(policies, "policy").replace("policys", "policies"),
            plural(files, "file"),
            plural(e, "error"),
            plural(w, "warning")
        )
    }
}
