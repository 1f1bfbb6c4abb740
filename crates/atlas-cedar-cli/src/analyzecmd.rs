//! `atlas-cedar analyze` and `atlas-cedar diff`: what policies forbid, answered by
//! evaluating every behaviour of the request space (see
//! `atlas_cedar_analysis::space`). Each answer names its method: `exhaustive`
//! (a proof under the schema and catalog) or `bounded` (an example is real, "none
//! found" is reported as unknown).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use atlas_cedar_analysis::policies::{load_paths, LoadedPolicy};
use atlas_cedar_analysis::prove::{cvc5, prove_equivalence, Prover};
use atlas_cedar_analysis::semantics::{actions_of, analyze_with, diff, Change, Example, Method};
use atlas_cedar_analysis::space::DEFAULT_CAP;
use atlas_cedar_core::Engine;
use clap::{Args, ValueEnum};

use crate::remote::ConnectionArgs;
use crate::remotediff::{self, RemoteSides};
use crate::settings::{self, ConfigArgs};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  atlas-cedar analyze policies/
  atlas-cedar analyze policies/allowed-regions.cedar policies/search-nodes.cedar
  atlas-cedar analyze policies --format json
  atlas-cedar analyze policies --method exhaustive   # no solver

Per body and per action: vacuous (forbids nothing), lockout (forbids every
request), redundant/equivalent (implied by another body), evaluation errors, each
with an example request that was evaluated. Each finding names its method:
`proved` (cedar-policy-symcc and cvc5, for every well-formed request; with
--method auto when cvc5 is found, or --method prove), `exhaustive` (every
behaviour enumerated: finite ids, booleans, integer boundaries, literal sets) or
`bounded` (part of the space tried; \"none found\" is reported as unknown). When the
solver has no answer (time limit, error) evaluation answers and the finding says
why.

Exit status: 0 no findings, 1 findings, 2 usage or load error.")]
pub struct AnalyzeArgs {
    /// Policy files or directories (searched recursively for .cedar files).
    #[arg(default_value = "policies")]
    pub paths: Vec<String>,
    #[arg(long, short = 'f', value_enum, default_value_t = OutFormat::Human)]
    pub format: OutFormat,
    /// The most requests evaluated per action (more are sampled: bounded).
    #[arg(long, default_value_t = DEFAULT_CAP)]
    pub max_requests: usize,
    /// Time limit in seconds; actions not reached are reported as unknown.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// How vacuous, lockout and redundant findings are answered: `prove` with the
    /// cvc5 solver (cedar-policy-symcc), falling back to evaluation where the solver
    /// has no answer; `exhaustive` by evaluation only; `auto` proves when cvc5 is
    /// found (`CVC5` or `PATH`).
    #[arg(long, value_enum, default_value_t = AnalyzeMethod::Auto)]
    pub method: AnalyzeMethod,
    /// Time limit per solver query, in milliseconds (then: unknown, and evaluation
    /// answers).
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub solver_timeout: u64,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `analyze --method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeMethod {
    /// `prove` when the cvc5 solver is found, else `exhaustive`.
    Auto,
    /// Proofs with the solver (an error when it is missing).
    Prove,
    /// Evaluation over the request space only.
    Exhaustive,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  atlas-cedar diff old/allowed-regions.cedar policies/allowed-regions.cedar
  atlas-cedar diff old-policies/ policies/
  atlas-cedar diff a.cedar b.cedar --format json
  atlas-cedar diff old/ policies/ --prove       # also a proof per action (cvc5)
  atlas-cedar diff HEAD~1:policies policies     # a git revision against the work tree
  atlas-cedar diff main:policies/x.cedar policies/x.cedar
  atlas-cedar diff --remote                     # what is in Atlas now against .
  atlas-cedar diff --remote policies/           # ... against policies/ (as `plan policies/`)

Bodies are matched by id (@id annotation, else file stem, with #N for the Nth
body). Each is unchanged, cosmetic (same forbidden requests), behavioural (with a
request that is now forbidden and/or now allowed, evaluated), added or removed.

With --remote, the old side is the organization's resource policies in Atlas and
the new side the working tree; resource policies are matched by name as `plan`
matches them (the manifest atlas-cedar.toml, else one per .cedar file named after
it), and each is unchanged, cosmetic, behavioural, created or deleted. The
connection options and MONGODB_ATLAS_* variables are those of `plan`.

Exit status: 0 same behaviour, 1 behaviour changed, 2 usage, load or connection
error.")]
pub struct DiffArgs {
    /// OLD and NEW: .cedar files, directories or `REV:PATH` git revisions. With
    /// --remote, only NEW: a folder with atlas-cedar.toml or .cedar files (default .).
    #[arg(value_names = ["OLD", "NEW"], num_args = 0..=2)]
    pub paths: Vec<String>,
    #[arg(long, short = 'f', value_enum, default_value_t = OutFormat::Human)]
    pub format: OutFormat,
    /// The most requests evaluated per action (more are sampled: bounded).
    #[arg(long, default_value_t = DEFAULT_CAP)]
    pub max_requests: usize,
    /// Also prove, per action, whether the old and new sets forbid the same requests,
    /// with cedar-policy-symcc and the cvc5 solver (`CVC5` or `PATH`).
    #[arg(long)]
    pub prove: bool,
    /// Time limit per solver query, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub solver_timeout: u64,
    /// Compare what is in Atlas now (old) with the working tree NEW (new).
    #[arg(long)]
    pub remote: bool,
    /// With --remote: the manifest to use instead of NEW/atlas-cedar.toml.
    #[arg(long, value_name = "FILE", requires = "remote")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten, next_help_heading = "Connection (with --remote)")]
    pub conn: ConnectionArgs,
}

fn show(e: &Example) -> String {
    match &e.values {
        // A solver's request, already in Cedar's notation.
        serde_json::Value::String(s) => format!("{} {s}", e.action),
        v => format!(
            "{} {}",
            e.action,
            serde_json::to_string(v).unwrap_or_default()
        ),
    }
}

fn method_str(m: Method) -> &'static str {
    match m {
        Method::Exhaustive => "exhaustive",
        Method::Bounded => "bounded",
        Method::Proved => "proved",
    }
}

pub fn run_analyze(args: AnalyzeArgs) -> ExitCode {
    let loaded = match settings::load(&args.config) {
        Ok(l) => l,
        Err(e) => return settings::fail(&e),
    };
    let engine = &loaded.engine;
    let policies = match load_paths(engine, &args.paths) {
        Ok(p) => p,
        Err(e) => return settings::fail(&e),
    };
    let cap = args.max_requests.max(1);
    let budget = Duration::from_secs(args.timeout);
    let solver_timeout = Duration::from_millis(args.solver_timeout.max(1));
    // The solver: required with `prove`, used when found with `auto`.
    let prover_status = match args.method {
        AnalyzeMethod::Exhaustive => Ok(None),
        AnalyzeMethod::Prove | AnalyzeMethod::Auto => match cvc5() {
            Ok((_, version)) => Ok(Some(version)),
            Err(e) if args.method == AnalyzeMethod::Prove => Err(e),
            Err(e) => {
                eprintln!("note: {e}; `analyze` answers by evaluation only (--method exhaustive)");
                Ok(None)
            }
        },
    };
    let version = match prover_status {
        Ok(v) => v,
        Err(e) => return settings::fail(&e),
    };
    let outcome = atlas_cedar_core::check::with_stack(|| {
        let mut prover = match &version {
            Some(_) => Some(Prover::new(solver_timeout)?),
            None => None,
        };
        let report = analyze_with(engine, &policies, cap, budget, prover.as_mut());
        let stats = prover.map(|p| (p.version, p.queries, p.solver_time.as_millis()));
        Ok::<_, String>((report, stats))
    });
    let (report, stats) = match outcome {
        Ok(x) => x,
        Err(e) => return settings::fail(&e),
    };
    let method_name = if stats.is_some() {
        "prove"
    } else {
        "exhaustive"
    };
    match args.format {
        OutFormat::Json => match serde_json::to_value(&report)
            .map(|mut v| {
                if let Some(o) = v.as_object_mut() {
                    o.insert("method".to_owned(), serde_json::Value::from(method_name));
                    let solver = stats.as_ref().map(|(version, queries, millis)| {
                        serde_json::json!({
                            "name": "cvc5", "version": version,
                            "queries": queries, "millis": millis,
                            "timeout_ms": args.solver_timeout,
                        })
                    });
                    o.insert(
                        "solver".to_owned(),
                        solver.unwrap_or(serde_json::Value::Null),
                    );
                }
                v
            })
            .and_then(|v| serde_json::to_string_pretty(&v))
        {
            Ok(s) => println!("{s}"),
            Err(e) => return settings::fail(&e.to_string()),
        },
        OutFormat::Human => {
            for b in &report.behaviours {
                println!(
                    "{}:{} {} [{}]: forbids {} of {} requests ({})",
                    b.file,
                    b.line,
                    b.policy,
                    b.action,
                    b.forbidden,
                    b.requests,
                    method_str(b.method)
                );
                if let Some(e) = &b.forbids_example {
                    println!("    forbidden e.g. {}", show(e));
                }
            }
            if !report.findings.is_empty() {
                println!();
            }
            for f in &report.findings {
                println!(
                    "{}:{}: {} {} [{}]: {} ({})",
                    f.file,
                    f.line,
                    f.kind,
                    f.policy,
                    f.action,
                    f.message,
                    method_str(f.method)
                );
                if let Some(e) = &f.example {
                    println!("    e.g. {}", show(e));
                }
                if let Some(note) = &f.solver {
                    println!("    solver: {note}");
                }
            }
            for (a, l) in &report.limits {
                println!("note: {a}: bounded because {}", l.join("; "));
            }
            println!(
                "\n{} bodies, {} findings, {} ms",
                policies.len(),
                report.findings.len(),
                report.millis
            );
            match &stats {
                Some((version, queries, millis)) => println!(
                    "method: prove (cvc5 {version}: {queries} queries, {millis} ms; evaluation for the rest)"
                ),
                None => println!("method: exhaustive (evaluation only)"),
            }
        }
    }
    if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A `REV:PATH` argument checked out from git into a temporary directory (kept alive
/// by the returned guard); any other argument is returned as it is.
fn materialize(arg: &str) -> Result<(String, Option<tempfile::TempDir>), String> {
    if Path::new(arg).exists() {
        return Ok((arg.to_owned(), None));
    }
    let Some((rev, path)) = arg.split_once(':').filter(|(rev, _)| !rev.is_empty()) else {
        return Ok((arg.to_owned(), None));
    };
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git")
            .args(args)
            .output()
            .map_err(|e| format!("`{arg}`: cannot run git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "`{arg}`: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    let path = if path.is_empty() { "." } else { path };
    let listing = git(&[
        "ls-tree",
        "-r",
        "--name-only",
        "--full-name",
        rev,
        "--",
        path,
    ])?;
    let prefix = String::from_utf8_lossy(&git(&["rev-parse", "--show-prefix"])?)
        .trim()
        .to_owned();
    let files: Vec<String> = String::from_utf8_lossy(&listing)
        .lines()
        .filter(|f| f.ends_with(".cedar"))
        .map(str::to_owned)
        .collect();
    if files.is_empty() {
        return Err(format!("`{arg}`: no .cedar file at that revision and path"));
    }
    let dir =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    for f in &files {
        let text = git(&["show", &format!("{rev}:{f}")])?;
        let rel = f.strip_prefix(&prefix).unwrap_or(f);
        let dest = dir.path().join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&dest, text).map_err(|e| e.to_string())?;
    }
    let root = dir.path().join(path.trim_start_matches("./"));
    Ok((root.display().to_string(), Some(dir)))
}

/// The two sides of a local diff (files, directories, git revisions), with the
/// temporary checkouts that must outlive them.
type LocalSides = (
    Vec<LoadedPolicy>,
    Vec<LoadedPolicy>,
    Vec<Option<tempfile::TempDir>>,
);

fn load_local(engine: &Engine, args: &DiffArgs) -> Result<LocalSides, String> {
    let [old_arg, new_arg] = args.paths.as_slice() else {
        return Err(
            "diff needs OLD and NEW (files, directories or REV:PATH), or --remote [NEW]".to_owned(),
        );
    };
    // Git revisions become temporary checkouts for the rest of the command.
    let (old_path, old_guard) = materialize(old_arg)?;
    let (new_path, new_guard) = materialize(new_arg)?;
    let old = load_paths(engine, std::slice::from_ref(&old_path))?;
    let mut new = load_paths(engine, std::slice::from_ref(&new_path))?;
    // Two files: compare their bodies in order, whatever the files are called.
    if Path::new(&old_path).is_file() && Path::new(&new_path).is_file() {
        for (o, n) in old.iter().zip(new.iter_mut()) {
            if n.annotation_id.is_none() || n.annotation_id == o.annotation_id {
                n.rename(&o.id);
            }
        }
    }
    Ok((old, new, vec![old_guard, new_guard]))
}

pub fn run_diff(args: DiffArgs) -> ExitCode {
    let loaded = match settings::load(&args.config) {
        Ok(l) => l,
        Err(e) => return settings::fail(&e),
    };
    let engine = &loaded.engine;
    let mut remote: Option<RemoteSides> = None;
    let (old, new, _guards) = if args.remote {
        let dir = match args.paths.as_slice() {
            [] => PathBuf::from("."),
            [one] => PathBuf::from(one),
            _ => return settings::fail("with --remote, give only NEW (Atlas is the old side)"),
        };
        match remotediff::load(engine, &dir, args.manifest.as_deref(), &args.conn) {
            Ok(sides) => {
                let (old, new) = (sides.old.clone(), sides.new.clone());
                remote = Some(sides);
                (old, new, Vec::new())
            }
            Err(e) => return settings::fail(&e),
        }
    } else {
        match load_local(engine, &args) {
            Ok(x) => x,
            Err(e) => return settings::fail(&e),
        }
    };
    let cap = args.max_requests.max(1);
    let report = atlas_cedar_core::check::with_stack(|| diff(engine, &old, &new, cap));
    if let Some(sides) = remote.as_mut() {
        remotediff::summarize(sides, &report);
    }
    let mut proofs = Vec::new();
    let mut proof_failed = false;
    if args.prove {
        let timeout = Duration::from_millis(args.solver_timeout);
        let mut by_ns: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for p in old.iter().chain(new.iter()) {
            let acts = by_ns.entry(p.namespace.clone()).or_default();
            for a in actions_of(engine, p) {
                if !acts.contains(&a) {
                    acts.push(a);
                }
            }
        }
        for (ns_name, actions) in &by_ns {
            let Some(ns) = engine.schemas.get(ns_name) else {
                continue;
            };
            let o: Vec<LoadedPolicy> = old
                .iter()
                .filter(|p| &p.namespace == ns_name)
                .cloned()
                .collect();
            let n: Vec<LoadedPolicy> = new
                .iter()
                .filter(|p| &p.namespace == ns_name)
                .cloned()
                .collect();
            match atlas_cedar_core::check::with_stack(|| {
                prove_equivalence(ns, &o, &n, actions, timeout)
            }) {
                Ok(mut p) => proofs.append(&mut p),
                Err(e) => return settings::fail(&e),
            }
        }
        proof_failed = proofs.iter().any(|p| p.result != "equivalent");
    }
    match args.format {
        OutFormat::Json => match serde_json::to_value(&report)
            .map(|mut v| {
                if let Some(o) = v.as_object_mut() {
                    if args.prove {
                        o.insert(
                            "proofs".to_owned(),
                            serde_json::to_value(&proofs).unwrap_or_default(),
                        );
                    }
                    if let Some(sides) = &remote {
                        o.insert("org".to_owned(), serde_json::Value::from(sides.org.clone()));
                        o.insert(
                            "resource_policies".to_owned(),
                            serde_json::to_value(&sides.policies).unwrap_or_default(),
                        );
                    }
                }
                v
            })
            .and_then(|v| serde_json::to_string_pretty(&v))
        {
            Ok(s) => println!("{s}"),
            Err(e) => return settings::fail(&e.to_string()),
        },
        OutFormat::Human => {
            let print_change = |c: &Change, indent: &str| {
                println!(
                    "{indent}{}: {} ({})",
                    c.policy,
                    c.message,
                    method_str(c.method)
                );
                if let Some(e) = &c.now_forbidden {
                    println!("{indent}    now forbidden: {}", show(e));
                }
                if let Some(e) = &c.now_allowed {
                    println!("{indent}    now allowed:   {}", show(e));
                }
            };
            match &remote {
                Some(sides) => {
                    for rp in &sides.policies {
                        println!("{}", remotediff::headline(rp));
                        if rp.status != "unchanged" {
                            for c in rp.changes.iter().filter(|c| c.kind != "unchanged") {
                                print_change(c, "    ");
                            }
                        }
                    }
                }
                None => {
                    for c in &report.changes {
                        print_change(c, "");
                    }
                }
            }
            match report.same_behaviour {
                Some(true) => println!("\nsame behaviour: the new policies forbid exactly the requests the old ones do"),
                Some(false) => println!("\nbehaviour changed"),
                None => println!("\nbehaviour of the whole set: unknown"),
            }
            println!(
                "method: {}, {} ms",
                report.method.map_or("none", method_str),
                report.millis
            );
            if args.prove {
                let version = cvc5().map(|(_, v)| v).unwrap_or_default();
                for p in &proofs {
                    let what = match p.result.as_str() {
                        "equivalent" => "proved: same forbidden requests".to_owned(),
                        "different" => format!(
                            "proved: different; e.g. context {} is now {}",
                            p.example.as_deref().unwrap_or("?"),
                            if p.now_forbidden == Some(true) {
                                "forbidden"
                            } else {
                                "allowed"
                            }
                        ),
                        _ => format!("unknown: {}", p.detail.as_deref().unwrap_or("")),
                    };
                    println!(
                        "proof [{} on {}] (cvc5 {version}, {} ms): {what}",
                        p.action, p.resource_type, p.millis
                    );
                }
            }
        }
    }
    if report.same_behaviour == Some(true) && !proof_failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
