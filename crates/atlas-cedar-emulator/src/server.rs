//! The HTTP side: accept loop, request log, the middleware (auth, faults,
//! scope, rate limit, version, role) and dispatch through the route table
//! ([`crate::routes`]); OAuth and the `/__emulator` control endpoints.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::routes::Lookup;
use crate::util::{is_object_id, md5_hex, parse_auth_params, parse_form, random_hex};
use crate::{lock, EmulatorConfig, FaultKind, FaultRule, LoggedRequest, PersistedState, Role};

const REALM: &str = "MMS Public API";
const MAX_BODY: usize = 4 * 1024 * 1024;
const MAX_NONCES: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug)]
struct Token {
    client_id: String,
    expires: Instant,
    role: Role,
}

#[derive(Debug, Default)]
pub(crate) struct ServerState {
    pub(crate) persisted: PersistedState,
    pub(crate) non_compliant: HashMap<String, Vec<Value>>,
    pub(crate) log: Vec<LoggedRequest>,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) tokens_minted: u64,
    buckets: HashMap<String, Bucket>,
    /// nonce → nonce counts already used (a reused count is a replay).
    nonces: HashMap<String, HashSet<u64>>,
    tokens: HashMap<String, Token>,
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
    fn rate_key(&self) -> String {
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
enum Auth {
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
    auth: Auth,
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
        return (not_found(), false, None);
    };
    let found = crate::routes::lookup(&req.method, rest);
    let rest = rest.to_owned();
    let mut flow = Flow {
        shared,
        req,
        rest,
        found,
        role: None,
        fault: None,
        delay: None,
        scope: None,
        drop: false,
    };
    for stage in MIDDLEWARE {
        let answer = stage(&mut flow);
        if let Some(ms) = flow.delay.take() {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(answer) = answer {
            return (answer, flow.drop, flow.fault_label());
        }
    }
    let label = flow.fault_label();
    let applies = matches!(flow.found, Lookup::Route(r, _) if r.applies);
    let answer = dispatch(&mut flow);
    let drop_after =
        flow.fault == Some(FaultKind::DropAfterApply) && applies && answer.status.is_success();
    (answer, drop_after, label)
}

fn not_found() -> Answer {
    Answer::error(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", "Not found.")
}

/// An Admin API request on its way through the middleware.
struct Flow<'a> {
    shared: &'a Shared,
    req: &'a mut Req,
    /// The path after `/api/atlas/v2/`.
    rest: String,
    /// What the route table knows of the request.
    found: Lookup,
    role: Option<Role>,
    fault: Option<FaultKind>,
    /// Milliseconds to wait once the stage returns (a latency fault).
    delay: Option<u64>,
    scope: Option<Scope>,
    /// Drop the connection instead of answering.
    drop: bool,
}

impl Flow<'_> {
    fn fault_label(&self) -> Option<String> {
        self.fault.as_ref().map(|f| format!("{f:?}"))
    }
}

/// A middleware stage: an answer ends the request there.
type Stage = fn(&mut Flow<'_>) -> Option<Answer>;

/// The middleware every Admin API request goes through, in order, before
/// its handler. Resource-policy enforcement is the handler's (see
/// [`crate::routes`]).
const MIDDLEWARE: [Stage; 6] = [
    auth_stage,
    fault_stage,
    scope_stage,
    rate_limit_stage,
    version_stage,
    role_stage,
];

/// 401 without valid credentials (Digest, or a Bearer token).
fn auth_stage(flow: &mut Flow<'_>) -> Option<Answer> {
    match authenticate(flow.shared, flow.req) {
        Ok(role) => {
            flow.role = Some(role);
            None
        }
        Err(answer) => Some(answer),
    }
}

/// The first matching injected fault, once the request is authenticated.
fn fault_stage(flow: &mut Flow<'_>) -> Option<Answer> {
    let fault = take_fault(flow.shared, flow.req);
    flow.fault.clone_from(&fault);
    match fault? {
        FaultKind::Latency { ms } => {
            flow.delay = Some(ms);
            None
        }
        FaultKind::DropBeforeApply => {
            flow.drop = true;
            Some(Answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "DROPPED",
                "dropped",
            ))
        }
        FaultKind::Status { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = if status == StatusCode::SERVICE_UNAVAILABLE {
                "SERVICE_UNAVAILABLE"
            } else {
                "UNEXPECTED_ERROR"
            };
            Some(Answer::error(status, code, "Injected fault."))
        }
        FaultKind::DropAfterApply => None,
    }
}

