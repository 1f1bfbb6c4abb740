//! `atlas-cedar test`: run `*.test.toml` files against their policies under Atlas
//! semantics (allowed unless a policy forbids). The format and the runner are in
//! `atlas_cedar_analysis::testing`; this module finds files and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use atlas_cedar_analysis::testing::{is_test_file, run_suite, SuiteReport, TEST_SUFFIX};
use atlas_cedar_core::fs::RealFs;
use clap::{Args, ValueEnum};

use crate::settings::{self, ConfigArgs};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// `cargo test`-style lines on stdout.
    Human,
    /// One JSON object on stdout.
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  atlas-cedar test                       # every *.test.toml under policies/ (or .)
  atlas-cedar test policies/
  atlas-cedar test policies/allowed-regions.test.toml
  atlas-cedar test policies/allowed-regions.cedar   # its sibling .test.toml
  atlas-cedar test policies --format json

A test file `NAME.test.toml` tests `NAME.cedar` beside it (or the files in its
`policies = [...]`). Each [[test]] has a name, an action, an optional resource,
a context written with plain strings for entity ids and IP ranges, and
expect = \"forbidden\" | \"allowed\" (optionally forbidden_by = \"<file or @id>\").
The context is checked against the action's schema: a typo fails the test.
See docs/testing.md.

Exit status: 0 all tests passed, 1 a test failed, 2 usage or configuration error.")]
pub struct TestArgs {
    /// Test files, policy files (their sibling `.test.toml` is run) or directories
    /// (searched recursively). Default: `policies/` if it exists, else `.`.
    pub paths: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
    /// Do not report policies that no test exercises.
    #[arg(long)]
    pub no_coverage: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: TestArgs) -> ExitCode {
    let loaded = match settings::load(&args.config) {
        Ok(l) => l,
        Err(e) => return settings::fail(&e),
    };
    let paths: Vec<String> = if args.paths.is_empty() {
        if Path::new("policies").is_dir() {
            vec!["policies".to_owned()]
        } else {
            vec![".".to_owned()]
        }
    } else {
        args.paths.clone()
    };
    let mut tests = Vec::new();
    let mut policies = Vec::new();
    for p in &paths {
        let path = PathBuf::from(p);
        if path.is_dir() {
            walk(&path, &mut tests, &mut policies);
        } else if is_test_file(&path) {
            tests.push(path);
        } else if path.extension().is_some_and(|e| e == "cedar") && path.is_file() {
            let sibling = sibling_test(&path);
            if sibling.is_file() {
                tests.push(sibling);
            }
            policies.push(path);
        } else if path.exists() {
            return settings::fail(&format!(
                "{p}: not a test file (*{TEST_SUFFIX}), a .cedar file or a directory"
            ));
        } else {
            return settings::fail(&format!("{p}: no such file or directory"));
        }
    }
    tests.sort();
    tests.dedup();
    policies.sort();
    policies.dedup();
    if tests.is_empty() {
        return settings::fail(&format!(
            "no test files (*{TEST_SUFFIX}) found in {}",
            paths.join(", ")
        ));
    }
    let mut report = run_suite(&loaded.engine, &RealFs, &tests, &policies);
    if args.no_coverage {
        report.untested.clear();
    }
    match args.format {
        TestFormat::Human => print_human(&report),
        TestFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return settings::fail(&e.to_string()),
        },
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn sibling_test(cedar: &Path) -> PathBuf {
    let stem = cedar
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    cedar.with_file_name(format!("{stem}{TEST_SUFFIX}"))
}

fn walk(dir: &Path, tests: &mut Vec<PathBuf>, policies: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n == "target");
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, tests, policies);
        } else if is_test_file(&p) {
            tests.push(p);
        } else if p.extension().is_some_and(|e| e == "cedar") {
            policies.push(p);
        }
    }
}

fn print_human(report: &SuiteReport) {
    let n = report.tests.len();
    println!("\nrunning {n} test{}", if n == 1 { "" } else { "s" });
    for t in &report.tests {
        println!(
            "test {} ... {}",
            t.name,
            if t.passed { "ok" } else { "FAILED" }
        );
    }
    let failed: Vec<_> = report.tests.iter().filter(|t| !t.passed).collect();
    if !failed.is_empty() {
        println!("\nfailures:\n");
        for t in &failed {
            println!("---- {} ({}) ----", t.name, t.file);
            for m in &t.messages {
                println!("{m}");
            }
            println!();
        }
        println!("failures:");
        for t in &failed {
            println!("    {}", t.name);
        }
    }
    if !report.untested.is_empty() {
        println!("\npolicies no test exercises:");
        for u in &report.untested {
            println!("    {} ({}:{}): {}", u.policy, u.file, u.line, u.reason);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if report.ok() { "ok" } else { "FAILED" },
        report.passed,
        report.failed
    );
    println!("{} passed, {} failed", report.passed, report.failed);
}
