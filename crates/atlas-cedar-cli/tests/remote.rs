//! End to end: the real `atlas-cedar` binary against the emulator on a random
//! 127.0.0.1 port. The emulator runs in this test process so its request log
//! can be read directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use atlas_cedar_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultKind, FaultRule, LoggedRequest, RateLimit,
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID, DEFAULT_PRIVATE_KEY,
    DEFAULT_PUBLIC_KEY,
};

mod common;

use common::{dry_run_requests, sent_writes};

const BIN: &str = env!("CARGO_BIN_EXE_atlas-cedar");

#[derive(Clone, Copy)]
enum Creds {
    ApiKey,
    ServiceAccount,
    WrongApiKey,
}

struct Env {
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn work(&self) -> PathBuf {
        let p = self.home.path().join("work");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn token_dir(&self) -> PathBuf {
        self.home.path().join("tokens")
    }

    fn cmd(&self, emu: &EmulatorHandle, creds: Creds) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("ATLAS_CEDAR_TOKEN_CACHE_DIR", self.token_dir())
            .env("MONGODB_ATLAS_OPS_MANAGER_URL", emu.base_url())
            .env("MONGODB_ATLAS_ORG_ID", DEFAULT_ORG_ID)
            .current_dir(self.work())
            .stdin(Stdio::null());
        match creds {
            Creds::ApiKey => {
                c.env("MONGODB_ATLAS_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
                    .env("MONGODB_ATLAS_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY);
            }
            Creds::WrongApiKey => {
                c.env("MONGODB_ATLAS_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
                    .env("MONGODB_ATLAS_PRIVATE_API_KEY", "not-the-right-private-key");
            }
            Creds::ServiceAccount => {
                c.env("MONGODB_ATLAS_CLIENT_ID", DEFAULT_CLIENT_ID)
                    .env("MONGODB_ATLAS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET);
            }
        }
        c
    }

    fn run(&self, emu: &EmulatorHandle, creds: Creds, args: &[&str]) -> Output {
        self.cmd(emu, creds).args(args).output().unwrap()
    }
}

fn stdout_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn writes(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter()
        .filter(|r| r.is_write() && r.status != 401)
        .collect()
}

/// The output of a run, normalised for a snapshot (see `common::normalise`;
/// ids the work folder's files spell out are kept).
fn snap(o: &Output, emu: &EmulatorHandle, env: &Env) -> String {
    let known = format!("{}\n{DEFAULT_ORG_ID}", common::files_text(&env.work()));
    common::normalise(&text(o), &emu.base_url(), env.home.path(), &known)
}

fn emulator(cfg: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(cfg).unwrap()
}

const P1: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };\n";
const P2: &str = "forbid (principal, action == ResourcePolicy::Action::\"project.ipAccessList.modify\", resource)\nwhen { context.project.ipAccessList.contains(ip(\"0.0.0.0/0\")) };\n";

fn write(dir: &Path, name: &str, content: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, content).unwrap();
}

#[test]
fn push_lifecycle_create_noop_patch_and_prune() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    write(&w, "policies/clusters.cedar", P1);
    write(&w, "policies/network.cedar", P2);
    let manifest_two = "[org]\n\n[[resource_policy]]\nname = \"clusters\"\ndescription = \"cluster rules\"\nfiles = [\"policies/clusters.cedar\"]\n\n[[resource_policy]]\nname = \"network\"\nfiles = [\"policies/network.cedar\"]\n";
    write(&w, "atlas-cedar.toml", manifest_two);

    // plan: two creates, exit 2 with --detailed-exitcode, nothing written
    let o = env.run(&emu, Creds::ApiKey, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("Plan: 2 to create, 0 to update, 0 to delete."),
        "{}",
        text(&o)
    );
    assert!(writes(&emu.requests()).is_empty());

    // push creates both, bodies byte-for-byte (the trailing newline is not
    // part of a body: a body ends at its `;`)
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert!(o.status.success(), "{}", text(&o));
    let stored = emu.policies(DEFAULT_ORG_ID);
    assert_eq!(stored.len(), 2);
    let clusters = stored.iter().find(|p| p.name == "clusters").unwrap();
    assert_eq!(clusters.policies[0].body, P1.trim_end());
    assert_eq!(clusters.description.as_deref(), Some("cluster rules"));

    // second push: zero writes
    emu.clear_requests();
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty(), "{:#?}", emu.requests());
    let o = env.run(&emu, Creds::ApiKey, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // edit one file: exactly one PATCH, and plan shows a diff
    write(
        &w,
        "policies/network.cedar",
        &P2.replace("0.0.0.0/0", "10.0.0.0/8"),
    );
    let o = env.run(&emu, Creds::ApiKey, &["plan"]);
    insta::assert_snapshot!("lifecycle_update_plan", snap(&o, &emu, &env));
    emu.clear_requests();
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert!(o.status.success(), "{}", text(&o));
    let log = emu.requests();
    let w_log = writes(&log);
    assert_eq!(w_log.len(), 1, "{w_log:#?}");
    assert_eq!(w_log[0].method, "PATCH");

    // drop "network" from the manifest: nothing deleted without --prune
    let manifest_one = "[[resource_policy]]\nname = \"clusters\"\ndescription = \"cluster rules\"\nfiles = [\"policies/*.cedar\"]\n";
    write(&w, "atlas-cedar.toml", manifest_one);
    emu.clear_requests();
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(emu.policies(DEFAULT_ORG_ID).len(), 2);
    assert!(writes(&emu.requests()).iter().all(|r| r.method != "DELETE"));
    // (clusters now has two bodies: one PATCH)
    assert_eq!(writes(&emu.requests()).len(), 1);

    // --prune without --yes and without a terminal: refused, nothing changed
    emu.clear_requests();
    let o = env.run(&emu, Creds::ApiKey, &["push", "--prune"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("--yes"), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());

    // --prune --dry-run prints the DELETE and sends nothing
    let o = env.run(&emu, Creds::ApiKey, &["push", "--prune", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("would DELETE /api/atlas/v2/orgs/"),
        "{}",
        text(&o)
    );
    assert!(writes(&emu.requests()).is_empty());

    // --prune --yes deletes it
    let o = env.run(&emu, Creds::ApiKey, &["push", "--prune", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let left = emu.policies(DEFAULT_ORG_ID);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "clusters");
    assert_eq!(writes(&emu.requests()).len(), 1);
}

/// `push --dry-run` prints exactly what `push` then sends: the same methods,
/// paths and bodies as the emulator's request log of the real push.
#[test]
fn push_dry_run_equals_the_request_log_of_the_push() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    write(&w, "policies/clusters.cedar", P1);
    write(&w, "policies/network.cedar", P2);
    write(&w, "policies/old.cedar", P1);
    let o = env.run(&emu, Creds::ApiKey, &["push", "policies"]);
    assert!(o.status.success(), "{}", text(&o));
    // One update, one create, one delete (--prune).
    write(
        &w,
        "policies/network.cedar",
        &P2.replace("0.0.0.0/0", "10.0.0.0/8"),
    );
    std::fs::remove_file(w.join("policies/old.cedar")).unwrap();
    write(&w, "policies/more.cedar", P2);
    emu.clear_requests();
    let o = env.run(
        &emu,
        Creds::ApiKey,
        &["push", "policies", "--prune", "--dry-run"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());
    let planned = dry_run_requests(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(
        planned.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["DELETE", "PATCH", "POST"],
        "{planned:#?}"
    );
    let o = env.run(
        &emu,
        Creds::ApiKey,
        &["push", "policies", "--prune", "--yes"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let sent = sent_writes(&emu.requests());
    assert_eq!(planned, sent);
}

#[test]
fn digest_handshake_through_the_cli() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let o = env.run(&emu, Creds::ApiKey, &["policies", "list"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("using API key (HTTP Digest) emulatorpub"),
        "{}",
        text(&o)
    );
    let log: Vec<(u16, String)> = emu
        .requests()
        .into_iter()
        .map(|r| (r.status, r.auth))
        .collect();
    assert_eq!(
        log,
        vec![(401, "none".to_owned()), (200, "digest".to_owned())]
    );
}

#[test]
fn wrong_api_key_names_the_credential_and_hides_the_secret() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let o = env.run(&emu, Creds::WrongApiKey, &["policies", "list"]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("401") && t.contains("API key"), "{t}");
    assert!(!t.contains("not-the-right-private-key"), "{t}");
}

#[test]
fn two_invocations_with_a_service_account_mint_one_token() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    for _ in 0..2 {
        let o = env.run(&emu, Creds::ServiceAccount, &["policies", "list"]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("service account"), "{}", text(&o));
        assert!(!text(&o).contains(DEFAULT_CLIENT_SECRET));
    }
    assert_eq!(emu.tokens_minted(), 1, "{:#?}", emu.requests());
    let token_posts = emu
        .requests()
        .iter()
        .filter(|r| r.path == "/api/oauth/token")
        .count();
    assert_eq!(token_posts, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // One token file (beside it, the lock file that serializes minting).
        let files: Vec<_> = std::fs::read_dir(env.token_dir())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
            })
            .collect();
        assert_eq!(files.len(), 1);
        let path = files.into_iter().next().unwrap().unwrap().path();
        assert_eq!(
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn fifty_policies_against_a_bucket_of_ten_converge() {
    let emu = emulator(EmulatorConfig {
        rate_limit: RateLimit {
            capacity: 10,
            refill_per_minute: 600,
        },
        ..Default::default()
    });
    let env = Env::new();
    let w = env.work();
    for i in 0..50 {
        write(
            &w,
            &format!("p{i:02}.cedar"),
            &P1.replace("> 2", &format!("> {i}")),
        );
    }
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert!(o.status.success(), "{}", text(&o));
    let log = emu.requests();
    assert!(
        log.iter().any(|r| r.status == 429),
        "the bucket must have run dry"
    );
    let stored = emu.policies(DEFAULT_ORG_ID);
    assert_eq!(stored.len(), 50);
    let mut names: Vec<&str> = stored.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 50);
    // Only rate-limited requests were repeated: 50 creates succeeded, once each.
    let created = log
        .iter()
        .filter(|r| r.method == "POST" && r.status == 201)
        .count();
    assert_eq!(created, 50);
}

#[test]
fn injected_500s_and_a_dropped_create_leave_no_duplicate() {
    let emu = emulator(EmulatorConfig::default());
    emu.add_fault(FaultRule::new(
        Some("POST"),
        FaultKind::Status { status: 500 },
        2,
    ));
    emu.add_fault(FaultRule::new(Some("POST"), FaultKind::DropAfterApply, 1));
    emu.add_fault(FaultRule::new(
        Some("GET"),
        FaultKind::Status { status: 503 },
        1,
    ));
    let env = Env::new();
    let w = env.work();
    write(&w, "a.cedar", P1);
    write(&w, "b.cedar", P2);
    write(&w, "c.cedar", &P1.replace("> 2", "> 5"));
    let o = env.run(&emu, Creds::ApiKey, &["push", "--concurrency", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    let log = emu.requests();
    assert!(
        log.iter().any(|r| r.dropped),
        "the drop fault must have fired: {log:#?}"
    );
    assert_eq!(log.iter().filter(|r| r.status == 500).count(), 2);
    let stored = emu.policies(DEFAULT_ORG_ID);
    let mut names: Vec<&str> = stored.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["a", "b", "c"], "{log:#?}");
    assert!(text(&o).contains("adopted"), "{}", text(&o));
    // and the next push has nothing to do
    emu.clear_requests();
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());
}

#[test]
fn invalid_body_stops_at_lint_and_no_lint_shows_atlas_error_at_the_line() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    write(&w, "good.cedar", P1);
    write(
        &w,
        "bad.cedar",
        "// comment\n\npermit (principal, action, resource);\n",
    );
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        emu.requests().is_empty(),
        "no request before lint passes: {:#?}",
        emu.requests()
    );

    let o = env.run(&emu, Creds::ApiKey, &["push", "--no-lint"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("bad.cedar:3: Atlas POLICY_"), "{t}");
    let stored = emu.policies(DEFAULT_ORG_ID);
    assert_eq!(
        stored.len(),
        1,
        "the good one is pushed, the bad one is not"
    );

    // plan --remote-validate maps :validate's answer back the same way
    let o = env.run(
        &emu,
        Creds::ApiKey,
        &["plan", "--no-lint", "--remote-validate"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("bad.cedar:3: Atlas POLICY_"),
        "{}",
        text(&o)
    );

    // policies validate FILE does too
    let o = env.run(&emu, Creds::ApiKey, &["policies", "validate", "bad.cedar"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("bad.cedar:3: Atlas POLICY_"),
        "{}",
        text(&o)
    );
    let o = env.run(&emu, Creds::ApiKey, &["policies", "validate", "good.cedar"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn policies_get_delete_and_non_compliant() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    write(&w, "one.cedar", P1);
    assert!(env.run(&emu, Creds::ApiKey, &["push"]).status.success());
    let id = emu.policies(DEFAULT_ORG_ID)[0].id.clone();

    let o = env.run(&emu, Creds::ApiKey, &["policies", "get", "one"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&id) && text(&o).contains("clustersInProject > 2"),
        "{}",
        text(&o)
    );
    let o = env.run(
        &emu,
        Creds::ApiKey,
        &["policies", "list", "--output", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["name"], "one");

    emu.set_non_compliant(
        DEFAULT_ORG_ID,
        vec![serde_json::json!({
            "orgId": DEFAULT_ORG_ID, "resourceId": "c1", "resourceName": "Cluster0",
            "resourceType": "cluster",
            "resourcePoliciesCausingNonCompliance": [{
                "resourcePolicyId": id, "resourcePolicyName": "one",
                "policiesCausingNonCompliance": [{"policyId": "p1"}]
            }]
        })],
    );
    let o = env.run(&emu, Creds::ApiKey, &["policies", "non-compliant"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("cluster Cluster0") && text(&o).contains("violates one"),
        "{}",
        text(&o)
    );

    // delete without --yes and without a terminal: refused
    let o = env.run(&emu, Creds::ApiKey, &["policies", "delete", "one"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(emu.policies(DEFAULT_ORG_ID).len(), 1);
    let o = env.run(&emu, Creds::ApiKey, &["policies", "delete", &id, "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(emu.policies(DEFAULT_ORG_ID).is_empty());
}

#[test]
fn emulator_command_prints_url_and_credentials_and_serves() {
    let env = Env::new();
    let state = env.home.path().join("state.json");
    let mut child = Command::new(BIN)
        .args(["emulator", "--port", "0", "--state"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let mut rest = Vec::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        let done = l.starts_with("Press Ctrl-C");
        rest.push(l);
        if done {
            break;
        }
    }
    let printed = rest.join("\n");
    assert!(
        printed.contains("MONGODB_ATLAS_PUBLIC_API_KEY=emulatorpub"),
        "{printed}"
    );
    assert!(printed.contains("MONGODB_ATLAS_CLIENT_ID="), "{printed}");

    let w = env.work();
    write(&w, "x.cedar", P1);
    let out = Command::new(BIN)
        .env_clear()
        .env("HOME", env.home.path())
        .env("XDG_CONFIG_HOME", env.home.path().join("config"))
        .env("ATLAS_CEDAR_TOKEN_CACHE_DIR", env.token_dir())
        .env("MONGODB_ATLAS_OPS_MANAGER_URL", &url)
        .env("MONGODB_ATLAS_ORG_ID", DEFAULT_ORG_ID)
        .env("MONGODB_ATLAS_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MONGODB_ATLAS_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .current_dir(&w)
        .arg("push")
        .output()
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(out.status.success(), "{}", text(&out));
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains("clustersInProject > 2"), "{saved}");

    // a restarted emulator on the same state file still has the policy
    let emu = Emulator::start(EmulatorConfig {
        state_file: Some(state),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(emu.policies(DEFAULT_ORG_ID).len(), 1);
}

#[test]
fn plan_for_200_policies_lists_once_and_validates_only_changes() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    for i in 0..200 {
        write(
            &w,
            &format!("p{i:03}.cedar"),
            &P1.replace("> 2", &format!("> {i}")),
        );
    }
    let started = std::time::Instant::now();
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert!(o.status.success(), "{}", text(&o));
    eprintln!("push of 200 new resource policies: {:?}", started.elapsed());
    assert_eq!(emu.policies(DEFAULT_ORG_ID).len(), 200);

    emu.clear_requests();
    let started = std::time::Instant::now();
    let o = env.run(
        &emu,
        Creds::ApiKey,
        &["plan", "--output", "json", "--detailed-exitcode"],
    );
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The Digest challenge and one list: nothing else.
    assert_eq!(v["requests"], 2, "{v}");
    assert_eq!(emu.requests().len(), 2);
    eprintln!("plan of 200 unchanged resource policies: {took:?}, 2 requests");

    for i in [3, 50, 199] {
        write(
            &w,
            &format!("p{i:03}.cedar"),
            &P1.replace("> 2", &format!("> {}", i + 1000)),
        );
    }
    emu.clear_requests();
    let started = std::time::Instant::now();
    let o = env.run(
        &emu,
        Creds::ApiKey,
        &[
            "plan",
            "--output",
            "json",
            "--detailed-exitcode",
            "--remote-validate",
        ],
    );
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["update"], 3, "{v}");
    assert_eq!(v["requests"], 5, "challenge + list + 3 :validate: {v}");
    let validates = emu
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(":validate"))
        .count();
    assert_eq!(validates, 3);
    eprintln!("plan --remote-validate with 3 of 200 changed: {took:?}, 5 requests");
}

#[test]
fn remote_validate_shows_what_local_lint_said_next_to_atlas() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    // The user turned the rule down to a warning, so lint lets it through;
    // Atlas (the emulator) still rejects the body.
    write(
        &w,
        "atlas-cedar.toml",
        "[lint.rules]\npermit-not-allowed = \"warning\"\n\n[[resource_policy]]\nname = \"p\"\nfiles = [\"p.cedar\"]\n",
    );
    write(
        &w,
        "p.cedar",
        "\npermit (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };\n",
    );
    let o = env.run(&emu, Creds::ApiKey, &["plan", "--remote-validate"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // Atlas's answer at p.cedar:2, and under it what local lint said there.
    insta::assert_snapshot!("remote_validate_with_local_lint", snap(&o, &emu, &env));
    assert!(emu.policies(DEFAULT_ORG_ID).is_empty());
}

#[test]
fn plan_markdown_is_a_comment_ready_summary() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    write(&w, "policies/clusters.cedar", P1);
    let o = env.run(&emu, Creds::ApiKey, &["push", "policies"]);
    assert!(o.status.success(), "{}", text(&o));
    write(
        &w,
        "policies/clusters.cedar",
        &P1.replace("forbid", "forbid "),
    );
    write(&w, "policies/network.cedar", P2);
    let o = env.run(
        &emu,
        Creds::ApiKey,
        &["plan", "policies", "--format", "markdown"],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The summary line, a table row per policy, the diff in <details>.
    let md = common::normalise(&stdout_of(&o), &emu.base_url(), env.home.path(), "");
    insta::assert_snapshot!("plan_markdown", md);
}

#[test]
fn plan_says_whether_an_update_changes_behaviour() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    let gcp = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\"gcp\") };\n";
    write(&w, "policies/providers.cedar", gcp);
    let o = env.run(&emu, Creds::ApiKey, &["push", "policies"]);
    assert!(o.status.success(), "{}", text(&o));
    // Reformatted only: the plan says the update is cosmetic.
    write(
        &w,
        "policies/providers.cedar",
        &gcp.replace("when {", "when\n{"),
    );
    let o = env.run(&emu, Creds::ApiKey, &["plan", "policies"]);
    insta::assert_snapshot!("cosmetic_update_plan", snap(&o, &emu, &env));
    // gcp -> azure: a behavioural change, with a request now forbidden and one now allowed.
    write(&w, "policies/providers.cedar", &gcp.replace("gcp", "azure"));
    let o = env.run(&emu, Creds::ApiKey, &["plan", "policies"]);
    insta::assert_snapshot!("behavioural_update_plan", snap(&o, &emu, &env));
}

/// One engine per run: an action that the user's schema adds (`[lint] schema`
/// in the manifest) is linted clean, and the plan's behaviour verdict of the
/// update evaluates it (the built-in schema alone knows no `cluster.pause`,
/// so the update looked cosmetic).
#[test]
fn plan_verdicts_use_the_users_schema() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    let modify = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\"gcp\") };\n";
    write(
        &w,
        "extra.cedarschema",
        "namespace ResourcePolicy {\n  action \"cluster.pause\" appliesTo { principal: [User], resource: [Cluster], context: {} };\n}\n",
    );
    write(
        &w,
        "atlas-cedar.toml",
        "[lint]\nschema = \"extra.cedarschema\"\ndeny-warnings = true\n[lint.rules]\nunconditional-forbid = \"off\"\n\n[[resource_policy]]\nname = \"clusters\"\nfiles = [\"policies/*.cedar\"]\n",
    );
    write(&w, "policies/modify.cedar", modify);
    let o = env.run(&emu, Creds::ApiKey, &["push"]);
    assert!(o.status.success(), "{}", text(&o));
    write(
        &w,
        "policies/pause.cedar",
        "forbid (principal, action == ResourcePolicy::Action::\"cluster.pause\", resource);\n",
    );
    let o = env.run(&emu, Creds::ApiKey, &["plan"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(!t.contains("AC400"), "linted with the user's schema: {t}");
    assert!(!t.contains("cosmetic"), "{t}");
    insta::assert_snapshot!("verdict_with_the_users_schema", snap(&o, &emu, &env));
}

/// `atlas-cedar emulator --cluster-cloud-providers gcp`: the emulated clusters are
/// on GCP, so a resource policy that forbids search indexes on GCP clusters makes
/// the emulator answer 403, and push names the policy. The plan could not tell
/// beforehand (atlas-cedar does not know a cluster's providers).
#[test]
fn emulator_command_cluster_facts_drive_search_index_enforcement() {
    let env = Env::new();
    let mut child = Command::new(BIN)
        .args([
            "emulator",
            "--port",
            "0",
            "--cluster-cloud-providers",
            "gcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.rsplit(' ').next().unwrap().to_owned();
    let mut banner = Vec::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        let done = l.starts_with("Press Ctrl-C");
        banner.push(l);
        if done {
            break;
        }
    }
    let banner = banner.join("\n");

    let w = env.work();
    write(
        &w,
        "no-gcp-search.cedar",
        "forbid (principal, action == ResourcePolicy::Action::\"search.index.modify\", resource)\nwhen { context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\"gcp\") };\n",
    );
    write(
        &w,
        "atlas-cedar.toml",
        "[project]\nid = \"65f0a1b2c3d4e5f6a7b8c9d1\"\n\n[[resource_policy]]\nname = \"no-gcp-search\"\nfiles = [\"no-gcp-search.cedar\"]\n\n[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"mflix\"\ncollection = \"movies\"\nname = \"default\"\ndefinition = { mappings = { dynamic = true } }\n",
    );
    let run = |args: &[&str]| {
        Command::new(BIN)
            .env_clear()
            .env("HOME", env.home.path())
            .env("XDG_CONFIG_HOME", env.home.path().join("config"))
            .env("ATLAS_CEDAR_TOKEN_CACHE_DIR", env.token_dir())
            .env("MONGODB_ATLAS_OPS_MANAGER_URL", &url)
            .env("MONGODB_ATLAS_ORG_ID", DEFAULT_ORG_ID)
            .env("MONGODB_ATLAS_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
            .env("MONGODB_ATLAS_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
            .current_dir(&w)
            .args(args)
            .output()
            .unwrap()
    };
    let plan = run(&["plan"]);
    let push = run(&["push", "--poll-interval", "0.02"]);
    child.kill().unwrap();
    let _ = child.wait();

    assert!(
        banner.contains("clusters: cloud providers gcp, dedicated search nodes: no"),
        "{banner}"
    );
    assert!(plan.status.success(), "{}", text(&plan));
    let p = text(&plan);
    assert!(p.contains("+ create search index"), "{p}");
    assert!(
        p.contains("cannot tell") && p.contains("no-gcp-search"),
        "{p}"
    );
    assert_eq!(push.status.code(), Some(1), "{}", text(&push));
    let t = text(&push);
    assert!(
        t.contains("403 ATLAS_RESOURCE_POLICIES_VIOLATION_NOT_AUTHORIZED")
            && t.contains("likely resource policy \"no-gcp-search\""),
        "{t}"
    );
}

/// Several processes starting at once with the same service account share one
/// token: the token cache is locked while one of them mints, and the others then
/// read the token it wrote (Atlas allows 100 live tokens per service account and
/// rate-limits the token endpoint).
#[test]
fn concurrent_invocations_with_a_service_account_mint_one_token() {
    let emu = emulator(EmulatorConfig {
        latency: std::time::Duration::from_millis(300),
        ..Default::default()
    });
    let env = Env::new();
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.cmd(&emu, Creds::ServiceAccount)
                .args(["policies", "list"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_eq!(emu.tokens_minted(), 1, "{:#?}", emu.requests());
}

/// `lint --format atlas` echoes in `invalidPolicies[].body` exactly the body `push`
/// sends for a `.cedar` file (leading comments, blank lines and trailing spaces are
/// no part of either), and the same body `policies validate` sends.
#[test]
fn lint_format_atlas_echoes_the_body_push_sends() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    write(
        &w,
        "bad.cedar",
        "\n\n  // leading comment\n   forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\n  when { context.cluster.regions.contains(ResourcePolicy::Region::\"aws:us-east-9\") };   \n\n",
    );
    let lint = env.run(
        &emu,
        Creds::ApiKey,
        &["lint", "bad.cedar", "--format", "atlas"],
    );
    assert_eq!(lint.status.code(), Some(1), "{}", text(&lint));
    let echoed: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    let echoed = echoed["invalidPolicies"][0]["body"]
        .as_str()
        .unwrap()
        .to_owned();

    let o = env.run(&emu, Creds::ApiKey, &["push", "--no-lint"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let sent = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/resourcePolicies"))
        .expect("a create was sent");
    let sent_json: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(sent_json["policies"][0]["body"].as_str().unwrap(), echoed);

    // `policies validate` sends :validate that same body.
    let o = env.run(&emu, Creds::ApiKey, &["policies", "validate", "bad.cedar"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let validate = emu
        .requests()
        .into_iter()
        .rfind(|r| r.path.ends_with(":validate"))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&validate.body).unwrap();
    assert_eq!(v["policies"][0]["body"].as_str().unwrap(), echoed);
}

/// Resource policies are applied first: when one fails, push attempts no
/// other kind (they may be governed by the policies not pushed) and says so.
#[test]
fn a_failed_resource_policy_stops_the_other_kinds() {
    let emu = emulator(EmulatorConfig::default());
    let env = Env::new();
    let w = env.work();
    write(
        &w,
        "bad.cedar",
        "// comment\n\npermit (principal, action, resource);\n",
    );
    write(
        &w,
        "atlas-cedar.toml",
        "[project]\nid = \"65f0a1b2c3d4e5f6a7b8c9d1\"\n\n[[resource_policy]]\nname = \"bad\"\nfiles = [\"bad.cedar\"]\n\n[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"mflix\"\ncollection = \"movies\"\nname = \"default\"\ndefinition = { mappings = { dynamic = true } }\n",
    );
    let o = env.run(&emu, Creds::ApiKey, &["push", "--no-lint"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("not attempted: the resource policies were not all pushed"),
        "{t}"
    );
    insta::assert_snapshot!("failed_policy_stops_other_kinds", snap(&o, &emu, &env));
    let writes: Vec<String> = emu
        .requests()
        .iter()
        .filter(|r| r.is_write() && r.status != 401)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        writes.iter().all(|r| r.contains("/resourcePolicies")),
        "{writes:#?}"
    );
}
