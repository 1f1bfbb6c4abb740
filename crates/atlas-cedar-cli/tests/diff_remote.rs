//! End to end: `atlas-cedar diff --remote`, the real binary against the emulator on
//! a random 127.0.0.1 port. Policies are put into the emulator with `push`; the
//! working tree is then edited and compared with what is in "Atlas".
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use atlas_cedar_emulator::{Emulator, EmulatorConfig, DEFAULT_ORG_ID};
use common::*;
use serde_json::Value;

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn resource_policy<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["resource_policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no resource policy {name}: {v:#}"))
}

/// Evaluates `values` (an example: `{"context.a.b": v}`) against `policy_text` with
/// `atlas-cedar test`, expecting `expect`: the example is checked independently
/// of the analysis that produced it.
fn check_example(dir: &Path, policy_text: &str, action: &str, values: &Value, expect: &str) {
    let mut ctx = serde_json::Map::new();
    for (k, v) in values.as_object().unwrap() {
        let path: Vec<&str> = k.strip_prefix("context.").unwrap().split('.').collect();
        let mut cur = &mut ctx;
        for p in &path[..path.len() - 1] {
            cur = cur
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new()))
                .as_object_mut()
                .unwrap();
        }
        cur.insert(path[path.len() - 1].to_owned(), v.clone());
    }
    let check = dir.join("check");
    write(&check, "p.cedar", policy_text);
    let ctx: toml::Value = serde_json::from_value(Value::Object(ctx)).unwrap();
    let mut test = toml::Table::new();
    test.insert("name".into(), "example".into());
    test.insert("action".into(), action.into());
    test.insert("context".into(), ctx);
    test.insert("expect".into(), expect.into());
    let mut file = toml::Table::new();
    file.insert(
        "test".into(),
        toml::Value::Array(vec![toml::Value::Table(test)]),
    );
    let tests = toml::to_string(&file).unwrap();
    write(
        &check,
        "p.test.toml",
        &format!("policies = [\"p.cedar\"]\n\n{BASE_CONTEXT}\n{tests}"),
    );
    let o = Command::new(BIN)
        .current_dir(&check)
        .args(["test", "p.test.toml", "--no-coverage"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{expect} expected: {}", text(&o));
}

/// A full `cluster.modify` context; each example overrides what it is about.
const BASE_CONTEXT: &str = r#"[context."cluster.modify".cluster]
cloudProviders = ["aws"]
regions = ["aws:eu-west-1"]
minTLSVersion = "tls1_2"
cipherConfigMode = "default"
cipherSuites = []
clusterType = "replicaset"
minShardCount = 1
maxShardCount = 1
isConvertingToSharded = false
encryptionAtRest = { customerManagedKey = { enabled = true } }

[context."cluster.modify".project]
clustersInProject = 1
databaseAuditing = { enabled = true }

[context."cluster.modify".search]
hasIndexes = false
"#;

const REGIONS: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nunless { [ResourcePolicy::Region::\"aws:eu-west-1\", ResourcePolicy::Region::\"gcp:europe-west1\"].containsAll(context.cluster.regions) };\n";
const PROVIDERS: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.cluster.cloudProviders.containsAny([ResourcePolicy::CloudProvider::\"gcp\", ResourcePolicy::CloudProvider::\"azure\"]) };\n";
const NETWORK: &str = "forbid (principal, action == ResourcePolicy::Action::\"project.ipAccessList.modify\", resource)\nwhen { context.project.ipAccessList.contains(ip(\"0.0.0.0/0\")) };\n";

#[test]
fn diff_remote_tells_cosmetic_from_behavioural_changes_against_atlas() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let env = Env::new();
    let w = env.work();
    write(&w, "policies/regions.cedar", REGIONS);
    write(&w, "policies/providers.cedar", PROVIDERS);
    write(&w, "policies/network.cedar", NETWORK);
    let o = env.run(&emu, &["push", "policies", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(emu.policies(DEFAULT_ORG_ID).len(), 3);

    // Nothing changed: exit 0, every resource policy unchanged, one list request.
    emu.clear_requests();
    let o = env.run(&emu, &["diff", "--remote", "policies", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["same_behaviour"], true, "{v:#}");
    for name in ["regions", "providers", "network"] {
        assert_eq!(resource_policy(&v, name)["status"], "unchanged", "{v:#}");
    }
    assert!(
        emu.requests().iter().all(|r| !r.is_write()),
        "{:#?}",
        emu.requests()
    );

    // Cosmetic: reformatted, the containsAny list reordered, a comment added.
    write(
        &w,
        "policies/providers.cedar",
        "// providers we do not use\nforbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nwhen {\n  context.cluster.cloudProviders.containsAny([\n    ResourcePolicy::CloudProvider::\"azure\",\n    ResourcePolicy::CloudProvider::\"gcp\"\n  ])\n};\n",
    );
    let o = env.run(&emu, &["diff", "--remote", "policies", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let p = resource_policy(&v, "providers");
    assert_eq!(p["status"], "cosmetic", "{v:#}");
    assert_eq!(p["changes"][0]["method"], "exhaustive", "{v:#}");
    assert_eq!(resource_policy(&v, "regions")["status"], "unchanged");
    let o = env.run(&emu, &["diff", "--remote", "policies"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!("cosmetic_diff", snapshot_text(&o, &emu, &env, ""));

    // Behavioural: a region added to the allow-list, so some clusters are now
    // allowed; a local policy Atlas does not have, and one Atlas has that is gone.
    write(
        &w,
        "policies/regions.cedar",
        &REGIONS.replace(
            "[ResourcePolicy::Region::\"aws:eu-west-1\"",
            "[ResourcePolicy::Region::\"aws:eu-west-1\", ResourcePolicy::Region::\"aws:eu-central-1\"",
        ),
    );
    std::fs::remove_file(w.join("policies/network.cedar")).unwrap();
    write(
        &w,
        "policies/tls.cedar",
        "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.cluster.minTLSVersion == ResourcePolicy::TLSVersion::\"tls1_0\" };\n",
    );
    let o = env.run(&emu, &["diff", "--remote", "policies", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["same_behaviour"], false, "{v:#}");
    let r = resource_policy(&v, "regions");
    assert_eq!(r["status"], "behavioural", "{v:#}");
    assert!(r["atlas_id"].is_string(), "{v:#}");
    let c = &r["changes"][0];
    assert_eq!(c["action"], "cluster.modify", "{v:#}");
    assert!(c["now_forbidden"].is_null(), "{v:#}");
    let ex = &c["now_allowed"]["values"];
    let regions = ex["context.cluster.regions"].as_array().unwrap();
    assert!(
        regions.iter().any(|r| r == "aws:eu-central-1"),
        "the example uses the added region: {v:#}"
    );
    // The example is real: Atlas's version forbids it, the working tree's allows it.
    let stored = emu.policies(DEFAULT_ORG_ID);
    let atlas_body = &stored
        .iter()
        .find(|p| p.name == "regions")
        .unwrap()
        .policies[0]
        .body;
    check_example(&w, atlas_body, "cluster.modify", ex, "forbidden");
    let local = std::fs::read_to_string(w.join("policies/regions.cedar")).unwrap();
    check_example(&w, &local, "cluster.modify", ex, "allowed");

    assert_eq!(resource_policy(&v, "tls")["status"], "created", "{v:#}");
    assert!(resource_policy(&v, "tls")["atlas_id"].is_null());
    assert_eq!(resource_policy(&v, "network")["status"], "deleted", "{v:#}");
    assert_eq!(resource_policy(&v, "providers")["status"], "cosmetic");

    let o = env.run(&emu, &["diff", "--remote", "policies"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // regions behavioural, tls created, network only in Atlas, providers cosmetic.
    insta::assert_snapshot!("behavioural_diff", snapshot_text(&o, &emu, &env, ""));
    // diff never writes.
    assert!(emu.requests().iter().all(|r| !r.is_write()));
}

#[test]
fn diff_remote_uses_the_manifest_names_and_descriptions() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let env = Env::new();
    let w = env.work();
    write(&w, "rules/a.cedar", REGIONS);
    write(&w, "rules/b.cedar", PROVIDERS);
    let manifest = "[[resource_policy]]\nname = \"guardrails\"\ndescription = \"v1\"\nfiles = [\"rules/*.cedar\"]\n";
    write(&w, "atlas-cedar.toml", manifest);
    let o = env.run(&emu, &["push", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let stored = emu.policies(DEFAULT_ORG_ID);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].policies.len(), 2);

    // Only the description changed: cosmetic. NEW defaults to `.`.
    write(&w, "atlas-cedar.toml", &manifest.replace("v1", "v2"));
    let o = env.run(&emu, &["diff", "--remote", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let g = resource_policy(&v, "guardrails");
    assert_eq!(g["status"], "cosmetic", "{v:#}");
    assert_eq!(g["description_changed"], true, "{v:#}");

    // The second body (by position, `guardrails#2`) now forbids more.
    write(
        &w,
        "rules/b.cedar",
        &PROVIDERS.replace("\"azure\"", "\"aws\""),
    );
    let o = env.run(&emu, &["diff", "--remote", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = json(&o);
    let g = resource_policy(&v, "guardrails");
    assert_eq!(g["status"], "behavioural", "{v:#}");
    let changed: Vec<&Value> = g["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "behavioural")
        .collect();
    assert_eq!(changed.len(), 1, "{v:#}");
    assert_eq!(changed[0]["policy"], "guardrails#2", "{v:#}");
}

#[test]
fn diff_remote_usage_and_connection_errors_exit_2() {
    let env = Env::new();
    let w = env.work();
    write(&w, "policies/regions.cedar", REGIONS);
    // Two paths with --remote.
    let o = env.run_offline(&["diff", "--remote", "policies", "policies"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("only NEW"), "{}", text(&o));
    // One path without --remote.
    let o = env.run_offline(&["diff", "policies"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // No credentials: a clear error, not a diff.
    let o = env.run_offline(&[
        "diff",
        "--remote",
        "policies",
        "--base-url",
        "http://127.0.0.1:9",
        "--org-id",
        DEFAULT_ORG_ID,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).is_empty(),
        "{}",
        text(&o)
    );
}

#[test]
fn diff_remote_prove_proves_per_action_against_atlas() {
    let path = std::env::var("CVC5").unwrap_or_else(|_| "cvc5".to_owned());
    if !Command::new(path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("cvc5 not installed: skipping the proof test (apt-get install -y cvc5)");
        return;
    }
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let env = Env::new();
    let w = env.work();
    write(&w, "policies/regions.cedar", REGIONS);
    write(&w, "policies/providers.cedar", PROVIDERS);
    let o = env.run(&emu, &["push", "policies", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    // Reordered list: proved equivalent, exit 0.
    write(
        &w,
        "policies/providers.cedar",
        &PROVIDERS.replace(
            "[ResourcePolicy::CloudProvider::\"gcp\", ResourcePolicy::CloudProvider::\"azure\"]",
            "[ResourcePolicy::CloudProvider::\"azure\", ResourcePolicy::CloudProvider::\"gcp\"]",
        ),
    );
    let o = env.run(
        &emu,
        &[
            "diff", "--remote", "policies", "--prove", "--format", "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let proofs = v["proofs"].as_array().unwrap();
    assert!(!proofs.is_empty(), "{v:#}");
    assert!(proofs.iter().all(|p| p["result"] == "equivalent"), "{v:#}");
    // A region added: proved different, the solver's request is now allowed.
    write(
        &w,
        "policies/regions.cedar",
        &REGIONS.replace(
            "[ResourcePolicy::Region::\"aws:eu-west-1\"",
            "[ResourcePolicy::Region::\"aws:eu-west-1\", ResourcePolicy::Region::\"aws:eu-central-1\"",
        ),
    );
    let o = env.run(
        &emu,
        &[
            "diff", "--remote", "policies", "--prove", "--format", "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = json(&o);
    let p = v["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["result"] == "different")
        .unwrap_or_else(|| panic!("no proof of a difference: {v:#}"));
    assert_eq!(p["action"], "cluster.modify", "{v:#}");
    assert_eq!(p["now_forbidden"], false, "{v:#}");
    assert!(
        p["example"].as_str().unwrap().contains("aws:eu-central-1"),
        "{v:#}"
    );
}
