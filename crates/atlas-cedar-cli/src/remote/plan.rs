//! `atlas-cedar plan` and `atlas-cedar push`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use atlas_cedar_client::Client;
use clap::Args;
use serde::Serialize;

use super::manifest::{self, Desired, LocalBody};
use super::policies::{report_invalid, LintNotes};
use super::steps::StderrEvents;
use super::{block_on_command, confirm, org_of, print_warnings, ConnectionArgs};
use crate::inputs::Input;
use atlas_cedar_deploy::{self as resources, policies, Action, Plan, Step, WaitOptions};
use policies::input_of;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Folder with atlas-cedar.toml, or with .cedar files (one resource
    /// policy per file, named after it).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The manifest to use instead of DIR/atlas-cedar.toml.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Also delete the organization's resource policies that are not in the
    /// manifest / folder.
    #[arg(long)]
    prune: bool,
    /// Exit 0 when there is nothing to change, 2 when there are changes, 1 on errors.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Send every new or changed resource policy to Atlas's :validate.
    #[arg(long)]
    remote_validate: bool,
    /// Skip the local lint step.
    #[arg(long)]
    no_lint: bool,
    /// `markdown` gives a summary ready to post as a pull-request comment.
    #[arg(long, visible_alias = "format", value_enum, default_value_t)]
    output: PlanOutput,
    #[command(flatten)]
    conn: ConnectionArgs,
}

/// How `plan` prints the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum PlanOutput {
    #[default]
    Text,
    Json,
    /// A Markdown summary for a pull-request comment or job summary.
    Markdown,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Apply deletions without asking (required when stdin is not a terminal).
    #[arg(long)]
    yes: bool,
    /// Print the requests push would send (method, path, body) and send none.
    #[arg(long)]
    dry_run: bool,
    /// Writes sent at the same time (resource policies), and search indexes
    /// built at the same time.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Longest wait for an asynchronous state (a search index READY, an
    /// endpoint service AVAILABLE), in seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECS")]
    wait_timeout: u64,
    /// Time between two reads while waiting, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    poll_interval: f64,
}

/// A resource-policy step as `plan -o json` has always shown it.
fn change_json(s: &Step) -> serde_json::Value {
    use serde_json::json;
    match s.action {
        Action::Create => json!({"action": "create", "name": s.key, "bodies": s.details.len()}),
        Action::Update => {
            json!({"action": "update", "name": s.key, "id": s.reason, "diff": s.diff})
        }
        Action::Delete => json!({"action": "delete", "name": s.key, "id": s.reason}),
        _ => json!({"action": "unchanged", "name": s.key, "id": s.reason}),
    }
}

fn print_plan(plan: &Plan, prune: bool) {
    let (policies, others) = plan.split();
    print!("{}", super::steps::render(policies));
    if !prune && plan.unmanaged_policies > 0 {
        let extra = plan.unmanaged_policies;
        println!(
            "  ({extra} resource {} in Atlas not managed here; --prune would delete {})",
            if extra == 1 { "policy" } else { "policies" },
            if extra == 1 { "it" } else { "them" }
        );
    }
    print!("{}", super::steps::render(others));
    println!("Plan: {}", plan.summary());
}

