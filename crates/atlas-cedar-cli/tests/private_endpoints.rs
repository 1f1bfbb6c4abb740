//! End to end: `[[private_endpoint_service]]` in plan/push and
//! `atlas-cedar private-endpoints …`, the real binary against the emulator.
//! A create on three providers and an endpoint a resource policy forbids are
//! cases of `tests/cases.rs` (`tests/cases/private-endpoint-*`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use atlas_cedar_emulator::{EmulatorHandle, LoggedRequest};
use common::*;
use serde_json::Value;

const G: &str = "5f00000000000000000000aa";
const VPCE: &str = "vpce-0a1b2c3d4e5f60718";
const AZ_ID: &str = "/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas";

fn writes(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter()
        .filter(|r| r.is_write() && r.status != 401)
        .collect()
}

fn service_id(emu: &EmulatorHandle, provider: &str) -> String {
    emu.endpoint_services(G)
        .iter()
        .find(|s| s["cloudProvider"] == provider)
        .unwrap_or_else(|| panic!("no {provider} service in {:#?}", emu.endpoint_services(G)))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The output of a run, normalised for a snapshot (service ids the emulator
/// made become `<id-N>`).
fn snap(o: &std::process::Output, emu: &EmulatorHandle, env: &Env) -> String {
    snapshot_text(o, emu, env, &format!("{G} {VPCE} {AZ_ID}"))
}

fn manifest(azure_ip: &str, with_aws: bool) -> String {
    let mut m = format!("[project]\nid = \"{G}\"\n\n");
    if with_aws {
        m.push_str(&format!(
            "[[private_endpoint_service]]\nprovider = \"AWS\"\nregion = \"us-east-1\"\n\n\
             [[private_endpoint_service.endpoint]]\nid = \"{VPCE}\"\n\n"
        ));
    }
    m.push_str(&format!(
        "[[private_endpoint_service]]\nprovider = \"AZURE\"\nregion = \"US_EAST_2\"\n\n\
         [[private_endpoint_service.endpoint]]\nid = \"{AZ_ID}\"\nprivate_endpoint_ip_address = \"{azure_ip}\"\n\n\
         [[private_endpoint_service]]\nprovider = \"GCP\"\nregion = \"us-central1\"\nwait_for_endpoints = true\n\n\
         [[private_endpoint_service.endpoint]]\nendpoint_group_name = \"atlas-group\"\ngcp_project_id = \"my-gcp-project\"\n\
         endpoints = [{{ endpoint_name = \"atlas-ep-0\", ip_address = \"10.1.0.2\" }}]\n"
    ));
    m
}

#[test]
fn create_wait_noop_replace_and_prune() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    write(&w, "atlas-cedar.toml", &manifest("10.0.0.4", true));

    // plan: three services and three endpoints to create, nothing written
    // (The plan's, the dry run's and the push's output are the snapshot of
    // the case tests/cases/private-endpoint-create.)
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());

    // dry run: the requests, none sent
    let o = env.run(&emu, &["push", "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());

    // push: each service waited for (INITIATING, then AVAILABLE), then its endpoints
    emu.clear_requests();
    let o = env.run(&emu, &["push", "--poll-interval", "0.05"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let log = emu.requests();
    for provider in ["AWS", "AZURE", "GCP"] {
        let id = service_id(&emu, provider);
        let path =
            format!("/api/atlas/v2/groups/{G}/privateEndpoint/{provider}/endpointService/{id}");
        let gets = log
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count();
        assert!(gets >= 2, "{provider}: {gets} reads of {path}\n{t}");
        let post = log
            .iter()
            .position(|r| r.method == "POST" && r.path == format!("{path}/endpoint"))
            .unwrap();
        let last_get = log
            .iter()
            .rposition(|r| r.method == "GET" && r.path == path)
            .unwrap();
        assert!(
            last_get < post,
            "{provider}: endpoint registered before the service was AVAILABLE"
        );
        let s = emu
            .endpoint_services(G)
            .into_iter()
            .find(|s| s["id"] == id.as_str())
            .unwrap();
        assert_eq!(s["status"], "AVAILABLE");
    }
    let aws = service_id(&emu, "AWS");
    let azure = service_id(&emu, "AZURE");
    let stored = emu.private_endpoints(G, &azure);
    assert_eq!(stored[0]["privateEndpointResourceId"], AZ_ID);
    assert_eq!(stored[0]["privateEndpointIPAddress"], "10.0.0.4");
    assert_eq!(
        emu.endpoint_services(G)
            .iter()
            .find(|s| s["cloudProvider"] == "AWS")
            .unwrap()["interfaceEndpoints"],
        serde_json::json!([VPCE])
    );

    // the Azure id (with slashes) round-trips through the encoded path
    emu.clear_requests();
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "get",
            "--project-id",
            G,
            "--provider",
            "AZURE",
            "--service-id",
            &azure,
            AZ_ID,
            "-o",
            "json",
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got["privateEndpointResourceId"], AZ_ID, "{t}");
    assert_eq!(got["privateEndpointIPAddress"], "10.0.0.4");
    let log = emu.requests();
    let get = log.iter().find(|r| r.method == "GET").unwrap();
    assert!(
        get.path.ends_with("/endpoint/%2Fsubscriptions%2F0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0%2FresourceGroups%2Frg-app%2Fproviders%2FMicrosoft.Network%2FprivateEndpoints%2Fpe-atlas"),
        "{}",
        get.path
    );

    // second push: no writes; the plan shows each endpoint's status
    emu.clear_requests();
    let o = env.run(&emu, &["push", "--poll-interval", "0.05"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty(), "{:#?}", emu.requests());
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("({aws}, status AVAILABLE)")),
        "{}",
        text(&o)
    );
    insta::assert_snapshot!("unchanged_plan", snap(&o, &emu, &env));

    // the Azure IP changes: a replace, planned as such
    write(&w, "atlas-cedar.toml", &manifest("10.0.0.5", true));
    let o = env.run(&emu, &["plan"]);
    insta::assert_snapshot!("azure_ip_replace_plan", snap(&o, &emu, &env));
    // a replace deletes: refused without --yes when stdin is not a terminal
    emu.clear_requests();
    let o = env.run(&emu, &["push", "--poll-interval", "0.05"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());
    let o = env.run(&emu, &["push", "--yes", "--poll-interval", "0.05"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let log = emu.requests();
    let w_log = writes(&log);
    assert_eq!(w_log.len(), 2, "{w_log:#?}");
    assert_eq!(w_log[0].method, "DELETE");
    assert!(
        w_log[0].path.contains("/endpoint/%2Fsubscriptions%2F"),
        "{}",
        w_log[0].path
    );
    assert_eq!(w_log[1].method, "POST");
    assert_eq!(
        emu.private_endpoints(G, &azure)[0]["privateEndpointIPAddress"],
        "10.0.0.5"
    );

    // the AWS service leaves the manifest: nothing happens without --prune
    write(&w, "atlas-cedar.toml", &manifest("10.0.0.5", false));
    emu.clear_requests();
    let o = env.run(&emu, &["push", "--poll-interval", "0.05"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());
    // with --prune: the endpoint, then the service
    let o = env.run(&emu, &["plan", "--prune"]);
    insta::assert_snapshot!("prune_plan", snap(&o, &emu, &env));
    emu.clear_requests();
    let o = env.run(
        &emu,
        &["push", "--prune", "--yes", "--poll-interval", "0.05"],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let log = emu.requests();
    let w_log = writes(&log);
    assert_eq!(w_log.len(), 2, "{w_log:#?}");
    assert_eq!(
        w_log[0].path,
        format!(
            "/api/atlas/v2/groups/{G}/privateEndpoint/AWS/endpointService/{aws}/endpoint/{VPCE}"
        )
    );
    assert_eq!(
        w_log[1].path,
        format!("/api/atlas/v2/groups/{G}/privateEndpoint/AWS/endpointService/{aws}")
    );
    assert!(emu
        .endpoint_services(G)
        .iter()
        .all(|s| s["cloudProvider"] != "AWS"));
    assert_eq!(emu.endpoint_services(G).len(), 2);
    let o = env.run(&emu, &["plan", "--prune", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn a_failed_service_reports_atlas_message_and_skips_its_endpoints() {
    let emu = emulator();
    let env = Env::new();
    emu.fail_endpoint_services(G, "Not enough capacity in us-east-1.");
    write(
        &env.work(),
        "atlas-cedar.toml",
        &format!(
            "[[private_endpoint_service]]\nproject_id = \"{G}\"\nprovider = \"AWS\"\nregion = \"US_EAST_1\"\n\n\
             [[private_endpoint_service.endpoint]]\nid = \"{VPCE}\"\n"
        ),
    );
    let o = env.run(&emu, &["push", "--poll-interval", "0.05"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("FAILED: Not enough capacity in us-east-1."),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "not done: private endpoint {G}/AWS/US_EAST_1/{VPCE}: not attempted"
        )),
        "{t}"
    );
    assert!(emu
        .requests()
        .iter()
        .all(|r| !(r.method == "POST" && r.path.ends_with("/endpoint"))));
}

#[test]
fn direct_commands_in_json_and_table() {
    let emu = emulator();
    let env = Env::new();

    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "service",
            "create",
            "--project-id",
            G,
            "--provider",
            "AWS",
            "--region",
            "us-east-1",
            "--wait",
            "--poll-interval",
            "0.05",
            "-o",
            "json",
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["status"], "AVAILABLE", "{t}");
    assert_eq!(s["cloudProvider"], "AWS");
    assert_eq!(s["regionName"], "US_EAST_1");
    assert!(s["endpointServiceName"]
        .as_str()
        .unwrap()
        .starts_with("com.amazonaws.vpce.us-east-1.vpce-svc-"));
    let id = s["id"].as_str().unwrap().to_owned();

    // without --wait: the answer of the POST (INITIATING), as a table
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "service",
            "create",
            "--project-id",
            G,
            "--provider",
            "azure",
            "--region",
            "eastus2",
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("ID "), "{t}");
    assert!(out.contains("AZURE      US_EAST_2   INITIATING"), "{t}");

    // a second service for the same provider and region: Atlas's conflict
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "service",
            "create",
            "--project-id",
            G,
            "--provider",
            "AWS",
            "--region",
            "US_EAST_1",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION"),
        "{}",
        text(&o)
    );

    // list: every provider (three requests), as a table and as JSON
    emu.clear_requests();
    let o = env.run(
        &emu,
        &["private-endpoints", "service", "list", "--project-id", G],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 3, "{t}");
    assert!(out.lines().nth(1).unwrap().starts_with(&id), "{t}");
    let answered: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.status != 401)
        .collect();
    assert_eq!(answered.len(), 3, "{answered:#?}");
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "service",
            "list",
            "--project-id",
            G,
            "--provider",
            "AWS",
            "-o",
            "json",
        ],
    );
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{}", text(&o));

    // get one service
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "service",
            "get",
            "--project-id",
            G,
            "--provider",
            "AWS",
            &id,
            "-o",
            "json",
        ],
    );
    let got: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(got["id"], id.as_str(), "{}", text(&o));

    // an endpoint, through a push, then `get` as JSON and as a table
    write(
        &env.work(),
        "atlas-cedar.toml",
        &format!(
            "[[private_endpoint_service]]\nproject_id = \"{G}\"\nprovider = \"AWS\"\nregion = \"us-east-1\"\n\n\
             [[private_endpoint_service.endpoint]]\nid = \"{VPCE}\"\n"
        ),
    );
    let o = env.run(&emu, &["push", "--poll-interval", "0.05"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "get",
            "--project-id",
            G,
            "--provider",
            "AWS",
            "--service-id",
            &id,
            VPCE,
            "-o",
            "json",
        ],
    );
    let e: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["interfaceEndpointId"], VPCE, "{}", text(&o));
    assert_eq!(e["connectionStatus"], "PENDING_ACCEPTANCE");
    assert_eq!(e["cloudProvider"], "AWS");
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "get",
            "--project-id",
            G,
            "--provider",
            "AWS",
            "--service-id",
            &id,
            VPCE,
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.starts_with("ID "), "{}", text(&o));
    assert!(
        out.contains(&format!("{VPCE}   AWS        PENDING")),
        "{}",
        text(&o)
    );

    // a bad service id is refused before any request
    emu.clear_requests();
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "get",
            "--project-id",
            G,
            "--provider",
            "AWS",
            "--service-id",
            "nope",
            VPCE,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("endpoint service id \"nope\" is not a 24-hex-digit id"),
        "{}",
        text(&o)
    );
    assert!(
        emu.requests().iter().all(|r| r.status == 401),
        "{:#?}",
        emu.requests()
    );
    // an unknown endpoint: Atlas's 404
    let o = env.run(
        &emu,
        &[
            "private-endpoints",
            "get",
            "--project-id",
            G,
            "--provider",
            "AWS",
            "--service-id",
            &id,
            "vpce-0000000000000000f",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("PRIVATE_ENDPOINT_NOT_FOUND"),
        "{}",
        text(&o)
    );
}

