//! Commands that talk to the Atlas Admin API (or the local emulator):
//! `plan`, `push`, `policies …`, `emulator`.

mod api_keys;
mod export_buckets;
mod federation;
mod import;
pub(crate) use atlas_cedar_deploy::manifest;
mod plan;
mod policies;
mod private_endpoints;
mod search;
mod steps;
mod streams;
pub mod table;

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use atlas_cedar_client::{Client, ClientConfig, Secret, Settings, SettingsInput};
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Start a local Atlas Admin API emulator (resource policies and the other
    /// managed resources) on 127.0.0.1 and print the base URL and credentials
    /// to use with it.
    #[command(after_help = "Examples:
  atlas-cedar emulator                         # http://127.0.0.1:8080, prints the exports to use
  atlas-cedar emulator --port 0 --state state.json")]
    Emulator(EmulatorArgs),
    /// Day-to-day resource-policy commands against Atlas.
    #[command(
        subcommand,
        after_help = "Examples:
  atlas-cedar policies list
  atlas-cedar policies get deny-us-regions --output json
  atlas-cedar policies validate policies/regions.cedar"
    )]
    Policies(policies::PoliciesCommand),
    /// Show what `push` would change: create, update (with a diff), delete.
    #[command(after_help = "Examples:
  atlas-cedar plan                             # the manifest atlas-cedar.toml in .
  atlas-cedar plan policies/ --prune --detailed-exitcode
  atlas-cedar plan --remote-validate --output json")]
    Plan(plan::PlanArgs),
    /// Apply the plan: create and update resource policies (delete with --prune).
    #[command(after_help = "Examples:
  atlas-cedar push --dry-run                   # print the requests, send none
  atlas-cedar push policies/
  atlas-cedar push --prune --yes               # in CI: also delete policies not in the manifest")]
    Push(plan::PushArgs),
    /// Write the organization's resource policies as .cedar files and
    /// atlas-cedar.toml entries (or Terraform resources), so `plan` shows no change.
    #[command(after_help = "Examples:
  atlas-cedar import policies/                 # one .cedar per policy + atlas-cedar.toml
  atlas-cedar import --dry-run                 # list the files, write nothing
  atlas-cedar import infra/ --terraform        # mongodbatlas_resource_policy resources")]
    Import(import::ImportArgs),
    /// Atlas Search and Vector Search indexes of a cluster.
    #[command(
        subcommand,
        name = "search-indexes",
        after_help = "Examples:
  atlas-cedar search-indexes get --project-id 65f0a1b2c3d4e5f6a7b8c9d1 --cluster Cluster0 66aa00000000000000000001
  atlas-cedar search-indexes get --cluster Cluster0 66aa00000000000000000001 -o json   # project from MONGODB_ATLAS_PROJECT_ID
  atlas-cedar search-indexes list --cluster Cluster0"
    )]
    SearchIndexes(search::SearchIndexesCommand),
    /// Snapshot export buckets (`[[export_bucket]]` in the manifest for plan/push).
    #[command(
        subcommand,
        after_help = "Examples:
  atlas-cedar export-buckets create --provider AWS --bucket-name my-exports --iam-role-id 668c5f0ed436263134491592
  atlas-cedar export-buckets list -o json"
    )]
    ExportBuckets(export_buckets::ExportBucketsCommand),
    /// Data-federation / online-archive private endpoints (`[[federation_endpoint]]`).
    #[command(
        subcommand,
        after_help = "Examples:
  atlas-cedar federation-endpoints list --project-id 5f0…
  atlas-cedar federation-endpoints list --page 2 --items-per-page 50 -o json"
    )]
    FederationEndpoints(federation::FederationEndpointsCommand),
    /// Organization API keys (`[[absent_api_key]]` lists keys that must not exist).
    #[command(
        subcommand,
        after_help = "Examples:
  atlas-cedar api-keys delete 5f0c0ffee0123456789abcde
  atlas-cedar api-keys delete 5f0c0ffee0123456789abcde --yes
  atlas-cedar api-keys list"
    )]
    ApiKeys(api_keys::ApiKeysCommand),
    /// Stream processors: get, list, start, stop, update from a JSON file.
    #[command(
        subcommand,
        name = "stream-processors",
        after_help = "Examples:
  atlas-cedar stream-processors get --project-id 5f0… --instance ingest orders
  atlas-cedar stream-processors update --instance ingest orders --file orders.json --restart
  atlas-cedar stream-processors start --instance ingest orders"
    )]
    StreamProcessors(streams::StreamProcessorsCommand),
    /// Private endpoint services and their endpoints (AWS, Azure, GCP).
    #[command(
        subcommand,
        after_help = "Examples:
  atlas-cedar private-endpoints service create --project-id 65f0c0ffee0123456789abcd --provider AWS --region us-east-1
  atlas-cedar private-endpoints service list -o json
  atlas-cedar private-endpoints get --provider AWS --service-id 65f0c0ffee0123456789abcd vpce-0123456789abcdef0"
    )]
    PrivateEndpoints(private_endpoints::PrivateEndpointsCommand),
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Keep the emulator's resource policies in this JSON file across restarts.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Size of the per-organization rate-limit bucket (Atlas: 500).
    #[arg(long, default_value_t = 500)]
    rate_limit: u32,
    /// Requests added back to the bucket per minute (Atlas: 250).
    #[arg(long, default_value_t = 250)]
    refill_per_minute: u32,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// The cloud providers of every emulated cluster, as resource policies see
    /// them for `search.index.modify` (context.cluster.cloudProviders).
    #[arg(long, value_delimiter = ',', default_value = "aws", value_parser = ["aws", "azure", "gcp"])]
    cluster_cloud_providers: Vec<String>,
    /// Whether emulated clusters have dedicated search nodes
    /// (context.search.hasDedicatedNodes).
    #[arg(long)]
    dedicated_search_nodes: bool,
}