/// The plan as Markdown: a summary line, a table of the changes, and each update's
/// diff in a collapsible block.
fn plan_markdown(plan: &Plan, prune: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("### atlas-cedar plan\n\n");
    let _ = writeln!(out, "**{}**\n", plan.summary());
    out.push_str("| change | resource policy | details |\n| --- | --- | --- |\n");
    let (policies, others) = plan.split();
    for s in &policies {
        let (name, id) = (&s.key, &s.reason);
        let _ = writeln!(
            out,
            "{}",
            match s.action {
                Action::Create => format!("| ➕ create | `{name}` | {id} |"),
                Action::Update => format!("| ✏️ update | `{name}` | `{id}` |"),
                Action::Delete => format!("| 🗑️ delete | `{name}` | `{id}` |"),
                _ => format!("| unchanged | `{name}` | |"),
            }
        );
    }
    if !others.is_empty() {
        out.push_str("\n| change | resource | details |\n| --- | --- | --- |\n");
        for s in &others {
            let mut details: Vec<String> = Vec::new();
            if !s.reason.is_empty() {
                details.push(s.reason.clone());
            }
            details.extend(s.warnings.iter().map(|w| format!("⚠️ {w}")));
            let _ = writeln!(
                out,
                "| {} | {} `{}` | {} |",
                s.action.word(),
                s.kind,
                s.key,
                details.join("<br>").replace('|', "\\|")
            );
        }
    }
    for s in &policies {
        if let Some(diff) = &s.diff {
            let _ = write!(
                out,
                "\n<details><summary>diff of <code>{}</code></summary>\n\n```diff\n{}\n```\n</details>\n",
                s.key,
                diff.trim_end().replace("```", "ʼʼʼ")
            );
        }
    }
    if !prune {
        let extra = plan.unmanaged_policies;
        if extra > 0 {
            let _ = writeln!(
                out,
                "\n{extra} resource {} in Atlas not managed here (`--prune` would delete {}).",
                if extra == 1 { "policy" } else { "policies" },
                if extra == 1 { "it" } else { "them" }
            );
        }
    }
    out
}

/// The configuration of a run: `atlas-cedar.toml` (the manifest itself, or
/// the nearest one upward from DIR) and the one engine it describes, which
/// lints the files, plans and judges every policy verdict.
fn settings_of(desired: &Desired, dir: &Path) -> Result<crate::settings::Loaded, String> {
    use atlas_cedar_core::config::find_config;
    use atlas_cedar_core::fs::RealFs;
    let args = crate::settings::ConfigArgs {
        config: None,
        no_config: false,
        schema: Vec::new(),
        max_body_size: None,
    };
    match &desired.manifest {
        // The manifest's own `[lint]`, from the one parse of the file.
        Some(m) => crate::settings::with_config(m.config.clone(), &args),
        None => {
            let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            let config = find_config(&RealFs, &start);
            crate::settings::load(&crate::settings::ConfigArgs { config, ..args })
        }
    }
}

/// The local lint step that runs before any network request: the same
/// engine, configuration and rendering as `atlas-cedar lint`, on every file
/// that feeds a resource policy. Errors stop the command.
fn lint(desired: &Desired, loaded: &crate::settings::Loaded) -> Result<LintNotes, String> {
    let inputs: Vec<Input> = desired.files.iter().cloned().map(Input::File).collect();
    let run = crate::lint::run_inputs(&loaded.engine, &inputs, None);
    let (errors, warnings) = (run.errors(), run.warnings());
    if errors + warnings > 0 {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        eprint!("{}", crate::render::human(&run.reports, color));
    }
    let notes = policies::lint_notes(&run.reports);
    let deny_warnings = loaded.config.lint.deny_warnings;
    if errors > 0 || run.io_failure || (deny_warnings && warnings > 0) {
        return Err(format!(
            "lint found {errors} error(s) and {warnings} warning(s); nothing was sent to Atlas \
             (--no-lint skips this step)"
        ));
    }
    Ok(notes)
}

struct Prepared {
    client: Arc<Client>,
    ctx: resources::Ctx,
    desired: Desired,
    plan: Plan,
    /// `None` with `--no-lint`.
    notes: Option<LintNotes>,
}

