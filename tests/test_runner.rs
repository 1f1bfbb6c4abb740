//! End-to-end tests of `atlas-cedar test`: the real binary on passing, failing and
//! mistyped test files, the `cargo test`-style summary, JSON output, the report of
//! untested policies, and the repository's own policy library.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

const REGIONS: &str = r#"forbid (principal, action == ResourcePolicy::Action::"project.ipAccessList.modify", resource)
when { context.project.ipAccessList.contains(ip("0.0.0.0/0")) };
"#;

const TESTS_PASS: &str = r#"
[[test]]
name = "private_range_is_allowed"
action = "project.ipAccessList.modify"
context = { project = { ipAccessList = ["10.0.0.0/8"] } }
expect = "allowed"

[[test]]
name = "anywhere_is_forbidden"
action = "project.ipAccessList.modify"
resource = { type = "Project", id = "5f0000000000000000000000" }
context = { project = { ipAccessList = ['ip("0.0.0.0/0")'] } }
expect = "forbidden"
forbidden_by = "open.cedar"
"#;

fn bin() -> Command {
    let mut c = Command::cargo_bin("atlas-cedar").unwrap();
    c.env("NO_COLOR", "1").env_remove("CI");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_passing_suite_exits_0_with_cargo_style_summary() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "open.cedar", REGIONS);
    write(dir.path(), "open.test.toml", TESTS_PASS);
    let out = run(dir.path(), &["test", "."]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("test open::private_range_is_allowed ... ok"),
        "{text}"
    );
    assert!(
        text.contains("test open::anywhere_is_forbidden ... ok"),
        "{text}"
    );
    assert!(
        text.contains("\ntest result: ok. 2 passed; 0 failed\n"),
        "{text}"
    );
    assert!(text.ends_with("2 passed, 0 failed\n"), "{text}");
}

#[test]
fn a_failing_test_exits_1_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "open.cedar", REGIONS);
    write(
        dir.path(),
        "open.test.toml",
        &format!(
            "{TESTS_PASS}\n[[test]]\nname = \"wrong_expectation\"\naction = \"project.ipAccessList.modify\"\ncontext = {{ project = {{ ipAccessList = [\"0.0.0.0/0\"] }} }}\nexpect = \"allowed\"\n"
        ),
    );
    let out = run(dir.path(), &["test"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("test open::wrong_expectation ... FAILED"),
        "{text}"
    );
    assert!(
        text.contains("expected allowed, but it is forbidden by open"),
        "{text}"
    );
    assert!(
        text.contains("test result: FAILED. 2 passed; 1 failed"),
        "{text}"
    );
    assert!(text.contains("2 passed, 1 failed"), "{text}");
}

#[test]
fn a_typo_in_the_context_fails_loudly() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "open.cedar", REGIONS);
    // `ipAccesList` (one s): without the schema check this test would pass as
    // "allowed" because the policy never sees the list.
    write(
        dir.path(),
        "open.test.toml",
        "[[test]]\nname = \"typo\"\naction = \"project.ipAccessList.modify\"\ncontext = { project = { ipAccesList = [\"0.0.0.0/0\"] } }\nexpect = \"allowed\"\n",
    );
    let out = run(dir.path(), &["test", "open.test.toml"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("test open::typo ... FAILED"), "{text}");
    assert!(
        text.contains("context.project.ipAccesList: unknown attribute"),
        "{text}"
    );
    assert!(
        text.contains("did you mean `context.project.ipAccessList`?"),
        "{text}"
    );
    assert!(
        text.contains("context.project.ipAccessList: missing required attribute"),
        "{text}"
    );
}

#[test]
fn unknown_ids_wrong_types_and_unknown_keys_fail() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "tls.cedar",
        "forbid (principal, action == ResourcePolicy::Action::\"project.maintenanceWindow.modify\", resource)\nwhen { !context.project.hasDefinedMaintenanceWindow };\n",
    );
    write(
        dir.path(),
        "tls.test.toml",
        "[[test]]\nname = \"string_for_bool\"\naction = \"project.maintenanceWindow.modify\"\ncontext = { project = { hasDefinedMaintenanceWindow = \"no\" } }\nexpect = \"forbidden\"\n\n[[test]]\nname = \"bad_key\"\naction = \"project.maintenanceWindow.modify\"\ncontext = { project = { hasDefinedMaintenanceWindow = false } }\nexpect = \"forbidden\"\nforbiden_by = \"tls\"\n",
    );
    let out = run(dir.path(), &["test", "."]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("unknown field `forbiden_by`"), "{text}");
    assert!(text.contains("tls.test.toml:"), "{text}");
}