/// How to reach Atlas. Each value: this flag, else the `MONGODB_ATLAS_*`
/// variable, else the Atlas CLI profile.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Base URL (env MONGODB_ATLAS_OPS_MANAGER_URL or MONGODB_ATLAS_BASE_URL;
    /// default https://cloud.mongodb.com).
    #[arg(long)]
    base_url: Option<String>,
    /// Organization id (env MONGODB_ATLAS_ORG_ID).
    #[arg(long)]
    pub(crate) org_id: Option<String>,
    /// API key public part (env MONGODB_ATLAS_PUBLIC_API_KEY).
    #[arg(long)]
    public_key: Option<String>,
    /// API key private part (env MONGODB_ATLAS_PRIVATE_API_KEY; prefer the variable).
    #[arg(long)]
    private_key: Option<String>,
    /// Service account client id (env MONGODB_ATLAS_CLIENT_ID).
    #[arg(long)]
    client_id: Option<String>,
    /// Service account secret (env MONGODB_ATLAS_CLIENT_SECRET; prefer the variable).
    #[arg(long)]
    client_secret: Option<String>,
    /// Bearer token (env MONGODB_ATLAS_ACCESS_TOKEN; prefer the variable).
    #[arg(long)]
    access_token: Option<String>,
    /// Profile of the Atlas CLI's config.toml (env MONGODB_ATLAS_PROFILE; default `default`).
    #[arg(long)]
    profile: Option<String>,
    /// Connect timeout in seconds.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
    /// Timeout of one HTTP request in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Longest total wait for retries of one request (rate limits, 5xx), in seconds.
    #[arg(long, default_value_t = 180)]
    max_retry_wait: u64,
    /// Accept a plain http:// base URL to a host other than loopback
    /// (env ATLAS_CEDAR_ALLOW_INSECURE_HTTP=1); credentials then cross the
    /// network in clear.
    #[arg(long)]
    allow_insecure_http: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Text,
    Json,
}

/// The environment variable that moves the service-account token cache
/// (default: `<user cache dir>/atlas-cedar/oauth`).
pub const TOKEN_CACHE_ENV: &str = "ATLAS_CEDAR_TOKEN_CACHE_DIR";

impl ConnectionArgs {
    fn settings(&self) -> Result<Settings, String> {
        let input = SettingsInput {
            base_url: self.base_url.clone(),
            org_id: self.org_id.clone(),
            public_key: self.public_key.clone(),
            private_key: self.private_key.clone().map(Secret::new),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone().map(Secret::new),
            access_token: self.access_token.clone().map(Secret::new),
            profile: self.profile.clone(),
            config_file: None,
            allow_insecure_http: self.allow_insecure_http,
        };
        atlas_cedar_client::resolve(&input, &|k| std::env::var(k).ok()).map_err(|e| e.to_string())
    }

    /// Resolves settings, says on stderr which credential is used, builds
    /// the client.
    pub(crate) fn connect(&self) -> Result<(Client, Settings), String> {
        let settings = self.settings()?;
        eprintln!("atlas-cedar: {}", settings.describe());
        for note in &settings.notes {
            eprintln!("atlas-cedar: note: {note}");
        }
        let mut cfg = ClientConfig::new(&settings.base_url, settings.credentials.clone());
        cfg.connect_timeout = Duration::from_secs(self.connect_timeout.max(1));
        cfg.request_timeout = Duration::from_secs(self.timeout.max(1));
        cfg.retry.max_total_wait = Duration::from_secs(self.max_retry_wait);
        cfg.allow_insecure_http = settings.allow_insecure_http;
        if let Some(dir) = std::env::var_os(TOKEN_CACHE_ENV).filter(|d| !d.is_empty()) {
            cfg.token_cache_dir = Some(PathBuf::from(dir));
        }
        let client = Client::new(cfg).map_err(|e| e.to_string())?;
        Ok((client, settings))
    }
}

