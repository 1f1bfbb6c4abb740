//! The client against the local emulator (127.0.0.1, random port).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use atlas_cedar_client::{
    Client, ClientConfig, CreateOutcome, CredentialKind, Credentials, Error, ResourcePolicyInput,
    ResourcePolicyPatch, RetryPolicy, Secret,
};
use atlas_cedar_emulator::{
    DeprecationHeaders, Emulator, EmulatorConfig, EmulatorHandle, FaultKind, FaultRule, RateLimit,
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_MEMBER_PRIVATE_KEY,
    DEFAULT_MEMBER_PUBLIC_KEY, DEFAULT_ORG_ID, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY,
};

const ORG: &str = DEFAULT_ORG_ID;
const BODY: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };";

fn api_key() -> Credentials {
    Credentials::ApiKey {
        public_key: DEFAULT_PUBLIC_KEY.into(),
        private_key: Secret::new(DEFAULT_PRIVATE_KEY),
    }
}

fn service_account() -> Credentials {
    Credentials::ServiceAccount {
        client_id: DEFAULT_CLIENT_ID.into(),
        client_secret: Secret::new(DEFAULT_CLIENT_SECRET),
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_total_wait: Duration::from_secs(30),
    }
}

fn client(emu: &EmulatorHandle, creds: Credentials, cache: Option<&std::path::Path>) -> Client {
    let mut cfg = ClientConfig::new(&emu.base_url(), creds);
    cfg.retry = fast_retry();
    cfg.token_cache_dir = cache.map(std::path::Path::to_path_buf);
    Client::new(cfg).unwrap()
}

fn start(cfg: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(cfg).unwrap()
}

fn input(name: &str) -> ResourcePolicyInput {
    ResourcePolicyInput::new(name, Some("desc"), &[BODY])
}

#[tokio::test]
async fn digest_handshake_reuses_the_nonce() {
    let emu = start(EmulatorConfig::default());
    let c = client(&emu, api_key(), None);
    assert!(c.list_policies(ORG).await.unwrap().is_empty());
    c.list_policies(ORG).await.unwrap();
    c.list_policies(ORG).await.unwrap();
    let log = emu.requests();
    let statuses: Vec<(u16, &str)> = log.iter().map(|r| (r.status, r.auth.as_str())).collect();
    // One challenge, then three authenticated requests on the same nonce.
    assert_eq!(
        statuses,
        vec![
            (401, "none"),
            (200, "digest"),
            (200, "digest"),
            (200, "digest")
        ]
    );
    assert_eq!(c.requests_sent(), 4);
}

#[tokio::test]
async fn wrong_digest_password_names_the_api_key() {
    let emu = start(EmulatorConfig::default());
    let creds = Credentials::ApiKey {
        public_key: DEFAULT_PUBLIC_KEY.into(),
        private_key: Secret::new("wrong-private-key-value"),
    };
    let c = client(&emu, creds, None);
    let err = c.list_policies(ORG).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                kind: CredentialKind::ApiKey,
                ..
            }
        ),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(text.contains("API key"), "{text}");
    assert!(text.contains(DEFAULT_PUBLIC_KEY), "{text}");
    assert!(!text.contains("wrong-private-key-value"), "{text}");
    assert!(!format!("{c:?}").contains("wrong-private-key-value"));
}

#[tokio::test]
async fn member_gets_403_naming_the_owner_role() {
    let emu = start(EmulatorConfig::default());
    let creds = Credentials::ApiKey {
        public_key: DEFAULT_MEMBER_PUBLIC_KEY.into(),
        private_key: Secret::new(DEFAULT_MEMBER_PRIVATE_KEY),
    };
    let c = client(&emu, creds, None);
    c.list_policies(ORG).await.unwrap();
    let err = c.create_policy(ORG, &input("p")).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("Organization Owner"), "{err}");
}

