//! A local emulator of the MongoDB Atlas Admin API v2, limited to what
//! `atlas-cedar` uses: organization resource policies and the other kinds
//! `plan`/`push` manage, each operation a row of one route table
//! (`routes.rs`) behind ordered middleware (`middleware.rs`).
//!
//! It listens on `127.0.0.1` only and behaves like Atlas where a client can
//! tell the difference:
//!
//! - every operation is versioned by media type
//!   (`application/vnd.atlas.2024-08-05+json`); a wrong or missing version
//!   gets `406`, a version listed as gone gets `410`;
//! - API keys authenticate with HTTP Digest (MD5, `qop=auth`, nonce counts
//!   must increase), service accounts with OAuth client credentials on
//!   `/api/oauth/token` (1-hour tokens, at most 100 live tokens per account),
//!   static bearer tokens are accepted when configured;
//! - resource policies get 24-hex ids, names are unique per organization,
//!   bodies are stored byte-for-byte, a PATCH that sends `policies` regenerates
//!   every policy id, bad bodies are answered with Atlas's 400 envelope;
//! - a per-organization token bucket answers `429` with `Retry-After`;
//! - fault injection: fail chosen requests with any status, add latency, or
//!   drop the connection after a write was applied (the client never sees the
//!   answer);
//! - a request log, readable in-process ([`EmulatorHandle::requests`]) and at
//!   `GET /__emulator/requests`; faults can be added at
//!   `POST /__emulator/faults`;
//! - optional state in a JSON file, so a stopped emulator can be restarted.
//!
//! ```no_run
//! let emu = atlas_cedar_emulator::Emulator::start(Default::default()).unwrap();
//! println!("{}", emu.base_url());
//! ```

mod middleware;
mod resources;
mod routes;
mod server;
mod util;
mod validation;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use resources::policies::StoredPolicy;
use server::{ServerState, Shared};

/// The only media-type version of the resource-policy endpoints.
pub const RESOURCE_POLICY_VERSION: &str = "2024-08-05";

/// What a credential may do in the emulated organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// `ORG_OWNER`: may read and write resource policies.
    OrgOwner,
    /// `ORG_MEMBER`: may only read.
    OrgMember,
}

/// An API key (HTTP Digest).
#[derive(Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub public_key: String,
    pub private_key: String,
    pub role: Role,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("public_key", &self.public_key)
            .field("private_key", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// A service account (OAuth 2.0 client credentials).
#[derive(Clone, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub client_id: String,
    pub client_secret: String,
    pub role: Role,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// The per-organization rate-limit bucket.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RateLimit {
    /// Requests the bucket holds when full (Atlas: 500).
    pub capacity: u32,
    /// Requests added back per minute (Atlas: 250).
    pub refill_per_minute: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            capacity: 500,
            refill_per_minute: 250,
        }
    }
}

/// `Deprecation` / `Sunset` headers to add to every API answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeprecationHeaders {
    pub deprecation: String,
    pub sunset: String,
}

/// How the emulator is set up.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Load state from and save it to this JSON file.
    pub state_file: Option<PathBuf>,
    /// The organization printed for users (any 24-hex org id is accepted).
    pub org_id: String,
    pub api_keys: Vec<ApiKey>,
    pub service_accounts: Vec<ServiceAccount>,
    /// Static bearer tokens (`MONGODB_ATLAS_ACCESS_TOKEN`) and their role.
    pub access_tokens: Vec<(String, Role)>,
    pub rate_limit: RateLimit,
    /// Token requests per service account (Atlas: about 50 a minute); more
    /// get `429` with `Retry-After`.
    pub token_rate_limit: RateLimit,
    /// Lifetime of minted OAuth tokens (Atlas: one hour).
    pub token_ttl: Duration,
    /// Live tokens allowed per service account (Atlas: 100).
    pub max_live_tokens: usize,
    /// Latency added to every request.
    pub latency: Duration,
    pub deprecation: Option<DeprecationHeaders>,
    /// Media-type versions answered with `410 VERSION_GONE`.
    pub gone_versions: Vec<String>,
    /// The cloud providers of every cluster (`aws`, `azure`, `gcp`), as
    /// `search.index.modify` sees them in `context.cluster.cloudProviders`.
    pub cluster_cloud_providers: Vec<String>,
    /// Whether clusters have dedicated search nodes
    /// (`context.search.hasDedicatedNodes`).
    pub dedicated_search_nodes: bool,
}

