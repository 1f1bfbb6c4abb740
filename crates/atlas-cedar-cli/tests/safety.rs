//! Doing exactly what was asked, safely: a destructive command acts only on
//! the id typed (against a server on 127.0.0.1 that answers about another
//! object), secrets are not put at risk by the base URL or the token cache,
//! errors name the role the operation needs, and the commands that read or
//! write the user's files neither wait on a FIFO nor write through a
//! symbolic link. The real binary throughout.
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
    fake_server("200 OK", body)
}

/// A server on 127.0.0.1 that answers every request with `status` and
/// `body`, and records the request lines it saw.
fn fake_server(status: &'static str, body: String) -> (String, Arc<Mutex<Vec<String>>>) {
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
                    "HTTP/1.1 {status}\r\ncontent-type: application/vnd.atlas.2023-01-01+json\r\n\
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

#[test]
fn export_bucket_create_forbidden_names_the_project_owner_role() {
    const PROJECT: &str = "5f1111111111111111111111";
    let body = r#"{"detail":"The currently logged in user does not have the required role.","error":403,"errorCode":"USER_UNAUTHORIZED","parameters":[],"reason":"Forbidden"}"#;
    let (url, seen) = fake_server("403 Forbidden", body.to_owned());
    let o = against(&url)
        .args([
            "export-buckets",
            "create",
            "--project-id",
            PROJECT,
            "--provider",
            "AWS",
            "--bucket-name",
            "my-exports",
            "--iam-role-id",
            "668c5f0ed436263134491592",
        ])
        .output()
        .unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        all.contains("create export bucket: forbidden (HTTP 403)")
            && all.contains("needs the Project Owner role"),
        "{all}"
    );
    assert!(all.contains("USER_UNAUTHORIZED"), "{all}");
    assert!(!all.contains("Backup Manager"), "{all}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![format!(
            "POST /api/atlas/v2/groups/{PROJECT}/backup/exportBuckets HTTP/1.1"
        )],
        "a refused create is sent once"
    );
}

/// Runs `cmd`, failing the test (and killing it) if it has not ended within
/// `secs` seconds: a command that opens a FIFO to read would wait forever.
fn output_within(mut cmd: std::process::Command, secs: u64) -> std::process::Output {
    use std::time::{Duration, Instant};
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "still running after {secs} s (waiting on a FIFO?)\n{}",
                text(&o)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
fn mkfifo(p: &std::path::Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo failed");
}

#[cfg(unix)]
#[test]
fn files_named_by_a_manifest_or_an_argument_are_refused_when_they_are_fifos() {
    const PIPE: &str = "not a regular file (a named pipe)";
    let env = Env::new();
    let w = env.work();
    mkfifo(&w.join("pipe.cedar"));
    mkfifo(&w.join("pipe.json"));
    common::write(
        &w,
        "main.tf",
        "resource \"mongodbatlas_resource_policy\" \"p\" {\n  org_id = \"x\"\n  name = \"p\"\n  \
         policies = [\n    { body = file(\"pipe.cedar\") },\n  ]\n}\n",
    );
    common::write(
        &w,
        "good.cedar",
        "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };\n",
    );

    // lint: the body file Terraform reads with file("…").
    let mut c = env.offline();
    c.args(["lint", "--format", "json", "main.tf"]);
    let o = output_within(c, 30);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(
        all.contains("cannot read `pipe.cedar`, the body of") && all.contains(PIPE),
        "{all}"
    );

    // analyze and diff: a named file, and one found in a directory.
    for args in [
        &["analyze", "pipe.cedar"][..],
        &["analyze", "."][..],
        &["diff", "good.cedar", "pipe.cedar"][..],
    ] {
        let mut c = env.offline();
        c.args(args);
        let o = output_within(c, 30);
        let all = text(&o);
        assert!(!o.status.success(), "{args:?}: {all}");
        assert!(
            all.contains("pipe.cedar: cannot read: ") && all.contains(PIPE),
            "{args:?}: {all}"
        );
    }

    // stream-processors update --file: refused before anything is sent.
    let (url, seen) = lying_server("{}".to_owned());
    let mut c = against(&url);
    c.args([
        "stream-processors",
        "update",
        "--project-id",
        "5f1111111111111111111111",
        "--instance",
        "ingest",
        "orders",
        "--file",
    ])
    .arg(w.join("pipe.json"));
    let o = output_within(c, 30);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        all.contains("pipe.json: cannot read: ") && all.contains(PIPE),
        "{all}"
    );

    // policies validate FILE: refused before anything is sent.
    let mut c = against(&url);
    c.args(["policies", "validate"]).arg(w.join("pipe.cedar"));
    let o = output_within(c, 30);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains(PIPE), "{all}");
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
}