#[tokio::test]
async fn crud_roundtrip_keeps_bodies_verbatim_and_regenerates_ids() {
    let emu = start(EmulatorConfig::default());
    let c = client(&emu, api_key(), None);
    let created = c.create_policy(ORG, &input("one")).await.unwrap();
    assert_eq!(created.id.len(), 24);
    assert_eq!(created.policies[0].body, BODY);
    let got = c.get_policy(ORG, &created.id).await.unwrap();
    assert_eq!(got, created);
    let dup = c.create_policy(ORG, &input("one")).await.unwrap_err();
    assert_eq!(dup.status(), Some(400), "{dup}");

    let new_body = format!("{BODY}\n");
    let patch = ResourcePolicyPatch {
        policies: Some(vec![atlas_cedar_client::PolicyBodyInput {
            body: new_body.clone(),
        }]),
        ..Default::default()
    };
    let updated = c.update_policy(ORG, &created.id, &patch).await.unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.policies[0].body, new_body);
    assert_ne!(updated.policies[0].id, created.policies[0].id);

    c.delete_policy(ORG, &created.id).await.unwrap();
    let gone = c.get_policy(ORG, &created.id).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert!(c.list_policies(ORG).await.unwrap().is_empty());
    assert!(c.non_compliant_resources(ORG).await.unwrap().is_empty());
}

