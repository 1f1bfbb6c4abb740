//! The end-to-end suite as data: every folder under `tests/cases/` is one
//! case (see `tests/cases/README.md`). For each case the real `atlas-cedar`
//! binary runs, in a copy of the folder, against a fresh in-process emulator:
//!
//! 1. `plan`
//! 2. `push --dry-run`
//! 3. `push --yes --concurrency 1` (one write at a time, so the request log
//!    has one order; short `--poll-interval`)
//! 4. `plan --detailed-exitcode`
//!
//! and one text per case is compared with its snapshot
//! (`tests/snapshots/cases__<case>.snap`): each command's exit code, stdout
//! and stderr, then the emulator's request log of that command (method, path
//! and query, status, and the JSON body of a write); last, what the emulator
//! holds afterwards (resource policies and every other resource). What varies
//! between runs is normalised by `common::normalise`; nothing else is.
//!
//! Beside the snapshot, asserted in code: `push --dry-run` sends nothing and
//! prints exactly the writes `push` then sends; after a push that succeeded, a
//! second `push --yes` sends no write; no private key is ever printed.
//!
//! A case folder holds `atlas-cedar.toml` and the files it names, and
//! optionally:
//!
//! - `remote.json`, the state the emulator starts with:
//!   `{"policies": [{"id", "name", "description"?, "bodies": [..]}],
//!     "resources": {"<key>": [..]}}` (resource policies of the default
//!   organization; other resources under their emulator key, as
//!   `EmulatorHandle::set_resources` takes them);
//! - `case.toml`: `description`, `flags` (added to all four commands, e.g.
//!   `["--prune"]`), `env` (more environment variables) and
//!   `cluster_cloud_providers` (the emulator's clusters).
//!
//! `CASES=name,other cargo test -p atlas-cedar --test cases` runs only those.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use atlas_cedar_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, LoggedRequest, DEFAULT_ORG_ID, DEFAULT_PRIVATE_KEY,
};
use common::{dry_run_requests, normalise, sent_writes, Env};
use serde_json::{json, Value};