/// Lint, then list once and compute the plan.
async fn prepare(args: &PlanArgs) -> Result<Prepared, String> {
    let desired = manifest::load(&args.dir, args.manifest.as_deref()).map_err(|e| e.to_string())?;
    let source = match &desired.manifest {
        Some(m) => m.path.display().to_string(),
        None => format!(
            "{} (one resource policy per .cedar file)",
            args.dir.display()
        ),
    };
    eprintln!(
        "atlas-cedar: {} resource {} from {} {} of {source}",
        desired.policies.len(),
        if desired.policies.len() == 1 {
            "policy"
        } else {
            "policies"
        },
        desired.files.len(),
        if desired.files.len() == 1 {
            "file"
        } else {
            "files"
        }
    );
    // Every section checked (and read, once) before any credential or
    // request is needed.
    let sections = match &desired.manifest {
        Some(m) => Some(atlas_cedar_deploy::check_sections(m).map_err(|e| e.to_string())?),
        None => None,
    };
    let loaded = settings_of(&desired, &args.dir)?;
    let notes = if args.no_lint {
        None
    } else {
        Some(lint(&desired, &loaded)?)
    };
    let engine = Arc::new(loaded.engine);
    let (client, settings) = args.conn.connect()?;
    let org = org_of(
        &settings,
        desired.org_id.as_deref(),
        args.conn.org_id.as_deref(),
    )?;
    let client = Arc::new(client);
    let mut ctx = resources::Ctx::new(Arc::clone(&client), org, &desired.policies, Some(engine));
    ctx.events = Arc::new(StderrEvents::new(true));
    let plan = Plan::new(&ctx, &desired, sections, args.prune)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Prepared {
        client,
        ctx,
        desired,
        plan,
        notes,
    })
}

/// `:validate` for every new or changed resource policy; errors are printed
/// at file and line. Returns whether all passed.
async fn remote_validate(p: &Prepared) -> Result<bool, String> {
    let mut ok = true;
    for s in p.plan.split().0 {
        if !matches!(s.action, Action::Create | Action::Update) {
            continue;
        }
        let Some(local) = p.desired.policies.iter().find(|l| l.name == s.key) else {
            continue;
        };
        if let Err(e) = p.client.validate_policy(&p.ctx.org, &input_of(local)).await {
            let refs: Vec<&LocalBody> = local.bodies.iter().collect();
            if !report_invalid(&e, &refs, p.notes.as_ref()) {
                return Err(e.to_string());
            }
            ok = false;
        }
    }
    Ok(ok)
}

pub fn run_plan(args: PlanArgs) -> ExitCode {
    block_on_command(async { Ok(plan(args).await) })
}

