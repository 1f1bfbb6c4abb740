//! Credentials, HTTP Digest and the OAuth token cache.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A secret string: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Programmatic API key: HTTP Digest.
    ApiKey {
        public_key: String,
        private_key: Secret,
    },
    /// Service account: OAuth 2.0 client credentials.
    ServiceAccount {
        client_id: String,
        client_secret: Secret,
    },
    /// A bearer token obtained elsewhere.
    AccessToken(Secret),
}

impl Credentials {
    pub fn kind(&self) -> CredentialKind {
        match self {
            Credentials::ApiKey { .. } => CredentialKind::ApiKey,
            Credentials::ServiceAccount { .. } => CredentialKind::ServiceAccount,
            Credentials::AccessToken(_) => CredentialKind::AccessToken,
        }
    }

    /// A public identifier safe to print (public key or client id).
    pub fn public_id(&self) -> Option<&str> {
        match self {
            Credentials::ApiKey { public_key, .. } => Some(public_key),
            Credentials::ServiceAccount { client_id, .. } => Some(client_id),
            Credentials::AccessToken(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CredentialKind {
    ApiKey,
    ServiceAccount,
    AccessToken,
}

impl std::fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CredentialKind::ApiKey => "API key (HTTP Digest)",
            CredentialKind::ServiceAccount => "service account (OAuth client credentials)",
            CredentialKind::AccessToken => "access token (bearer)",
        })
    }
}

pub(crate) fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Digest challenge being reused with an increasing nonce count.
#[derive(Debug, Clone)]
pub(crate) struct DigestState {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    nc: u32,
}

impl DigestState {
    /// Parses `WWW-Authenticate: Digest …`; `None` when it is not a usable
    /// MD5 / qop=auth challenge.
    pub(crate) fn from_challenge(header: &str) -> Option<DigestState> {
        let params = header.trim().strip_prefix("Digest ")?;
        let p = parse_auth_params(params);
        let algorithm = p
            .iter()
            .find(|(k, _)| k == "algorithm")
            .map(|(_, v)| v.as_str());
        if !matches!(algorithm, None | Some("MD5") | Some("md5")) {
            return None;
        }
        let qop = p
            .iter()
            .find(|(k, _)| k == "qop")
            .map(|(_, v)| v.as_str())
            .unwrap_or("auth");
        if !qop.split(',').any(|q| q.trim() == "auth") {
            return None;
        }
        let get = |key: &str| p.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        Some(DigestState {
            realm: get("realm").unwrap_or_default(),
            nonce: get("nonce")?,
            opaque: get("opaque"),
            nc: 0,
        })
    }

    /// The `Authorization` value for one request (increments the count).
    pub(crate) fn authorize(
        &mut self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
    ) -> String {
        self.nc = self.nc.wrapping_add(1);
        let nc = format!("{:08x}", self.nc);
        let cnonce = format!("{:016x}", fastrand::u64(..));
        let ha1 = md5_hex(&format!("{user}:{}:{password}", self.realm));
        let ha2 = md5_hex(&format!("{method}:{uri}"));
        let response = md5_hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce));
        let mut value = format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", algorithm=MD5, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{response}\"",
            self.realm, self.nonce
        );
        if let Some(o) = &self.opaque {
            value.push_str(&format!(", opaque=\"{o}\""));
        }
        value
    }
}

fn parse_auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest
            .get(..eq)
            .unwrap_or("")
            .trim()
            .trim_start_matches(',')
            .trim();
        let after = rest.get(eq + 1..).unwrap_or("").trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (
                quoted.get(..end).unwrap_or("").to_owned(),
                quoted.get(end + 1..).unwrap_or(""),
            )
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (
                after.get(..end).unwrap_or("").trim().to_owned(),
                after.get(end..).unwrap_or(""),
            )
        };
        out.push((key.to_ascii_lowercase(), value));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// An OAuth access token, as cached on disk.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct CachedToken {
    pub(crate) access_token: String,
    /// Unix seconds.
    pub(crate) expires_at: u64,
    pub(crate) client_id: String,
    pub(crate) base_url: String,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("access_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// Refresh this many seconds before the token expires.
pub(crate) const REFRESH_MARGIN_SECS: u64 = 120;

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl CachedToken {
    pub(crate) fn is_fresh(&self) -> bool {
        unix_now().saturating_add(REFRESH_MARGIN_SECS) < self.expires_at
    }
}

/// The default token cache folder: `<user cache dir>/atlas-cedar/oauth`.
pub fn default_token_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("atlas-cedar").join("oauth"))
}