#[test]
fn the_verdict_counts_endpoints_of_providers_the_manifest_does_not_name() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    // an existing GCP service with one endpoint group, not in the manifest
    let gcp = "65f0c0ffee0123456789abcd";
    emu.set_resources(
        &format!("privateEndpoint/{G}/services"),
        vec![serde_json::json!({
            "cloudProvider": "GCP", "errorMessage": null, "id": gcp, "regionName": "CENTRAL_US",
            "status": "AVAILABLE", "endpointGroupNames": ["legacy-group"], "serviceAttachmentNames": []
        })],
    );
    emu.set_resources(
        &format!("privateEndpoint/{G}/endpoints/{gcp}"),
        vec![serde_json::json!({
            "cloudProvider": "GCP", "deleteRequested": false, "errorMessage": null,
            "endpointGroupName": "legacy-group", "status": "AVAILABLE",
            "endpoints": [{"endpointName": "legacy-0", "ipAddress": "10.9.0.2", "status": "AVAILABLE"}]
        })],
    );
    write(
        &w,
        "policies/mix.cedar",
        &format!(
            "forbid (principal, action == ResourcePolicy::Action::\"project.privateEndpoint.modify\", resource)\n\
             when {{ context.project.privateEndpoints.contains(\"gcp:legacy-group\") && \
             context.project.privateEndpoints.contains(\"aws:{VPCE}\") }};\n"
        ),
    );
    write(
        &w,
        "atlas-cedar.toml",
        &format!(
            "[project]\nid = \"{G}\"\n\n[[resource_policy]]\nname = \"not-both\"\nfiles = [\"policies/mix.cedar\"]\n\n\
             [[private_endpoint_service]]\nprovider = \"AWS\"\nregion = \"us-east-1\"\n\n\
             [[private_endpoint_service.endpoint]]\nid = \"{VPCE}\"\n"
        ),
    );
    let o = env.run(&emu, &["plan"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains(&format!("+ create private endpoint {G}/AWS/US_EAST_1/{VPCE}\n    + id: \"{VPCE}\"\n    warning: Atlas will refuse this: resource policy \"not-both\"")),
        "{t}"
    );
    // the GCP service is read (for the verdict) but not touched
    assert!(!t.contains("GCP"), "{t}");
    let o = env.run(&emu, &["push", "--poll-interval", "0.05"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("likely resource policy \"not-both\""), "{t}");
    assert_eq!(emu.private_endpoints(G, gcp).len(), 1);
}
