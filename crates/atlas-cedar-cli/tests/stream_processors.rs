//! End to end: `[[stream_processor]]` in plan/push and the
//! `stream-processors` commands, the real binary against the emulator. A
//! create + start and the stop-update-start of a running processor are cases
//! of `tests/cases.rs` (`tests/cases/stream-processor-*`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Output;

use atlas_cedar_emulator::{EmulatorHandle, FaultKind, FaultRule, LoggedRequest};
use common::*;
use serde_json::{json, Value};

const GROUP: &str = "5f1111111111111111111111";
const KEY: &str = "streamProcessors/5f1111111111111111111111/ingest";
const BASE: &str = "/api/atlas/v2/groups/5f1111111111111111111111/streams/ingest";

/// The shared environment, with the project id of these tests.
fn env() -> Env {
    Env::new().with_env("MONGODB_ATLAS_PROJECT_ID", GROUP)
}

/// `METHOD path` of every successful or failed write (not the digest 401s).
fn writes(log: &[LoggedRequest]) -> Vec<String> {
    log.iter()
        .filter(|r| r.is_write() && r.status != 401)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The output of a run, normalised for a snapshot (the project, given in the
/// environment, and the seeded ids, made of the name's length, are kept).
fn snap(o: &Output, emu: &EmulatorHandle, env: &Env) -> String {
    let seeded: Vec<String> = (1..=12).map(|n| format!("{n:0>24}")).collect();
    snapshot_text(o, emu, env, &format!("{GROUP} {}", seeded.join(" ")))
}

fn stored(emu: &EmulatorHandle, name: &str) -> Value {
    emu.resources(KEY)
        .into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or(Value::Null)
}

fn seed(name: &str, state: &str, pipeline: Value) -> Value {
    json!({
        "_id": format!("{:0>24}", name.len()),
        "name": name,
        "pipeline": pipeline,
        "options": {},
        "state": state,
        "stats": {},
    })
}

const PUSH: &[&str] = &["push", "--poll-interval", "0.05", "--wait-timeout", "20"];

fn push(env: &Env, emu: &EmulatorHandle, extra: &[&str]) -> Output {
    let mut args = PUSH.to_vec();
    args.extend_from_slice(extra);
    env.run(emu, &args)
}

const ORDERS_V1: &str = r#"[{"$source": {"connectionName": "kafka", "topic": "orders"}},
 {"$match": {"status": "paid"}},
 {"$emit": {"connectionName": "atlas", "db": "shop", "coll": "orders"}}]"#;
const ORDERS_V2: &str = r#"[{"$source": {"topic": "orders", "connectionName": "kafka"}},
 {"$match": {"status": {"$in": ["paid", "shipped"]}}},
 {"$emit": {"connectionName": "atlas", "db": "shop", "coll": "orders"}}]"#;

fn manifest(orders_state: &str) -> String {
    format!(
        "[[stream_processor]]\ninstance = \"ingest\"\nname = \"orders\"\n{orders_state}\
         pipeline_file = \"streams/orders.json\"\n\
         options = {{ dlq = {{ connection_name = \"atlas\", db = \"dlq\", coll = \"orders\" }} }}\n\n\
         [[stream_processor]]\ninstance = \"ingest\"\nname = \"audit\"\n\
         pipeline = [{{ \"$source\" = {{ connectionName = \"kafka\" }} }}, {{ \"$emit\" = {{ connectionName = \"__testLog\" }} }}]\n"
    )
}