#[test]
fn json_output_and_untested_policies() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "open.cedar", REGIONS);
    write(
        dir.path(),
        "open.test.toml",
        "[[test]]\nname = \"only_allowed\"\naction = \"project.ipAccessList.modify\"\ncontext = { project = { ipAccessList = [] } }\nexpect = \"allowed\"\n",
    );
    write(
        dir.path(),
        "lonely.cedar",
        "forbid (principal, action == ResourcePolicy::Action::\"project.rerank.modify\", resource)\nwhen { context.project.rerankEnabled };\n",
    );
    let out = run(dir.path(), &["test", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], 1);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["tests"][0]["name"], "open::only_allowed");
    assert_eq!(v["tests"][0]["actual"], "allowed");
    let untested: Vec<(String, String)> = v["untested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["policy"].as_str().unwrap().to_owned(),
                u["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(untested.len(), 2, "{untested:?}");
    assert!(untested
        .iter()
        .any(|(p, r)| p == "lonely" && r.contains("no test file")));
    assert!(untested
        .iter()
        .any(|(p, r)| p == "open" && r.contains("forbids nothing in any test")));
}

#[test]
fn the_policy_library_passes_and_every_policy_is_exercised() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = run(&root, &["test", "policies"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("policies no test exercises"), "{text}");
    assert!(text.contains("test result: ok."), "{text}");
}

#[test]
fn forbidden_by_must_name_the_forbidding_policy() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "open.cedar", REGIONS);
    write(dir.path(), "other.cedar", "forbid (principal, action == ResourcePolicy::Action::\"project.ipAccessList.modify\", resource)\nwhen { context.project.ipAccessList.isEmpty() };\n");
    write(
        dir.path(),
        "both.test.toml",
        "policies = [\"open.cedar\", \"other.cedar\"]\n\n[[test]]\nname = \"by_the_wrong_one\"\naction = \"project.ipAccessList.modify\"\ncontext = { project = { ipAccessList = [\"0.0.0.0/0\"] } }\nexpect = \"forbidden\"\nforbidden_by = \"other\"\n",
    );
    let out = run(dir.path(), &["test", "both.test.toml"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("expected to be forbidden by other, but it is forbidden by open"),
        "{text}"
    );
}

// ---- analyze and diff (answered by evaluating the request space) ----

const PEERING: &str = "ResourcePolicy::Action::\"project.vpcPeering.modify\"";

fn forbid(action: &str, cond: &str) -> String {
    format!("forbid (principal, action == {action}, resource)\nwhen {{ {cond} }};\n")
}