/// `/orgs/{orgId}/…` or `/groups/{groupId}/…` with a well-formed id.
fn scope_stage(flow: &mut Flow<'_>) -> Option<Answer> {
    let mut segments = flow.rest.split('/');
    let scope = match (segments.next(), segments.next()) {
        (Some("orgs"), Some(org)) => Scope::Org(org.to_owned()),
        (Some("groups"), Some(group)) => Scope::Group(group.to_owned()),
        _ => return Some(not_found()),
    };
    if !is_object_id(scope.id()) {
        let (code, detail) = match &scope {
            Scope::Org(org) => (
                "INVALID_ORG_ID",
                format!("An invalid organization ID {org} was specified."),
            ),
            Scope::Group(group) => (
                "INVALID_GROUP_ID",
                format!("An invalid group ID {group} was specified."),
            ),
        };
        return Some(Answer::error(StatusCode::BAD_REQUEST, code, &detail));
    }
    flow.scope = Some(scope);
    None
}

/// 429 once the organization's or project's bucket is empty.
fn rate_limit_stage(flow: &mut Flow<'_>) -> Option<Answer> {
    let key = flow.scope.as_ref()?.rate_key();
    check_rate_limit(flow.shared, &key)
}

/// 406/410/415 unless the request asks for the route's (or mount's) version.
fn version_stage(flow: &mut Flow<'_>) -> Option<Answer> {
    let version = match &flow.found {
        Lookup::Route(r, _) => r.version,
        Lookup::Mounted(v) => v,
        Lookup::Unknown => return None,
    };
    check_version(flow.shared, flow.req, &[version])
}

/// 403 for a write by a credential that may only read.
fn role_stage(flow: &mut Flow<'_>) -> Option<Answer> {
    let is_write = matches!(
        flow.req.method,
        Method::POST | Method::PATCH | Method::DELETE | Method::PUT
    );
    (is_write && flow.role != Some(Role::OrgOwner)).then(|| {
        Answer::error(
            StatusCode::FORBIDDEN,
            "USER_UNAUTHORIZED",
            "Current user is not authorized to perform this action.",
        )
    })
}

/// The route's handler (its answer labelled with the route's version), or 404.
fn dispatch(flow: &mut Flow<'_>) -> Answer {
    let found = std::mem::replace(&mut flow.found, Lookup::Unknown);
    let (Lookup::Route(route, params), Some(scope)) = (found, flow.scope.clone()) else {
        return not_found();
    };
    let mut ctx = crate::resources::Ctx {
        shared: flow.shared,
        req: flow.req,
        scope,
        params,
        action: route.action,
    };
    (route.handler)(&mut ctx).with_version(route.version)
}

fn header(headers: &hyper::HeaderMap, name: hyper::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn take_fault(shared: &Shared, req: &Req) -> Option<FaultKind> {
    let mut st = lock(&shared.state);
    let method = req.method.as_str();
    let rule = st.faults.iter_mut().find(|r| {
        r.times > 0
            && r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && r.path_contains
                .as_deref()
                .is_none_or(|p| req.path.contains(p))
    })?;
    if rule.skip > 0 {
        rule.skip -= 1;
        return None;
    }
    rule.times -= 1;
    Some(rule.kind.clone())
}

fn challenge(stale: bool) -> (String, String) {
    let nonce = random_hex(32);
    let value = format!(
        "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\", stale={stale}"
    );
    (nonce, value)
}

fn unauthorized(shared: &Shared, detail: &str, stale: bool) -> Answer {
    let (nonce, value) = challenge(stale);
    let mut st = lock(&shared.state);
    if st.nonces.len() >= MAX_NONCES {
        st.nonces.clear();
    }
    st.nonces.insert(nonce, HashSet::new());
    Answer::error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", detail)
        .with_header("www-authenticate", value)
}

fn authenticate(shared: &Shared, req: &mut Req) -> Result<Role, Answer> {
    let Some(value) = header(&req.headers, AUTHORIZATION) else {
        req.auth = Auth::None;
        return Err(unauthorized(
            shared,
            "You are not authorized for this resource.",
            false,
        ));
    };
    if let Some(params) = value.strip_prefix("Digest ") {
        req.auth = Auth::Digest;
        return digest(shared, req, params);
    }
    if let Some(token) = value.strip_prefix("Bearer ") {
        req.auth = Auth::Bearer;
        let token = token.trim();
        let st = lock(&shared.state);
        if let Some(t) = st.tokens.get(token) {
            if t.expires > Instant::now() {
                return Ok(t.role);
            }
        }
        drop(st);
        if let Some((_, role)) = shared.config.access_tokens.iter().find(|(t, _)| t == token) {
            return Ok(*role);
        }
        req.auth = Auth::Invalid;
        return Err(Answer::error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Invalid or expired access token.",
        ));
    }
    req.auth = Auth::Invalid;
    Err(unauthorized(
        shared,
        "Unsupported authorization scheme.",
        false,
    ))
}

