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

/// Opens an existing cache file for reading and writing without following a
/// symlink, and checks it is a regular file of this user with no access for
/// anyone else (mode 0600). `Ok(None)`: there is none. `Err`: why it is not
/// to be trusted.
fn open_private(path: &Path, write: bool) -> Result<Option<std::fs::File>, String> {
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        use std::os::unix::fs::MetadataExt as _;
        let access = if write { OFlags::RDWR } else { OFlags::RDONLY };
        let flags = access | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = match rustix::fs::open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => return Err("it is a symbolic link".to_owned()),
            Err(e) => return Err(e.to_string()),
        };
        let file = std::fs::File::from(fd);
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if !meta.file_type().is_file() {
            return Err("it is not a regular file".to_owned());
        }
        let me = rustix::process::getuid().as_raw();
        if meta.uid() != me {
            return Err(format!(
                "it belongs to user {} (not {me}, who runs atlas-cedar)",
                meta.uid()
            ));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(format!(
                "its mode is {:o}, not 600 (others may read or change it)",
                meta.mode() & 0o777
            ));
        }
        Ok(Some(file))
    }
    #[cfg(not(unix))]
    {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(write);
        match options.open(path) {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Creates `path` exclusively (never through a symlink or over an existing
/// file) with mode 0600.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// Whether the cache folder can be trusted: a real folder (not a symbolic
/// link) of this user that no one else may write to (another user could swap
/// the files in it between our checks). `Err`: why not.
fn check_dir(dir: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
        if meta.file_type().is_symlink() {
            return Err(format!("its folder {} is a symbolic link", dir.display()));
        }
        if !meta.is_dir() {
            return Err(format!("{} is not a folder", dir.display()));
        }
        let me = rustix::process::getuid().as_raw();
        if meta.uid() != me {
            return Err(format!(
                "its folder {} belongs to user {} (not {me}, who runs atlas-cedar)",
                dir.display(),
                meta.uid()
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "its folder {} has mode {:o}: others may write to it",
                dir.display(),
                meta.mode() & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The cache folder, created private (0700) when missing, then checked
/// ([`check_dir`]).
fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    check_dir(dir).map_err(std::io::Error::other)
}

/// The cached token, if the file is there, is this user's own with mode
/// 0600 (not a symlink), and is for this account and base URL. A file that
/// is not to be trusted is removed (the next token is written afresh) and
/// the reason returned.
pub(crate) fn read_token(
    path: &Path,
    base_url: &str,
    client_id: &str,
) -> Result<Option<CachedToken>, Error> {
    use std::io::Read as _;
    if let Some(dir) = path.parent().filter(|d| d.exists()) {
        if let Err(why) = check_dir(dir) {
            return Err(Error::TokenCache {
                path: path.display().to_string(),
                message: format!("not used: {why}"),
            });
        }
    }
    let mut file = match open_private(path, false) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(why) => {
            let _ = std::fs::remove_file(path);
            return Err(Error::TokenCache {
                path: path.display().to_string(),
                message: format!("not used and removed: {why}"),
            });
        }
    };
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return Ok(None);
    }
    let Ok(token) = serde_json::from_str::<CachedToken>(&text) else {
        return Ok(None);
    };
    Ok((token.client_id == client_id && token.base_url == base_url).then_some(token))
}

/// Writes the token with mode 0600: into a new file of a random name,
/// created exclusively next to the cache file (so nothing planted there is
/// followed), then renamed over it (a rename replaces a symlink, never
/// writes through it), so a concurrent reader never sees half a file.
pub(crate) fn write_token(path: &Path, token: &CachedToken) -> Result<(), Error> {
    let err = |message: String| Error::TokenCache {
        path: path.display().to_string(),
        message,
    };
    let dir = path
        .parent()
        .ok_or_else(|| err("no parent folder".to_owned()))?;
    create_dir(dir).map_err(|e| err(e.to_string()))?;
    let text = serde_json::to_string(token).map_err(|e| err(e.to_string()))?;
    let mut tmp = None;
    for _ in 0..8 {
        let candidate = path.with_extension(format!(
            "tmp{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        match create_private(&candidate) {
            Ok(f) => {
                tmp = Some((candidate, f));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(e.to_string())),
        }
    }
    let (tmp, mut file) = tmp.ok_or_else(|| err("no free temporary name".to_owned()))?;
    {
        use std::io::Write as _;
        if let Err(e) = file.write_all(text.as_bytes()) {
            let _ = std::fs::remove_file(&tmp);
            return Err(err(e.to_string()));
        }
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e.to_string())
    })
}

/// Takes the cache's lock file (`<token file>.lock`, an OS advisory lock) so
/// that of several processes starting at once only one mints a token and the
/// others read it. The lock file is opened without following a symlink and
/// must be this user's own with mode 0600; one that is not is removed and
/// created afresh (exclusively), and the reason returned beside the lock.
/// Waits up to `patience`; `None` (go on without the lock) when the lock
/// cannot be taken, so a stuck process never blocks another for long. The
/// lock is released when the returned file is dropped.
pub(crate) async fn lock_token(
    path: &Path,
    patience: std::time::Duration,
) -> (Option<std::fs::File>, Option<String>) {
    let lock_path = path.with_extension("lock");
    let Some(dir) = lock_path.parent() else {
        return (None, None);
    };
    if create_dir(dir).is_err() {
        return (None, None);
    }
    let mut refused = None;
    let file = match open_private(&lock_path, true) {
        Ok(Some(f)) => Some(f),
        Ok(None) => create_private(&lock_path).ok(),
        Err(why) => {
            refused = Some(format!(
                "token cache lock {}: not used and re-created: {why}",
                lock_path.display()
            ));
            let _ = std::fs::remove_file(&lock_path);
            create_private(&lock_path).ok()
        }
    };
    // Another process may have created it between the two calls.
    let file = match file {
        Some(f) => f,
        None => match open_private(&lock_path, true) {
            Ok(Some(f)) => f,
            _ => return (None, refused),
        },
    };
    let deadline = std::time::Instant::now() + patience;
    loop {
        match file.try_lock() {
            Ok(()) => return (Some(file), refused),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            Err(_) => return (None, refused),
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
        let back = read_token(&path, "http://x", "id").unwrap().unwrap();
        assert!(back.is_fresh());
        assert!(read_token(&path, "http://y", "id").unwrap().is_none());
    }

    /// A cache folder others may write to, or a symbolic link to one, is not
    /// used: nothing is read from it or written to it, and the lock is not taken.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_cache_folder_others_may_write_to_is_not_used() {
        use std::os::unix::fs::PermissionsExt as _;
        let home = tempfile::tempdir().unwrap();
        let open = home.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let link = home.path().join("link");
        std::os::unix::fs::symlink(home.path().join("private"), &link).unwrap();
        std::fs::create_dir(home.path().join("private")).unwrap();
        let token = CachedToken {
            access_token: "t".into(),
            expires_at: unix_now() + 3600,
            client_id: "id".into(),
            base_url: "http://x".into(),
        };
        for dir in [&open, &link] {
            let path = token_file(dir, "http://x", "id");
            let e = write_token(&path, &token).unwrap_err().to_string();
            assert!(
                e.contains("others may write to it") || e.contains("symbolic link"),
                "{e}"
            );
            assert!(!path.exists(), "{}", path.display());
            // A token someone else left there is not read.
            std::fs::write(&path, serde_json::to_string(&token).unwrap()).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let e = read_token(&path, "http://x", "id").unwrap_err().to_string();
            assert!(e.contains("not used"), "{e}");
            let (lock, _) = lock_token(&path, std::time::Duration::from_millis(10)).await;
            assert!(lock.is_none());
        }
    }

    /// A lock file that is not this user's private file is replaced by a new
    /// one, and the reason is given.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_lock_file_others_may_read_is_re_created() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = token_file(dir.path(), "http://x", "id");
        let lock_path = path.with_extension("lock");
        std::fs::write(&lock_path, "").unwrap();
        std::fs::set_permissions(&lock_path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (lock, why) = lock_token(&path, std::time::Duration::from_secs(1)).await;
        assert!(lock.is_some());
        let why = why.unwrap_or_default();
        assert!(
            why.contains("not used and re-created") && why.contains("666"),
            "{why}"
        );
        let mode = std::fs::metadata(&lock_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
