//! One create policy for every kind, under injected faults: a 500, a 503, a
//! connection dropped before the create was applied and one dropped after
//! it was applied. Each test asserts the request log the emulator saw: the
//! number of creates, the lookup before each repeat, the backoff between
//! repeats (never a burst) and exactly one object at the end (no duplicate).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use atlas_cedar_client::export_buckets::ExportBucketInput;
use atlas_cedar_client::federation::FederationEndpoint;
use atlas_cedar_client::private_endpoints::{NewEndpointService, NewPrivateEndpoint, Provider};
use atlas_cedar_client::search::SearchIndexCreate;
use atlas_cedar_client::streams::StreamProcessorInput;
use atlas_cedar_client::{
    Client, ClientConfig, CreateOutcome, Credentials, ResourcePolicyInput, RetryPolicy, Secret,
};
use atlas_cedar_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultKind, FaultRule, LoggedRequest, DEFAULT_ORG_ID,
    DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY,
};
use serde_json::json;

const GROUP: &str = "5f2222222222222222222222";
/// The first backoff; each repeat waits at least half its exponential step.
const BACKOFF_MS: u64 = 80;

fn client(emu: &EmulatorHandle) -> Client {
    let mut cfg = ClientConfig::new(
        &emu.base_url(),
        Credentials::ApiKey {
            public_key: DEFAULT_PUBLIC_KEY.into(),
            private_key: Secret::new(DEFAULT_PRIVATE_KEY),
        },
    );
    cfg.retry = RetryPolicy {
        max_attempts: 8,
        initial_backoff: Duration::from_millis(BACKOFF_MS),
        max_backoff: Duration::from_secs(2),
        max_total_wait: Duration::from_secs(30),
    };
    cfg.token_cache_dir = None;
    Client::new(cfg).unwrap()
}

/// A 500, a 503, a drop before applying, a drop after applying: the next
/// four POSTs whose path holds `path`.
fn inject(emu: &EmulatorHandle, path: &str) {
    for kind in [
        FaultKind::Status { status: 500 },
        FaultKind::Status { status: 503 },
        FaultKind::DropBeforeApply,
        FaultKind::DropAfterApply,
    ] {
        emu.add_fault(FaultRule {
            path_contains: Some(path.to_owned()),
            ..FaultRule::new(Some("POST"), kind, 1)
        });
    }
}