/// Default credentials of a fresh emulator: fine to print, they only open a
/// local test server.
pub const DEFAULT_PUBLIC_KEY: &str = "emulatorpub";
pub const DEFAULT_PRIVATE_KEY: &str = "00000000-0000-4000-8000-emulatorpriv";
pub const DEFAULT_MEMBER_PUBLIC_KEY: &str = "emulatormember";
pub const DEFAULT_MEMBER_PRIVATE_KEY: &str = "00000000-0000-4000-8000-emulatormemb";
pub const DEFAULT_CLIENT_ID: &str = "mdb_sa_id_emulator";
pub const DEFAULT_CLIENT_SECRET: &str = "mdb_sa_sk_emulator";
pub const DEFAULT_ORG_ID: &str = "65f0a1b2c3d4e5f6a7b8c9d0";

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: 0,
            state_file: None,
            org_id: DEFAULT_ORG_ID.to_owned(),
            api_keys: vec![
                ApiKey {
                    public_key: DEFAULT_PUBLIC_KEY.to_owned(),
                    private_key: DEFAULT_PRIVATE_KEY.to_owned(),
                    role: Role::OrgOwner,
                },
                ApiKey {
                    public_key: DEFAULT_MEMBER_PUBLIC_KEY.to_owned(),
                    private_key: DEFAULT_MEMBER_PRIVATE_KEY.to_owned(),
                    role: Role::OrgMember,
                },
            ],
            service_accounts: vec![ServiceAccount {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
                role: Role::OrgOwner,
            }],
            access_tokens: Vec::new(),
            rate_limit: RateLimit::default(),
            token_rate_limit: RateLimit {
                capacity: 50,
                refill_per_minute: 50,
            },
            token_ttl: Duration::from_secs(3600),
            max_live_tokens: 100,
            latency: Duration::ZERO,
            deprecation: None,
            gone_versions: Vec::new(),
            cluster_cloud_providers: vec!["aws".to_owned()],
            dedicated_search_nodes: false,
        }
    }
}

/// What a fault does to the request it matches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status (e.g. 500, 503) without doing anything.
    Status { status: u16 },
    /// Apply the request, then close the connection without an answer.
    /// Only write requests are affected; a read is answered normally.
    DropAfterApply,
    /// Close the connection without an answer and without doing anything
    /// (the request was lost on its way in).
    DropBeforeApply,
    /// Wait this long, then handle the request normally.
    Latency { ms: u64 },
}

/// A fault rule: matching requests (after authentication) get `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    /// `GET`, `POST`, `PATCH`, `DELETE`; `None` matches any.
    #[serde(default)]
    pub method: Option<String>,
    /// Matches when the path contains this text; `None` matches any.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Let this many matching requests through before the fault applies.
    #[serde(default)]
    pub skip: u32,
    /// How many matching requests get the fault.
    #[serde(default = "one")]
    pub times: u32,
    pub kind: FaultKind,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// A fault for the next `times` requests with this method (any path).
    pub fn new(method: Option<&str>, kind: FaultKind, times: u32) -> Self {
        FaultRule {
            method: method.map(str::to_owned),
            path_contains: None,
            skip: 0,
            times,
            kind,
        }
    }
}

/// One entry of the request log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoggedRequest {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// `none`, `digest`, `bearer`, `basic`, or `invalid`.
    pub auth: String,
    /// The status answered; 0 when the connection was dropped.
    pub status: u16,
    pub dropped: bool,
    /// The fault that was applied, if any.
    pub fault: Option<String>,
    /// The request body as received.
    pub body: String,
    /// When it arrived: milliseconds since the emulator started.
    #[serde(default)]
    pub at_ms: u64,
}

