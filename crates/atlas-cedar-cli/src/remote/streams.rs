//! The direct commands of the kind (see `atlas_cedar_deploy::streams`).

use super::table::{self, Column, Format};
use crate::remote::{print_warnings, ConnectionArgs};
use atlas_cedar_client::rest::{raw_json, Raw};
use atlas_cedar_client::streams::{StreamProcessor, StreamProcessorPatch};
use atlas_cedar_client::Client;
use atlas_cedar_deploy::streams::*;
use atlas_cedar_deploy::{Ctx, WaitOptions};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// `atlas-cedar stream-processors …`
#[derive(Debug, Subcommand)]
pub enum StreamProcessorsCommand {
    /// Show one stream processor (pipeline, options, state).
    #[command(after_help = "Examples:
  atlas-cedar stream-processors get --project-id 5f0… --instance ingest orders
  atlas-cedar stream-processors get --instance ingest orders -o json")]
    Get(NameArgs),
    /// List the processors of a stream instance (every page).
    #[command(after_help = "Examples:
  atlas-cedar stream-processors list --instance ingest
  atlas-cedar stream-processors list --instance ingest -o json")]
    List(InstanceArgs),
    /// Start a processor and wait until it is STARTED (FAILED is reported
    /// with Atlas's message).
    #[command(after_help = "Examples:
  atlas-cedar stream-processors start --instance ingest orders
  atlas-cedar stream-processors start --instance ingest orders --no-wait")]
    Start(RunArgs),
    /// Stop a processor and wait until it is STOPPED.
    #[command(after_help = "Examples:
  atlas-cedar stream-processors stop --instance ingest orders")]
    Stop(RunArgs),
    /// Update a processor from a JSON file holding the PATCH body
    /// `{"name", "pipeline": [...], "options": {"dlq": {...}, "resumeFromCheckpoint"}}`.
    ///
    /// The file is checked before anything is sent (unknown keys, a pipeline
    /// that is not an array of stages). Atlas only modifies a stopped
    /// processor: a running one is refused unless --restart, which stops it,
    /// waits until it is STOPPED, sends the PATCH and starts it again. If the
    /// PATCH fails after the stop, the error says so and how to start it.
    #[command(after_help = "Examples:
  atlas-cedar stream-processors update --instance ingest orders --file orders.json
  atlas-cedar stream-processors update --instance ingest orders --file orders.json --restart -o json

orders.json:
  {\"pipeline\": [{\"$source\": {\"connectionName\": \"kafka\"}}, {\"$emit\": {\"connectionName\": \"atlas\", \"db\": \"s\", \"coll\": \"orders\"}}],
   \"options\": {\"resumeFromCheckpoint\": false}}")]
    Update(UpdateArgs),
}

#[derive(Debug, Args)]
pub struct InstanceArgs {
    /// Project id (env MONGODB_ATLAS_PROJECT_ID).
    #[arg(long, env = "MONGODB_ATLAS_PROJECT_ID", hide_env_values = true)]
    project_id: String,
    /// Stream instance (the tenant name in Atlas's paths).
    #[arg(long)]
    instance: String,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
    #[command(flatten)]
    conn: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// Processor name.
    name: String,
    #[command(flatten)]
    at: InstanceArgs,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Do not wait for the new state.
    #[arg(long)]
    no_wait: bool,
    /// Longest wait for the new state, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    wait_timeout: u64,
    /// Time between two reads while waiting, in seconds.
    #[arg(long, default_value_t = 2.0, value_name = "SECS")]
    poll_interval: f64,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    target: NameArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    target: NameArgs,
    /// JSON file with the PATCH body.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
    /// If the processor is running: stop it, update it, start it again
    /// (without this flag a running processor is refused).
    #[arg(long)]
    restart: bool,
    #[command(flatten)]
    wait: WaitArgs,
}

const COLUMNS: &[Column] = &[
    ("NAME", "/name"),
    ("STATE", "/state"),
    ("ID", "/_id"),
    ("DLQ CONNECTION", "/options/dlq/connectionName"),
    ("DLQ DB", "/options/dlq/db"),
    ("DLQ COLL", "/options/dlq/coll"),
];

pub fn run(cmd: StreamProcessorsCommand) -> ExitCode {
    super::block_on_command(async { run_async(cmd).await.map(|()| ExitCode::SUCCESS) })
}

