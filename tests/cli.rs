//! End-to-end tests of `atlas-cedar lint`, `fmt` and `explain`: the real binary, its
//! stdout, stderr and exit status.

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

const GOOD: &str = "// clusters stay on AWS\nforbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nunless { [ResourcePolicy::CloudProvider::\"aws\"].containsAll(context.cluster.cloudProviders) };\n";
const BAD: &str =
    "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\" resource);\n";
const WARN_ONLY: &str =
    "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource);\n";

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
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn clean_directory_exits_zero_with_a_summary() {
    let d = tmp();
    write(d.path(), "p/a.cedar", GOOD);
    write(
        d.path(),
        "p/sub/b.cedar",
        GOOD.replace("aws", "gcp").as_str(),
    );
    write(d.path(), "p/notes.txt", "not a policy");
    let o = run(d.path(), &["lint", "p"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("checked 2 policies in 2 files: no problems"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn human_output_names_file_line_column_code_and_error_type() {
    let d = tmp();
    write(d.path(), "bad.cedar", &format!("{GOOD}\n{BAD}"));
    let o = run(d.path(), &["lint", "bad.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("bad.cedar:5:71"), "{err}");
    assert!(
        err.contains("AC101(syntax-error) [POLICY_PARSING_ERROR]"),
        "{err}"
    );
    assert!(err.contains("unexpected token `resource`"), "{err}");
    assert!(err.contains("1 error, 0 warnings"), "{err}");
    assert_eq!(stdout(&o), "");
}

#[test]
fn json_format_has_the_documented_fields() {
    let d = tmp();
    write(d.path(), "r.cedar", "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.cluster.regions.contains(ResourcePolicy::Region::\"aws:us-east1\") };\n");
    let o = run(d.path(), &["lint", "--format", "json", "r.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let diag = &v["diagnostics"][0];
    assert_eq!(diag["file"], "r.cedar");
    assert_eq!(diag["line"], 2);
    assert_eq!(diag["column"], 65);
    assert_eq!(diag["end_line"], 2);
    assert_eq!(diag["end_column"], 79);
    assert_eq!(diag["code"], "AC300");
    assert_eq!(diag["severity"], "error");
    assert_eq!(diag["error_type"], "POLICY_HAS_UNEXPECTED_ENTITIES");
    assert_eq!(
        diag["detail"],
        "entity id aws:us-east1 does not exist in the context of this organization"
    );
    assert_eq!(diag["help"], "did you mean `aws:us-east-1`?");
    assert_eq!(diag["fix"]["edits"][0]["replacement"], "\"aws:us-east-1\"");
    assert_eq!(v["summary"]["errors"], 1);
    assert!(
        stderr(&o).is_empty(),
        "machine formats keep stderr quiet: {}",
        stderr(&o)
    );
}

#[test]
fn atlas_format_prints_exactly_the_400_body_or_nothing() {
    let d = tmp();
    write(d.path(), "good.cedar", GOOD);
    write(d.path(), "bad.cedar", BAD);
    let o = run(d.path(), &["lint", "--format", "atlas", "good.cedar"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    let o = run(d.path(), &["lint", "--format", "atlas", "bad.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "{\"errorType\":\"POLICY_PARSING_ERROR\",\"invalidPolicies\":[{\"body\":\"forbid (principal, action == ResourcePolicy::Action::\\\"cluster.modify\\\" resource);\",\"errors\":[{\"detail\":\"unexpected token `resource`\"}]}]}\n"
    );
}

#[test]
fn sarif_format_is_sarif_2_1_0_with_rules() {
    let d = tmp();
    write(d.path(), "bad.cedar", BAD);
    let o = run(d.path(), &["lint", "--format", "sarif", "bad.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    let result = &run0["results"][0];
    assert_eq!(result["ruleId"], "AC101");
    assert_eq!(result["level"], "error");
    let idx = result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run0["tool"]["driver"]["rules"][idx]["id"], "AC101");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 1);
    assert_eq!(region["startColumn"], 71);
}

#[test]
fn github_format_emits_workflow_commands() {
    let d = tmp();
    write(d.path(), "bad.cedar", BAD);
    write(d.path(), "warn.cedar", WARN_ONLY);
    let o = run(
        d.path(),
        &["lint", "--format", "github", "bad.cedar", "warn.cedar"],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.starts_with("::error file=bad.cedar,line=1,col=71,endLine=1,endColumn=79,title=AC101 syntax-error (POLICY_PARSING_ERROR)::unexpected token `resource`"), "{out}");
    assert!(
        out.contains("::warning file=warn.cedar,line=1,col=1,"),
        "{out}"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let d = tmp();
    write(d.path(), "warn.cedar", WARN_ONLY);
    let o = run(d.path(), &["lint", "warn.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("AC502"));
    let o = run(d.path(), &["lint", "--deny-warnings", "warn.cedar"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn stdin_is_read_with_dash() {
    let d = tmp();
    let o = bin()
        .current_dir(d.path())
        .args(["lint", "-", "--stdin-filename", "typed.cedar"])
        .write_stdin(BAD)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("typed.cedar:1:71"), "{}", stderr(&o));
    let o = bin()
        .current_dir(d.path())
        .args(["lint", "-"])
        .write_stdin(GOOD)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn json_payload_positions_map_through_escapes() {
    let d = tmp();
    let payload = "{\n  \"name\": \"x\",\n  \"policies\": [\n    { \"body\": \"forbid (principal,\\n  action == ResourcePolicy::Action::\\\"cluster.modify\\\",\\n  resource) when { context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\\\"aws222\\\") };\" }\n  ]\n}\n";
    write(d.path(), "req.json", payload);
    let o = run(d.path(), &["lint", "--format", "json", "req.json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let diag = &v["diagnostics"][0];
    assert_eq!(diag["code"], "AC300");
    // The id literal `\"aws222\"` sits on line 4 of the JSON file.
    assert_eq!(diag["line"], 4);
    let col = diag["column"].as_u64().unwrap() as usize;
    let line4 = payload.lines().nth(3).unwrap();
    assert!(
        line4[col - 1..].starts_with("\\\"aws222\\\""),
        "column {col} in {line4}"
    );
}

#[test]
fn globs_select_files() {
    let d = tmp();
    write(d.path(), "a/x.cedar", BAD);
    write(d.path(), "a/b/y.cedar", GOOD);
    let o = run(d.path(), &["lint", "a/**/y.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 file"));
    let o = run(d.path(), &["lint", "nothing/*.cedar"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no file matches"), "{}", stderr(&o));
}

#[test]
fn robustness_bad_files_are_reported_and_others_still_checked() {
    let d = tmp();
    write(d.path(), "p/good.cedar", GOOD);
    write(d.path(), "p/bad.cedar", BAD);
    std::fs::write(
        d.path().join("p/latin1.cedar"),
        b"// caf\xe9\nforbid (principal, action, resource);\n",
    )
    .unwrap();
    // 100,000 nested parentheses.
    write(
        d.path(),
        "p/deep.cedar",
        &format!(
            "forbid (principal, action, resource) when {{ {}1{} > 0 }};",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("missing-target.cedar", d.path().join("p/dangling.cedar"))
            .unwrap();
        std::fs::create_dir_all(d.path().join("p/loop")).unwrap();
        std::os::unix::fs::symlink("..", d.path().join("p/loop/up")).unwrap();
    }
    // A size limit high enough that the nesting guard, not the size check, answers.
    let o = run(
        d.path(),
        &[
            "lint",
            "--format",
            "json",
            "--max-body-size",
            "100000000",
            "p",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "I/O failures exit 2: {}",
        stderr(&o)
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let by_code = |code: &str| -> Vec<String> {
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"] == code)
            .map(|d| {
                format!(
                    "{}:{}:{} {}",
                    d["file"].as_str().unwrap(),
                    d["line"],
                    d["column"],
                    d["message"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        by_code("AC101"),
        vec!["p/bad.cedar:1:71 unexpected token `resource`"]
    );
    assert_eq!(
        by_code("AC901"),
        vec!["p/latin1.cedar:1:7 invalid UTF-8 at byte 6"]
    );
    assert_eq!(by_code("AC102").len(), 1);
    assert!(
        by_code("AC102")[0].starts_with("p/deep.cedar:1:"),
        "{:?}",
        by_code("AC102")
    );
    #[cfg(unix)]
    {
        let io = by_code("AC900");
        assert!(
            io.iter()
                .any(|m| m.contains("dangling.cedar") && m.contains("no such file")),
            "{io:?}"
        );
        assert!(
            io.iter().any(|m| m.contains("symbolic link loop")),
            "{io:?}"
        );
    }
    // The good file was checked and is clean.
    assert!(v["summary"]["files"].as_u64().unwrap() >= 4);
}

#[test]
fn a_fifty_megabyte_file_is_checked() {
    let d = tmp();
    let filler = format!("// {}\n", "x".repeat(1000));
    let mut text = String::with_capacity(51 * 1024 * 1024);
    text.push_str(BAD);
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(&filler);
    }
    text.push_str(GOOD);
    write(d.path(), "big.cedar", &text);
    let o = run(d.path(), &["lint", "--format", "json", "big.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["summary"]["policies"], 2);
    assert_eq!(v["diagnostics"][0]["code"], "AC101");
}

#[test]
fn config_file_sets_severities_size_and_schema_additions() {
    let d = tmp();
    write(d.path(), "p/lockout.cedar", WARN_ONLY);
    write(
        d.path(),
        "p/new.cedar",
        "forbid (principal, action == ResourcePolicy::Action::\"cluster.pause\", resource);\n",
    );
    // Without config: the unknown action is an error.
    let o = run(d.path(), &["lint", "p/new.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("AC400"));
    write(
        d.path(),
        "extra.cedarschema",
        "namespace ResourcePolicy {\n  action \"cluster.pause\" appliesTo { principal: [User], resource: [Cluster], context: {} };\n}\n",
    );
    write(
        d.path(),
        "atlas-cedar.toml",
        "[lint]\nschema = \"extra.cedarschema\"\ndeny-warnings = true\n[lint.rules]\nunconditional-forbid = \"off\"\n",
    );
    let o = run(&d.path().join("p"), &["lint", "."]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A typo in the config is a usage error with its position.
    write(d.path(), "atlas-cedar.toml", "[lint]\nmax-body-sise = 3\n");
    let o = run(d.path(), &["lint", "p"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("atlas-cedar.toml:2:1"),
        "{}",
        stderr(&o)
    );
    // --schema on the command line, and --max-body-size.
    let o = run(
        d.path(),
        &[
            "lint",
            "--no-config",
            "--schema",
            "extra.cedarschema",
            "--max-body-size",
            "20",
            "p/new.cedar",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("AC103"), "{}", stderr(&o));
}

#[test]
fn fmt_formats_checks_and_leaves_broken_files_alone() {
    let d = tmp();
    let ugly = "// keep me\nforbid(principal,action==ResourcePolicy::Action::\"cluster.modify\",resource)when{context.project.clustersInProject>2};\n";
    let p = write(d.path(), "u.cedar", ugly);
    let o = run(d.path(), &["fmt", "--check", "u.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("would reformat u.cedar"));
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        ugly,
        "--check never writes"
    );
    let o = run(d.path(), &["fmt", "u.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let once = std::fs::read_to_string(&p).unwrap();
    assert!(
        once.starts_with("// keep me\nforbid (\n  principal,\n"),
        "{once}"
    );
    let o = run(d.path(), &["fmt", "--check", "u.cedar"]);
    assert_eq!(o.status.code(), Some(0), "idempotent");
    let b = write(d.path(), "b.cedar", BAD);
    let o = run(d.path(), &["fmt", "b.cedar"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("b.cedar:1:71: syntax error, file left unchanged"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&b).unwrap(), BAD);
}

#[test]
fn explain_prints_rule_docs() {
    let o = bin().args(["explain", "AC300"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("AC300 unknown-entity-id"));
    assert!(out.contains("POLICY_HAS_UNEXPECTED_ENTITIES"));
    assert!(out.contains("Fix:"));
    let o = bin().args(["explain", "body-too-large"]).output().unwrap();
    assert!(stdout(&o).contains("assumption"));
    let o = bin().args(["explain", "AC999"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = bin().args(["explain", "--list"]).output().unwrap();
    assert!(stdout(&o).lines().count() >= 25);
}

#[test]
fn closed_stdout_pipe_exits_quietly() {
    let d = tmp();
    for i in 0..50 {
        write(d.path(), &format!("p/{i}.cedar"), BAD);
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("atlas-cedar"))
        .current_dir(d.path())
        .args(["lint", "--format", "github", "p"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn gitlab_format_is_a_code_quality_report() {
    let d = tmp();
    write(d.path(), "bad.cedar", BAD);
    let o = run(d.path(), &["lint", "--format", "gitlab", "bad.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let issue = &v[0];
    assert_eq!(issue["check_name"], "AC101(syntax-error)");
    assert_eq!(issue["severity"], "major");
    assert_eq!(issue["location"]["path"], "bad.cedar");
    assert_eq!(issue["location"]["lines"]["begin"], 1);
    assert_eq!(issue["fingerprint"].as_str().unwrap().len(), 16);
}

#[test]
fn excluded_paths_are_skipped() {
    let d = tmp();
    write(d.path(), "p/ok.cedar", GOOD);
    write(d.path(), "p/drafts/wip.cedar", BAD);
    write(
        d.path(),
        "atlas-cedar.toml",
        "[lint]\nexclude = [\"p/drafts\"]\n",
    );
    let o = run(d.path(), &["lint", "p"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 file"), "{}", stderr(&o));
}

/// docs/rules.md and docs/cli.md are generated from the code; regenerate them with
/// `cargo run -- docs rules > docs/rules.md` and `cargo run -- docs cli > docs/cli.md`.
#[test]
fn generated_docs_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (which, file) in [("rules", "docs/rules.md"), ("cli", "docs/cli.md")] {
        let o = bin().args(["docs", which]).output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        let checked_in = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        assert!(
            stdout(&o) == checked_in,
            "{file} is out of date: run `cargo run -- docs {which} > {file}`"
        );
    }
}

/// `diff REV:PATH NEW` compares a git revision with the work tree.
#[test]
fn diff_takes_git_revisions() {
    let d = tmp();
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .current_dir(d.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "t@example.com"]);
    git(&["config", "user.name", "t"]);
    write(d.path(), "p/providers.cedar", GOOD);
    git(&["add", "."]);
    git(&["commit", "-qm", "one"]);
    // Reformatting only: cosmetic, exit 0.
    write(
        d.path(),
        "p/providers.cedar",
        &GOOD.replace("unless {", "unless\n{"),
    );
    let o = run(d.path(), &["diff", "HEAD:p", "p"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // Allowing GCP too changes behaviour: exit 1, with an example request.
    write(
        d.path(),
        "p/providers.cedar",
        &GOOD.replace(
            "[ResourcePolicy::CloudProvider::\"aws\"]",
            "[ResourcePolicy::CloudProvider::\"aws\", ResourcePolicy::CloudProvider::\"gcp\"]",
        ),
    );
    let o = run(
        d.path(),
        &["diff", "HEAD:p/providers.cedar", "p/providers.cedar"],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("gcp"), "{}", stdout(&o));
    let o = run(d.path(), &["diff", "HEAD:nothing", "p"]);
    assert_eq!(o.status.code(), Some(2));
}

/// When the config is also a plan/push manifest, lint checks its sections the
/// way plan does before any request (AC905 at the entry's line), so a
/// pre-commit hook catches a manifest mistake without Atlas credentials.
#[test]
fn a_manifest_section_plan_would_refuse_is_an_error_at_its_line() {
    let d = tmp();
    write(d.path(), "a.cedar", GOOD);
    let header =
        "[lint]\ndeny-warnings = false\n\n[project]\nid = \"5f0000000000000000000000\"\n\n";
    let good = format!(
        "{header}[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"db\"\ncollection = \"c\"\nname = \"default\"\ndefinition = {{ mappings = {{ dynamic = true }} }}\n"
    );
    write(d.path(), "atlas-cedar.toml", &good);
    let o = run(d.path(), &["lint", "a.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // The same entry without its definition, and a misspelt section.
    write(
        d.path(),
        "atlas-cedar.toml",
        &good.replace("definition = { mappings = { dynamic = true } }\n", ""),
    );
    let o = run(d.path(), &["lint", "a.cedar", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let found = v.to_string();
    assert!(found.contains("AC905"), "{found}");
    assert!(found.contains("missing the definition"), "{found}");
    let o = run(d.path(), &["lint", "a.cedar"]);
    let err = stderr(&o);
    assert!(err.contains("atlas-cedar.toml:7:"), "{err}");
    write(
        d.path(),
        "atlas-cedar.toml",
        &good.replace("[[search_index]]", "[[serach_index]]"),
    );
    let o = run(d.path(), &["lint", "a.cedar"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown section `serach_index` (did you mean `search_index`?)"),
        "{}",
        stderr(&o)
    );
    // No project anywhere: plan takes it from MONGODB_ATLAS_PROJECT_ID, which a
    // pre-commit hook may not have; not a finding.
    write(
        d.path(),
        "atlas-cedar.toml",
        &good.replace("[project]\nid = \"5f0000000000000000000000\"\n", ""),
    );
    let o = bin()
        .current_dir(d.path())
        .env_remove("MONGODB_ATLAS_PROJECT_ID")
        .args(["lint", "a.cedar"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A config with `[lint]` only is not a manifest: nothing more is checked.
    write(
        d.path(),
        "atlas-cedar.toml",
        "[lint]\ndeny-warnings = false\n",
    );
    let o = run(d.path(), &["lint", "a.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
