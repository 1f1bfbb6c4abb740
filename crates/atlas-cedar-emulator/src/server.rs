//! The HTTP side: accept loop (hyper, so a fault can drop the connection
//! after the request is logged), body limit, request log, `envelope`/`pretty`
//! shaping, the `/__emulator` control endpoints and OAuth; Admin API requests
//! go through [`crate::middleware`] to the route table ([`crate::routes`]).

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::middleware::take_from_bucket;
use crate::util::{parse_form, random_hex};
use crate::{lock, EmulatorConfig, FaultRule, LoggedRequest, PersistedState, Role};

const MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct Bucket {
    pub(crate) tokens: f64,
    pub(crate) last: Instant,
}

#[derive(Debug)]
pub(crate) struct Token {
    pub(crate) client_id: String,
    pub(crate) expires: Instant,
    pub(crate) role: Role,
}

#[derive(Debug, Default)]
pub(crate) struct ServerState {
    pub(crate) persisted: PersistedState,
    pub(crate) non_compliant: HashMap<String, Vec<Value>>,
    pub(crate) log: Vec<LoggedRequest>,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) tokens_minted: u64,
    pub(crate) buckets: HashMap<String, Bucket>,
    /// nonce → nonce counts already used (a reused count is a replay).
    pub(crate) nonces: HashMap<String, HashSet<u64>>,
    pub(crate) tokens: HashMap<String, Token>,
    seq: u64,
    /// Reads of asynchronous objects, per key (states advance with them).
    pub(crate) polls: HashMap<String, u32>,
}

/// Whom a request is about: `/orgs/{orgId}/…` or `/groups/{groupId}/…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    Org(String),
    Group(String),
}

impl Scope {
    pub(crate) fn id(&self) -> &str {
        match self {
            Scope::Org(id) | Scope::Group(id) => id,
        }
    }

    /// Rate limits are per organization or per project.
    pub(crate) fn rate_key(&self) -> String {
        match self {
            Scope::Org(id) => format!("orgs/{id}"),
            Scope::Group(id) => format!("groups/{id}"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    pub(crate) state: Mutex<ServerState>,
    /// Built on first use: resource-policy enforcement needs the schema.
    pub(crate) engine: std::sync::OnceLock<Option<atlas_cedar_core::Engine>>,
    /// When the emulator started (the request log's clock).
    pub(crate) started: Instant,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig, persisted: PersistedState) -> Self {
        Shared {
            config,
            state: Mutex::new(ServerState {
                persisted,
                ..ServerState::default()
            }),
            engine: std::sync::OnceLock::new(),
            started: Instant::now(),
        }
    }

    pub(crate) fn save(&self, st: &ServerState) {
        if let Some(path) = &self.config.state_file {
            if let Ok(text) = serde_json::to_string_pretty(&st.persisted) {
                let tmp = path.with_extension("tmp");
                if std::fs::write(&tmp, text).is_ok() {
                    let _ = std::fs::rename(&tmp, path);
                }
            }
        }
    }
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let kill = Arc::new(Notify::new());
                    let kill_in = Arc::clone(&kill);
                    let service = hyper::service::service_fn(move |req| {
                        handle(Arc::clone(&shared), Arc::clone(&kill_in), req)
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        () = kill.notified() => {}
                    }
                });
            }
        }
    }
}

/// What the handlers answer.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Value>,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    /// Indent the JSON body (`pretty=true`).
    pub(crate) pretty: bool,
}

