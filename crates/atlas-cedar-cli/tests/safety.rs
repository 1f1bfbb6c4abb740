//! Doing exactly what was asked, safely: a destructive command acts only on
//! the id typed (against a server on 127.0.0.1 that answers about another
//! object), and secrets are not put at risk by the base URL or the token
//! cache. The real binary throughout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{text, Env};

const ORG: &str = "5f0000000000000000000000";
const ASKED: &str = "5f0c0ffee0123456789abcde";
const OTHER: &str = "5f0c0ffee0123456789abcdf";

/// A server on 127.0.0.1 that answers every request with `body` (200) and
/// records the request lines it saw.
fn lying_server(body: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let request = line.trim().to_owned();
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    let lower = h.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut buf = vec![0u8; length];
                let _ = reader.read_exact(&mut buf);
                log.lock().unwrap().push(request);
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.atlas.2023-01-01+json\r\n\
                     content-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(answer.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    (url, seen)
}

fn against(url: &str) -> std::process::Command {
    let env = Env::new();
    let mut c = env.offline();
    c.env("MONGODB_ATLAS_BASE_URL", url)
        .env("MONGODB_ATLAS_ORG_ID", ORG)
        .env("MONGODB_ATLAS_ACCESS_TOKEN", "tok-secret-123")
        .env(
            "ATLAS_CEDAR_TOKEN_CACHE_DIR",
            env.home.path().join("tokens"),
        );
    // The temporary home must outlive the command.
    std::mem::forget(env);
    c
}

#[test]
fn api_keys_delete_refuses_when_the_key_read_back_is_another() {
    let body = format!(
        r#"{{"id":"{OTHER}","desc":"someone else's key","publicKey":"abcdefgh","roles":[]}}"#
    );
    let (url, seen) = lying_server(body);
    let o = against(&url)
        .args(["api-keys", "delete", ASKED, "--yes"])
        .output()
        .unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        all.contains(&format!("asked for API key {ASKED}"))
            && all.contains(OTHER)
            && all.contains("refusing"),
        "{all}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![format!(
            "GET /api/atlas/v2/orgs/{ORG}/apiKeys/{ASKED} HTTP/1.1"
        )],
        "only the read, no DELETE at all"
    );
}

#[test]
fn policies_delete_by_id_refuses_when_the_policy_read_back_is_another() {
    let body = format!(r#"{{"id":"{OTHER}","name":"other","orgId":"{ORG}","policies":[]}}"#);
    let (url, seen) = lying_server(body);
    let o = against(&url)
        .args(["policies", "delete", ASKED, "--yes"])
        .output()
        .unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        all.contains(&format!("asked for resource policy {ASKED}")) && all.contains(OTHER),
        "{all}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|r| !r.starts_with("DELETE")), "{seen:?}");
}

#[test]
fn credentials_in_the_base_url_are_refused_and_never_shown() {
    let (url, seen) = lying_server("[]".to_owned());
    let with_password = url.replace("http://", "http://alice:hunter2@");
    let o = against(&with_password)
        .args(["api-keys", "list"])
        .output()
        .unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("user name or password"), "{all}");
    assert!(all.contains("MONGODB_ATLAS_PRIVATE_API_KEY"), "{all}");
    assert!(!all.contains("hunter2") && !all.contains("alice"), "{all}");
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
}

#[test]
fn plain_http_to_a_host_that_is_not_loopback_is_refused() {
    // Nothing listens there and nothing is sent: the URL is refused first.
    let o = against("http://atlas.example.invalid")
        .args(["api-keys", "list"])
        .output()
        .unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        all.contains("plain HTTP") && all.contains("--allow-insecure-http"),
        "{all}"
    );
    assert!(!all.contains("tok-secret-123"), "{all}");
}

#[cfg(unix)]
#[test]
fn a_token_cache_that_is_not_private_is_not_used_and_is_replaced() {
    use atlas_cedar_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID};
    use std::os::unix::fs::PermissionsExt as _;

    let emu = common::emulator();
    let env = Env::new();
    let tokens = env.home.path().join("tokens");
    let run = || {
        env.offline()
            .env("ATLAS_CEDAR_TOKEN_CACHE_DIR", &tokens)
            .env("MONGODB_ATLAS_OPS_MANAGER_URL", emu.base_url())
            .env("MONGODB_ATLAS_ORG_ID", DEFAULT_ORG_ID)
            .env("MONGODB_ATLAS_CLIENT_ID", DEFAULT_CLIENT_ID)
            .env("MONGODB_ATLAS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
            .args(["policies", "list"])
            .output()
            .unwrap()
    };
    let o = run();
    assert!(o.status.success(), "{}", text(&o));
    let file = std::fs::read_dir(&tokens)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    assert_eq!(emu.tokens_minted(), 1);

    // World-writable: someone may have planted a token. Not used, replaced.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = run();
    let all = text(&o);
    assert!(o.status.success(), "{all}");
    assert!(
        all.contains("not used and removed") && all.contains("666"),
        "{all}"
    );
    assert_eq!(emu.tokens_minted(), 2, "a new token was minted");
    let mode = std::fs::symlink_metadata(&file)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);

    // A symlink in its place is never followed (read or written through).
    let target = env.home.path().join("elsewhere.json");
    std::fs::write(&target, "not a token").unwrap();
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&target, &file).unwrap();
    let lock = file.with_extension("lock");
    std::fs::remove_file(&lock).unwrap();
    let lock_target = env.home.path().join("lock-target");
    std::fs::write(&lock_target, "keep").unwrap();
    std::os::unix::fs::symlink(&lock_target, &lock).unwrap();
    let o = run();
    let all = text(&o);
    assert!(o.status.success(), "{all}");
    assert!(all.contains("symbolic link"), "{all}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a token");
    assert_eq!(std::fs::read_to_string(&lock_target).unwrap(), "keep");
    assert!(!std::fs::symlink_metadata(&file)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!std::fs::symlink_metadata(&lock)
        .unwrap()
        .file_type()
        .is_symlink());
}
