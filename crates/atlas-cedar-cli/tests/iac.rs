//! `lint` on policies embedded in Terraform and CloudFormation files: the real binary
//! on files in a temporary folder, positions asserted in the host file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_atlas-cedar");

fn lint(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `(code, line, column)` of every finding of `file` in `--format json` output.
fn findings(v: &serde_json::Value, file: &str) -> Vec<(String, u64, u64)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"] == file)
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect()
}

const TF: &str = r#"resource "mongodbatlas_resource_policy" "regions" {
  org_id = var.org_id
  name   = "allowed-regions"
  policies = [
    {
      body = <<-EOF
        forbid (
          principal,
          action == ResourcePolicy::Action::"cluster.modify",
          resource
        )
        unless { context.cluster.regions.containsAll([ResourcePolicy::Region::"aws:us-east-9"]) };
      EOF
    },
    {
      body = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\n  when { context.cluster.regions.contains(ResourcePolicy::Region::\"aws:eu-west-9\") };"
    },
    { body = file("${path.module}/policies/two.cedar") },
    { body = "forbid (principal, action, resource) when { ${var.cond} };" },
  ]
}
"#;

fn tf_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), TF).unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    std::fs::write(
        dir.path().join("policies/two.cedar"),
        "forbid (principal, action == ResourcePolicy::Action::\"project.ipAccessList.modify\", resource);\nforbid (principal, action == ResourcePolicy::Action::\"project.vpcPeering.modify\", resource);\n",
    )
    .unwrap();
    dir
}

#[test]
fn terraform_heredoc_and_quoted_bodies_report_at_the_tf_position() {
    let dir = tf_dir();
    let out = lint(dir.path(), &["main.tf", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let tf = findings(&v, "main.tf");
    // The heredoc's region: line 12, after the stripped indentation (column of the
    // opening quote of "aws:us-east-9" in the .tf file).
    let line12 = TF.lines().nth(11).unwrap();
    let col = line12.find("\"aws:us-east-9\"").unwrap() as u64 + 1;
    assert!(
        tf.contains(&("AC300".to_owned(), 12, col)),
        "{tf:?} (wanted AC300 at 12:{col})"
    );
    // The quoted string's region, through its `\"` and `\n` escapes: line 16.
    let line16 = TF.lines().nth(15).unwrap();
    let col16 = line16.find("\\\"aws:eu-west-9\\\"").unwrap() as u64 + 1;
    assert!(
        tf.contains(&("AC300".to_owned(), 16, col16)),
        "{tf:?} (wanted AC300 at 16:{col16})"
    );
    // `\"` inside a Terraform string is not a pasted-JSON mistake.
    assert!(!tf.iter().any(|f| f.0 == "AC503"), "{tf:?}");
    // The interpolated body is a note, the file() call another.
    let col19 = TF.lines().nth(18).unwrap().find("${var.cond}").unwrap() as u64 + 1;
    assert!(tf.contains(&("AC507".to_owned(), 19, col19)), "{tf:?}");
    assert!(tf.iter().any(|f| f.0 == "AC508" && f.1 == 18), "{tf:?}");
    // The file read with file() is one body: two policies in it are AC203.
    let two = findings(&v, "policies/two.cedar");
    assert!(two.iter().any(|f| f.0 == "AC203"), "{two:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "this file is the body of `mongodbatlas_resource_policy.regions` (main.tf:18)"
        ),
        "{text}"
    );

    // Human output: the did-you-mean at the .tf line and column.
    let out = lint(dir.path(), &["main.tf"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("main.tf:12:{col}")), "{err}");
    assert!(err.contains("aws:us-east-1"), "did-you-mean missing: {err}");
}

#[test]
fn every_format_works_on_terraform() {
    let dir = tf_dir();
    for format in ["sarif", "github", "gitlab", "atlas", "json"] {
        let out = lint(dir.path(), &["main.tf", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            format == "atlas" || text.contains("main.tf"),
            "{format}: {text}"
        );
        match format {
            "github" => assert!(text.contains("::error file=main.tf,line=12"), "{text}"),
            "atlas" => {
                assert!(text.contains("POLICY_HAS_UNEXPECTED_ENTITIES"), "{text}");
                // The echoed body is the decoded heredoc, indentation stripped.
                assert!(
                    text.contains("\"body\":\"forbid (\\n  principal,"),
                    "{text}"
                );
            }
            "sarif" => {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let results = v["runs"][0]["results"].as_array().unwrap();
                assert!(results.iter().any(|r| r["ruleId"] == "AC300"
                    && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 12));
                assert!(results
                    .iter()
                    .any(|r| r["ruleId"] == "AC507" && r["level"] == "note"));
            }
            _ => {}
        }
    }
}

#[test]
fn valid_indented_heredoc_lints_clean_and_notes_never_fail() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ok.tf"),
        r#"resource "mongodbatlas_resource_policy" "ok" {
  org_id = var.org_id
  name   = "ok"
  policies = [
    {
      body = <<-EOF
        forbid (
          principal,
          action == ResourcePolicy::Action::"cluster.modify",
          resource
        )
        unless { context.cluster.regions.containsAll([ResourcePolicy::Region::"aws:us-east-1"]) };
      EOF
    },
    { body = templatefile("${path.module}/x.tpl", { A = 1 }) },
  ]
}
"#,
    )
    .unwrap();
    let out = lint(dir.path(), &["ok.tf", "--deny-warnings"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("checked 1 policy in 1 file: no problems"),
        "{err}"
    );
    assert!(err.contains("AC507"), "the note is shown: {err}");
}