#[tokio::test]
async fn invalid_bodies_come_back_as_the_policy_envelope() {
    let emu = start(EmulatorConfig::default());
    let c = client(&emu, api_key(), None);
    let bad = ResourcePolicyInput::new(
        "bad",
        None,
        &[BODY, "permit (principal, action, resource);"],
    );
    let err = c.validate_policy(ORG, &bad).await.unwrap_err();
    let Error::InvalidPolicies { envelope, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(envelope.error_type.starts_with("POLICY_"), "{envelope:?}");
    assert_eq!(envelope.invalid_policies.len(), 1);
    assert!(envelope.invalid_policies[0].body.starts_with("permit"));
    assert!(!envelope.invalid_policies[0].errors.is_empty());
    c.validate_policy(ORG, &input("good")).await.unwrap();
    // validate saves nothing
    assert!(c.list_policies(ORG).await.unwrap().is_empty());
}

#[tokio::test]
async fn service_account_token_is_cached_across_clients() {
    let emu = start(EmulatorConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let a = client(&emu, service_account(), Some(dir.path()));
    a.list_policies(ORG).await.unwrap();
    a.list_policies(ORG).await.unwrap();
    let b = client(&emu, service_account(), Some(dir.path()));
    b.list_policies(ORG).await.unwrap();
    assert_eq!(emu.tokens_minted(), 1);
    assert_eq!(a.tokens_minted() + b.tokens_minted(), 1);
    // One token file (beside it, the lock file that serializes minting).
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .collect();
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let path = files.into_iter().next().unwrap().unwrap().path();
        assert_eq!(
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_before_expiry() {
    // Tokens that live less than the refresh margin are never reused.
    let emu = start(EmulatorConfig {
        token_ttl: Duration::from_secs(60),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let a = client(&emu, service_account(), Some(dir.path()));
    a.list_policies(ORG).await.unwrap();
    a.list_policies(ORG).await.unwrap();
    assert_eq!(emu.tokens_minted(), 2);
}

#[tokio::test]
async fn token_limit_is_reported() {
    let emu = start(EmulatorConfig {
        max_live_tokens: 0,
        ..Default::default()
    });
    let c = client(&emu, service_account(), None);
    let err = c.list_policies(ORG).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("100 live tokens"), "{text}");
    assert!(!text.contains(DEFAULT_CLIENT_SECRET));
}

#[tokio::test]
async fn static_bearer_token() {
    let emu = start(EmulatorConfig {
        access_tokens: vec![("tok-123".into(), atlas_cedar_emulator::Role::OrgOwner)],
        ..Default::default()
    });
    let c = client(&emu, Credentials::AccessToken(Secret::new("tok-123")), None);
    c.list_policies(ORG).await.unwrap();
    let bad = client(&emu, Credentials::AccessToken(Secret::new("nope")), None);
    let err = bad.list_policies(ORG).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Unauthorized {
            kind: CredentialKind::AccessToken,
            ..
        }
    ));
}

#[tokio::test]
async fn rate_limit_with_retry_after_converges() {
    let emu = start(EmulatorConfig {
        rate_limit: RateLimit {
            capacity: 3,
            refill_per_minute: 120,
        },
        ..Default::default()
    });
    let c = client(&emu, api_key(), None);
    let started = Instant::now();
    for i in 0..6 {
        c.create_policy(ORG, &input(&format!("p{i}")))
            .await
            .unwrap();
    }
    let limited = emu.requests().iter().filter(|r| r.status == 429).count();
    assert!(limited >= 1, "the bucket of 3 must have run dry");
    // Retry-After is 1 s (2 tokens a second): the client waited at least that.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(emu.policies(ORG).len(), 6);
}

#[tokio::test]
async fn rate_limit_gives_up_within_the_total_wait_budget() {
    let emu = start(EmulatorConfig {
        rate_limit: RateLimit {
            capacity: 1,
            refill_per_minute: 1,
        },
        ..Default::default()
    });
    let mut cfg = ClientConfig::new(&emu.base_url(), api_key());
    cfg.retry = RetryPolicy {
        max_total_wait: Duration::from_secs(2),
        ..fast_retry()
    };
    let c = Client::new(cfg).unwrap();
    c.list_policies(ORG).await.unwrap();
    let started = Instant::now();
    let err = c.list_policies(ORG).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    // Atlas's errorCode and detail survive the end of the retries.
    let message = err.to_string();
    assert!(
        message.contains("RATE_LIMITED: ") && message.contains("still rate limited"),
        "{message}"
    );
    assert_eq!(err.error_code(), Some("RATE_LIMITED"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn injected_500s_are_retried_for_reads_only() {
    let emu = start(EmulatorConfig::default());
    let c = client(&emu, api_key(), None);
    emu.add_fault(FaultRule::new(
        Some("GET"),
        FaultKind::Status { status: 503 },
        2,
    ));
    c.list_policies(ORG).await.unwrap();
    let served: Vec<u16> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.status)
        .collect();
    assert_eq!(served, vec![401, 503, 503, 200]);

    emu.add_fault(FaultRule::new(
        Some("POST"),
        FaultKind::Status { status: 500 },
        1,
    ));
    let err = c.create_policy(ORG, &input("x")).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        emu.requests().iter().filter(|r| r.method == "POST").count(),
        1
    );
}

#[tokio::test]
async fn lost_create_answer_is_adopted_not_duplicated() {
    let emu = start(EmulatorConfig::default());
    let c = client(&emu, api_key(), None);
    emu.add_fault(FaultRule::new(Some("POST"), FaultKind::DropAfterApply, 1));
    let out = c.create_policy_or_adopt(ORG, &input("lost")).await.unwrap();
    assert!(matches!(out, CreateOutcome::Adopted(_)), "{out:?}");
    assert_eq!(emu.policies(ORG).len(), 1);
    let posts = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.status != 401)
        .count();
    assert_eq!(
        posts,
        1,
        "the create must not be re-sent: {:#?}",
        emu.requests()
    );

    // A 500 on create: nothing applied, so after listing it is sent again.
    emu.add_fault(FaultRule::new(
        Some("POST"),
        FaultKind::Status { status: 500 },
        1,
    ));
    let out = c
        .create_policy_or_adopt(ORG, &input("second"))
        .await
        .unwrap();
    assert!(matches!(out, CreateOutcome::Created(_)), "{out:?}");
    assert_eq!(emu.policies(ORG).len(), 2);
}

#[tokio::test]
async fn dropped_delete_is_not_an_error() {
    let emu = start(EmulatorConfig::default());
    let c = client(&emu, api_key(), None);
    let p = c.create_policy(ORG, &input("d")).await.unwrap();
    emu.add_fault(FaultRule::new(Some("DELETE"), FaultKind::DropAfterApply, 1));
    c.delete_policy(ORG, &p.id).await.unwrap();
    assert!(emu.policies(ORG).is_empty());
}

#[tokio::test]
async fn versions_deprecation_and_gone() {
    let emu = start(EmulatorConfig {
        deprecation: Some(DeprecationHeaders {
            deprecation: "2026-01-01".into(),
            sunset: "2027-01-01".into(),
        }),
        gone_versions: vec!["2023-01-01".into()],
        access_tokens: vec![("raw-token".into(), atlas_cedar_emulator::Role::OrgOwner)],
        ..Default::default()
    });
    let c = client(&emu, api_key(), None);
    c.list_policies(ORG).await.unwrap();
    let warnings = c.take_warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("deprecated") && w.contains("2027-01-01")),
        "{warnings:?}"
    );

    // Raw requests: a gone version gets 410, an unknown or missing one 406.
    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/atlas/v2/orgs/{ORG}/resourcePolicies",
        emu.base_url()
    );
    for (accept, status) in [
        ("application/vnd.atlas.2023-01-01+json", 410),
        ("application/vnd.atlas.2024-05-30+json", 406),
        ("application/json", 406),
        ("application/vnd.atlas.2024-08-05+json", 200),
    ] {
        let r = http
            .get(&url)
            .header("accept", accept)
            .header("authorization", "Bearer raw-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{accept}");
    }
}

