//! End to end, the real binary against the emulator: snapshot export buckets
//! (`[[export_bucket]]`), data-federation private endpoints
//! (`[[federation_endpoint]]`) and organization API keys that must not exist
//! (`[[absent_api_key]]`), with their direct commands. Lifecycles with
//! fixed starting states are cases of `tests/cases.rs` (`export-bucket-*`,
//! `federation-endpoint-upsert-prune`, `absent-api-key`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Output;

use atlas_cedar_emulator::{EmulatorHandle, FaultKind, FaultRule, LoggedRequest, DEFAULT_ORG_ID};
use common::*;
use serde_json::{json, Value};

const P: &str = "5f1111111111111111111111";
const R1: &str = "668c5f0ed436263134491592";
const R2: &str = "668c5f0ed436263134491593";
const R3: &str = "668c5f0ed436263134491594";
const R4: &str = "668c5f0ed436263134491595";

impl Env {
    fn manifest(&self, text: &str) {
        write(&self.work(), "atlas-cedar.toml", text);
    }
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    text(o)
}

fn writes(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter()
        .filter(|r| r.is_write() && r.status != 401)
        .collect()
}

/// `METHOD path` of each write, in order.
fn write_lines(emu: &EmulatorHandle) -> Vec<String> {
    writes(&emu.requests())
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn api_gets(emu: &EmulatorHandle, path_suffix: &str) -> Vec<LoggedRequest> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.status != 401 && r.path.ends_with(path_suffix))
        .collect()
}

fn buckets(emu: &EmulatorHandle) -> Vec<Value> {
    emu.resources(&format!("exportBuckets/{P}"))
}

fn bucket<'a>(all: &'a [Value], name: &str) -> &'a Value {
    all.iter()
        .find(|b| b["bucketName"] == name)
        .unwrap_or_else(|| panic!("no bucket {name} in {all:?}"))
}

/// The output of a run, normalised for a snapshot (the ids of this file's
/// constants are kept).
fn snap(o: &Output, emu: &EmulatorHandle, env: &Env) -> String {
    snapshot_text(
        o,
        emu,
        env,
        &format!("{P} {R1} {R2} {R3} {R4} {K1} {K2} {K3} {K4}"),
    )
}

fn bucket_manifest(gcp_role: &str, aws_private: Option<bool>, with_azure: bool) -> String {
    let mut m = format!("[project]\nid = \"{P}\"\n\n");
    m.push_str(&format!(
        "[[export_bucket]]\nprovider = \"AWS\"\nbucket_name = \"exports-aws\"\niam_role_id = \"{R1}\"\n"
    ));
    if let Some(v) = aws_private {
        m.push_str(&format!("require_private_networking = {v}\n"));
    }
    if with_azure {
        m.push_str(&format!(
            "\n[[export_bucket]]\nprovider = \"AZURE\"\nbucket_name = \"examplecontainer\"\nrole_id = \"{R2}\"\n\
             service_url = \"https://examplestorageaccount.blob.core.windows.net/examplecontainer\"\n"
        ));
    }
    m.push_str(&format!(
        "\n[[export_bucket]]\nprovider = \"GCP\"\nbucket_name = \"exports-gcp\"\nrole_id = \"{gcp_role}\"\n"
    ));
    m
}