/// MongoDB's Terraform organization module's freeze policies
/// (`modules/resource_policy/main.tf`, `restrict_*_mods`).
#[test]
fn the_org_modules_freeze_bodies_lint_clean_with_deny_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let mut tf = String::new();
    for (name, action) in [
        (
            "restrict_private_endpoint_mods",
            "project.privateEndpoint.modify",
        ),
        ("restrict_vpc_peering_mods", "project.vpcPeering.modify"),
        (
            "restrict_ip_access_list_mods",
            "project.ipAccessList.modify",
        ),
    ] {
        tf.push_str(&format!(
            r#"resource "mongodbatlas_resource_policy" "{name}" {{
  count = var.{name} ? 1 : 0

  org_id = var.org_id
  name   = "{}"

  policies = [
    {{
      body = <<-EOF
        forbid (
          principal,
          action == ResourcePolicy::Action::"{action}",
          resource
        );
      EOF
    }}
  ]
}}

"#,
            name.replace('_', "-")
        ));
    }
    std::fs::write(dir.path().join("main.tf"), &tf).unwrap();
    let out = lint(dir.path(), &["main.tf", "--deny-warnings"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("checked 3 policies in 1 file: no problems"),
        "{err}"
    );

    // A real lockout still warns.
    std::fs::write(
        dir.path().join("main.tf"),
        tf.replacen("project.privateEndpoint.modify", "cluster.modify", 1),
    )
    .unwrap();
    let out = lint(
        dir.path(),
        &["main.tf", "--deny-warnings", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(findings(&json(&out), "main.tf")[0].0, "AC502");
}

#[test]
fn directories_include_tf_files_only_when_configured() {
    let dir = tf_dir();
    let out = lint(dir.path(), &[".", "--format", "json"]);
    let v = json(&out);
    assert!(findings(&v, "main.tf").is_empty());
    std::fs::write(
        dir.path().join("atlas-cedar.toml"),
        "[lint]\nterraform = true\n",
    )
    .unwrap();
    let out = lint(dir.path(), &[".", "--format", "json"]);
    let v = json(&out);
    assert!(
        findings(&v, "main.tf").iter().any(|f| f.0 == "AC300"),
        "{v}"
    );
    // The .cedar file Terraform reads is checked once, as the one body it is.
    let two = findings(&v, "policies/two.cedar");
    assert_eq!(two.iter().filter(|f| f.0 == "AC203").count(), 1, "{v}");
}

#[test]
fn terraform_syntax_errors_are_reported_with_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.tf"),
        "resource \"x\" \"y\" {\n  a = \n",
    )
    .unwrap();
    let out = lint(dir.path(), &["bad.tf", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&json(&out), "bad.tf");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, "AC904");
}

const CFN_YAML: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Regions:
    Type: MongoDB::Atlas::ResourcePolicy
    Properties:
      OrgId: !Ref OrgId
      Name: allowed-regions
      Policies:
        - Body: |
            forbid (
              principal,
              action == ResourcePolicy::Action::"cluster.modify",
              resource
            )
            unless { context.cluster.regions.containsAll([ResourcePolicy::Region::"aws:us-east-9"]) };
        - Body: !Sub "forbid (principal, action, resource) when { ${Cond} };"
"#;

const CFN_JSON: &str = r#"{
  "Resources": {
    "Regions": {
      "Type": "MongoDB::Atlas::ResourcePolicy",
      "Properties": {
        "Policies": [
          { "Body": "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nunless { context.cluster.regions.containsAll([ResourcePolicy::Region::\"aws:us-east-9\"]) };" }
        ]
      }
    }
  }
}
"#;