/// `--poll-interval` of the push: waits are counted in reads by the emulator,
/// so a short interval changes nothing but the time taken.
const POLL: &str = "0.02";

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseToml {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    cluster_cloud_providers: Option<Vec<String>>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Remote {
    #[serde(default)]
    policies: Vec<SeedPolicy>,
    #[serde(default)]
    resources: BTreeMap<String, Vec<Value>>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedPolicy {
    id: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    bodies: Vec<String>,
}

fn case_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let only: Option<Vec<String>> = std::env::var("CASES")
        .ok()
        .map(|s| s.split(',').map(str::to_owned).collect());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("atlas-cedar.toml").is_file())
        .filter(|p| {
            only.as_ref()
                .is_none_or(|o| o.iter().any(|n| p.ends_with(n)))
        })
        .collect();
    dirs.sort();
    dirs
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The emulator's starting state: `remote.json` turned into the emulator's
/// state file (the only way to start it with resource policies).
fn start_emulator(case: &Path, home: &Path, toml: &CaseToml) -> EmulatorHandle {
    let mut cfg = EmulatorConfig::default();
    if let Some(p) = &toml.cluster_cloud_providers {
        cfg.cluster_cloud_providers = p.clone();
    }
    let remote_file = case.join("remote.json");
    if remote_file.is_file() {
        let remote: Remote = serde_json::from_str(&std::fs::read_to_string(&remote_file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", remote_file.display()));
        let user = json!({"id": "000000000000000000000001", "name": "emulator"});
        let policies: Vec<Value> = remote
            .policies
            .iter()
            .map(|p| {
                let bodies: Vec<Value> = p
                    .bodies
                    .iter()
                    .enumerate()
                    .map(|(i, b)| json!({"id": format!("{}{:02x}", &p.id[..22], i), "body": b}))
                    .collect();
                let mut v = json!({
                    "id": p.id, "orgId": DEFAULT_ORG_ID, "name": p.name, "version": "v1",
                    "createdDate": "2026-01-01T00:00:00Z", "lastUpdatedDate": "2026-01-01T00:00:00Z",
                    "createdByUser": user, "lastUpdatedByUser": user, "policies": bodies,
                });
                if let Some(d) = &p.description {
                    v["description"] = json!(d);
                }
                v
            })
            .collect();
        let state = json!({
            "orgs": {DEFAULT_ORG_ID: policies},
            "resources": remote.resources,
        });
        let file = home.join("emulator-state.json");
        std::fs::write(&file, serde_json::to_string_pretty(&state).unwrap()).unwrap();
        cfg.state_file = Some(file);
    }
    Emulator::start(cfg).unwrap()
}

/// The request log of one command: `METHOD path?query STATUS`, and the
/// pretty JSON body of a write under it.
fn render_log(log: &[LoggedRequest]) -> String {
    let mut out = String::new();
    for r in log {
        let query = if r.query.is_empty() {
            String::new()
        } else {
            format!("?{}", r.query)
        };
        let status = if r.dropped {
            "dropped".to_owned()
        } else {
            r.status.to_string()
        };
        out.push_str(&format!("{} {}{query} {status}\n", r.method, r.path));
        if r.is_write() && !r.body.trim().is_empty() {
            let body = serde_json::from_str::<Value>(&r.body)
                .map(|v| serde_json::to_string_pretty(&v).unwrap())
                .unwrap_or_else(|_| r.body.clone());
            for line in body.lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// What the emulator holds after the last command: the organization's
/// resource policies and every other resource, under its emulator key.
fn render_state(emu: &EmulatorHandle) -> String {
    let mut out = String::from("## Atlas afterwards\n");
    let policies: Vec<Value> = emu
        .policies(DEFAULT_ORG_ID)
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "description": p.description,
                "bodies": p.policies.iter().map(|b| b.body.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    if !policies.is_empty() {
        out.push_str(&format!(
            "--- resource policies\n{}\n",
            serde_json::to_string_pretty(&policies).unwrap()
        ));
    }
    for key in emu.resource_keys("") {
        let mut items = Value::Array(emu.resources(&key));
        hide_private_keys(&mut items);
        out.push_str(&format!(
            "--- {key}\n{}\n",
            serde_json::to_string_pretty(&items).unwrap()
        ));
    }
    out
}

fn render_run(args: &[String], o: &Output, log: &[LoggedRequest]) -> String {
    format!(
        "## atlas-cedar {}\nexit {}\n--- stdout\n{}--- stderr\n{}--- requests\n{}\n",
        args.join(" "),
        o.status
            .code()
            .map_or("signal".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        render_log(log)
    )
}

/// A dry run's `{endpointServiceId}`-style placeholder (an id only known
/// once an earlier request is answered) matches any
/// path segment.
fn path_matches(planned: &str, sent: &str) -> bool {
    let p: Vec<&str> = planned.split('/').collect();
    let s: Vec<&str> = sent.split('/').collect();
    p.len() == s.len()
        && p.iter()
            .zip(&s)
            .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
}

/// The emulator stores an API key's private key; the snapshot does not
/// spell it (the CLI must never print it, which is checked separately).
fn hide_private_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if k == "privateKey" {
                    *v = json!("<stored, not shown>");
                } else {
                    hide_private_keys(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(hide_private_keys),
        _ => {}
    }
}

fn collect_private_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match v {
                    Value::String(s) if k == "privateKey" => out.push(s.clone()),
                    _ => collect_private_keys(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_private_keys(v, out)),
        _ => {}
    }
}

struct Outcome {
    name: String,
    text: String,
    problems: Vec<String>,
}

fn run_case(dir: &Path) -> Outcome {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let toml: CaseToml = match std::fs::read_to_string(dir.join("case.toml")) {
        Ok(t) => toml::from_str(&t).unwrap_or_else(|e| panic!("{name}/case.toml: {e}")),
        Err(_) => CaseToml::default(),
    };
    let mut env = Env::new();
    for (k, v) in &toml.env {
        env = env.with_env(k, v);
    }
    let work = env.work();
    copy_dir(dir, &work);
    for extra in ["case.toml", "remote.json"] {
        let _ = std::fs::remove_file(work.join(extra));
    }
    let emu = start_emulator(dir, env.home.path(), &toml);
    let known = format!("{}\n{DEFAULT_ORG_ID}\n", common::files_text(dir));

    let flags: Vec<String> = toml.flags.clone();
    let with = |base: &[&str]| -> Vec<String> {
        base.iter()
            .map(|s| (*s).to_owned())
            .chain(flags.iter().cloned())
            .collect()
    };
    let steps = [
        with(&["plan"]),
        with(&["push", "--dry-run"]),
        with(&[
            "push",
            "--yes",
            "--concurrency",
            "1",
            "--poll-interval",
            POLL,
        ]),
        with(&["plan", "--detailed-exitcode"]),
    ];
    let mut text = String::new();
    if let Some(d) = &toml.description {
        for line in d.trim().lines() {
            text.push_str(&format!("# {line}\n"));
        }
        text.push('\n');
    }
    let mut problems = Vec::new();
    let mut outputs = Vec::new();
    for args in &steps {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = env.run(&emu, &argv);
        let log = emu.requests();
        emu.clear_requests();
        text.push_str(&render_run(args, &o, &log));
        outputs.push((o, log));
    }

    text.push_str(&render_state(&emu));

    // The invariant, in code: a dry run sends nothing, and prints exactly the
    // writes the push then sends (all of them when the push succeeded; when
    // it failed, every write sent was printed).
    let (dry, dry_log) = &outputs[1];
    if dry_log.iter().any(LoggedRequest::is_write) {
        problems.push("push --dry-run sent a write".to_owned());
    }
    let planned = dry_run_requests(&String::from_utf8_lossy(&dry.stdout));
    let (push, push_log) = &outputs[2];
    let sent = sent_writes(push_log);
    let matches = |p: &(String, String, Value), s: &(String, String, Value)| {
        p.0 == s.0 && path_matches(&p.1, &s.1) && p.2 == s.2
    };
    let mut unmatched: Vec<&(String, String, Value)> = planned.iter().collect();
    let mut not_planned = Vec::new();
    for s in &sent {
        match unmatched.iter().position(|p| matches(p, s)) {
            Some(k) => {
                unmatched.remove(k);
            }
            None => not_planned.push(s),
        }
    }
    if !not_planned.is_empty() {
        problems.push(format!(
            "push sent writes its dry run did not print: {not_planned:#?}"
        ));
    }
    if push.status.success() && !unmatched.is_empty() {
        problems.push(format!(
            "the dry run printed writes the push did not send: {unmatched:#?}"
        ));
    }

    // Converged: after a push that succeeded, a second one sends no write
    // (not in the snapshot: it would repeat the last plan).
    if push.status.success() {
        let argv: Vec<&str> = steps[2].iter().map(String::as_str).collect();
        let again = env.run(&emu, &argv);
        let writes: Vec<String> = emu
            .requests()
            .iter()
            .filter(|r| r.is_write())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        emu.clear_requests();
        if !again.status.success() || !writes.is_empty() {
            problems.push(format!(
                "a second push was not a no-op: {writes:?}\n{}",
                common::text(&again)
            ));
        }
    }

    // No secret is ever printed: the emulator's private key, and any
    // `privateKey` the seeded state holds (API keys).
    let mut secrets = vec![DEFAULT_PRIVATE_KEY.to_owned()];
    if let Ok(remote) = std::fs::read_to_string(dir.join("remote.json")) {
        collect_private_keys(&serde_json::from_str(&remote).unwrap(), &mut secrets);
    }
    for s in &secrets {
        if text.contains(s.as_str()) {
            problems.push(format!("a private key was printed: {s}"));
        }
    }

    Outcome {
        text: normalise(&text, &emu.base_url(), env.home.path(), &known),
        name,
        problems,
    }
}

#[test]
fn cases() {
    let dirs = case_dirs();
    assert!(!dirs.is_empty(), "no case under tests/cases");
    // Two at a time: the machine this runs on may have two cores, and most of
    // a case's time is the binary waiting on the emulator anyway.
    let mut outcomes: Vec<Outcome> = Vec::new();
    for chunk in dirs.chunks(2) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk.iter().map(|d| s.spawn(|| run_case(d))).collect();
            for h in handles {
                outcomes.push(h.join().unwrap());
            }
        });
    }
    let mut failed = Vec::new();
    for o in outcomes {
        for p in &o.problems {
            eprintln!("case {}: {p}", o.name);
        }
        if !o.problems.is_empty() {
            failed.push(o.name.clone());
        }
        let name = o.name.clone();
        let result = std::panic::catch_unwind(|| {
            insta::with_settings!({
                prepend_module_to_snapshot => true,
                omit_expression => true,
                description => format!("tests/cases/{name}"),
            }, {
                insta::assert_snapshot!(name.as_str(), o.text);
            });
        });
        if result.is_err() {
            failed.push(format!("{} (snapshot)", o.name));
        }
    }
    assert!(failed.is_empty(), "failed cases: {failed:?}");
}

/// A snapshot whose case folder is gone (renamed or deleted) is stale: insta
/// would never compare it again.
#[test]
fn every_case_snapshot_has_its_case() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let stale: Vec<String> = std::fs::read_dir(tests.join("snapshots"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let case = name
                .strip_prefix("cases__")?
                .strip_suffix(".snap")?
                .to_owned();
            (!tests
                .join("cases")
                .join(&case)
                .join("atlas-cedar.toml")
                .is_file())
            .then_some(name)
        })
        .collect();
    assert!(
        stale.is_empty(),
        "snapshots without a case folder: {stale:?}"
    );
}

#[test]
fn the_normaliser_keeps_known_ids_and_numbers_new_ones() {
    let env = Env::new();
    let known = "65f0a1b2c3d4e5f6a7b8c9d1 id = \"vpce-0a1b2c3d4e5f60718\"";
    let text = "65f0a1b2c3d4e5f6a7b8c9d1 aaaaaaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbb \
                aaaaaaaaaaaaaaaaaaaaaaaa 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0%2Frg \
                vpce-svc-e096b26c43fe7a01c vpce-0a1b2c3d4e5f60718 \
                at 2026-12-07T07:38:29Z and 2026-12-07T07:38:29.123Z, in 0.12 s, 15 ms, 3 reads, 1.5s";
    let got = normalise(text, "http://127.0.0.1:1", env.home.path(), known);
    assert_eq!(
        got,
        "65f0a1b2c3d4e5f6a7b8c9d1 <id-1>/<id-2> <id-1> <uuid-1>%2Frg \
         vpce-svc-<hex-3> vpce-0a1b2c3d4e5f60718 \
         at <timestamp> and <timestamp>, in <duration>, <duration>, 3 reads, <duration>"
    );
}