#[test]
fn export_buckets_create_noop_update_replace_prune() {
    let emu = emulator();
    let env = Env::new();

    // create: three providers, three POSTs with Atlas's body shapes
    env.manifest(&bucket_manifest(R3, None, true));
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    insta::assert_snapshot!("export_buckets_create_plan", snap(&o, &emu, &env));
    assert!(write_lines(&emu).is_empty());
    ok(&env.run(&emu, &["push"]));
    let base = format!("/api/atlas/v2/groups/{P}/backup/exportBuckets");
    assert_eq!(write_lines(&emu), vec![format!("POST {base}"); 3]);
    let log = emu.requests();
    let posted: Vec<Value> = writes(&log)
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(
        posted[0],
        json!({"cloudProvider": "AWS", "bucketName": "exports-aws", "iamRoleId": R1})
    );
    assert_eq!(
        posted[1],
        json!({"cloudProvider": "AZURE", "bucketName": "examplecontainer", "roleId": R2,
               "serviceUrl": "https://examplestorageaccount.blob.core.windows.net/examplecontainer"})
    );
    let stored = buckets(&emu);
    assert_eq!(stored.len(), 3);
    assert_eq!(
        bucket(&stored, "examplecontainer")["tenantId"]
            .as_str()
            .map(str::len),
        Some(36)
    );

    // a second push sends no write
    emu.clear_requests();
    let o = env.run(&emu, &["push"]);
    ok(&o);
    assert!(write_lines(&emu).is_empty(), "{}", text(&o));
    insta::assert_snapshot!("export_buckets_noop_push", snap(&o, &emu, &env));

    // update: requirePrivateNetworking is PATCHed in place
    env.manifest(&bucket_manifest(R3, Some(true), true));
    let o = env.run(&emu, &["plan"]);
    ok(&o);
    insta::assert_snapshot!("export_buckets_update_plan", snap(&o, &emu, &env));
    emu.clear_requests();
    ok(&env.run(&emu, &["push"]));
    let aws_id = bucket(&buckets(&emu), "exports-aws")["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(write_lines(&emu), vec![format!("PATCH {base}/{aws_id}")]);
    assert_eq!(
        serde_json::from_str::<Value>(&writes(&emu.requests())[0].body).unwrap(),
        json!({"requirePrivateNetworking": true})
    );
    assert_eq!(
        bucket(&buckets(&emu), "exports-aws")["requirePrivateNetworking"],
        true
    );
    emu.clear_requests();
    ok(&env.run(&emu, &["push"]));
    assert!(write_lines(&emu).is_empty());

    // replace: a role cannot change in place, the plan says so; DELETE (version
    // 2023-01-01, the emulator refuses any other) then POST
    env.manifest(&bucket_manifest(R4, Some(true), true));
    let old_gcp = bucket(&buckets(&emu), "exports-gcp")["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = env.run(&emu, &["plan"]);
    ok(&o);
    assert!(
        text(&o).contains(&format!("bucket {old_gcp} is deleted and created again")),
        "{}",
        text(&o)
    );
    insta::assert_snapshot!("export_buckets_replace_plan", snap(&o, &emu, &env));
    let o = env.run(&emu, &["push", "--dry-run"]);
    let dry = ok(&o);
    assert!(
        dry.contains(&format!(
            "would DELETE {base}/{old_gcp}\nwould POST {base}\n"
        )),
        "{dry}"
    );
    insta::assert_snapshot!("export_buckets_replace_dry_run", snap(&o, &emu, &env));
    // A replace deletes the old bucket: without a terminal it needs --yes.
    emu.clear_requests();
    let o = env.run(&emu, &["push"]);
    assert_eq!(o.status.code(), Some(1));
    let refused = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        refused.contains("1 of them replaced: deleted and created again")
            && refused.contains("nothing was changed"),
        "{refused}"
    );
    assert!(write_lines(&emu).is_empty());
    emu.clear_requests();
    ok(&env.run(&emu, &["push", "--yes"]));
    assert_eq!(
        write_lines(&emu),
        vec![format!("DELETE {base}/{old_gcp}"), format!("POST {base}")]
    );
    // The dry run printed exactly what was sent, bodies included.
    assert_eq!(dry_run_requests(&dry), sent_writes(&emu.requests()));
    let gcp = bucket(&buckets(&emu), "exports-gcp").clone();
    assert_eq!(gcp["roleId"], R4);
    assert_ne!(gcp["_id"], old_gcp.as_str());
    emu.clear_requests();
    ok(&env.run(&emu, &["push"]));
    assert!(write_lines(&emu).is_empty());

    // prune: the Azure bucket leaves the manifest
    env.manifest(&bucket_manifest(R4, Some(true), false));
    emu.clear_requests();
    ok(&env.run(&emu, &["push"]));
    assert!(
        write_lines(&emu).is_empty(),
        "without --prune nothing is deleted"
    );
    let o = env.run(&emu, &["push", "--prune"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("Confirm on a terminal or pass --yes"),
        "{}",
        text(&o)
    );
    assert!(write_lines(&emu).is_empty());
    let azure_id = bucket(&buckets(&emu), "examplecontainer")["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = env.run(&emu, &["push", "--prune", "--yes"]);
    ok(&o);
    insta::assert_snapshot!("export_buckets_prune_push", snap(&o, &emu, &env));
    assert_eq!(write_lines(&emu), vec![format!("DELETE {base}/{azure_id}")]);
    assert_eq!(buckets(&emu).len(), 2);
}

#[test]
fn a_lost_create_answer_is_adopted_not_duplicated() {
    let emu = emulator();
    let env = Env::new();
    env.manifest(&format!(
        "[project]\nid = \"{P}\"\n\n[[export_bucket]]\nprovider = \"AWS\"\nbucket_name = \"exports-aws\"\n\
         iam_role_id = \"{R1}\"\nrequire_private_networking = true\n"
    ));
    let mut rule = FaultRule::new(Some("POST"), FaultKind::DropAfterApply, 1);
    rule.path_contains = Some("/backup/exportBuckets".to_owned());
    emu.add_fault(rule);
    let t = ok(&env.run(&emu, &["push"]));
    assert!(t.contains("created (answer lost, adopted)"), "{t}");
    let stored = buckets(&emu);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["requirePrivateNetworking"], true);
    let base = format!("/api/atlas/v2/groups/{P}/backup/exportBuckets");
    let id = stored[0]["_id"].as_str().unwrap();
    assert_eq!(
        write_lines(&emu),
        vec![format!("POST {base}"), format!("PATCH {base}/{id}")]
    );
}

#[test]
fn export_bucket_entries_are_checked_with_their_line() {
    let emu = emulator();
    let env = Env::new();
    env.manifest(&format!(
        "[project]\nid = \"{P}\"\n\n[[export_bucket]]\nprovider = \"AWS\"\nbucket_name = \"ok-name\"\niam_role_id = \"{R1}\"\n\n\
         [[export_bucket]]\nprovider = \"AWS\"\nbucket_name = \"ab\"\niam_role_id = \"{R1}\"\n"
    ));
    let o = env.run(&emu, &["plan"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("atlas-cedar.toml:9: [[export_bucket]] number 2: bucket_name \"ab\" has 2 characters; Atlas takes 3 to 63"),
        "{}",
        text(&o)
    );
    env.manifest(&format!(
        "[project]\nid = \"{P}\"\n\n[[export_bucket]]\nprovider = \"AZURE\"\nbucket_name = \"container\"\nrole_id = \"{R1}\"\n"
    ));
    let o = env.run(&emu, &["plan"]);
    assert!(
        text(&o).contains(
            "atlas-cedar.toml:4: [[export_bucket]] number 1: AZURE buckets need service_url"
        ),
        "{}",
        text(&o)
    );
    assert!(api_gets(&emu, "/exportBuckets").is_empty());
}

#[test]
fn export_buckets_create_command() {
    let emu = emulator();
    let env = Env::new();
    let o = env.run(
        &emu,
        &[
            "export-buckets",
            "create",
            "--project-id",
            P,
            "--provider",
            "AWS",
            "--bucket-name",
            "cli-exports",
            "--iam-role-id",
            R1,
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(v["bucketName"], "cli-exports");
    assert_eq!(v["_id"].as_str().map(str::len), Some(24));
    assert_eq!(buckets(&emu).len(), 1);

    let o = env
        .cmd(&emu)
        .env("MONGODB_ATLAS_PROJECT_ID", P)
        .args([
            "export-buckets",
            "create",
            "--provider",
            "GCP",
            "--bucket-name",
            "gcs-exports",
            "--role-id",
            R2,
        ])
        .output()
        .unwrap();
    let t = ok(&o);
    assert!(t.contains("PROVIDER") && t.contains("gcs-exports"), "{t}");
    let o = env.run(
        &emu,
        &["export-buckets", "list", "--project-id", P, "-o", "json"],
    );
    let all: Vec<Value> =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    let names: Vec<&str> = all
        .iter()
        .map(|b| b["bucketName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["cli-exports", "gcs-exports"]);

    emu.clear_requests();
    let o = env.run(
        &emu,
        &[
            "export-buckets",
            "create",
            "--project-id",
            P,
            "--provider",
            "AZURE",
            "--bucket-name",
            "container",
            "--role-id",
            R1,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("AZURE buckets need service_url"),
        "{}",
        text(&o)
    );
    assert!(emu.requests().is_empty(), "a bad command sends nothing");
}

fn vpce(i: usize) -> String {
    format!("vpce-{i:017x}")
}

const AZURE_PE: &str =
    "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-1";

fn federation_manifest(comment: &str, with_azure: bool) -> String {
    let mut m = format!(
        "[project]\nid = \"{P}\"\n\n[[federation_endpoint]]\nendpoint_id = \"{}\"\ncomment = \"{comment}\"\n\
         region = \"US_EAST_1\"\ncustomer_endpoint_dns_name = \"vpce-1.example.com\"\n",
        vpce(1)
    );
    if with_azure {
        m.push_str(&format!(
            "\n[[federation_endpoint]]\nendpoint_id = \"{AZURE_PE}\"\nprovider = \"AZURE\"\n\
             customer_endpoint_ip_address = \"10.0.0.4\"\nazure_link_id = \"link-1\"\n"
        ));
    }
    m
}

fn federation(emu: &EmulatorHandle) -> Vec<Value> {
    emu.resources(&format!("federationEndpoints/{P}"))
}

#[test]
fn federation_endpoints_create_noop_update_prune() {
    let emu = emulator();
    let env = Env::new();
    let base = format!("/api/atlas/v2/groups/{P}/privateNetworkSettings/endpointIds");

    env.manifest(&federation_manifest("one", true));
    let o = env.run(&emu, &["plan"]);
    ok(&o);
    insta::assert_snapshot!("federation_create_plan", snap(&o, &emu, &env));
    ok(&env.run(&emu, &["push"]));
    assert_eq!(write_lines(&emu), vec![format!("POST {base}"); 2]);
    let stored = federation(&emu);
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1]["endpointId"], AZURE_PE);
    assert_eq!(stored[1]["customerEndpointIPAddress"], "10.0.0.4");

    emu.clear_requests();
    ok(&env.run(&emu, &["push"]));
    assert!(write_lines(&emu).is_empty());

    // update = upsert: the same endpointId POSTed again with the new comment
    env.manifest(&federation_manifest("two", true));
    let o = env.run(&emu, &["plan"]);
    ok(&o);
    insta::assert_snapshot!("federation_upsert_plan", snap(&o, &emu, &env));
    emu.clear_requests();
    ok(&env.run(&emu, &["push"]));
    let log = emu.requests();
    let w = writes(&log);
    assert_eq!(w.len(), 1);
    let body: Value = serde_json::from_str(&w[0].body).unwrap();
    assert_eq!(
        body,
        json!({"endpointId": vpce(1), "provider": "AWS", "type": "DATA_LAKE", "comment": "two",
               "region": "US_EAST_1", "customerEndpointDNSName": "vpce-1.example.com"})
    );
    assert_eq!(federation(&emu).len(), 2);
    assert_eq!(federation(&emu)[0]["comment"], "two");
    emu.clear_requests();
    ok(&env.run(&emu, &["push"]));
    assert!(write_lines(&emu).is_empty());

    // prune: the Azure endpoint (its id percent-encoded in the path)
    env.manifest(&federation_manifest("two", false));
    let o = env.run(&emu, &["push", "--prune", "--yes"]);
    ok(&o);
    insta::assert_snapshot!("federation_prune_push", snap(&o, &emu, &env));
    assert_eq!(
        write_lines(&emu),
        vec![format!(
            "DELETE {base}/%2Fsubscriptions%2F0000%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.Network%2FprivateEndpoints%2Fpe-1"
        )]
    );
    assert_eq!(federation(&emu).len(), 1);
}

/// 1,100 endpoints: three pages of 500.
fn seed_many(emu: &EmulatorHandle) {
    let items: Vec<Value> = (0..1100)
        .map(|i| {
            json!({"endpointId": vpce(i), "provider": "AWS", "type": "DATA_LAKE",
                   "comment": format!("endpoint {i}"), "status": "OK"})
        })
        .collect();
    emu.set_resources(&format!("federationEndpoints/{P}"), items);
}

fn page_queries(emu: &EmulatorHandle) -> Vec<String> {
    api_gets(emu, "/privateNetworkSettings/endpointIds")
        .into_iter()
        .map(|r| r.query)
        .collect()
}

#[test]
fn federation_lists_are_read_through_every_page() {
    let emu = emulator();
    let env = Env::new();
    seed_many(&emu);

    // plan finds an entry that only the third page holds
    env.manifest(&format!(
        "[project]\nid = \"{P}\"\n\n[[federation_endpoint]]\nendpoint_id = \"{}\"\ncomment = \"endpoint 1050\"\n",
        vpce(1050)
    ));
    let t = ok(&env.run(&emu, &["plan", "--detailed-exitcode"]));
    assert!(
        t.contains(&format!("unchanged federation endpoint {P}/{}", vpce(1050))),
        "{t}"
    );
    assert_eq!(
        page_queries(&emu),
        vec![
            "pageNum=1&itemsPerPage=500&includeCount=true",
            "pageNum=2&itemsPerPage=500&includeCount=false",
            "pageNum=3&itemsPerPage=500&includeCount=false",
        ]
    );

    // the list command reads every page by default
    emu.clear_requests();
    let o = env.run(
        &emu,
        &[
            "federation-endpoints",
            "list",
            "--project-id",
            P,
            "-o",
            "json",
        ],
    );
    let all: Vec<Value> =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(all.len(), 1100);
    assert_eq!(all[1099]["endpointId"], vpce(1099));
    assert_eq!(page_queries(&emu).len(), 3);

    // one page on request
    emu.clear_requests();
    let o = env.run(
        &emu,
        &[
            "federation-endpoints",
            "list",
            "--project-id",
            P,
            "--page",
            "2",
            "--items-per-page",
            "2",
            "-o",
            "json",
        ],
    );
    // The page as Atlas sent it: results, totalCount, links.
    let page: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(page["totalCount"], 1100, "{page:#}");
    assert!(
        page["links"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["rel"] == "next")),
        "{page:#}"
    );
    let ids: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpointId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![vpce(2), vpce(3)]);
    assert_eq!(
        page_queries(&emu),
        vec!["pageNum=2&itemsPerPage=2&includeCount=true"]
    );
    assert!(
        text(&o).contains("page 2 (2 of 1100 endpoints, 2 per page)"),
        "{}",
        text(&o)
    );

    // the table
    let o = env.run(
        &emu,
        &[
            "federation-endpoints",
            "list",
            "--project-id",
            P,
            "--page",
            "1",
            "--items-per-page",
            "1",
        ],
    );
    let t = ok(&o);
    assert!(
        t.contains("ENDPOINT ID") && t.contains(&vpce(0)) && t.contains("DATA_LAKE"),
        "{t}"
    );
}

/// `-o json` prints what Atlas returned: `null`s and fields this tool does
/// not know stay, every page or one.
#[test]
fn federation_json_keeps_nulls_and_unknown_fields() {
    let emu = emulator();
    let env = Env::new();
    let items: Vec<Value> = (0..3)
        .map(|i| {
            json!({"endpointId": vpce(i), "provider": "AWS", "type": "DATA_LAKE",
                   "comment": null, "errorMessage": null, "status": "OK",
                   "futureField": {"n": i}})
        })
        .collect();
    emu.set_resources(&format!("federationEndpoints/{P}"), items.clone());
    let list = |extra: &[&str]| -> Value {
        let mut args = vec![
            "federation-endpoints",
            "list",
            "--project-id",
            P,
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        let o = env.run(&emu, &args);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)))
    };
    assert_eq!(list(&[]), Value::Array(items.clone()));
    let page = list(&["--page", "2", "--items-per-page", "2"]);
    assert_eq!(page["totalCount"], 3, "{page:#}");
    assert_eq!(page["results"], json!([items[2]]), "{page:#}");
    assert!(page["links"].is_array(), "{page:#}");
    let e = page["results"][0].as_object().unwrap();
    assert_eq!(e.get("comment"), Some(&Value::Null));
    assert_eq!(e.get("errorMessage"), Some(&Value::Null));

    // Export buckets alike.
    emu.set_resources(
        &format!("exportBuckets/{P}"),
        vec![
            json!({"_id": R3, "bucketName": "b", "cloudProvider": "AWS", "iamRoleId": R1,
                    "requirePrivateNetworking": null, "roleId": null, "links": []}),
        ],
    );
    let o = env.run(
        &emu,
        &["export-buckets", "list", "--project-id", P, "-o", "json"],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    let b = v[0].as_object().unwrap();
    assert_eq!(
        b.get("requirePrivateNetworking"),
        Some(&Value::Null),
        "{v:#}"
    );
    assert_eq!(b.get("roleId"), Some(&Value::Null), "{v:#}");
    assert_eq!(b.get("links"), Some(&json!([])), "{v:#}");
}

const SECRET: &str = "c4e26334-754f-4b5e-9c1d-5e6f7a8b9c0d";

fn key(id: &str, desc: &str, roles: &[&str]) -> Value {
    json!({
        "id": id,
        "desc": desc,
        "publicKey": format!("pub{}", &id[19..]),
        "privateKey": SECRET,
        "roles": roles.iter().map(|r| json!({"orgId": DEFAULT_ORG_ID, "roleName": r})).collect::<Vec<_>>(),
    })
}

const K1: &str = "5f2222222222222222222201";
const K2: &str = "5f2222222222222222222202";
const K3: &str = "5f2222222222222222222203";
const K4: &str = "5f2222222222222222222204";

fn seed_keys(emu: &EmulatorHandle) {
    emu.set_resources(
        &format!("apiKeys/{DEFAULT_ORG_ID}"),
        vec![
            key(K1, "old-ci", &["ORG_OWNER"]),
            key(K2, "shared", &["ORG_READ_ONLY"]),
            key(K3, "shared", &["ORG_MEMBER", "ORG_BILLING_ADMIN"]),
            key(K4, "keep-me", &["ORG_OWNER"]),
        ],
    );
}

fn key_ids(emu: &EmulatorHandle) -> Vec<String> {
    emu.resources(&format!("apiKeys/{DEFAULT_ORG_ID}"))
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The plan, the deletes with `--prune --yes`, the unnamed key that survives
/// and the converged re-run are the case `tests/cases/absent-api-key`; here,
/// what that case does not run.
#[test]
fn absent_api_keys_need_yes_and_json_plans_hide_the_private_key() {
    let emu = emulator();
    let env = Env::new();
    seed_keys(&emu);
    env.manifest(&format!(
        "[org]\n\n[[absent_api_key]]\nid = \"{K1}\"\n\n[[absent_api_key]]\ndescription = \"shared\"\n\n\
         [[absent_api_key]]\ndescription = \"never-existed\"\n"
    ));
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!text(&o).contains(SECRET), "a private key was printed");
    let o = env.run(&emu, &["plan", "--output", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains(SECRET));

    // no --yes and no terminal: nothing is deleted
    let o = env.run(&emu, &["push"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!text(&o).contains(SECRET));
    assert!(write_lines(&emu).is_empty());
    assert_eq!(key_ids(&emu).len(), 4);
}

#[test]
fn api_keys_delete_command_confirms() {
    let emu = emulator();
    let env = Env::new();
    seed_keys(&emu);

    // stdin is not a terminal and no --yes: refused before any request
    let o = env.run(&emu, &["api-keys", "delete", K2]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "refusing to delete API key {K2} without confirmation"
        )),
        "{}",
        text(&o)
    );
    assert!(emu.requests().is_empty());
    assert_eq!(key_ids(&emu).len(), 4);

    // list: ids, descriptions and roles, never a private key
    let t = ok(&env.run(&emu, &["api-keys", "list"]));
    assert!(
        t.contains("DESCRIPTION") && t.contains("ORG_MEMBER, ORG_BILLING_ADMIN"),
        "{t}"
    );
    assert!(!t.contains(SECRET), "{t}");
    let o = env.run(&emu, &["api-keys", "list", "-o", "json"]);
    let keys: Vec<Value> =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    assert_eq!(keys.len(), 4);
    assert!(!text(&o).contains(SECRET) && keys[0].get("privateKey").is_none());
    emu.clear_requests();

    let o = env.run(&emu, &["api-keys", "delete", K2, "--yes"]);
    let t = ok(&o);
    assert!(
        t.contains(&format!("Deleted API key {K2} (\"shared\").")),
        "{t}"
    );
    assert!(!t.contains(SECRET), "{t}");
    assert_eq!(
        write_lines(&emu),
        vec![format!(
            "DELETE /api/atlas/v2/orgs/{DEFAULT_ORG_ID}/apiKeys/{K2}"
        )]
    );
    assert_eq!(
        key_ids(&emu),
        vec![K1.to_owned(), K3.to_owned(), K4.to_owned()]
    );

    let o = env.run(
        &emu,
        &[
            "api-keys",
            "delete",
            "--org-id",
            DEFAULT_ORG_ID,
            K2,
            "--yes",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("API_KEY_NOT_FOUND"), "{}", text(&o));
    let o = env.run(&emu, &["api-keys", "delete", "not-an-id", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not a 24-hex-digit id"), "{}", text(&o));
}