impl Answer {
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Answer {
            status,
            body: Some(body),
            content_type: VERSIONED,
            headers: Vec::new(),
            pretty: false,
        }
    }

    pub(crate) fn error(status: StatusCode, code: &str, detail: &str) -> Self {
        Answer {
            status,
            body: Some(json!({
                "error": status.as_u16(),
                "errorCode": code,
                "detail": detail,
                "reason": status.canonical_reason().unwrap_or(""),
                "parameters": [],
            })),
            content_type: "application/json",
            headers: Vec::new(),
            pretty: false,
        }
    }

    pub(crate) fn empty(status: StatusCode) -> Self {
        Answer {
            status,
            body: None,
            content_type: VERSIONED,
            headers: Vec::new(),
            pretty: false,
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The same answer labelled with another media-type version.
    pub(crate) fn with_version(mut self, version: &str) -> Self {
        if self.content_type != "application/json" {
            self.content_type = media_type(version);
        }
        self
    }

    fn into_response(self, extra: &[(&'static str, String)]) -> Response<Full<Bytes>> {
        let bytes = match &self.body {
            Some(v) if self.pretty => Bytes::from(serde_json::to_vec_pretty(v).unwrap_or_default()),
            Some(v) => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            None => Bytes::new(),
        };
        let mut resp = Response::new(Full::new(bytes));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        if self.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        for (name, value) in self.headers.iter().chain(extra.iter()) {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.append(*name, v);
            }
        }
        resp
    }
}

const VERSIONED: &str = "application/vnd.atlas.2024-08-05+json";

/// The media type of a known version (answers carry the version asked for).
pub(crate) fn media_type(version: &str) -> &'static str {
    match version {
        "2023-01-01" => "application/vnd.atlas.2023-01-01+json",
        "2023-02-01" => "application/vnd.atlas.2023-02-01+json",
        "2024-05-30" => "application/vnd.atlas.2024-05-30+json",
        _ => VERSIONED,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    Digest,
    Bearer,
    Basic,
    Invalid,
}

impl Auth {
    fn label(self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Digest => "digest",
            Auth::Bearer => "bearer",
            Auth::Basic => "basic",
            Auth::Invalid => "invalid",
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let a = Answer::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "body too large",
            );
            return Ok(a.into_response(&[]));
        }
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let method = parts.method.clone();

    // Emulator control endpoints: not logged, not authenticated.
    if let Some(resp) = control(&shared, &method, &path, &body) {
        return Ok(resp);
    }

    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }

    let arrived = Instant::now();
    let mut req = Req {
        method,
        path,
        query,
        headers: parts.headers,
        body,
        auth: Auth::None,
    };
    let (answer, drop_after, fault_label) = route(&shared, &mut req).await;

    {
        let mut st = lock(&shared.state);
        st.seq += 1;
        let entry = LoggedRequest {
            seq: st.seq,
            method: req.method.to_string(),
            path: req.path.clone(),
            query: req.query.clone(),
            auth: req.auth.label().to_owned(),
            status: if drop_after {
                0
            } else {
                answer.status.as_u16()
            },
            dropped: drop_after,
            fault: fault_label,
            body: req.body.clone(),
            at_ms: u64::try_from(arrived.duration_since(shared.started).as_millis())
                .unwrap_or(u64::MAX),
        };
        st.log.push(entry);
    }

    if drop_after {
        kill.notify_one();
        std::future::pending::<()>().await;
    }
    let answer = shape(answer, &req.query);
    let mut extra = Vec::new();
    if let Some(dep) = &shared.config.deprecation {
        if req.path.starts_with("/api/atlas/") {
            extra.push(("deprecation", dep.deprecation.clone()));
            extra.push(("sunset", dep.sunset.clone()));
        }
    }
    Ok(answer.into_response(&extra))
}

/// Whether the query sets `name=true` (Atlas's `envelope`, `pretty`).
fn query_flag(query: &str, name: &str) -> bool {
    query.split('&').any(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k == name && v.eq_ignore_ascii_case("true")
    })
}

/// Applies the query flags Atlas honours on every operation: `envelope=true`
/// answers HTTP 200 with the status in the body (a list's page object gets
/// a `status` field; any other body is wrapped as `{status, content}`), and
/// `pretty=true` indents the JSON.
fn shape(mut answer: Answer, query: &str) -> Answer {
    if query_flag(query, "envelope") {
        let status = answer.status.as_u16();
        let body = match answer.body.take() {
            Some(Value::Object(mut page)) if page.contains_key("results") => {
                page.insert("status".to_owned(), Value::from(status));
                Value::Object(page)
            }
            Some(other) => serde_json::json!({ "status": status, "content": other }),
            None => serde_json::json!({ "status": status }),
        };
        answer.body = Some(body);
        answer.status = StatusCode::OK;
    }
    answer.pretty = query_flag(query, "pretty");
    answer
}

pub(crate) struct Req {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: String,
    pub(crate) auth: Auth,
}