#[test]
fn create_start_noop_then_plain_patch_of_a_stopped_processor() {
    let emu = emulator();
    let env = env();
    let w = env.work();
    write(&w, "streams/orders.json", ORDERS_V1);
    write(&w, "atlas-cedar.toml", &manifest("state = \"started\"\n"));

    // (The plan's text is the snapshot of the case
    // tests/cases/stream-processor-create.)
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());

    let o = push(&env, &emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        writes(&emu.requests()),
        vec![
            format!("POST {BASE}/processor"),
            format!("POST {BASE}/processor/orders:start"),
            format!("POST {BASE}/processor"),
        ]
    );
    // The start is seen on the second read: push waited for it.
    let orders = stored(&emu, "orders");
    assert_eq!(orders["state"], "STARTED", "{orders}");
    assert_eq!(orders["options"]["dlq"]["db"], "dlq");
    assert_eq!(stored(&emu, "audit")["state"], "CREATED");
    let reads = emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/processor/orders"))
        .count();
    assert_eq!(reads, 2, "one read before the start is seen, one after");

    // Second push: nothing to write; one list request (one page).
    emu.clear_requests();
    let o = push(&env, &emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        writes(&emu.requests()).is_empty(),
        "{:?}",
        writes(&emu.requests())
    );
    assert!(
        stdout(&o).contains("  unchanged stream processor 5f1111111111111111111111/ingest/audit")
    );

    // audit is CREATED (not running): its change is a plain PATCH.
    let changed = manifest("state = \"started\"\n").replace("__testLog", "__noop");
    write(&w, "atlas-cedar.toml", &changed);
    emu.clear_requests();
    let o = push(&env, &emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    insta::assert_snapshot!("plain_patch_of_a_created_processor", snap(&o, &emu, &env));
    assert_eq!(
        writes(&emu.requests()),
        vec![format!("PATCH {BASE}/processor/audit")]
    );
    assert_eq!(
        stored(&emu, "audit")["pipeline"][1]["$emit"]["connectionName"],
        "__noop"
    );
}

