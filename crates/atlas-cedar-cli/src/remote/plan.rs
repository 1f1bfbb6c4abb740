//! `atlas-cedar plan` and `atlas-cedar push`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use atlas_cedar_client::{
    Client, CreateOutcome, ResourcePolicy, ResourcePolicyInput, ResourcePolicyPatch,
};
use clap::Args;
use serde::Serialize;

use super::manifest::{self, Desired, LocalBody, LocalPolicy};
use super::policies::{describe_invalid, report_invalid, LintNotes};
use super::steps::StderrEvents;
use super::{confirm, org_of, print_warnings, runtime, ConnectionArgs};
use crate::inputs::Input;
use atlas_cedar_deploy::{self as resources, Step, WaitOptions};

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

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum Change {
    Create {
        name: String,
        bodies: usize,
    },
    Update {
        name: String,
        id: String,
        diff: String,
    },
    Delete {
        name: String,
        id: String,
    },
    Unchanged {
        name: String,
        id: String,
    },
}

impl Change {
    fn is_change(&self) -> bool {
        !matches!(self, Change::Unchanged { .. })
    }
}

#[derive(Debug)]
struct Plan {
    org: String,
    changes: Vec<Change>,
    desired: Desired,
    remote: Vec<ResourcePolicy>,
    /// The other resources of the manifest, in application order.
    steps: Vec<Step>,
    ctx: Option<resources::Ctx>,
    /// The run's engine (the user's schema, entities and size limit): the one
    /// that linted the files judges the policy verdicts.
    engine: Arc<atlas_cedar_core::Engine>,
}

impl Plan {
    fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for ch in &self.changes {
            match ch {
                Change::Create { .. } => c.0 += 1,
                Change::Update { .. } => c.1 += 1,
                Change::Delete { .. } => c.2 += 1,
                Change::Unchanged { .. } => {}
            }
        }
        c
    }

    fn has_changes(&self) -> bool {
        self.changes.iter().any(Change::is_change)
            || self.steps.iter().any(|s| s.action.is_change())
    }

    /// `Plan: …` with the resource policies and the other resources together.
    fn summary(&self) -> String {
        let (c, u, d) = self.counts();
        let (rc, ru, rr, rd) = resources::counts(&self.steps);
        let replace = if rr > 0 {
            format!(" {rr} to replace,")
        } else {
            String::new()
        };
        format!(
            "{} to create, {} to update,{replace} {} to delete.",
            c + rc,
            u + ru,
            d + rd
        )
    }

    fn local(&self, name: &str) -> Option<&LocalPolicy> {
        self.desired.policies.iter().find(|p| p.name == name)
    }
}

fn input_of(p: &LocalPolicy) -> ResourcePolicyInput {
    let bodies: Vec<&str> = p.bodies.iter().map(|b| b.text.as_str()).collect();
    ResourcePolicyInput::new(&p.name, p.description.as_deref(), &bodies)
}

fn render(description: Option<&str>, bodies: &[&str]) -> String {
    let mut s = String::new();
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        s.push_str(&format!("# description: {d}\n"));
    }
    for (i, b) in bodies.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(b);
        if !b.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// What an update does to behaviour, from `atlas-cedar diff`'s analysis: whether the
/// edit is cosmetic or which request it newly forbids or allows.
fn behaviour_lines(plan: &Plan, name: &str) -> Vec<String> {
    use atlas_cedar_analysis::policies::load_policies;
    use atlas_cedar_analysis::semantics::diff as semantic_diff;
    use atlas_cedar_analysis::space::DEFAULT_CAP;
    let engine = plan.engine.as_ref();
    let (Some(remote), Some(local)) = (
        plan.remote.iter().find(|r| r.name == name),
        plan.local(name),
    ) else {
        return Vec::new();
    };
    let old_text = remote.bodies().join("\n");
    let new_text = local
        .bodies
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    atlas_cedar_core::check::with_stack(|| {
        let (Ok(old), Ok(mut new)) = (
            load_policies(engine, name, &old_text),
            load_policies(engine, name, &new_text),
        ) else {
            return vec!["behaviour: not analysed (a body does not load)".to_owned()];
        };
        for (o, n) in old.iter().zip(new.iter_mut()) {
            if n.annotation_id.is_none() || n.annotation_id == o.annotation_id {
                n.rename(&o.id);
            }
        }
        let report = semantic_diff(engine, &old, &new, DEFAULT_CAP);
        let method = report
            .method
            .as_ref()
            .map(|m| format!("{m:?}").to_lowercase())
            .unwrap_or_default();
        if report.same_behaviour == Some(true) {
            return vec![format!(
                "behaviour: unchanged, the edit is cosmetic ({method})"
            )];
        }
        let mut lines = Vec::new();
        for c in report
            .changes
            .iter()
            .filter(|c| c.kind != "unchanged" && c.kind != "cosmetic")
        {
            let what = c
                .message
                .strip_prefix("behavioural: ")
                .map_or_else(|| c.message.clone(), |m| format!("behaviour changes: {m}"));
            lines.push(format!("{what} ({method})"));
            if let Some(e) = &c.now_forbidden {
                lines.push(format!("  now forbidden: {} {}", e.action, e.values));
            }
            if let Some(e) = &c.now_allowed {
                lines.push(format!("  now allowed:   {} {}", e.action, e.values));
            }
        }
        lines
    })
}