async fn plan(args: PlanArgs) -> ExitCode {
    let started = Instant::now();
    let prepared = match prepare(&args).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut failed = false;
    if args.remote_validate {
        match remote_validate(&prepared).await {
            Ok(ok) => failed |= !ok,
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    let (client, plan) = (&prepared.client, &prepared.plan);
    match args.output {
        PlanOutput::Text => print_plan(plan, args.prune),
        PlanOutput::Markdown => print!("{}", plan_markdown(plan, args.prune)),
        PlanOutput::Json => {
            let (c, u, r, d) = resources::counts(&plan.steps);
            let (policies, others) = plan.split();
            let changes: Vec<_> = policies.into_iter().map(change_json).collect();
            let v = serde_json::json!({
                "org": prepared.ctx.org, "changes": changes, "resources": others,
                "create": c, "update": u, "replace": r, "delete": d,
                "requests": client.requests_sent(),
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    eprintln!(
        "atlas-cedar: plan took {} ms and {} HTTP request(s)",
        started.elapsed().as_millis(),
        client.requests_sent()
    );
    print_warnings(client);
    if failed {
        ExitCode::from(1)
    } else if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

#[derive(Debug, Default, Serialize)]
struct PushResult {
    created: Vec<String>,
    adopted: Vec<String>,
    updated: Vec<String>,
    deleted: Vec<String>,
    unchanged: Vec<String>,
    errors: Vec<String>,
    requests: u64,
    /// The other resources of the manifest.
    resources: resources::ApplyReport,
}

pub fn run_push(args: PushArgs) -> ExitCode {
    block_on_command(async { Ok(push(args).await) })
}

async fn push(args: PushArgs) -> ExitCode {
    let started = Instant::now();
    let mut prepared = match prepare(&args.plan).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let json = args.plan.output == PlanOutput::Json;
    let plan = &prepared.plan;
    if !json {
        print_plan(plan, args.plan.prune);
    }
    let policy_writes = plan
        .split()
        .0
        .iter()
        .filter(|s| s.action.is_change())
        .count();
    let (policy_deletes, resource_deletes, resource_replaces) = plan.deletes();
    let deletes = policy_deletes + resource_deletes + resource_replaces;
    let ctx = &mut prepared.ctx;
    ctx.wait = WaitOptions {
        timeout: std::time::Duration::from_secs(args.wait_timeout),
        interval: std::time::Duration::from_secs_f64(args.poll_interval.clamp(0.0, 3600.0)),
    };
    // A one-line progress bar on a terminal, plain lines otherwise (CI).
    let bar = std::io::stderr().is_terminal() && !json && policy_writes > 0;
    ctx.events = Arc::new(StderrEvents {
        progress: !json,
        bar: bar.then(|| (policy_writes, Default::default())),
    });
    ctx.concurrency = args.concurrency.max(1);
    let (client, plan) = (&prepared.client, &prepared.plan);
    if args.dry_run {
        for r in plan.steps.iter().flat_map(|s| &s.requests) {
            println!("{r}");
        }
        print_warnings(client);
        return ExitCode::SUCCESS;
    }
    if args.plan.remote_validate {
        match remote_validate(&prepared).await {
            Ok(true) => {}
            Ok(false) => return ExitCode::from(1),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    if deletes > 0 && !args.yes {
        let what = if resource_deletes + resource_replaces == 0 {
            format!(
                "{deletes} resource {}",
                if deletes == 1 { "policy" } else { "policies" }
            )
        } else {
            let replaced = if resource_replaces > 0 {
                format!(" ({resource_replaces} of them replaced: deleted and created again)")
            } else {
                String::new()
            };
            format!(
                "{deletes} {}{replaced}",
                if deletes == 1 { "object" } else { "objects" }
            )
        };
        if !confirm(&format!("Delete {what}?")) {
            eprintln!(
                "error: push would delete {what}; nothing was changed. \
                 Confirm on a terminal or pass --yes."
            );
            return ExitCode::from(1);
        }
    }

    let (policy_steps, other_steps) = plan.split();
    let (has_policies, has_others) = (!policy_steps.is_empty(), !other_steps.is_empty());
    let mut report = resources::apply(&prepared.ctx, &plan.steps).await;
    let policies = std::mem::take(&mut report.policies);
    let mut result = PushResult {
        unchanged: policies.unchanged,
        errors: policies.failed,
        resources: report,
        ..PushResult::default()
    };
    for (name, done) in policies.done {
        match done.as_str() {
            "created" => result.created.push(name),
            "adopted" => result.adopted.push(name),
            "updated" => result.updated.push(name),
            _ => result.deleted.push(name),
        }
    }
    result.requests = client.requests_sent();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
    } else {
        // Each line when the plan had steps of its side: a manifest of search
        // indexes only gets no "0 created" line for resource policies.
        if has_policies || !has_others {
            println!(
                "Push: {} created, {} adopted, {} updated, {} deleted, {} unchanged, {} failed.",
                result.created.len(),
                result.adopted.len(),
                result.updated.len(),
                result.deleted.len(),
                result.unchanged.len(),
                result.errors.len()
            );
        }
        let r = &result.resources;
        if has_others {
            println!(
                "Resources: {} done, {} failed, {} not done, {} unchanged.",
                r.done.len(),
                r.failed.len(),
                r.not_done.len(),
                r.unchanged
            );
            for line in &r.not_done {
                println!("  not done: {line}");
            }
        }
    }
    eprintln!(
        "atlas-cedar: push took {} ms and {} HTTP request(s)",
        started.elapsed().as_millis(),
        client.requests_sent()
    );
    print_warnings(client);
    if result.errors.is_empty()
        && result.resources.failed.is_empty()
        && result.resources.not_done.is_empty()
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