fn control(
    shared: &Shared,
    method: &Method,
    path: &str,
    body: &str,
) -> Option<Response<Full<Bytes>>> {
    let answer = match (method, path) {
        (&Method::GET, "/__emulator/requests") => {
            let log = lock(&shared.state).log.clone();
            Answer::json(
                StatusCode::OK,
                serde_json::to_value(log).unwrap_or(Value::Null),
            )
        }
        (&Method::DELETE, "/__emulator/requests") => {
            lock(&shared.state).log.clear();
            Answer::empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, "/__emulator/faults") => match serde_json::from_str::<FaultRule>(body) {
            Ok(rule) => {
                lock(&shared.state).faults.push(rule);
                Answer::empty(StatusCode::NO_CONTENT)
            }
            Err(e) => Answer::error(StatusCode::BAD_REQUEST, "INVALID_FAULT", &e.to_string()),
        },
        (&Method::GET, "/__emulator/state") => {
            let st = lock(&shared.state);
            Answer::json(
                StatusCode::OK,
                serde_json::to_value(&st.persisted).unwrap_or(Value::Null),
            )
        }
        _ => return None,
    };
    let mut a = answer;
    a.content_type = "application/json";
    Some(a.into_response(&[]))
}

/// Returns the answer, whether to drop the connection instead, and the fault
/// label for the log.
async fn route(shared: &Shared, req: &mut Req) -> (Answer, bool, Option<String>) {
    // Outside the Admin API (and its middleware): the OAuth endpoints.
    if req.path == "/api/oauth/token" && req.method == Method::POST {
        req.auth = if header(&req.headers, AUTHORIZATION).is_some() {
            Auth::Basic
        } else {
            Auth::None
        };
        return (oauth_token(shared, req), false, None);
    }
    if req.path == "/api/oauth/revoke" && req.method == Method::POST {
        req.auth = Auth::Basic;
        return (oauth_revoke(shared, req), false, None);
    }
    let Some(rest) = req.path.strip_prefix("/api/atlas/v2/") else {
        return (crate::middleware::not_found(), false, None);
    };
    let rest = rest.to_owned();
    crate::middleware::run(shared, req, &rest).await
}

pub(crate) fn header(
    headers: &hyper::HeaderMap,
    name: hyper::header::HeaderName,
) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Answer {
    let mut a = Answer::json(
        status,
        json!({ "error": error, "error_description": description }),
    );
    a.content_type = "application/json";
    a
}

fn basic_client(req: &Req) -> Option<(String, String)> {
    let value = header(&req.headers, AUTHORIZATION)?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn oauth_token(shared: &Shared, req: &Req) -> Answer {
    let Some((id, secret)) = basic_client(req) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Missing client credentials.",
        );
    };
    let Some(account) = shared
        .config
        .service_accounts
        .iter()
        .find(|a| a.client_id == id && a.client_secret == secret)
    else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client credentials.",
        );
    };
    if let Some((cfg, wait)) = take_from_bucket(
        shared,
        &format!("oauth/{id}"),
        shared.config.token_rate_limit,
    ) {
        let mut a = oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            &format!(
                "Too many token requests: at most {} a minute per service account.",
                cfg.capacity
            ),
        );
        a.headers.push(("retry-after", format!("{wait}")));
        return a;
    }
    let form = parse_form(&req.body);
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Use client_credentials.",
        );
    }
    let now = Instant::now();
    let mut st = lock(&shared.state);
    st.tokens.retain(|_, t| t.expires > now);
    let live = st.tokens.values().filter(|t| t.client_id == id).count();
    if live >= shared.config.max_live_tokens {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "The service account has reached its limit of live access tokens.",
        );
    }
    let token = format!("emu_{}", random_hex(48));
    st.tokens.insert(
        token.clone(),
        Token {
            client_id: id,
            expires: now + shared.config.token_ttl,
            role: account.role,
        },
    );
    st.tokens_minted += 1;
    let mut a = Answer::json(
        StatusCode::OK,
        json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": shared.config.token_ttl.as_secs(),
        }),
    );
    a.content_type = "application/json";
    a
}

fn oauth_revoke(shared: &Shared, req: &Req) -> Answer {
    if basic_client(req).is_none() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Missing client credentials.",
        );
    }
    let form = parse_form(&req.body);
    if let Some(token) = form.get("token") {
        lock(&shared.state).tokens.remove(token);
    }
    Answer::empty(StatusCode::OK)
}
