//! End to end: `atlas-cedar import` with the real binary against the
//! in-process emulator. The org is seeded by `push` from another folder.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use atlas_cedar_emulator::{EmulatorHandle, DEFAULT_ORG_ID};

mod common;

use common::{emulator, stdout, text, write, Env};

const P1: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };";
const P2: &str = "@id(\"no-open-ip\")\nforbid (principal, action == ResourcePolicy::Action::\"project.ipAccessList.modify\", resource)\nwhen { context.project.ipAccessList.contains(ip(\"0.0.0.0/0\")) };";
const P3: &str =
    "forbid (principal, action == ResourcePolicy::Action::\"project.vpcPeering.modify\", resource);";

/// Pushes three policies (one with two bodies and a description, two with
/// names that are not file names) from a folder outside the work folder.
fn seed(env: &Env, emu: &EmulatorHandle) {
    let seed = env.home.path().join("seed");
    write(&seed, "a.cedar", &format!("{P1}\n\n{P2}\n"));
    write(&seed, "b.cedar", &format!("{P3}\n"));
    write(
        &seed,
        "atlas-cedar.toml",
        "[[resource_policy]]\nname = \"guard rails\"\ndescription = \"Two \\\"bodies\\\"\"\nfiles = [\"a.cedar\"]\n\n\
         [[resource_policy]]\nname = \"../../etc/passwd\"\nfiles = [\"b.cedar\"]\n\n\
         [[resource_policy]]\nname = \"Guard-Rails\"\nfiles = [\"b.cedar\"]\n",
    );
    let o = env.run(emu, &["push", seed.to_str().unwrap(), "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(emu.policies(DEFAULT_ORG_ID).len(), 3);
}

fn files_of(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn import_then_plan_shows_no_change() {
    let env = Env::new();
    let emu = emulator();
    seed(&env, &emu);
    let out = env.work().join("imported");
    emu.clear_requests();
    let o = env.run(&emu, &["import", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("Imported 3 resource policies"),
        "{}",
        text(&o)
    );
    // one list request, nothing written to Atlas
    let reqs = emu.requests();
    let api: Vec<_> = reqs.iter().filter(|r| r.is_authenticated_api()).collect();
    assert_eq!(api.len(), 1, "{api:?}");
    assert_eq!(api[0].method, "GET");
    assert!(
        api[0].path.ends_with("/resourcePolicies"),
        "{}",
        api[0].path
    );
    // safe, distinct names; nothing outside the folder
    assert_eq!(
        files_of(&out),
        [
            "Guard-Rails.cedar",
            "atlas-cedar.toml",
            "etc-passwd.cedar",
            "guard-rails-2.cedar"
        ]
    );
    assert!(!env.home.path().join("etc").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("guard-rails-2.cedar")).unwrap(),
        format!("{P1}\n\n{P2}\n")
    );
    let manifest = std::fs::read_to_string(out.join("atlas-cedar.toml")).unwrap();
    assert!(
        manifest.contains("name = \"../../etc/passwd\"\nfiles = [\"etc-passwd.cedar\"]"),
        "{manifest}"
    );
    assert!(
        manifest.contains("description = 'Two \"bodies\"'")
            || manifest.contains("description = \"Two \\\"bodies\\\"\""),
        "{manifest}"
    );
    let o = env.run(
        &emu,
        &[
            "plan",
            out.to_str().unwrap(),
            "--prune",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn import_appends_to_an_existing_manifest_keeping_the_users_text() {
    let env = Env::new();
    let emu = emulator();
    seed(&env, &emu);
    let user = "# my settings\n[lint]\ndeny-warnings = false\n";
    write(&env.work(), "atlas-cedar.toml", user);
    let o = env.run(&emu, &["import"]);
    assert!(o.status.success(), "{}", text(&o));
    let manifest = std::fs::read_to_string(env.work().join("atlas-cedar.toml")).unwrap();
    assert!(manifest.starts_with(user), "{manifest}");
    assert_eq!(
        manifest.matches("[[resource_policy]]").count(),
        3,
        "{manifest}"
    );
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn import_refuses_to_overwrite_without_force() {
    let env = Env::new();
    let emu = emulator();
    seed(&env, &emu);
    write(&env.work(), "etc-passwd.cedar", "// mine\n");
    let o = env.run(&emu, &["import"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("etc-passwd.cedar") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(files_of(&env.work()), ["etc-passwd.cedar"]);
    assert_eq!(
        std::fs::read_to_string(env.work().join("etc-passwd.cedar")).unwrap(),
        "// mine\n"
    );
    let o = env.run(&emu, &["import", "--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(env.work().join("etc-passwd.cedar")).unwrap(),
        format!("{P3}\n")
    );
    // a second import with --force keeps one entry per policy
    let o = env.run(&emu, &["import", "--force"]);
    assert!(o.status.success(), "{}", text(&o));
    let manifest = std::fs::read_to_string(env.work().join("atlas-cedar.toml")).unwrap();
    assert_eq!(
        manifest.matches("[[resource_policy]]").count(),
        3,
        "{manifest}"
    );
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn import_dry_run_writes_nothing() {
    let env = Env::new();
    let emu = emulator();
    seed(&env, &emu);
    let o = env.run(&emu, &["import", "out", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    let s = stdout(&o);
    // Of the two names that differ only in case, `Guard-Rails` is already a
    // safe file name and keeps it, whatever order Atlas lists them in.
    assert!(s.contains("would write out/Guard-Rails.cedar"), "{s}");
    assert!(s.contains("would write out/guard-rails-2.cedar"), "{s}");
    assert!(
        s.contains("would write out/atlas-cedar.toml (manifest)"),
        "{s}"
    );
    assert!(
        files_of(&env.work()).is_empty(),
        "{:?}",
        files_of(&env.work())
    );
}

#[test]
fn import_terraform_writes_each_body_in_a_heredoc() {
    let env = Env::new();
    let emu = emulator();
    seed(&env, &emu);
    let o = env.run(&emu, &["import", "--terraform"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        files_of(&env.work()),
        ["Guard-Rails.tf", "etc-passwd.tf", "guard-rails-2.tf"]
    );
    let tf = std::fs::read_to_string(env.work().join("guard-rails-2.tf")).unwrap();
    assert!(
        tf.starts_with("resource \"mongodbatlas_resource_policy\" \"guard_rails_2\" {\n"),
        "{tf}"
    );
    assert!(
        tf.contains(&format!("  org_id = \"{DEFAULT_ORG_ID}\"\n")),
        "{tf}"
    );
    assert!(tf.contains("  name   = \"guard rails\"\n"), "{tf}");
    assert!(
        tf.contains("  description = \"Two \\\"bodies\\\"\"\n"),
        "{tf}"
    );
    // The bodies have no final newline: `chomp` drops the one a heredoc adds,
    // so Terraform sends them byte for byte.
    assert!(
        tf.contains(&format!("body = chomp(<<EOT\n{P1}\nEOT\n      )")),
        "{tf}"
    );
    assert!(
        tf.contains(&format!("body = chomp(<<EOT\n{P2}\nEOT\n      )")),
        "{tf}"
    );
    // `lint` reads them back (every body checked, none "computed").
    let o = env.run_offline(&["lint", "guard-rails-2.tf", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(!out.contains("cannot check"), "{out}");
    let tf = std::fs::read_to_string(env.work().join("etc-passwd.tf")).unwrap();
    assert!(tf.contains("\"etc_passwd\""), "{tf}");
    assert!(tf.contains("  name   = \"../../etc/passwd\"\n"), "{tf}");
    assert!(!env.work().join("atlas-cedar.toml").exists());
}

/// A body a `.cedar` file cannot hold byte for byte (a leading comment):
/// pushed from a JSON payload file, imported back as one, and then plan
/// shows no change.
#[test]
fn a_body_with_a_leading_comment_round_trips_through_a_json_payload() {
    let env = Env::new();
    let emu = emulator();
    let body = format!("// why: no peering\n{P3}");
    let seed = env.home.path().join("seed");
    let payload = serde_json::json!({ "name": "commented", "policies": [{ "body": body }] });
    write(&seed, "commented.json", &payload.to_string());
    write(
        &seed,
        "atlas-cedar.toml",
        "[[resource_policy]]\nname = \"commented\"\nfiles = [\"commented.json\"]\n",
    );
    let o = env.run(&emu, &["push", seed.to_str().unwrap(), "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let stored = emu.policies(DEFAULT_ORG_ID);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].policies.len(), 1);
    assert_eq!(stored[0].policies[0].body, body, "pushed byte for byte");

    let out = env.work().join("imported");
    let o = env.run(&emu, &["import", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(files_of(&out), ["atlas-cedar.toml", "commented.json"]);
    let manifest = std::fs::read_to_string(out.join("atlas-cedar.toml")).unwrap();
    assert!(
        manifest.contains("files = [\"commented.json\"]"),
        "{manifest}"
    );
    // lint reads the payload, and the plan shows no change.
    let o = env.run_offline(&["lint", out.join("commented.json").to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = env.run(
        &emu,
        &[
            "plan",
            out.to_str().unwrap(),
            "--prune",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