fn diff(remote: &ResourcePolicy, local: &LocalPolicy) -> String {
    let old = render(remote.description.as_deref(), &remote.bodies());
    let local_bodies: Vec<&str> = local.bodies.iter().map(|b| b.text.as_str()).collect();
    let new = render(local.description.as_deref(), &local_bodies);
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("atlas: {}", remote.name),
            &format!("local: {}", local.name),
        )
        .to_string()
}

fn compute(
    org: String,
    desired: Desired,
    remote: Vec<ResourcePolicy>,
    prune: bool,
    engine: Arc<atlas_cedar_core::Engine>,
) -> Plan {
    let mut changes = Vec::new();
    for local in &desired.policies {
        let input = input_of(local);
        match remote.iter().find(|r| r.name == local.name) {
            None => changes.push(Change::Create {
                name: local.name.clone(),
                bodies: local.bodies.len(),
            }),
            Some(r) if r.matches(&input) => {
                changes.push(Change::Unchanged {
                    name: r.name.clone(),
                    id: r.id.clone(),
                });
            }
            Some(r) => changes.push(Change::Update {
                name: r.name.clone(),
                id: r.id.clone(),
                diff: diff(r, local),
            }),
        }
    }
    if prune {
        for r in &remote {
            if !desired.policies.iter().any(|l| l.name == r.name) {
                changes.push(Change::Delete {
                    name: r.name.clone(),
                    id: r.id.clone(),
                });
            }
        }
    }
    Plan {
        org,
        changes,
        desired,
        remote,
        steps: Vec::new(),
        ctx: None,
        engine,
    }
}

fn print_plan(plan: &Plan, prune: bool) {
    for ch in &plan.changes {
        match ch {
            Change::Create { name, bodies } => {
                println!(
                    "+ create {name} ({bodies} {})",
                    if *bodies == 1 { "policy" } else { "policies" }
                );
                if let Some(local) = plan.local(name) {
                    for b in &local.bodies {
                        println!("    {}:{}", b.file.display(), b.line);
                    }
                }
            }
            Change::Update { name, id, diff } => {
                println!("~ update {name} ({id})");
                for line in diff.lines() {
                    println!("    {line}");
                }
                for line in behaviour_lines(plan, name) {
                    println!("    {line}");
                }
            }
            Change::Delete { name, id } => println!("- delete {name} ({id})"),
            Change::Unchanged { name, .. } => println!("  unchanged {name}"),
        }
    }
    if !prune {
        let extra = unmanaged(plan);
        if extra > 0 {
            println!(
                "  ({extra} resource {} in Atlas not managed here; --prune would delete {})",
                if extra == 1 { "policy" } else { "policies" },
                if extra == 1 { "it" } else { "them" }
            );
        }
    }
    print!("{}", super::steps::render(&plan.steps));
    println!("Plan: {}", plan.summary());
}

/// How many of the org's resource policies the manifest does not name (what
/// `--prune` would delete).
fn unmanaged(plan: &Plan) -> usize {
    plan.remote
        .iter()
        .filter(|r| !plan.desired.policies.iter().any(|l| l.name == r.name))
        .count()
}