fn digest(shared: &Shared, req: &mut Req, params: &str) -> Result<Role, Answer> {
    let p = parse_auth_params(params);
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let username = get("username");
    let Some(key) = shared
        .config
        .api_keys
        .iter()
        .find(|k| k.public_key == username)
    else {
        req.auth = Auth::Invalid;
        return Err(unauthorized(
            shared,
            "You are not authorized for this resource.",
            false,
        ));
    };
    let nonce = get("nonce");
    let uri = get("uri");
    let nc_text = get("nc");
    let cnonce = get("cnonce");
    let qop = get("qop");
    let request_uri = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    let uri_path = uri.split('?').next().unwrap_or("");
    if uri_path != req.path || qop != "auth" {
        req.auth = Auth::Invalid;
        return Err(unauthorized(
            shared,
            "Digest uri or qop does not match the request.",
            false,
        ));
    }
    let _ = request_uri;
    let ha1 = md5_hex(&format!("{}:{}:{}", key.public_key, REALM, key.private_key));
    let ha2 = md5_hex(&format!("{}:{}", req.method.as_str(), uri));
    let expected = md5_hex(&format!("{ha1}:{nonce}:{nc_text}:{cnonce}:{qop}:{ha2}"));
    if expected != get("response") {
        req.auth = Auth::Invalid;
        return Err(unauthorized(
            shared,
            "You are not authorized for this resource.",
            false,
        ));
    }
    let nc = u64::from_str_radix(&nc_text, 16).unwrap_or(0);
    let mut st = lock(&shared.state);
    let fresh = st
        .nonces
        .get_mut(&nonce)
        .map(|seen| nc > 0 && seen.insert(nc));
    match fresh {
        Some(true) => Ok(key.role),
        _ => {
            drop(st);
            req.auth = Auth::Invalid;
            Err(unauthorized(shared, "Stale or replayed nonce.", true))
        }
    }
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

fn check_rate_limit(shared: &Shared, key: &str) -> Option<Answer> {
    let (cfg, wait) = take_from_bucket(shared, key, shared.config.rate_limit)?;
    let detail = format!(
        "Resource /api/atlas/v2/{key} is limited to {} requests every 1 minutes.",
        cfg.capacity
    );
    Some(
        Answer::error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", &detail)
            .with_header("retry-after", format!("{wait}"))
            .with_header("ratelimit-limit", cfg.capacity.to_string())
            .with_header("ratelimit-remaining", "0".to_owned()),
    )
}

/// Takes one request from the bucket `key` (filled to `cfg`); `None` when
/// there was one, else the limit and the seconds until there is one.
fn take_from_bucket(
    shared: &Shared,
    key: &str,
    cfg: crate::RateLimit,
) -> Option<(crate::RateLimit, f64)> {
    let capacity = f64::from(cfg.capacity.max(1));
    let per_sec = f64::from(cfg.refill_per_minute) / 60.0;
    let now = Instant::now();
    let mut st = lock(&shared.state);
    let bucket = st.buckets.entry(key.to_owned()).or_insert(Bucket {
        tokens: capacity,
        last: now,
    });
    let elapsed = now.duration_since(bucket.last).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
    bucket.last = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return None;
    }
    let wait = if per_sec > 0.0 {
        ((1.0 - bucket.tokens) / per_sec).ceil().max(1.0)
    } else {
        60.0
    };
    Some((cfg, wait))
}

/// `None` when the request asks for one of `supported` (and a body has a
/// matching content type), else Atlas's 406 / 410 / 415 answer.
pub(crate) fn check_version(shared: &Shared, req: &Req, supported: &[&str]) -> Option<Answer> {
    let accept = header(&req.headers, ACCEPT).unwrap_or_default();
    let versions: Vec<String> = accept
        .split(',')
        .map(|p| p.split(';').next().unwrap_or("").trim().to_owned())
        .filter_map(|t| {
            t.strip_prefix("application/vnd.atlas.")
                .and_then(|v| v.strip_suffix("+json"))
                .map(str::to_owned)
        })
        .collect();
    if let Some(gone) = versions
        .iter()
        .find(|v| shared.config.gone_versions.contains(v))
    {
        return Some(Answer::error(
            StatusCode::GONE,
            "VERSION_GONE",
            &format!("API version {gone} has been removed after its sunset date."),
        ));
    }
    let wanted: Vec<String> = supported
        .iter()
        .map(|v| format!("application/vnd.atlas.{v}+json"))
        .collect();
    if let Some(v) = versions.iter().find(|v| supported.contains(&v.as_str())) {
        if !req.body.is_empty() {
            let ct = header(&req.headers, CONTENT_TYPE).unwrap_or_default();
            let ct = ct.split(';').next().unwrap_or("").trim();
            let expected = format!("application/vnd.atlas.{v}+json");
            if ct != expected && ct != "application/json" {
                return Some(Answer::error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UNSUPPORTED_MEDIA_TYPE",
                    &format!("Content type {ct} is not supported; use {expected}."),
                ));
            }
        }
        return None;
    }
    Some(Answer::error(
        StatusCode::NOT_ACCEPTABLE,
        "INVALID_VERSION_DATE",
        &format!(
            "Missing or unsupported API version in Accept header; this resource supports {}.",
            wanted.join(", ")
        ),
    ))
}
