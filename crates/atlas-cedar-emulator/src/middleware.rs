//! The middleware every Admin API request goes through, in order: auth
//! (Digest or Bearer, 401), faults (injected latency, status or dropped
//! connection), scope (`/orgs/{orgId}` or `/groups/{groupId}`, 404/400),
//! rate limit (429 per organization or project), version (406/410/415
//! against the route's version), role (403 for a write by a read-only
//! credential); then the route's handler ([`crate::routes`]), which
//! enforces the organization's resource policies before a change.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, StatusCode};

use crate::routes::Lookup;
use crate::server::{header, Answer, Auth, Bucket, Req, Scope, Shared};
use crate::util::{is_object_id, md5_hex, parse_auth_params, random_hex};
use crate::{lock, FaultKind, Role};

const REALM: &str = "MMS Public API";
const MAX_NONCES: usize = 10_000;

/// Runs an Admin API request (`rest` is its path after `/api/atlas/v2/`)
/// through the middleware and its route; returns the answer, whether to drop
/// the connection instead, and the fault label for the log.
pub(crate) async fn run(
    shared: &Shared,
    req: &mut Req,
    rest: &str,
) -> (Answer, bool, Option<String>) {
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

pub(crate) fn not_found() -> Answer {
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
pub(crate) fn take_from_bucket(
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