/// Turns an example (`{"context.a.b": v}`) into a test that expects `expect`
/// against `policy`, and runs it with `atlas-cedar test`: the example is checked
/// by evaluating it independently of the analysis.
fn check_example(dir: &Path, policy: &str, action: &str, values: &Value, expect: &str) {
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
    let ctx: toml::Value = serde_json::from_value(Value::Object(ctx)).unwrap();
    let mut test = toml::Table::new();
    test.insert("name".into(), "example".into());
    test.insert("action".into(), action.into());
    test.insert("context".into(), ctx);
    test.insert("expect".into(), expect.into());
    let mut file = toml::Table::new();
    file.insert("policies".into(), toml::Value::Array(vec![policy.into()]));
    file.insert(
        "test".into(),
        toml::Value::Array(vec![toml::Value::Table(test)]),
    );
    write(dir, "example.test.toml", &toml::to_string(&file).unwrap());
    let out = run(dir, &["test", "example.test.toml", "--no-coverage"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// A lockout, a vacuous body and a redundant pair (narrow is implied by wide).
fn planted() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mw = "ResourcePolicy::Action::\"project.maintenanceWindow.modify\"";
    write(
        dir.path(),
        "lockout.cedar",
        &forbid(
            mw,
            "context.project.hasDefinedMaintenanceWindow || !context.project.hasDefinedMaintenanceWindow",
        ),
    );
    write(
        dir.path(),
        "vacuous.cedar",
        &forbid(
            PEERING,
            "context.project.peeringConnections.contains(\"a\") && context.project.peeringConnections.isEmpty()",
        ),
    );
    write(
        dir.path(),
        "wide.cedar",
        &forbid(
            PEERING,
            "context.project.peeringConnections.containsAny([\"a\", \"b\"])",
        ),
    );
    write(
        dir.path(),
        "narrow.cedar",
        &forbid(
            PEERING,
            "context.project.peeringConnections.contains(\"b\")",
        ),
    );
    dir
}

/// The three planted findings of `analyze --format json` (each with `method`, if
/// given), their examples checked by evaluation.
fn planted_findings(dir: &Path, out: &Output, method: Option<&str>) -> [Value; 3] {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let find = |kind: &str, policy: &str| {
        findings
            .iter()
            .find(|f| f["kind"] == kind && f["policy"] == policy)
            .unwrap_or_else(|| panic!("no {kind} finding for {policy}: {findings:#?}"))
            .clone()
    };
    let lockout = find("lockout", "lockout");
    let vacuous = find("vacuous", "vacuous");
    let redundant = find("redundant", "narrow");
    for f in [&lockout, &vacuous, &redundant] {
        if let Some(method) = method {
            assert_eq!(f["method"], method, "{v:#}");
        }
    }
    assert!(redundant["message"].as_str().unwrap().contains("wide"));
    assert_eq!(findings.len(), 3, "{findings:#?}");
    check_planted_examples(dir, &lockout, &redundant);
    [lockout, vacuous, redundant]
}

fn check_planted_examples(dir: &Path, lockout: &Value, redundant: &Value) {
    // The examples are real: evaluate them with the test runner.
    check_example(
        dir,
        "lockout.cedar",
        "project.maintenanceWindow.modify",
        &lockout["example"]["values"],
        "forbidden",
    );
    check_example(
        dir,
        "narrow.cedar",
        "project.vpcPeering.modify",
        &redundant["example"]["values"],
        "forbidden",
    );
    check_example(
        dir,
        "wide.cedar",
        "project.vpcPeering.modify",
        &redundant["example"]["values"],
        "forbidden",
    );
}

#[test]
fn analyze_finds_a_planted_lockout_a_vacuous_body_and_a_redundant_pair() {
    let dir = planted();
    let out = run(
        dir.path(),
        &["analyze", ".", "--format", "json", "--method", "exhaustive"],
    );
    planted_findings(dir.path(), &out, Some("exhaustive"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["method"], "exhaustive");
    assert!(v["solver"].is_null(), "{v:#}");
}

#[test]
fn analyze_proves_the_planted_lockout_vacuous_body_and_redundant_pair() {
    if !have_cvc5() {
        return;
    }
    let dir = planted();
    let out = run(
        dir.path(),
        &["analyze", ".", "--format", "json", "--method", "prove"],
    );
    let [lockout, vacuous, redundant] = planted_findings(dir.path(), &out, Some("proved"));
    for f in [&lockout, &vacuous, &redundant] {
        assert!(f["message"].as_str().unwrap().contains("proved"), "{f:#}");
        assert!(f.get("solver").is_none(), "{f:#}");
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["method"], "prove");
    assert_eq!(v["solver"]["name"], "cvc5", "{v:#}");
    assert!(v["solver"]["queries"].as_u64().unwrap() >= 3, "{v:#}");
    // The default (auto) proves too when cvc5 is there, and says so.
    let out = run(dir.path(), &["analyze", "."]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("lockout lockout [project.maintenanceWindow.modify]: lockout: proved"),
        "{text}"
    );
    assert!(text.contains("method: prove (cvc5 "), "{text}");
}

#[test]
fn analyze_proves_an_evaluation_error_the_bounded_search_misses() {
    if !have_cvc5() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Overflows only for huge counts, which the bounded search (integer arithmetic)
    // does not try.
    write(
        dir.path(),
        "overflow.cedar",
        &forbid(
            "ResourcePolicy::Action::\"cluster.modify\"",
            "context.project.clustersInProject * 3 > 10",
        ),
    );
    let out = run(dir.path(), &["analyze", ".", "--method", "exhaustive"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run(
        dir.path(),
        &["analyze", ".", "--method", "prove", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "evaluation-error", "{v:#}");
    assert_eq!(f["method"], "proved", "{v:#}");
    // The solver's request (checked by evaluation) has a count that overflows.
    let example = f["example"]["values"].as_str().unwrap();
    let count: i128 = example
        .split("clustersInProject: ")
        .nth(1)
        .and_then(|r| r.split(|c: char| c != '-' && !c.is_ascii_digit()).next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (count * 3) > i64::MAX as i128 || (count * 3) < i64::MIN as i128,
        "{example}"
    );
}

/// A fake `cvc5` that reports a version and then `behaviour` (a shell snippet run
/// for a query).
fn fake_cvc5(dir: &Path, name: &str, behaviour: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'This is cvc5 version 1.0.3'; exit 0; fi\n{behaviour}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn analyze_falls_back_to_evaluation_when_the_solver_times_out_or_fails() {
    let dir = planted();
    let solvers = tempfile::tempdir().unwrap();
    // Never answers (reads its input until it is closed): every query times out.
    let hangs = fake_cvc5(solvers.path(), "hangs", "cat > /dev/null");
    // Answers nonsense.
    let broken = fake_cvc5(
        solvers.path(),
        "broken",
        "echo '(error \"boom\")'; cat > /dev/null",
    );
    for (solver, why) in [
        (&hangs, "time limit (300 ms) reached"),
        (&broken, "solver error"),
    ] {
        let out = bin()
            .current_dir(dir.path())
            .env("CVC5", solver)
            .args([
                "analyze",
                ".",
                "--format",
                "json",
                "--method",
                "prove",
                "--solver-timeout",
                "300",
            ])
            .output()
            .unwrap();
        // Unknown to the solver: evaluation answers, and says why. (The lockout,
        // `x || !x`, is settled by symcc's own simplification without asking the
        // solver: proved.)
        let [lockout, vacuous, redundant] = planted_findings(dir.path(), &out, None);
        assert_eq!(lockout["method"], "proved", "{lockout:#}");
        for f in [&vacuous, &redundant] {
            assert_eq!(f["method"], "exhaustive", "{f:#}");
            let note = f["solver"].as_str().unwrap_or_default();
            assert!(note.starts_with("unknown ("), "{f:#}");
            assert!(note.contains(why), "{why}: {f:#}");
            assert!(note.ends_with("answered by evaluation"), "{f:#}");
        }
    }
}

#[test]
fn analyze_without_the_solver_evaluates_or_says_what_to_install() {
    let dir = planted();
    let out = bin()
        .current_dir(dir.path())
        .env("CVC5", "/nonexistent/cvc5")
        .args(["analyze", ".", "--format", "json"])
        .output()
        .unwrap();
    planted_findings(dir.path(), &out, Some("exhaustive"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("apt-get install -y cvc5"), "{err}");
    assert!(err.contains("--method exhaustive"), "{err}");
    let out = bin()
        .current_dir(dir.path())
        .env("CVC5", "/nonexistent/cvc5")
        .args(["analyze", ".", "--method", "prove"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("apt-get install -y cvc5"), "{err}");
}

#[test]
fn analyze_the_library_is_exhaustive_and_fast() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = run(&root, &["analyze", "policies", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for b in v["behaviours"].as_array().unwrap() {
        assert_eq!(b["method"], "exhaustive", "{b}");
    }
    assert!(v["millis"].as_u64().unwrap() < 5000, "{v}");
}

fn diff_of(old: &str, new: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.cedar", old);
    write(dir.path(), "new.cedar", new);
    let out = run(
        dir.path(),
        &["diff", "old.cedar", "new.cedar", "--format", "json"],
    );
    (out, dir)
}

#[test]
fn diff_reformatting_reordering_and_swapped_operands_are_cosmetic() {
    let old = forbid(
        PEERING,
        "context.project.peeringConnections.containsAny([\"a\", \"b\"]) && !context.project.peeringConnections.isEmpty()",
    );
    let new = format!(
        "// reformatted\nforbid (\n  principal,\n  action == {PEERING},\n  resource\n)\nwhen\n{{\n  !context.project.peeringConnections.isEmpty() &&\n  context.project.peeringConnections.containsAny([\"b\", \"a\"])\n}};\n"
    );
    let (out, _d) = diff_of(&old, &new);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["same_behaviour"], true);
    assert_eq!(v["method"], "exhaustive");
    assert_eq!(v["changes"][0]["kind"], "cosmetic", "{v:#}");
}

#[test]
fn diff_containsany_to_containsall_and_an_added_value_change_behaviour() {
    let old = forbid(
        PEERING,
        "context.project.peeringConnections.containsAny([\"a\", \"b\"])",
    );
    let new = old.replace("containsAny", "containsAll");
    let (out, d) = diff_of(&old, &new);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(v["same_behaviour"], false);
    let c = &v["changes"][0];
    assert_eq!(c["kind"], "behavioural", "{v:#}");
    // Something like ["a"] was forbidden and is now allowed: check both sides.
    let ex = &c["now_allowed"]["values"];
    check_example(
        d.path(),
        "old.cedar",
        "project.vpcPeering.modify",
        ex,
        "forbidden",
    );
    check_example(
        d.path(),
        "new.cedar",
        "project.vpcPeering.modify",
        ex,
        "allowed",
    );

    let ip = "ResourcePolicy::Action::\"project.ipAccessList.modify\"";
    let old = forbid(
        ip,
        "context.project.ipAccessList.containsAny([ip(\"0.0.0.0/0\")])",
    );
    let new = forbid(
        ip,
        "context.project.ipAccessList.containsAny([ip(\"0.0.0.0/0\"), ip(\"10.0.0.0/8\")])",
    );
    let (out, d) = diff_of(&old, &new);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    let ex = &v["changes"][0]["now_forbidden"]["values"];
    check_example(
        d.path(),
        "old.cedar",
        "project.ipAccessList.modify",
        ex,
        "allowed",
    );
    check_example(
        d.path(),
        "new.cedar",
        "project.ipAccessList.modify",
        ex,
        "forbidden",
    );
}

#[test]
fn diff_of_the_library_with_itself_is_unchanged() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = run(&root, &["diff", "policies", "policies"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("same behaviour"), "{text}");
}

// ---- proofs with cedar-policy-symcc and cvc5 (skipped when cvc5 is missing) ----

fn have_cvc5() -> bool {
    let path = std::env::var("CVC5").unwrap_or_else(|_| "cvc5".to_owned());
    let ok = std::process::Command::new(path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("cvc5 not installed: skipping the proof test (apt-get install -y cvc5)");
    }
    ok
}

#[test]
fn diff_prove_says_equivalent_or_different_with_a_checked_counterexample() {
    if !have_cvc5() {
        return;
    }
    let old = forbid(
        PEERING,
        "context.project.peeringConnections.containsAny([\"a\", \"b\"]) && !context.project.peeringConnections.isEmpty()",
    );
    let swapped = forbid(
        PEERING,
        "!context.project.peeringConnections.isEmpty() && context.project.peeringConnections.containsAny([\"b\", \"a\"])",
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "old.cedar", &old);
    write(dir.path(), "new.cedar", &swapped);
    write(
        dir.path(),
        "all.cedar",
        &old.replace("containsAny", "containsAll"),
    );
    let out = run(
        dir.path(),
        &[
            "diff",
            "old.cedar",
            "new.cedar",
            "--prove",
            "--format",
            "json",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["proofs"][0]["result"], "equivalent", "{v:#}");

    let out = run(
        dir.path(),
        &[
            "diff",
            "old.cedar",
            "all.cedar",
            "--prove",
            "--format",
            "json",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    let p = &v["proofs"][0];
    assert_eq!(p["result"], "different", "{v:#}");
    // The counterexample was evaluated on both sides: containsAll forbids less.
    assert_eq!(p["now_forbidden"], false, "{v:#}");
    assert!(p["millis"].as_u64().unwrap() < 1000, "{v:#}");
}

#[test]
fn diff_prove_without_the_solver_says_what_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let body = forbid(PEERING, "context.project.peeringConnections.isEmpty()");
    write(dir.path(), "a.cedar", &body);
    let out = bin()
        .current_dir(dir.path())
        .env("CVC5", "/nonexistent/cvc5")
        .args(["diff", "a.cedar", "a.cedar", "--prove"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("apt-get install -y cvc5"), "{err}");
    assert!(err.contains("CVC5"), "{err}");
}
