//! `atlas-cedar lint --format sarif` (the real binary) validated against the
//! official SARIF 2.1.0 JSON schema, and the rule metadata code scanning shows.
//!
//! `tests/data/sarif-schema-2.1.0.json` is the OASIS SARIF 2.1.0 (errata 01)
//! schema, byte for byte `sarif-2.1/schema/sarif-schema-2.1.0.json` of
//! github.com/oasis-tcs/sarif-spec at e0583813964ec43cea53b6b531b402866095ed1f.
//! All its `$ref`s are local, and `jsonschema` is built without its HTTP
//! resolver: the test never touches the network.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const SCHEMA: &str = include_str!("data/sarif-schema-2.1.0.json");

const BAD: &str =
    "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\" resource);\n";
const GOOD: &str = "// clusters stay on AWS\nforbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nunless { [ResourcePolicy::CloudProvider::\"aws\"].containsAll(context.cluster.cloudProviders) };\n";
/// A region typo: an error with a "did you mean" fix (SARIF `fixes`).
const TYPO: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nunless { [ResourcePolicy::Region::\"aws:us-east1\"].containsAll(context.cluster.regions) };\n";
/// Accepted by Atlas, reported as a warning (unconditional forbid).
const WARN_ONLY: &str =
    "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource);\n";

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// Runs `lint --format sarif ARGS` in `dir`; returns the exit code and the log.
fn sarif(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let o = Command::cargo_bin("atlas-cedar")
        .unwrap()
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .current_dir(dir)
        .args(["lint", "--no-config", "--format", "sarif"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    let log: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code(), log)
}

fn assert_valid(log: &Value) {
    let v = validator();
    let errors: Vec<String> = v
        .iter_errors(log)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate against the 2.1.0 schema:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(log).unwrap()
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

#[test]
fn the_schema_rejects_what_it_should() {
    // Guards against a validator that accepts everything.
    let v = validator();
    assert!(v.is_valid(&serde_json::json!({ "version": "2.1.0", "runs": [] })));
    assert!(!v.is_valid(&serde_json::json!({ "version": "2.0.0", "runs": [] })));
    assert!(!v.is_valid(&serde_json::json!({
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": { "name": "x" } },
                   "results": [{ "message": { "text": "m" }, "level": "fatal" }] }]
    })));
}

#[test]
fn findings_validate_against_the_sarif_schema() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "bad.cedar", BAD);
    write(d.path(), "typo.cedar", TYPO);
    write(d.path(), "warn.cedar", WARN_ONLY);
    write(d.path(), "sub dir/good.cedar", GOOD);
    write(d.path(), "sub dir/bad again.cedar", BAD);
    let (code, log) = sarif(d.path(), &["."]);
    assert_eq!(code, Some(1));
    assert_valid(&log);

    let run = &log["runs"][0];
    let results = run["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"AC101"), "{ids:?}");
    assert!(ids.contains(&"AC300"), "{ids:?}");
    assert!(ids.contains(&"AC502"), "{ids:?}");
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert!(levels.contains(&"error") && levels.contains(&"warning"));
    // The typo carries a fix, with the replacement text.
    let typo = results.iter().find(|r| r["ruleId"] == "AC300").unwrap();
    let inserted =
        &typo["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"];
    assert_eq!(inserted, "\"aws:us-east-1\"");
    // Every result points at a rule of the driver by index and id.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
}

#[test]
fn a_clean_run_validates_and_has_no_results() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "good.cedar", GOOD);
    let (code, log) = sarif(d.path(), &["good.cedar"]);
    assert_eq!(code, Some(0));
    assert_valid(&log);
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
}

#[test]
fn payloads_and_stdin_validate() {
    let d = tempfile::tempdir().unwrap();
    let body = serde_json::to_string(BAD.trim_end()).unwrap();
    write(
        d.path(),
        "request.json",
        &format!("{{ \"name\": \"p\", \"policies\": [ {{ \"body\": {body} }} ] }}\n"),
    );
    let (code, log) = sarif(d.path(), &["request.json"]);
    assert_eq!(code, Some(1));
    assert_valid(&log);

    let o = Command::cargo_bin("atlas-cedar")
        .unwrap()
        .current_dir(d.path())
        .args([
            "lint",
            "--no-config",
            "--format",
            "sarif",
            "-",
            "--stdin-filename",
            "x.cedar",
        ])
        .write_stdin(TYPO)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_valid(&serde_json::from_slice(&o.stdout).unwrap());
}

#[test]
fn every_rule_has_id_help_text_and_link() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "good.cedar", GOOD);
    let (_, log) = sarif(d.path(), &["good.cedar"]);
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "atlas-cedar");
    assert!(driver["informationUri"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let rules = driver["rules"].as_array().unwrap();
    assert!(rules.len() >= 20, "only {} rules", rules.len());
    let mut seen = std::collections::BTreeSet::new();
    for r in rules {
        let id = r["id"].as_str().unwrap();
        assert!(
            id.len() == 5 && id.starts_with("AC") && id[2..].bytes().all(|b| b.is_ascii_digit()),
            "rule id {id}"
        );
        assert!(seen.insert(id.to_owned()), "duplicate rule {id}");
        assert!(!r["name"].as_str().unwrap().is_empty(), "{id}: name");
        assert!(
            !r["shortDescription"]["text"].as_str().unwrap().is_empty(),
            "{id}: shortDescription"
        );
        let help = r["help"]["text"].as_str().unwrap();
        assert!(help.len() > 40, "{id}: help text too short: {help}");
        assert!(r["help"]["markdown"].is_string(), "{id}: help markdown");
        let uri = r["helpUri"].as_str().unwrap();
        assert!(
            uri.starts_with("https://") && uri.ends_with(&format!("#{}", id.to_ascii_lowercase())),
            "{id}: helpUri {uri}"
        );
        let level = r["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(
            ["error", "warning", "note"].contains(&level),
            "{id}: {level}"
        );
    }
    for code in ["AC101", "AC300", "AC502", "AC900"] {
        assert!(seen.contains(code), "{code} missing from the rules");
    }
}