impl LoggedRequest {
    /// A POST, PATCH, PUT or DELETE on the Admin API (not the token endpoint
    /// and not `:validate`, which saves nothing).
    pub fn is_write(&self) -> bool {
        self.path.starts_with("/api/atlas/")
            && !self.path.ends_with(":validate")
            && matches!(self.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
    }

    /// A request that was authenticated and reached the API (not a 401
    /// challenge).
    pub fn is_authenticated_api(&self) -> bool {
        self.path.starts_with("/api/atlas/") && self.status != 401
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot bind 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot read state file {path}: {message}")]
    State { path: PathBuf, message: String },
    #[error("the emulator thread failed to start: {0}")]
    Start(String),
}

/// The persisted part of the emulator state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PersistedState {
    /// Resource policies per organization id.
    pub orgs: BTreeMap<String, Vec<StoredPolicy>>,
    /// Other resources, as Atlas returns them, per kind and scope
    /// (`searchIndexes/{groupId}/{clusterName}`, …).
    #[serde(default)]
    pub resources: BTreeMap<String, Vec<serde_json::Value>>,
}

/// Entry point.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds `127.0.0.1:port` and serves on a thread of its own (with its own
    /// Tokio runtime), so it can be used from synchronous and asynchronous
    /// tests alike. Stops when the handle is dropped.
    pub fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let persisted = match &config.state_file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path).map_err(|e| EmulatorError::State {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                serde_json::from_str::<PersistedState>(&text).map_err(|e| EmulatorError::State {
                    path: path.clone(),
                    message: e.to_string(),
                })?
            }
            _ => PersistedState::default(),
        };
        let std_listener =
            std::net::TcpListener::bind(("127.0.0.1", config.port)).map_err(|source| {
                EmulatorError::Bind {
                    port: config.port,
                    source,
                }
            })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|source| EmulatorError::Bind {
                port: config.port,
                source,
            })?;
        let addr = std_listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                port: config.port,
                source,
            })?;
        let shared = Arc::new(Shared::new(config, persisted));
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("atlas-emulator".to_owned())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    server::serve(listener, thread_shared, shutdown_rx).await;
                });
            })
            .map_err(|e| EmulatorError::Start(e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(EmulatorError::Start(e)),
            Err(e) => return Err(EmulatorError::Start(e.to_string())),
        }
        Ok(EmulatorHandle {
            addr,
            shared,
            shutdown: Some(shutdown_tx),
        })
    }
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl EmulatorHandle {
    /// The bound address (127.0.0.1 and the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the base URL for clients.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.config
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state().log.clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        self.state().log.clear();
    }

    /// Add a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        self.state().faults.push(rule);
    }

    /// The resource policies stored for an organization.
    pub fn policies(&self, org_id: &str) -> Vec<StoredPolicy> {
        self.state()
            .persisted
            .orgs
            .get(org_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The stored objects of another kind under `key`
    /// (`searchIndexes/{groupId}/{clusterName}`, …).
    pub fn resources(&self, key: &str) -> Vec<serde_json::Value> {
        self.state()
            .persisted
            .resources
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces the stored objects under `key` (to seed a test).
    pub fn set_resources(&self, key: &str, items: Vec<serde_json::Value>) {
        let mut st = self.state();
        if items.is_empty() {
            st.persisted.resources.remove(key);
        } else {
            st.persisted.resources.insert(key.to_owned(), items);
        }
    }

    /// Every key with stored objects that starts with `prefix`.
    pub fn resource_keys(&self, prefix: &str) -> Vec<String> {
        self.state()
            .persisted
            .resources
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Set what `nonCompliantResources` answers for an organization.
    pub fn set_non_compliant(&self, org_id: &str, resources: Vec<serde_json::Value>) {
        self.state()
            .non_compliant
            .insert(org_id.to_owned(), resources);
    }

    /// OAuth tokens minted since start.
    pub fn tokens_minted(&self) -> u64 {
        self.state().tokens_minted
    }

    /// Stop serving (also done on drop).
    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    fn state(&self) -> MutexGuard<'_, ServerState> {
        lock(&self.shared.state)
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