#[test]
fn cloudformation_yaml_and_json_report_at_the_template_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), CFN_YAML).unwrap();
    let out = lint(dir.path(), &["stack.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&json(&out), "stack.yaml");
    let line15 = CFN_YAML.lines().nth(14).unwrap();
    let col = line15.find("\"aws:us-east-9\"").unwrap() as u64 + 1;
    assert!(
        f.contains(&("AC300".to_owned(), 15, col)),
        "{f:?} wanted 15:{col}"
    );
    assert!(f.iter().any(|x| x.0 == "AC507" && x.1 == 16), "{f:?}");

    let json_tpl = CFN_JSON;
    std::fs::write(dir.path().join("stack.json"), json_tpl).unwrap();
    let out = lint(dir.path(), &["stack.json", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let f = findings(&json(&out), "stack.json");
    let line7 = json_tpl.lines().nth(6).unwrap();
    let col = line7.find("\\\"aws:us-east-9\\\"").unwrap() as u64 + 1;
    assert!(
        f.contains(&("AC300".to_owned(), 7, col)),
        "{f:?} wanted 7:{col}"
    );

    // Valid bodies lint clean; a directory picks templates up when configured.
    std::fs::write(
        dir.path().join("stack.yaml"),
        CFN_YAML.replace("us-east-9", "us-east-1"),
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("stack.json")).unwrap();
    std::fs::write(dir.path().join("other.yaml"), "a: 1\n").unwrap();
    std::fs::write(
        dir.path().join("atlas-cedar.toml"),
        "[lint]\ncloudformation = true\n",
    )
    .unwrap();
    let out = lint(dir.path(), &[".", "--deny-warnings"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("checked 1 policy in 1 file: no problems"),
        "{err}"
    );
}

/// Every output format on a CloudFormation template, YAML and JSON: each reports the
/// bad region in the template's own file, at its line (and column, where the format
/// has columns: GitLab Code Quality has lines only, `--format atlas` is Atlas's own
/// answer, which names the file and echoes the decoded body).
#[test]
fn every_format_works_on_cloudformation() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), CFN_YAML).unwrap();
    std::fs::write(dir.path().join("stack.json"), CFN_JSON).unwrap();
    let yaml_line = CFN_YAML.lines().nth(14).unwrap();
    let json_line = CFN_JSON.lines().nth(6).unwrap();
    for (file, line, col) in [
        (
            "stack.yaml",
            15,
            yaml_line.find("\"aws:us-east-9\"").unwrap() as u64 + 1,
        ),
        (
            "stack.json",
            7,
            json_line.find("\\\"aws:us-east-9\\\"").unwrap() as u64 + 1,
        ),
    ] {
        for format in ["human", "json", "sarif", "github", "gitlab", "atlas"] {
            let out = lint(dir.path(), &[file, "--format", format]);
            assert_eq!(out.status.code(), Some(1), "{file} {format}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let ctx = format!("{file} --format {format}:\n{stdout}\n{stderr}");
            match format {
                "human" => {
                    assert!(stderr.contains(&format!("{file}:{line}:{col}")), "{ctx}");
                    assert!(stderr.contains("did you mean `aws:us-east-1`"), "{ctx}");
                }
                "json" => {
                    let f = findings(&json(&out), file);
                    assert!(f.contains(&("AC300".to_owned(), line, col)), "{ctx}");
                }
                "sarif" => {
                    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    let results = v["runs"][0]["results"].as_array().unwrap();
                    let r = results
                        .iter()
                        .find(|r| r["ruleId"] == "AC300")
                        .unwrap_or_else(|| panic!("{ctx}"));
                    let loc = &r["locations"][0]["physicalLocation"];
                    assert_eq!(loc["artifactLocation"]["uri"], file, "{ctx}");
                    assert_eq!(loc["region"]["startLine"], line, "{ctx}");
                    assert_eq!(loc["region"]["startColumn"], col, "{ctx}");
                }
                "github" => assert!(
                    stdout.contains(&format!("::error file={file},line={line},col={col},")),
                    "{ctx}"
                ),
                "gitlab" => {
                    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    let issues = v.as_array().unwrap();
                    assert!(
                        issues.iter().any(|i| i["check_name"]
                            .as_str()
                            .is_some_and(|c| c.starts_with("AC300"))
                            && i["location"]["path"] == file
                            && i["location"]["lines"]["begin"] == line),
                        "{ctx}"
                    );
                }
                "atlas" => {
                    assert!(
                        stderr.contains(&format!(
                            "{file}: Atlas would answer 400 POLICY_HAS_UNEXPECTED_ENTITIES"
                        )),
                        "{ctx}"
                    );
                    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    assert_eq!(v["errorType"], "POLICY_HAS_UNEXPECTED_ENTITIES", "{ctx}");
                    // The body Atlas would receive: decoded from the template.
                    let body = v["invalidPolicies"][0]["body"].as_str().unwrap();
                    assert!(
                        body.starts_with("forbid (")
                            && body.contains("ResourcePolicy::Region::\"aws:us-east-9\"")
                            && !body.contains('\\'),
                        "{ctx}"
                    );
                }
                _ => unreachable!(),
            }
        }
    }
}
