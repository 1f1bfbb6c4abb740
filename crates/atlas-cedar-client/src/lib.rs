//! A client for the MongoDB Atlas Admin API v2: organization resource
//! policies and the resources `plan`/`push` manage beside them (search
//! indexes, export buckets, private endpoints, data-federation endpoints,
//! organization API keys, stream processors), one module per kind.
//!
//! - Authentication: API keys by HTTP Digest (the 401 challenge is answered
//!   and its nonce reused with an increasing count), service accounts by OAuth
//!   client credentials (token cached across processes in a 0600 file and
//!   refreshed before it expires), or a static bearer token.
//! - Every operation pins its media-type version; `Deprecation` / `Sunset`
//!   headers are collected as warnings ([`Client::take_warnings`]).
//! - Retries: 429 honours `Retry-After` (else exponential backoff with
//!   jitter), bounded in attempts and total wait; 5xx and connection errors
//!   are retried for idempotent requests only. A create whose answer was lost
//!   is recovered by listing and adopting by name
//!   ([`Client::create_policy_or_adopt`]).
//! - Errors are typed ([`Error`]) for both Atlas error shapes and never hold
//!   a secret.

mod auth;
mod error;
mod policies;
pub mod rest;
mod settings;

// One module per managed resource kind besides resource policies.
pub mod api_keys;
pub mod export_buckets;
pub mod federation;
pub mod private_endpoints;
pub mod search;
pub mod streams;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};

pub use auth::{default_token_cache_dir, CredentialKind, Credentials, Secret};
use auth::{CachedToken, DigestState};
pub use error::{
    AtlasError, BadRequestDetail, Error, FieldError, InvalidPolicy, PolicyErrorDetail,
    PolicyErrorEnvelope,
};
pub use policies::{
    CreateOutcome, NonCompliantResource, PolicyBody, PolicyBodyInput, ResourcePolicy,
    ResourcePolicyInput, ResourcePolicyPatch, UserRef,
};
pub use settings::{
    check_base_url, normalize_base_url, resolve, Settings, SettingsInput, ALLOW_INSECURE_HTTP_ENV,
    DEFAULT_BASE_URL,
};

/// How long and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff when no `Retry-After` is given.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Total time one request may spend waiting between attempts.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(180),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://cloud.mongodb.com` or a local emulator.
    pub base_url: String,
    pub credentials: Credentials,
    pub connect_timeout: Duration,
    /// Timeout of one HTTP exchange.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Where service-account tokens are cached; `None`: no cache on disk.
    pub token_cache_dir: Option<PathBuf>,
    /// Accept plain `http://` to a host other than loopback.
    pub allow_insecure_http: bool,
}

impl ClientConfig {
    pub fn new(base_url: &str, credentials: Credentials) -> Self {
        ClientConfig {
            base_url: normalize_base_url(base_url),
            credentials,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            token_cache_dir: default_token_cache_dir(),
            allow_insecure_http: false,
        }
    }
}

/// One API operation: its name, pinned version, the role it needs, and
/// whether repeating it is harmless.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operation {
    pub(crate) name: &'static str,
    pub(crate) version: &'static str,
    pub(crate) role: &'static str,
    pub(crate) idempotent: bool,
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) body: String,
}