#[tokio::test]
async fn timeouts_are_configurable() {
    let emu = start(EmulatorConfig::default());
    emu.add_fault(FaultRule::new(
        Some("POST"),
        FaultKind::Latency { ms: 1500 },
        1,
    ));
    let mut cfg = ClientConfig::new(&emu.base_url(), api_key());
    cfg.request_timeout = Duration::from_millis(300);
    cfg.retry = fast_retry();
    let c = Client::new(cfg).unwrap();
    c.list_policies(ORG).await.unwrap();
    let err = c.create_policy(ORG, &input("slow")).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn a_sunset_version_is_reported_as_gone() {
    let emu = start(EmulatorConfig {
        gone_versions: vec!["2024-08-05".into()],
        ..Default::default()
    });
    let c = client(&emu, api_key(), None);
    let err = c.list_policies(ORG).await.unwrap_err();
    assert!(matches!(err, Error::VersionGone { .. }), "{err:?}");
    assert!(err.to_string().contains("upgrade atlas-cedar"), "{err}");
}

#[tokio::test]
async fn a_revoked_cached_token_is_replaced_once() {
    let emu = start(EmulatorConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let a = client(&emu, service_account(), Some(dir.path()));
    a.list_policies(ORG).await.unwrap();
    // Revoke the cached token behind the client's back.
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .find(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .unwrap()
        .unwrap()
        .path();
    let cached: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let token = cached["access_token"].as_str().unwrap().to_owned();
    let r = reqwest::Client::new()
        .post(format!("{}/api/oauth/revoke", emu.base_url()))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .body(format!("token={token}&token_type_hint=access_token"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let b = client(&emu, service_account(), Some(dir.path()));
    b.list_policies(ORG).await.unwrap();
    assert_eq!(emu.tokens_minted(), 2);
    assert_eq!(b.tokens_minted(), 1);
}

/// Atlas rate-limits its token endpoint (about 50 a minute per service
/// account). A second client without a shared cache meets the limit, gets 429
/// with `Retry-After`, waits, and then gets its token.
#[tokio::test]
async fn the_token_endpoint_rate_limit_is_waited_out() {
    let emu = start(EmulatorConfig {
        token_rate_limit: RateLimit {
            capacity: 1,
            refill_per_minute: 60,
        },
        ..EmulatorConfig::default()
    });
    let a = client(&emu, service_account(), None);
    a.list_policies(ORG).await.unwrap();
    let b = client(&emu, service_account(), None);
    let started = std::time::Instant::now();
    b.list_policies(ORG).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(emu.tokens_minted(), 2);
    let statuses: Vec<u16> = emu
        .requests()
        .iter()
        .filter(|r| r.path == "/api/oauth/token")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![200, 429, 200]);
}