fn instance_of(cmd: &StreamProcessorsCommand) -> &InstanceArgs {
    match cmd {
        StreamProcessorsCommand::Get(a) => &a.at,
        StreamProcessorsCommand::List(a) => a,
        StreamProcessorsCommand::Start(a) | StreamProcessorsCommand::Stop(a) => &a.target.at,
        StreamProcessorsCommand::Update(a) => &a.target.at,
    }
}

fn wait_ctx(client: Arc<Client>, wait: &WaitArgs) -> Ctx {
    let mut ctx = Ctx::new(client, String::new(), &[], None);
    ctx.wait = WaitOptions {
        timeout: Duration::from_secs(wait.wait_timeout),
        interval: Duration::from_secs_f64(wait.poll_interval.clamp(0.0, 3600.0)),
    };
    ctx.events = Arc::new(super::steps::StderrEvents::new(true));
    ctx.concurrency = 1;
    ctx
}

/// Prints the processor as Atlas sent it.
fn show(p: &Raw<StreamProcessor>, format: Format) {
    table::print(&p.json, COLUMNS, format);
}

async fn run_async(cmd: StreamProcessorsCommand) -> Result<(), String> {
    // Check the file before connecting: a bad file sends nothing.
    let patch = match &cmd {
        StreamProcessorsCommand::Update(a) => {
            // Regular files only, within the size cap: a FIFO is refused
            // rather than waited on.
            super::read_text(&a.file)?;
            Some(read_patch_file(&a.file)?)
        }
        _ => None,
    };
    let at = instance_of(&cmd);
    atlas_cedar_client::rest::check_id("project id", &at.project_id).map_err(|e| e.to_string())?;
    let (client, _) = at.conn.connect()?;
    let client = Arc::new(client);
    let (g, t) = (at.project_id.as_str(), at.instance.as_str());
    let result = match &cmd {
        StreamProcessorsCommand::Get(a) => client
            .get_stream_processor_raw(g, t, &a.name)
            .await
            .map(|p| show(&p, at.output))
            .map_err(|e| e.to_string()),
        StreamProcessorsCommand::List(_) => client
            .list_stream_processors_raw(g, t)
            .await
            .map(|list| table::print(&raw_json(&list), COLUMNS, at.output))
            .map_err(|e| e.to_string()),
        StreamProcessorsCommand::Start(a) | StreamProcessorsCommand::Stop(a) => {
            let start = matches!(cmd, StreamProcessorsCommand::Start(_));
            start_stop(Arc::clone(&client), g, t, a, start, at.output).await
        }
        StreamProcessorsCommand::Update(a) => match patch {
            Some(patch) => update(Arc::clone(&client), g, t, a, &patch, at.output).await,
            None => Ok(()),
        },
    };
    print_warnings(&client);
    result
}

async fn start_stop(
    client: Arc<Client>,
    g: &str,
    t: &str,
    a: &RunArgs,
    start: bool,
    output: Format,
) -> Result<(), String> {
    let name = a.target.name.as_str();
    let sent = if start {
        client.start_stream_processor(g, t, name).await
    } else {
        client.stop_stream_processor(g, t, name).await
    };
    sent.map_err(|e| e.to_string())?;
    if !a.wait.no_wait {
        let ctx = wait_ctx(Arc::clone(&client), &a.wait);
        let p = wait_state(&ctx, g, t, name, start)
            .await
            .map_err(step_message)?;
        if output == Format::Table {
            table::print(
                &serde_json::to_value(&p).unwrap_or(Value::Null),
                COLUMNS,
                output,
            );
            return Ok(());
        }
    }
    // -o json: the processor as Atlas sends it, read once more after the wait.
    let p = client
        .get_stream_processor_raw(g, t, name)
        .await
        .map_err(|e| e.to_string())?;
    show(&p, output);
    Ok(())
}

async fn update(
    client: Arc<Client>,
    g: &str,
    t: &str,
    a: &UpdateArgs,
    patch: &StreamProcessorPatch,
    output: Format,
) -> Result<(), String> {
    let ctx = wait_ctx(Arc::clone(&client), &a.wait);
    let (final_name, done) = update_by_hand(&ctx, g, t, &a.target.name, patch, a.restart).await?;
    eprintln!("atlas-cedar: stream processor {final_name}: {done}");
    let after = client
        .get_stream_processor_raw(g, t, &final_name)
        .await
        .map_err(|e| e.to_string())?;
    show(&after, output);
    Ok(())
}