/// The Admin API client. Cheap to share behind an `Arc`; all methods take
/// `&self`.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    digest: Mutex<Option<DigestState>>,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    warnings: Mutex<Vec<String>>,
    requests: AtomicU64,
    tokens_minted: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Client {
    /// Refuses a base URL with credentials in it, or plain `http://` to a
    /// host other than loopback unless allowed ([`check_base_url`]).
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        check_base_url(&config.base_url, config.allow_insecure_http)?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("atlas-cedar/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            http,
            config,
            digest: Mutex::new(None),
            token: tokio::sync::Mutex::new(None),
            warnings: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            tokens_minted: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// HTTP requests sent so far (token requests and retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// OAuth tokens this client minted (0 when a cached one was reused).
    pub fn tokens_minted(&self) -> u64 {
        self.tokens_minted.load(Ordering::Relaxed)
    }

    /// Deprecation, sunset and retry notes gathered so far (each once).
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.warnings))
    }

    fn warn(&self, message: String) {
        let mut w = lock(&self.warnings);
        if !w.contains(&message) {
            w.push(message);
        }
    }

    fn token_path(&self) -> Option<PathBuf> {
        let Credentials::ServiceAccount { client_id, .. } = &self.config.credentials else {
            return None;
        };
        let dir = self.config.token_cache_dir.as_ref()?;
        Some(auth::token_file(dir, &self.config.base_url, client_id))
    }

    /// A valid bearer token for the service account: from memory, else the
    /// cache file, else minted (and cached).
    async fn service_token(&self, force_new: bool) -> Result<String, Error> {
        let Credentials::ServiceAccount {
            client_id,
            client_secret,
        } = &self.config.credentials
        else {
            return Err(Error::Config("not a service account".to_owned()));
        };
        let mut slot = self.token.lock().await;
        let path = self.token_path();
        if force_new {
            *slot = None;
            if let Some(p) = &path {
                auth::remove_token(p);
            }
        }
        if let Some(t) = slot.as_ref().filter(|t| t.is_fresh()) {
            return Ok(t.access_token.clone());
        }
        // Other processes may be minting for the same account right now:
        // take the cache's lock, then look at the cache again.
        let _lock = match &path {
            Some(p) => {
                let (lock, refused) = auth::lock_token(p, self.config.request_timeout).await;
                if let Some(why) = refused {
                    self.warn(why);
                }
                lock
            }
            None => None,
        };
        if let Some(p) = &path {
            match auth::read_token(p, &self.config.base_url, client_id) {
                Ok(Some(t)) if t.is_fresh() => {
                    let token = t.access_token.clone();
                    *slot = Some(t);
                    return Ok(token);
                }
                Ok(_) => {}
                Err(refused) => self.warn(refused.to_string()),
            }
        }
        let t = self.mint_token(client_id, client_secret).await?;
        if let Some(p) = &path {
            if let Err(e) = auth::write_token(p, &t) {
                self.warn(format!("could not cache the service-account token: {e}"));
            }
        }
        let token = t.access_token.clone();
        *slot = Some(t);
        Ok(token)
    }

    async fn mint_token(&self, client_id: &str, secret: &Secret) -> Result<CachedToken, Error> {
        let url = format!("{}/api/oauth/token", self.config.base_url);
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{}", secret.expose()));
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .http
                .post(&url)
                .header(AUTHORIZATION, format!("Basic {basic}"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .body("grant_type=client_credentials")
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    if let Some(wait) = self.next_wait(attempt, &mut waited, None) {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(Error::OAuth(format!("token request failed: {}", clean(&e))));
                }
            };
            let status = resp.status();
            let retry_after = retry_after(resp.headers());
            let body = resp.text().await.unwrap_or_default();
            if status.is_success() {
                #[derive(serde::Deserialize)]
                struct TokenAnswer {
                    access_token: String,
                    expires_in: Option<u64>,
                }
                let t: TokenAnswer = serde_json::from_str(&body)
                    .map_err(|e| Error::OAuth(format!("bad token answer: {e}")))?;
                self.tokens_minted.fetch_add(1, Ordering::Relaxed);
                return Ok(CachedToken {
                    access_token: t.access_token,
                    expires_at: auth::unix_now() + t.expires_in.unwrap_or(3600),
                    client_id: client_id.to_owned(),
                    base_url: self.config.base_url.clone(),
                });
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if retryable {
                if let Some(wait) = self.next_wait(attempt, &mut waited, retry_after) {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            let detail = oauth_detail(&body);
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => Error::Unauthorized {
                    operation: "mint service-account token",
                    kind: CredentialKind::ServiceAccount,
                    detail: format!("client id {client_id} was refused: {detail}"),
                },
                StatusCode::FORBIDDEN => Error::OAuth(format!(
                    "HTTP 403 {detail}: the service account may have reached Atlas's limit of \
                     100 live tokens; atlas-cedar caches its token, so another tool may be \
                     minting one per command"
                )),
                _ => Error::OAuth(format!("HTTP {}: {detail}", status.as_u16())),
            });
        }
    }

    /// Runs `operation` with one retry budget for every request it sends: a
    /// create and its adopt loop (lookups, the create sent again, and the
    /// retries of a refused connection inside [`Client::send`]) share the
    /// policy's attempts and total wait instead of each having its own. An
    /// operation inside another keeps the outer budget.
    pub(crate) async fn within_one_budget<F: std::future::Future>(
        &self,
        operation: F,
    ) -> F::Output {
        if OPERATION_BUDGET.try_with(|_| ()).is_ok() {
            return operation.await;
        }
        OPERATION_BUDGET
            .scope(std::cell::Cell::new((0, Duration::ZERO)), operation)
            .await
    }

    /// The wait before the next attempt, or `None` when attempts or the
    /// total wait budget are used up. Inside [`Client::within_one_budget`]
    /// the operation's retries so far count, not the caller's `attempt` and
    /// `waited` alone.
    fn next_wait(
        &self,
        attempt: u32,
        waited: &mut Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let policy = &self.config.retry;
        let shared = OPERATION_BUDGET.try_with(std::cell::Cell::get).ok();
        let (attempt, already) = match shared {
            Some((retries, total)) => (retries + 1, total),
            None => (attempt, *waited),
        };
        if attempt >= policy.max_attempts {
            return None;
        }
        let wait = match retry_after {
            Some(ra) => ra + Duration::from_millis(fastrand::u64(0..=250)),
            None => {
                let exp = policy
                    .initial_backoff
                    .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
                    .min(policy.max_backoff);
                // Full jitter between half and all of the exponential step.
                exp.mul_f64(0.5 + fastrand::f64() * 0.5)
            }
        };
        if already + wait > policy.max_total_wait {
            return None;
        }
        *waited += wait;
        let _ = OPERATION_BUDGET.try_with(|b| b.set((attempt, already + wait)));
        Some(wait)
    }

    /// Sends one API request with auth, version, retries and error mapping.
    pub(crate) async fn send(
        &self,
        op: Operation,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Answer, Error> {
        let uri = format!("/api/atlas/v2{path}");
        let url = format!("{}{uri}", self.config.base_url);
        let media = format!("application/vnd.atlas.{}+json", op.version);
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        let mut auth_retries = 0u32;
        let started = Instant::now();
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header(ACCEPT, &media);
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, &media).body(b.clone());
            }
            if let Some(value) = self.authorization(&method, &uri).await? {
                req = req.header(AUTHORIZATION, value);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let message = clean(&e);
                    // A connection that could not be made carried nothing:
                    // even a create is safe to send again.
                    if op.idempotent || e.is_connect() {
                        if let Some(wait) = self.next_wait(attempt, &mut waited, None) {
                            self.warn(format!("{}: retrying after: {message}", op.name));
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    let maybe_applied = !e.is_connect();
                    return Err(Error::Transport {
                        operation: op.name,
                        message,
                        maybe_applied,
                    });
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            self.note_deprecation(op, &headers);
            let text = match resp.text().await {
                Ok(t) => t,
                Err(e) => {
                    let message = clean(&e);
                    if op.idempotent {
                        if let Some(wait) = self.next_wait(attempt, &mut waited, None) {
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    return Err(Error::Transport {
                        operation: op.name,
                        message,
                        maybe_applied: true,
                    });
                }
            };
            if status.is_success() {
                return Ok(Answer { body: text });
            }
            match status {
                StatusCode::UNAUTHORIZED if auth_retries < 2 => {
                    auth_retries += 1;
                    match &self.config.credentials {
                        Credentials::ApiKey { .. } => {
                            let challenge = headers
                                .get_all(WWW_AUTHENTICATE)
                                .iter()
                                .filter_map(|v| v.to_str().ok())
                                .find_map(DigestState::from_challenge);
                            let had_state = lock(&self.digest).is_some();
                            let stale = headers
                                .get(WWW_AUTHENTICATE)
                                .and_then(|v| v.to_str().ok())
                                .is_some_and(|v| v.contains("stale=true"));
                            if let Some(c) = challenge {
                                *lock(&self.digest) = Some(c);
                                // First contact or a stale nonce: answer the
                                // new challenge. A refused answer to a fresh
                                // challenge is a real failure.
                                if !had_state || stale || auth_retries == 1 {
                                    attempt -= 1;
                                    continue;
                                }
                            }
                        }
                        Credentials::ServiceAccount { .. } => {
                            // Revoked or expired early: mint a new token once.
                            if auth_retries == 1 {
                                self.service_token(true).await?;
                                attempt -= 1;
                                continue;
                            }
                        }
                        Credentials::AccessToken(_) => {}
                    }
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    if let Some(wait) = self.next_wait(attempt, &mut waited, retry_after(&headers))
                    {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(Error::RateLimited {
                        operation: op.name,
                        attempts: attempt,
                        waited_ms: started.elapsed().as_millis(),
                        error: Box::new(atlas_error(status, &text)),
                    });
                }
                s if s.is_server_error() && op.idempotent => {
                    if let Some(wait) = self.next_wait(attempt, &mut waited, retry_after(&headers))
                    {
                        self.warn(format!("{}: retrying after HTTP {}", op.name, s.as_u16()));
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
                _ => {}
            }
            return Err(self.map_error(op, status, &text, attempt));
        }
    }

    fn map_error(&self, op: Operation, status: StatusCode, text: &str, _attempt: u32) -> Error {
        if status == StatusCode::BAD_REQUEST {
            if let Ok(envelope) = serde_json::from_str::<PolicyErrorEnvelope>(text) {
                return Error::InvalidPolicies {
                    operation: op.name,
                    envelope,
                };
            }
        }
        let error = Box::new(atlas_error(status, text));
        match status {
            StatusCode::UNAUTHORIZED => Error::Unauthorized {
                operation: op.name,
                kind: self.config.credentials.kind(),
                detail: match self.config.credentials.public_id() {
                    Some(id) => format!("{id}: {error}"),
                    None => error.to_string(),
                },
            },
            StatusCode::FORBIDDEN => Error::Forbidden {
                operation: op.name,
                role: op.role,
                error,
            },
            StatusCode::GONE => Error::VersionGone {
                operation: op.name,
                version: op.version,
                error,
            },
            StatusCode::NOT_ACCEPTABLE => Error::NotAcceptable {
                operation: op.name,
                version: op.version,
                error,
            },
            _ => Error::Api {
                operation: op.name,
                status: status.as_u16(),
                error,
            },
        }
    }

    fn note_deprecation(&self, op: Operation, headers: &HeaderMap) {
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let deprecation = get("deprecation");
        let sunset = get("sunset");
        if deprecation.is_some() || sunset.is_some() {
            self.warn(format!(
                "{}: API version {} is deprecated{}{}; a newer atlas-cedar will move to a newer version",
                op.name,
                op.version,
                deprecation.map(|d| format!(" (since {d})")).unwrap_or_default(),
                sunset.map(|s| format!(", sunset {s}")).unwrap_or_default(),
            ));
        }
    }

    async fn authorization(&self, method: &Method, uri: &str) -> Result<Option<String>, Error> {
        match &self.config.credentials {
            Credentials::ApiKey {
                public_key,
                private_key,
            } => {
                let mut state = lock(&self.digest);
                Ok(state
                    .as_mut()
                    .map(|s| s.authorize(public_key, private_key.expose(), method.as_str(), uri)))
            }
            Credentials::ServiceAccount { .. } => {
                let token = self.service_token(false).await?;
                Ok(Some(format!("Bearer {token}")))
            }
            Credentials::AccessToken(t) => Ok(Some(format!("Bearer {}", t.expose()))),
        }
    }
}

/// The Atlas error in an answer's body; for a body that is not one, the
/// status's name as the code and the body's start as the detail.
fn atlas_error(status: StatusCode, text: &str) -> AtlasError {
    serde_json::from_str::<AtlasError>(text).unwrap_or_else(|_| AtlasError {
        error: status.as_u16(),
        error_code: status
            .canonical_reason()
            .unwrap_or("")
            .to_uppercase()
            .replace(' ', "_"),
        detail: Some(text.chars().take(500).collect()),
        ..AtlasError::default()
    })
}

/// `Retry-After` as delay-seconds or as an HTTP date (capped at 10 minutes).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    let wait = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = parse_http_date(v)?;
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(Duration::from_secs(600)))
}

/// Parses an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(s: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = i64::try_from(MONTHS.iter().position(|x| x == month)? + 1).ok()?;
    let d: i64 = day.parse().ok()?;
    let y: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, se) = (hms.next()??, hms.next()??, hms.next()??);
    // Days from civil (Howard Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

fn oauth_detail(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct E {
        error: Option<String>,
        error_description: Option<String>,
    }
    match serde_json::from_str::<E>(body) {
        Ok(e) => format!(
            "{}{}",
            e.error.unwrap_or_default(),
            e.error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        Err(_) => body.chars().take(200).collect(),
    }
}

/// A transport error as text, without the URL's query (never holds secrets
/// anyway: secrets only travel in headers and the token form body).
fn clean(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    if e.is_timeout() {
        s.push_str(" (timed out)");
    }
    s
}

tokio::task_local! {
    /// The retries made so far by the operation running in this task (see
    /// [`Client::within_one_budget`]), and the time they waited.
    static OPERATION_BUDGET: std::cell::Cell<(u32, Duration)>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_shares_one_budget_across_its_requests() {
        #![allow(clippy::unwrap_used)]
        let mut config = ClientConfig::new(
            "http://127.0.0.1:9",
            Credentials::AccessToken(Secret::new("t".to_owned())),
        );
        config.retry = RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            max_total_wait: Duration::from_secs(60),
        };
        let client = Client::new(config).unwrap();
        // Three loops, each with its own counters, as a request retried
        // inside `send` within a create's adopt loop.
        let retries = |c: &Client| {
            (0..3)
                .map(|_| {
                    let mut waited = Duration::ZERO;
                    (1..=10)
                        .take_while(|a| c.next_wait(*a, &mut waited, None).is_some())
                        .count()
                })
                .collect::<Vec<_>>()
        };
        // Alone, each loop has the whole budget: 3 retries each.
        assert_eq!(retries(&client), [3, 3, 3]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let shared = rt.block_on(client.within_one_budget(async { retries(&client) }));
        assert_eq!(shared, [3, 0, 0], "one operation: 3 retries in all");
        // Nested operations keep the outer budget.
        let nested = rt.block_on(client.within_one_budget(async {
            let first = retries(&client);
            let inner = client.within_one_budget(async { retries(&client) }).await;
            (first, inner)
        }));
        assert_eq!(nested, (vec![3, 0, 0], vec![0, 0, 0]));
    }

    #[test]
    fn http_dates() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            t,
            Some(std::time::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(parse_http_date("soon"), None);
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("7"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }
}