const GUARD: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };";

/// An emulator whose organization holds one policy, `guard`, pushed from a
/// folder outside the work folder.
fn org_with_one_policy(env: &Env) -> atlas_cedar_emulator::EmulatorHandle {
    let emu = common::emulator();
    let seed = env.home.path().join("seed");
    common::write(&seed, "guard.cedar", &format!("{GUARD}\n"));
    common::write(
        &seed,
        "atlas-cedar.toml",
        "[[resource_policy]]\nname = \"guard\"\nfiles = [\"guard.cedar\"]\n",
    );
    let o = env.run(&emu, &["push", seed.to_str().unwrap(), "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    emu
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[cfg(unix)]
#[test]
fn import_never_writes_through_a_symbolic_link_at_a_destination() {
    use std::os::unix::fs::symlink;

    let env = Env::new();
    let emu = org_with_one_policy(&env);
    let out = env.work().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let victim = env.home.path().join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let is_link = |p: &std::path::Path| {
        std::fs::symlink_metadata(p)
            .unwrap()
            .file_type()
            .is_symlink()
    };

    // A link to an existing file, with and without --force: refused, nothing written.
    symlink(&victim, out.join("guard.cedar")).unwrap();
    for force in [false, true] {
        let mut args = vec!["import", "out"];
        if force {
            args.push("--force");
        }
        let o = env.run(&emu, &args);
        let all = text(&o);
        assert_eq!(o.status.code(), Some(1), "{all}");
        assert!(
            all.contains("guard.cedar is a symbolic link")
                && all.contains("neither followed nor replaced")
                && all.contains("nothing written"),
            "{all}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(is_link(&out.join("guard.cedar")));
        assert_eq!(names_in(&out), ["guard.cedar"], "no manifest either");
    }

    // A dangling link: following it would create its target.
    std::fs::remove_file(out.join("guard.cedar")).unwrap();
    let missing = env.home.path().join("created-through-the-link");
    symlink(&missing, out.join("guard.cedar")).unwrap();
    let o = env.run(&emu, &["import", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("symbolic link"), "{}", text(&o));
    assert!(!missing.exists());

    // A link planted at the manifest's name.
    std::fs::remove_file(out.join("guard.cedar")).unwrap();
    symlink(&victim, out.join("atlas-cedar.toml")).unwrap();
    let o = env.run(&emu, &["import", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("atlas-cedar.toml is a symbolic link"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert_eq!(names_in(&out), ["atlas-cedar.toml"]);

    // Without links: written; again needs --force; no temporary file left.
    std::fs::remove_file(out.join("atlas-cedar.toml")).unwrap();
    let o = env.run(&emu, &["import", "out"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(names_in(&out), ["atlas-cedar.toml", "guard.cedar"]);
    assert_eq!(
        std::fs::read_to_string(out.join("guard.cedar")).unwrap(),
        format!("{GUARD}\n")
    );
    std::fs::write(out.join("guard.cedar"), "edited").unwrap();
    let o = env.run(&emu, &["import", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("would overwrite"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("guard.cedar")).unwrap(),
        "edited"
    );
    let o = env.run(&emu, &["import", "out", "--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("guard.cedar")).unwrap(),
        format!("{GUARD}\n")
    );
    assert_eq!(names_in(&out), ["atlas-cedar.toml", "guard.cedar"]);
}