pub(crate) fn org_of(
    settings: &Settings,
    manifest_org: Option<&str>,
    flag: Option<&str>,
) -> Result<String, String> {
    flag.or(manifest_org)
        .map(str::to_owned)
        .or_else(|| settings.org_id.clone())
        .ok_or_else(|| {
            "no organization: pass --org-id, set MONGODB_ATLAS_ORG_ID, or put [org] id in atlas-cedar.toml"
                .to_owned()
        })
}

/// Reads a user's text file through the checked reader
/// ([`crate::inputs::read_file`]: regular files only, at most 256 MB, a FIFO
/// is refused rather than waited on). The error names the file.
pub(crate) fn read_text(path: &std::path::Path) -> Result<String, String> {
    let shown = path.display();
    let bytes = crate::inputs::read_file(path)
        .map_err(|reason| format!("{shown}: cannot read: {reason}"))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{shown}: cannot read: invalid UTF-8 at byte {}",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Prints what the client gathered (deprecation, retries) to stderr.
pub(crate) fn print_warnings(client: &Client) {
    for w in client.take_warnings() {
        eprintln!("atlas-cedar: warning: {w}");
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Runs an asynchronous command on a fresh runtime. `Ok(code)` is the exit
/// status; an error is printed as `error: …` and exits 1.
pub(crate) fn block_on_command<F>(command: F) -> ExitCode
where
    F: std::future::Future<Output = Result<ExitCode, String>>,
{
    match runtime().and_then(|rt| rt.block_on(command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Asks `question` on a terminal; `false` when stdin is not a terminal.
fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question} Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).is_ok() && line.trim() == "yes"
}

pub fn run(cmd: RemoteCommand) -> ExitCode {
    match cmd {
        RemoteCommand::Emulator(args) => run_emulator(args),
        RemoteCommand::Policies(c) => policies::run(c),
        RemoteCommand::Plan(a) => plan::run_plan(a),
        RemoteCommand::Push(a) => plan::run_push(a),
        RemoteCommand::Import(a) => import::run(a),
        RemoteCommand::SearchIndexes(c) => search::run(c),
        RemoteCommand::ExportBuckets(c) => export_buckets::run(c),
        RemoteCommand::FederationEndpoints(c) => federation::run(c),
        RemoteCommand::ApiKeys(c) => api_keys::run(c),
        RemoteCommand::StreamProcessors(c) => streams::run(c),
        RemoteCommand::PrivateEndpoints(c) => private_endpoints::run(c),
    }
}

fn run_emulator(args: EmulatorArgs) -> ExitCode {
    use atlas_cedar_emulator::{Emulator, EmulatorConfig, RateLimit};
    let config = EmulatorConfig {
        port: args.port,
        state_file: args.state.clone(),
        rate_limit: RateLimit {
            capacity: args.rate_limit,
            refill_per_minute: args.refill_per_minute,
        },
        latency: Duration::from_millis(args.latency_ms),
        cluster_cloud_providers: args.cluster_cloud_providers.clone(),
        dedicated_search_nodes: args.dedicated_search_nodes,
        ..EmulatorConfig::default()
    };
    let emu = match Emulator::start(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let cfg = emu.config();
    let url = emu.base_url();
    let owner = cfg.api_keys.first();
    let sa = cfg.service_accounts.first();
    let mut out = String::new();
    out.push_str(&format!("Atlas emulator listening on {url}\n"));
    out.push_str(&format!("organization id: {}\n", cfg.org_id));
    if let Some(state) = &args.state {
        out.push_str(&format!("state file: {}\n", state.display()));
    }
    out.push_str(&format!(
        "rate limit: {} requests per organization or project, {} added back per minute\n",
        args.rate_limit, args.refill_per_minute
    ));
    out.push_str(&format!(
        "clusters: cloud providers {}, dedicated search nodes: {}\n",
        args.cluster_cloud_providers.join(","),
        if args.dedicated_search_nodes {
            "yes"
        } else {
            "no"
        }
    ));
    out.push_str("\nUse it with an API key (HTTP Digest):\n");
    out.push_str(&format!("  export MONGODB_ATLAS_OPS_MANAGER_URL={url}\n"));
    out.push_str(&format!("  export MONGODB_ATLAS_ORG_ID={}\n", cfg.org_id));
    if let Some(k) = owner {
        out.push_str(&format!(
            "  export MONGODB_ATLAS_PUBLIC_API_KEY={}\n",
            k.public_key
        ));
        out.push_str(&format!(
            "  export MONGODB_ATLAS_PRIVATE_API_KEY={}\n",
            k.private_key
        ));
    }
    if let Some(s) = sa {
        out.push_str("or with a service account (OAuth client credentials):\n");
        out.push_str(&format!(
            "  export MONGODB_ATLAS_CLIENT_ID={}\n",
            s.client_id
        ));
        out.push_str(&format!(
            "  export MONGODB_ATLAS_CLIENT_SECRET={}\n",
            s.client_secret
        ));
    }
    out.push_str(&format!(
        "\nRequest log: GET {url}/__emulator/requests; faults: POST {url}/__emulator/faults\n"
    ));
    out.push_str("Press Ctrl-C to stop.\n");
    print!("{out}");
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