#[test]
fn a_patch_failure_after_the_stop_says_it_is_stopped_and_how_to_restart() {
    let emu = emulator();
    let env = env();
    let w = env.work();
    let v1: Value = serde_json::from_str(ORDERS_V1).unwrap();
    emu.set_resources(KEY, vec![seed("orders", "STARTED", v1)]);
    write(&w, "streams/orders.json", ORDERS_V2);
    // No `state`: the plan warns that a failed re-run would not restart it.
    let m = "[[stream_processor]]\ninstance = \"ingest\"\nname = \"orders\"\n\
             pipeline_file = \"streams/orders.json\"\n";
    write(&w, "atlas-cedar.toml", m);
    emu.add_fault(FaultRule {
        path_contains: Some("/processor/orders".to_owned()),
        ..FaultRule::new(Some("PATCH"), FaultKind::Status { status: 409 }, 1)
    });
    let o = push(&env, &emu, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // The warning that `state` is not declared, the failure after the stop,
    // "It was left STOPPED" and the command that starts it again.
    insta::assert_snapshot!("patch_failure_after_the_stop", snap(&o, &emu, &env));
    assert_eq!(
        writes(&emu.requests()),
        vec![
            format!("POST {BASE}/processor/orders:stop"),
            format!("PATCH {BASE}/processor/orders"),
        ]
    );
    assert_eq!(stored(&emu, "orders")["state"], "STOPPED");

    // The hint works.
    let o = env.run(
        &emu,
        &[
            "stream-processors",
            "start",
            "--instance",
            "ingest",
            "orders",
            "--poll-interval",
            "0.05",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("STARTED"), "{}", text(&o));
    assert_eq!(stored(&emu, "orders")["state"], "STARTED");
}

#[test]
fn rename_by_patch_and_prune_the_rest() {
    let emu = emulator();
    let env = env();
    let w = env.work();
    let p = json!([{"$source": {"connectionName": "kafka"}}, {"$emit": {"connectionName": "__testLog"}}]);
    emu.set_resources(
        KEY,
        vec![
            seed("orders-v1", "STOPPED", p.clone()),
            seed("old", "STARTED", p.clone()),
            seed("tmp", "CREATED", p.clone()),
        ],
    );
    let m = "[[stream_processor]]\ninstance = \"ingest\"\nname = \"orders\"\nrenamed_from = \"orders-v1\"\n\
             pipeline = [{ \"$source\" = { connectionName = \"kafka\" } }, { \"$emit\" = { connectionName = \"__testLog\" } }]\n";
    write(&w, "atlas-cedar.toml", m);

    let o = env.run(&emu, &["plan", "--prune"]);
    assert!(o.status.success(), "{}", text(&o));
    insta::assert_snapshot!("rename_and_prune_plan", snap(&o, &emu, &env));

    // Without --yes and no terminal: refused, nothing written.
    let o = push(&env, &emu, &["--prune"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());

    let o = push(&env, &emu, &["--prune", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let mut w_ = writes(&emu.requests());
    w_.sort();
    assert_eq!(
        w_,
        vec![
            format!("DELETE {BASE}/processor/old"),
            format!("DELETE {BASE}/processor/tmp"),
            format!("PATCH {BASE}/processor/orders-v1"),
        ]
    );
    let names: Vec<String> = emu
        .resources(KEY)
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["orders"]);
    let patch = emu
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH" && r.status == 200)
        .unwrap();
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body["name"], "orders");

    // Converged: the rename is not repeated.
    emu.clear_requests();
    let o = push(&env, &emu, &["--prune", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty(), "{}", text(&o));

    // The old name back beside the new one: not touched, and the plan says so.
    let mut both = emu.resources(KEY);
    both.push(seed("orders-v1", "STOPPED", p));
    emu.set_resources(KEY, both);
    // (The text plan prints no warnings for an unchanged step: JSON has them.)
    let o = env.run(&emu, &["plan", "--detailed-exitcode", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let step = &v["resources"][0];
    assert_eq!(step["action"], "unchanged", "{step}");
    assert!(
        step["warnings"][0]
            .as_str()
            .unwrap()
            .contains("both orders-v1 and orders exist; orders-v1 is not touched"),
        "{step}"
    );
}

#[test]
fn the_list_is_read_over_three_pages() {
    let emu = emulator();
    let env = env();
    let w = env.work();
    let p = json!([{"$source": {"connectionName": "kafka"}}]);
    let many: Vec<Value> = (0..1200)
        .map(|i| {
            let mut s = seed(&format!("p{i:04}"), "STOPPED", p.clone());
            s["_id"] = json!(format!("{i:024x}"));
            s
        })
        .collect();
    emu.set_resources(KEY, many);
    let m = "[[stream_processor]]\ninstance = \"ingest\"\nname = \"p1100\"\n\
             pipeline = [{ \"$source\" = { connectionName = \"kafka\" } }]\n";
    write(&w, "atlas-cedar.toml", m);
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).contains("unchanged stream processor 5f1111111111111111111111/ingest/p1100"));
    let pages: Vec<String> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path == format!("{BASE}/processors") && r.status == 200)
        .map(|r| r.query)
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(
        pages[0].contains("pageNum=1") && pages[2].contains("pageNum=3"),
        "{pages:?}"
    );

    // --prune would delete the 1,199 others: counted from all three pages.
    let o = env.run(&emu, &["plan", "--prune", "--output", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let deletes = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "delete")
        .count();
    assert_eq!(deletes, 1199);
}

#[test]
fn a_processor_that_fails_to_start_is_reported_with_its_message() {
    let emu = emulator();
    let env = env();
    let w = env.work();
    let m = "[[stream_processor]]\ninstance = \"ingest\"\nname = \"bad\"\nstate = \"started\"\n\
             pipeline = [{ \"$source\" = { connectionName = \"kafka\" } }, { \"$emulatorFail\" = \"connection kafka: authentication failed\" }]\n";
    write(&w, "atlas-cedar.toml", m);
    let o = push(&env, &emu, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    insta::assert_snapshot!("failed_start", snap(&o, &emu, &env));
    assert_eq!(stored(&emu, "bad")["state"], "FAILED");

    // A pipeline file with a syntax error names file, line and column.
    write(&w, "bad.json", "[\n  {\"$source\": }\n]");
    write(
        &w,
        "atlas-cedar.toml",
        "[[stream_processor]]\ninstance = \"ingest\"\nname = \"x\"\npipeline_file = \"bad.json\"\n",
    );
    emu.clear_requests();
    let o = env.run(&emu, &["plan"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("bad.json:2:15: invalid JSON"),
        "{}",
        text(&o)
    );
    assert!(emu.requests().iter().all(|r| !r.path.contains("/streams/")));
}

#[test]
fn update_command_from_a_json_file() {
    let emu = emulator();
    let env = env();
    let w = env.work();
    let v1: Value = serde_json::from_str(ORDERS_V1).unwrap();
    emu.set_resources(KEY, vec![seed("orders", "STARTED", v1)]);
    write(
        &w,
        "orders.json",
        &format!(
            "{{\"pipeline\": {ORDERS_V2},\n \"options\": {{\"dlq\": {{\"connectionName\": \"atlas\", \"db\": \"dlq\", \"coll\": \"orders\"}}, \"resumeFromCheckpoint\": true}}}}"
        ),
    );
    let base = [
        "stream-processors",
        "update",
        "--instance",
        "ingest",
        "orders",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };

    // A bad file: refused before any request.
    write(&w, "typo.json", "{\"pipelines\": []}");
    let args = with(&["--file", "typo.json"]);
    let o = env.run(&emu, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("typo.json: unknown key \"pipelines\""),
        "{}",
        text(&o)
    );
    write(&w, "notarray.json", "{\"pipeline\": {\"$match\": {}}}");
    let args = with(&["--file", "notarray.json"]);
    let o = env.run(&emu, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        text(&o).contains("`pipeline` must be an array"),
        "{}",
        text(&o)
    );
    assert!(emu.requests().is_empty());

    // Running, no --restart: refused, nothing written.
    let args = with(&["--file", "orders.json"]);
    let o = env.run(&emu, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Pass --restart"), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());

    // --restart: stop, PATCH, start; JSON output is the processor.
    let args = with(&[
        "--file",
        "orders.json",
        "--restart",
        "--poll-interval",
        "0.05",
        "-o",
        "json",
    ]);
    let o = env.run(&emu, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["name"], "orders");
    assert_eq!(v["state"], "STARTED");
    assert_eq!(v["options"]["dlq"]["db"], "dlq");
    assert_eq!(v["pipeline"][1]["$match"]["status"]["$in"][0], "paid");
    assert_eq!(
        writes(&emu.requests()),
        vec![
            format!("POST {BASE}/processor/orders:stop"),
            format!("PATCH {BASE}/processor/orders"),
            format!("POST {BASE}/processor/orders:start"),
        ]
    );

    // Stopped: a plain PATCH; table output.
    emu.set_resources(
        KEY,
        vec![seed("orders", "STOPPED", json!([{"$source": {}}]))],
    );
    emu.clear_requests();
    let args = with(&["--file", "orders.json", "-o", "table"]);
    let o = env.run(&emu, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("NAME     STATE     ID"), "{out}");
    assert!(
        header.contains("DLQ CONNECTION   DLQ DB   DLQ COLL"),
        "{out}"
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with("orders   STOPPED   "), "{out}");
    assert!(row.ends_with("atlas            dlq      orders"), "{out}");
    assert_eq!(
        writes(&emu.requests()),
        vec![format!("PATCH {BASE}/processor/orders")]
    );

    // get, in both formats.
    let o = env.run(
        &emu,
        &[
            "stream-processors",
            "get",
            "--instance",
            "ingest",
            "orders",
            "-o",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["options"]["dlq"]["coll"], "orders");
    let o = env.run(
        &emu,
        &["stream-processors", "get", "--instance", "ingest", "nope"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("STREAM_PROCESSOR_NOT_FOUND"),
        "{}",
        text(&o)
    );
}

#[test]
fn state_alone_starts_and_stops_and_the_direct_commands_agree() {
    let emu = emulator();
    let env = env();
    let w = env.work();
    let p = json!([{"$source": {"connectionName": "kafka"}}]);
    emu.set_resources(KEY, vec![seed("orders", "STARTED", p)]);
    let m = |state: &str| {
        format!(
            "[[stream_processor]]\ninstance = \"ingest\"\nname = \"orders\"\nstate = \"{state}\"\n\
             pipeline = [{{ \"$source\" = {{ connectionName = \"kafka\" }} }}]\n"
        )
    };
    write(&w, "atlas-cedar.toml", &m("stopped"));
    let o = push(&env, &emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("(stop: it is STARTED (state = stopped))"),
        "{}",
        text(&o)
    );
    assert_eq!(
        writes(&emu.requests()),
        vec![format!("POST {BASE}/processor/orders:stop")]
    );
    assert_eq!(stored(&emu, "orders")["state"], "STOPPED");

    write(&w, "atlas-cedar.toml", &m("started"));
    emu.clear_requests();
    let o = push(&env, &emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("~ state: STOPPED → STARTED"),
        "{}",
        text(&o)
    );
    assert_eq!(
        writes(&emu.requests()),
        vec![format!("POST {BASE}/processor/orders:start")]
    );
    assert_eq!(stored(&emu, "orders")["state"], "STARTED");

    // By hand: stop (waits), then the list shows it.
    let o = env.run(
        &emu,
        &[
            "stream-processors",
            "stop",
            "--instance",
            "ingest",
            "orders",
            "--poll-interval",
            "0.05",
            "-o",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["state"], "STOPPED");
    let o = env.run(
        &emu,
        &[
            "stream-processors",
            "list",
            "--instance",
            "ingest",
            "-o",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["name"], "orders");
    assert_eq!(v[0]["state"], "STOPPED");

    // The manifest wants it started again: a re-run converges.
    emu.clear_requests();
    let o = push(&env, &emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stored(&emu, "orders")["state"], "STARTED");
    emu.clear_requests();
    let o = push(&env, &emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());
}

/// `-o json` prints the processor Atlas returned, every field included: a
/// dead letter queue's `links`, `null`s, fields this tool does not know.
#[test]
fn json_output_is_the_processor_as_atlas_sent_it() {
    let emu = emulator();
    let env = env();
    let links = json!([{"href": "https://cloud.mongodb.com/api/atlas/v2/x", "rel": "self"}]);
    let mut p = seed("orders", "STOPPED", json!([{"$source": {}}]));
    p["options"] = json!({
        "dlq": {"connectionName": "atlas", "db": "dlq", "coll": "orders", "links": links},
        "links": links,
    });
    p["stats"] = Value::Null;
    p["errorMsg"] = Value::Null;
    p["tier"] = json!("SP30");
    emu.set_resources(KEY, vec![p]);
    write(
        &env.work(),
        "orders.json",
        &format!("{{\"pipeline\": {ORDERS_V2}}}"),
    );
    let check = |v: &Value, what: &str| {
        assert_eq!(v["options"]["dlq"]["links"], links, "{what}: {v:#}");
        assert_eq!(v["options"]["links"], links, "{what}: {v:#}");
        let o = v.as_object().unwrap();
        assert_eq!(o.get("stats"), Some(&Value::Null), "{what}: {v:#}");
        assert_eq!(v["tier"], "SP30", "{what}: {v:#}");
    };
    // The emulator drops `errorMsg` once a start or stop is applied.
    let null_error = |v: &Value| {
        assert_eq!(
            v.as_object().unwrap().get("errorMsg"),
            Some(&Value::Null),
            "{v:#}"
        );
    };
    let at = ["--instance", "ingest", "orders", "-o", "json"];
    let run = |cmd: &[&str]| -> Value {
        let args: Vec<&str> = ["stream-processors"]
            .iter()
            .chain(cmd)
            .chain(at.iter())
            .copied()
            .collect();
        let o = env.run(&emu, &args);
        assert!(o.status.success(), "{}", text(&o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)))
    };
    let v = run(&["update", "--file", "orders.json"]);
    check(&v, "update");
    null_error(&v);
    assert_eq!(v["pipeline"][1]["$match"]["status"]["$in"][1], "shipped");
    let v = run(&["get"]);
    check(&v, "get");
    null_error(&v);
    check(
        &run(&["start", "--poll-interval", "0.05"]),
        "start (after waiting)",
    );
    check(&run(&["stop", "--no-wait"]), "stop --no-wait");

    let o = env.run(
        &emu,
        &[
            "stream-processors",
            "list",
            "--instance",
            "ingest",
            "-o",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    check(&v[0], "list");
}