/// The cache file for one service account at one base URL.
pub(crate) fn token_file(dir: &Path, base_url: &str, client_id: &str) -> PathBuf {
    dir.join(format!(
        "{}.json",
        md5_hex(&format!("{base_url}\n{client_id}"))
    ))
}

pub(crate) fn read_token(path: &Path, base_url: &str, client_id: &str) -> Option<CachedToken> {
    let text = std::fs::read_to_string(path).ok()?;
    let token: CachedToken = serde_json::from_str(&text).ok()?;
    (token.client_id == client_id && token.base_url == base_url).then_some(token)
}

/// Writes the token with mode 0600 (via a temporary file and a rename, so a
/// concurrent reader never sees half a file).
pub(crate) fn write_token(path: &Path, token: &CachedToken) -> Result<(), Error> {
    let err = |message: String| Error::TokenCache {
        path: path.display().to_string(),
        message,
    };
    let dir = path
        .parent()
        .ok_or_else(|| err("no parent folder".to_owned()))?;
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let text = serde_json::to_string(token).map_err(|e| err(e.to_string()))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(|e| err(e.to_string()))?;
        file.write_all(text.as_bytes())
            .map_err(|e| err(e.to_string()))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}

/// Takes the cache's lock file (`<token file>.lock`, an OS advisory lock) so
/// that of several processes starting at once only one mints a token and the
/// others read it. Waits up to `patience`; `None` (go on without the lock)
/// when the lock cannot be taken, so a stuck process never blocks another for
/// long. The lock is released when the returned file is dropped.
pub(crate) async fn lock_token(
    path: &Path,
    patience: std::time::Duration,
) -> Option<std::fs::File> {
    let lock_path = path.with_extension("lock");
    std::fs::create_dir_all(lock_path.parent()?).ok()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(&lock_path).ok()?;
    let deadline = std::time::Instant::now() + patience;
    loop {
        match file.try_lock() {
            Ok(()) => return Some(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            Err(_) => return None,
        }
    }
}

pub(crate) fn remove_token(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let creds = Credentials::ApiKey {
            public_key: "pubkey".into(),
            private_key: Secret::new("very-secret-private"),
        };
        let sa = Credentials::ServiceAccount {
            client_id: "id".into(),
            client_secret: Secret::new("very-secret-sa"),
        };
        let tok = Credentials::AccessToken(Secret::new("very-secret-token"));
        for text in [
            format!("{creds:?}"),
            format!("{sa:?}"),
            format!("{tok:?}"),
            format!("{}", Secret::new("very-secret-x")),
            format!(
                "{:#?}",
                CachedToken {
                    access_token: "very-secret-cached".into(),
                    expires_at: 1,
                    client_id: "id".into(),
                    base_url: "b".into(),
                }
            ),
        ] {
            assert!(!text.contains("very-secret"), "{text}");
        }
        assert!(format!("{creds:?}").contains("pubkey"));
    }

    #[test]
    fn digest_rfc2617_example() {
        // RFC 2617 section 3.5 example.
        let mut state = DigestState::from_challenge(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        let v = state.authorize("Mufasa", "Circle Of Life", "GET", "/dir/index.html");
        assert!(v.contains("nc=00000001"));
        let cnonce = v
            .split("cnonce=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let ha1 = md5_hex("Mufasa:testrealm@host.com:Circle Of Life");
        let ha2 = md5_hex("GET:/dir/index.html");
        let expected = md5_hex(&format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:{cnonce}:auth:{ha2}"
        ));
        assert!(v.contains(&format!("response=\"{expected}\"")));
        assert!(v.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
        let v2 = state.authorize("Mufasa", "Circle Of Life", "GET", "/dir/index.html");
        assert!(v2.contains("nc=00000002"));
        assert!(!v.contains("Circle Of Life"));
    }

    #[test]
    fn token_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_file(dir.path(), "http://x", "id");
        let token = CachedToken {
            access_token: "t".into(),
            expires_at: unix_now() + 3600,
            client_id: "id".into(),
            base_url: "http://x".into(),
        };
        write_token(&path, &token).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let back = read_token(&path, "http://x", "id").unwrap();
        assert!(back.is_fresh());
        assert!(read_token(&path, "http://y", "id").is_none());
    }
}