/// The log as one line per authenticated API request, for failure messages
/// (and `--nocapture` reports).
fn render(log: &[LoggedRequest]) -> String {
    log.iter()
        .filter(|r| r.is_authenticated_api())
        .map(|r| {
            format!(
                "{:>6} ms {:<6} {} -> {}{}",
                r.at_ms,
                r.method,
                r.path,
                if r.dropped {
                    "dropped".to_owned()
                } else {
                    r.status.to_string()
                },
                r.fault
                    .as_deref()
                    .map(|f| format!(" [{f}]"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts the creates (POSTs on `path`): four answered by the faults,
/// each followed by a lookup before the next, with growing waits; `applied`
/// says whether the fourth (dropped after applying) is adopted (a create
/// under the policy) or the request is simply repeated (an idempotent
/// upsert, which sends a fifth).
fn assert_log(kind: &str, emu: &EmulatorHandle, path: &str, lookups: bool) {
    let log = emu.requests();
    let shown = render(&log);
    println!("== {kind}\n{shown}");
    let api: Vec<&LoggedRequest> = log.iter().filter(|r| r.is_authenticated_api()).collect();
    let creates: Vec<&&LoggedRequest> = api
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains(path))
        .collect();
    let expected = if lookups { 4 } else { 5 };
    assert_eq!(creates.len(), expected, "{kind}: creates sent\n{shown}");
    let outcomes: Vec<(u16, bool)> = creates.iter().map(|r| (r.status, r.dropped)).collect();
    assert_eq!(
        &outcomes[..4],
        &[(500, false), (503, false), (0, true), (0, true)],
        "{kind}\n{shown}"
    );
    for (i, pair) in creates.windows(2).enumerate() {
        let gap = pair[1].at_ms.saturating_sub(pair[0].at_ms);
        // Full jitter keeps at least half of each exponential step.
        let floor = BACKOFF_MS / 2 * (1 << i);
        assert!(
            gap >= floor,
            "{kind}: create {} came {gap} ms after the previous one (at least {floor} ms)\n{shown}",
            i + 2
        );
        if lookups {
            let between = api
                .iter()
                .filter(|r| r.seq > pair[0].seq && r.seq < pair[1].seq && r.method == "GET")
                .count();
            assert!(
                between >= 1,
                "{kind}: create {} was sent again without looking first\n{shown}",
                i + 2
            );
        }
    }
    if lookups {
        let last = creates[3];
        let after = api.iter().filter(|r| r.seq > last.seq).collect::<Vec<_>>();
        assert!(
            after.iter().all(|r| r.method == "GET"),
            "{kind}: after the applied create only lookups\n{shown}"
        );
    }
}

fn start() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::default()).unwrap()
}

#[tokio::test]
async fn resource_policy_create_under_faults() {
    let emu = start();
    let c = client(&emu);
    inject(&emu, "resourcePolicies");
    let body = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };";
    let out = c
        .create_policy_or_adopt(
            DEFAULT_ORG_ID,
            &ResourcePolicyInput::new("p", Some("d"), &[body]),
        )
        .await
        .unwrap();
    assert!(matches!(out, CreateOutcome::Adopted(_)), "{out:?}");
    assert_log("resource policy", &emu, "resourcePolicies", true);
    assert_eq!(c.list_policies(DEFAULT_ORG_ID).await.unwrap().len(), 1);
}

#[tokio::test]
async fn search_index_create_under_faults() {
    let emu = start();
    let c = client(&emu);
    inject(&emu, "search/indexes");
    let body = SearchIndexCreate {
        collection_name: "movies".into(),
        database: "sample".into(),
        name: "default".into(),
        index_type: "search".into(),
        definition: json!({"mappings": {"dynamic": true}}),
    };
    let (index, adopted) = c
        .create_search_index_or_adopt(GROUP, "Cluster0", &body)
        .await
        .unwrap();
    assert!(adopted, "{index:?}");
    assert_log("search index", &emu, "search/indexes", true);
    assert_eq!(
        c.list_search_indexes(GROUP, "Cluster0")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn export_bucket_create_under_faults() {
    let emu = start();
    let c = client(&emu);
    inject(&emu, "exportBuckets");
    let input = ExportBucketInput {
        cloud_provider: "AWS".into(),
        bucket_name: "exports".into(),
        iam_role_id: Some("668c5f0ed436263134491592".into()),
        ..ExportBucketInput::default()
    };
    let (_, adopted) = c
        .create_export_bucket_or_adopt(GROUP, &input)
        .await
        .unwrap();
    assert!(adopted);
    assert_log("export bucket", &emu, "exportBuckets", true);
    assert_eq!(c.list_export_buckets(GROUP).await.unwrap().len(), 1);
}

#[tokio::test]
async fn private_endpoint_service_and_endpoint_creates_under_faults() {
    let emu = start();
    let c = client(&emu);
    inject(&emu, "privateEndpoint/endpointService");
    let body = NewEndpointService {
        provider_name: Provider::Aws,
        region: "us-east-1".into(),
    };
    let (service, adopted) = c
        .create_endpoint_service_or_adopt(GROUP, &body, "US_EAST_1")
        .await
        .unwrap();
    assert!(adopted);
    assert_log(
        "private endpoint service",
        &emu,
        "privateEndpoint/endpointService",
        true,
    );
    assert_eq!(
        c.list_endpoint_services(GROUP, Provider::Aws)
            .await
            .unwrap()
            .len(),
        1
    );

    // The endpoint: once the service is available.
    let mut status = None;
    for _ in 0..10 {
        let s = c
            .get_endpoint_service(GROUP, Provider::Aws, &service.id)
            .await
            .unwrap();
        status = s.status;
        if status.as_deref() == Some("AVAILABLE") {
            break;
        }
    }
    assert_eq!(status.as_deref(), Some("AVAILABLE"));
    emu.clear_requests();
    let path = format!("endpointService/{}/endpoint", service.id);
    inject(&emu, &path);
    let endpoint = NewPrivateEndpoint::Aws {
        id: "vpce-0123456789abcdef0".into(),
    };
    let (_, adopted) = c
        .create_private_endpoint_or_adopt(GROUP, Provider::Aws, &service.id, &endpoint)
        .await
        .unwrap();
    assert!(adopted);
    assert_log("private endpoint", &emu, &path, true);
}

#[tokio::test]
async fn stream_processor_create_under_faults() {
    let emu = start();
    let c = client(&emu);
    inject(&emu, "/processor");
    let input = StreamProcessorInput {
        name: "p1".into(),
        pipeline: vec![
            json!({"$source": {"connectionName": "kafka"}}),
            json!({"$emit": {"connectionName": "__testLog"}}),
        ],
        options: None,
    };
    let (_, adopted) = c
        .create_stream_processor_or_adopt(GROUP, "tenant", &input)
        .await
        .unwrap();
    assert!(adopted);
    assert_log("stream processor", &emu, "/processor", true);
    assert_eq!(
        c.list_stream_processors(GROUP, "tenant")
            .await
            .unwrap()
            .len(),
        1
    );
}

/// The federation endpoint create is an upsert keyed by its id: repeating
/// it is harmless, so it is retried like a read (with the same backoff).
#[tokio::test]
async fn federation_endpoint_upsert_under_faults() {
    let emu = start();
    let c = client(&emu);
    inject(&emu, "endpointIds");
    let e = FederationEndpoint {
        endpoint_id: "vpce-0123456789abcdef0".into(),
        provider: Some("AWS".into()),
        kind: Some("DATA_LAKE".into()),
        ..FederationEndpoint::default()
    };
    c.upsert_federation_endpoint(GROUP, &e).await.unwrap();
    assert_log("data federation endpoint", &emu, "endpointIds", false);
    assert_eq!(c.list_federation_endpoints(GROUP).await.unwrap().len(), 1);
}