/// The plan as Markdown: a summary line, a table of the changes, and each update's
/// diff in a collapsible block.
fn plan_markdown(plan: &Plan, prune: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("### atlas-cedar plan\n\n");
    let _ = writeln!(out, "**{}**\n", plan.summary());
    out.push_str("| change | resource policy | details |\n| --- | --- | --- |\n");
    for ch in &plan.changes {
        let row = match ch {
            Change::Create { name, bodies } => format!(
                "| ➕ create | `{name}` | {bodies} {} |",
                if *bodies == 1 { "policy" } else { "policies" }
            ),
            Change::Update { name, id, .. } => format!("| ✏️ update | `{name}` | `{id}` |"),
            Change::Delete { name, id } => format!("| 🗑️ delete | `{name}` | `{id}` |"),
            Change::Unchanged { name, .. } => format!("| unchanged | `{name}` | |"),
        };
        out.push_str(&row);
        out.push('\n');
    }
    if !plan.steps.is_empty() {
        out.push_str("\n| change | resource | details |\n| --- | --- | --- |\n");
        for s in &plan.steps {
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
    for ch in &plan.changes {
        if let Change::Update { name, diff, .. } = ch {
            let _ = write!(
                out,
                "\n<details><summary>diff of <code>{name}</code></summary>\n\n```diff\n{}\n```\n</details>\n",
                diff.trim_end().replace("```", "ʼʼʼ")
            );
        }
    }
    if !prune {
        let extra = unmanaged(plan);
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
    let config = desired.manifest.clone().or_else(|| {
        let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        find_config(&RealFs, &start)
    });
    let args = crate::settings::ConfigArgs {
        config,
        no_config: false,
        schema: Vec::new(),
        max_body_size: None,
    };
    crate::settings::load(&args)
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
    let mut notes = LintNotes::new();
    for report in &run.reports {
        for body in &report.bodies {
            notes.entry(body.text.clone()).or_default();
        }
        for d in &report.diagnostics {
            let Some(body) = d.body.and_then(|i| report.bodies.get(i)) else {
                continue;
            };
            notes.entry(body.text.clone()).or_default().push(format!(
                "{} {}({}): {}",
                d.severity.as_str(),
                d.rule.code,
                d.rule.name,
                d.message
            ));
        }
    }
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
    plan: Plan,
    /// `None` with `--no-lint`.
    notes: Option<LintNotes>,
}

/// Lint, then list once and compute the plan.
async fn prepare(args: &PlanArgs) -> Result<Prepared, String> {
    let desired = manifest::load(&args.dir, args.manifest.as_deref())?;
    let source = match &desired.manifest {
        Some(m) => m.display().to_string(),
        None => format!(
            "{} (one resource policy per .cedar file)",
            args.dir.display()
        ),
    };
    eprintln!(
        "atlas-cedar: {} resource {} from {} files of {source}",
        desired.policies.len(),
        if desired.policies.len() == 1 {
            "policy"
        } else {
            "policies"
        },
        desired.files.len()
    );
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
    let remote = client
        .list_policies(&org)
        .await
        .map_err(|e| e.to_string())?;
    let client = Arc::new(client);
    let mut plan = compute(org, desired, remote, args.prune, Arc::clone(&engine));
    if let Some(path) = plan.desired.manifest.clone() {
        let text = super::read_text(&path)?;
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let ctx = resources::Ctx {
            client: Arc::clone(&client),
            org: plan.org.clone(),
            policies: plan
                .desired
                .policies
                .iter()
                .map(|p| atlas_cedar_analysis::govern::NamedPolicy {
                    name: p.name.clone(),
                    bodies: p.bodies.iter().map(|b| b.text.clone()).collect(),
                })
                .collect(),
            engine: Some(Arc::clone(&engine)),
            wait: WaitOptions {
                timeout: std::time::Duration::from_secs(1800),
                interval: std::time::Duration::from_secs(10),
            },
            events: Arc::new(StderrEvents { progress: true }),
            concurrency: 4,
        };
        let m = resources::Manifest::new(&path, &root, &text)?;
        plan.steps = resources::plan(&ctx, &m, args.prune).await?;
        plan.ctx = Some(ctx);
    }
    Ok(Prepared {
        client,
        plan,
        notes,
    })
}

/// `:validate` for every new or changed resource policy; errors are printed
/// at file and line. Returns whether all passed.
async fn remote_validate(
    client: &Client,
    plan: &Plan,
    notes: Option<&LintNotes>,
) -> Result<bool, String> {
    let mut ok = true;
    for ch in &plan.changes {
        let name = match ch {
            Change::Create { name, .. } | Change::Update { name, .. } => name,
            _ => continue,
        };
        let Some(local) = plan.local(name) else {
            continue;
        };
        if let Err(e) = client.validate_policy(&plan.org, &input_of(local)).await {
            let refs: Vec<&LocalBody> = local.bodies.iter().collect();
            if !report_invalid(&e, &refs, notes) {
                return Err(e.to_string());
            }
            ok = false;
        }
    }
    Ok(ok)
}

pub fn run_plan(args: PlanArgs) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async {
        let started = Instant::now();
        let prepared = match prepare(&args).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        let Prepared {
            client,
            plan,
            notes,
        } = prepared;
        let mut failed = false;
        if args.remote_validate {
            match remote_validate(&client, &plan, notes.as_ref()).await {
                Ok(ok) => failed |= !ok,
                Err(e) => {
                    eprintln!("error: {e}");
                    failed = true;
                }
            }
        }
        match args.output {
            PlanOutput::Text => print_plan(&plan, args.prune),
            PlanOutput::Markdown => print!("{}", plan_markdown(&plan, args.prune)),
            PlanOutput::Json => {
                let (c, u, d) = plan.counts();
                let (rc, ru, rr, rd) = resources::counts(&plan.steps);
                let v = serde_json::json!({
                    "org": plan.org, "changes": plan.changes,
                    "resources": plan.steps,
                    "create": c + rc, "update": u + ru, "replace": rr, "delete": d + rd,
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
        print_warnings(&client);
        if failed {
            ExitCode::from(1)
        } else if args.detailed_exitcode && plan.has_changes() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
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

fn print_dry_run(plan: &Plan) {
    let base = format!("/api/atlas/v2/orgs/{}/resourcePolicies", plan.org);
    for ch in &plan.changes {
        match ch {
            Change::Create { name, .. } => {
                let body = plan.local(name).map(input_of);
                println!("would POST {base}");
                println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                );
            }
            Change::Update { name, id, .. } => {
                let body = plan
                    .local(name)
                    .map(|l| ResourcePolicyPatch::from(&input_of(l)));
                println!("would PATCH {base}/{id}");
                println!(
                    "{}",
                    serde_json::to_string_pretty(&body).unwrap_or_default()
                );
            }
            Change::Delete { id, .. } => println!("would DELETE {base}/{id}"),
            Change::Unchanged { .. } => {}
        }
    }
    for s in &plan.steps {
        for r in &s.requests {
            println!("{r}");
        }
    }
}

pub fn run_push(args: PushArgs) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(push(args))
}

async fn push(args: PushArgs) -> ExitCode {
    let started = Instant::now();
    let Prepared {
        client,
        mut plan,
        notes,
    } = match prepare(&args.plan).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let json = args.plan.output == PlanOutput::Json;
    if !json {
        print_plan(&plan, args.plan.prune);
    }
    if let Some(ctx) = plan.ctx.as_mut() {
        ctx.wait = WaitOptions {
            timeout: std::time::Duration::from_secs(args.wait_timeout),
            interval: std::time::Duration::from_secs_f64(args.poll_interval.clamp(0.0, 3600.0)),
        };
        ctx.events = Arc::new(StderrEvents { progress: !json });
        ctx.concurrency = args.concurrency.max(1);
    }
    let (_, _, policy_deletes) = plan.counts();
    // A replace deletes the object it replaces: it is confirmed like a delete.
    let (_, _, resource_replaces, resource_deletes) = resources::counts(&plan.steps);
    let deletes = policy_deletes + resource_deletes + resource_replaces;
    if args.dry_run {
        print_dry_run(&plan);
        print_warnings(&client);
        return ExitCode::SUCCESS;
    }
    if args.plan.remote_validate {
        match remote_validate(&client, &plan, notes.as_ref()).await {
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

    let mut result = PushResult::default();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for ch in plan.changes.iter().cloned() {
        if let Change::Unchanged { name, .. } = &ch {
            result.unchanged.push(name.clone());
            continue;
        }
        let local = match &ch {
            Change::Create { name, .. } | Change::Update { name, .. } => plan.local(name).cloned(),
            _ => None,
        };
        let client = Arc::clone(&client);
        let semaphore = Arc::clone(&semaphore);
        let org = plan.org.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            apply(&client, &org, ch, local).await
        });
    }
    // A one-line progress bar on a terminal, plain lines otherwise (CI).
    let total = tasks.len();
    let bar = std::io::stderr().is_terminal() && !json;
    let mut done = 0usize;
    while let Some(joined) = tasks.join_next().await {
        done += 1;
        match joined {
            Ok(Ok((kind, name))) => {
                if bar {
                    eprint!("\r\x1b[2K{} {kind} {name}", progress(done, total));
                } else if !json {
                    eprintln!("{kind} {name}");
                }
                match kind {
                    "created" => result.created.push(name),
                    "adopted" => result.adopted.push(name),
                    "updated" => result.updated.push(name),
                    _ => result.deleted.push(name),
                }
            }
            Ok(Err(e)) => {
                if bar {
                    eprint!("\r\x1b[2K");
                }
                eprintln!("error: {e}");
                result.errors.push(e);
            }
            Err(e) => result.errors.push(format!("task failed: {e}")),
        }
    }
    if bar && total > 0 {
        eprintln!();
    }
    if let Some(ctx) = &plan.ctx {
        if result.errors.is_empty() {
            result.resources = resources::apply(ctx, &plan.steps).await;
        } else if plan.steps.iter().any(|s| s.action.is_change()) {
            // The resource policies govern the rest: nothing else is applied
            // on top of a half-pushed set.
            for s in plan.steps.iter().filter(|s| s.action.is_change()) {
                result.resources.not_done.push(format!(
                    "{} {}: not attempted: the resource policies were not all pushed",
                    s.kind, s.key
                ));
            }
        }
    }
    result.requests = client.requests_sent();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        );
    } else {
        println!(
            "Push: {} created, {} adopted, {} updated, {} deleted, {} unchanged, {} failed.",
            result.created.len(),
            result.adopted.len(),
            result.updated.len(),
            result.deleted.len(),
            result.unchanged.len(),
            result.errors.len()
        );
        let r = &result.resources;
        if !(r.done.is_empty() && r.failed.is_empty() && r.not_done.is_empty()) {
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
    print_warnings(&client);
    if result.errors.is_empty()
        && result.resources.failed.is_empty()
        && result.resources.not_done.is_empty()
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `[#####-----] 5/10`
fn progress(done: usize, total: usize) -> String {
    const WIDTH: usize = 20;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    format!(
        "[{}{}] {done}/{total}",
        "#".repeat(filled),
        "-".repeat(WIDTH.saturating_sub(filled))
    )
}

async fn apply(
    client: &Client,
    org: &str,
    change: Change,
    local: Option<LocalPolicy>,
) -> Result<(&'static str, String), String> {
    let input = local.as_ref().map(input_of);
    let fail = |name: &str, e: atlas_cedar_client::Error| {
        let bodies: Vec<&LocalBody> = local.iter().flat_map(|l| l.bodies.iter()).collect();
        match describe_invalid(&e, &bodies, None) {
            Some(lines) => format!("{name}: Atlas rejected the bodies:\n{}", lines.join("\n")),
            None => format!("{name}: {e}"),
        }
    };
    match change {
        Change::Create { name, .. } => {
            let input = input.ok_or_else(|| format!("{name}: no local policy"))?;
            match client.create_policy_or_adopt(org, &input).await {
                Ok(CreateOutcome::Created(_)) => Ok(("created", name)),
                Ok(CreateOutcome::Adopted(_)) => Ok(("adopted", name)),
                Err(e) => Err(fail(&name, e)),
            }
        }
        Change::Update { name, id, .. } => {
            let input = input.ok_or_else(|| format!("{name}: no local policy"))?;
            client
                .update_policy(org, &id, &ResourcePolicyPatch::from(&input))
                .await
                .map(|_| ("updated", name.clone()))
                .map_err(|e| fail(&name, e))
        }
        Change::Delete { name, id } => client
            .delete_policy(org, &id)
            .await
            .map(|()| ("deleted", name.clone()))
            .map_err(|e| format!("{name}: {e}")),
        Change::Unchanged { name, .. } => Ok(("unchanged", name)),
    }
}
