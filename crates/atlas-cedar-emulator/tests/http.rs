//! The emulator over raw HTTP: what a client other than ours would see.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use atlas_cedar_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultKind, FaultRule, RateLimit, Role,
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID, DEFAULT_PRIVATE_KEY,
    DEFAULT_PUBLIC_KEY,
};
use md5::{Digest as _, Md5};
use reqwest::{Client, Method, Response};

const V: &str = "application/vnd.atlas.2024-08-05+json";
const BODY: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };";

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn param(header: &str, key: &str) -> String {
    let start = header.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
    let rest = &header[start..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn digest(method: &str, uri: &str, challenge: &str, nc: u32) -> String {
    let realm = param(challenge, "realm");
    let nonce = param(challenge, "nonce");
    let nc = format!("{nc:08x}");
    let ha1 = md5_hex(&format!(
        "{DEFAULT_PUBLIC_KEY}:{realm}:{DEFAULT_PRIVATE_KEY}"
    ));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let resp = md5_hex(&format!("{ha1}:{nonce}:{nc}:abc:auth:{ha2}"));
    format!(
        "Digest username=\"{DEFAULT_PUBLIC_KEY}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", qop=auth, nc={nc}, cnonce=\"abc\", response=\"{resp}\""
    )
}

fn path() -> String {
    format!("/api/atlas/v2/orgs/{DEFAULT_ORG_ID}/resourcePolicies")
}

async fn send(
    emu: &EmulatorHandle,
    method: Method,
    path: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> Response {
    let mut r = Client::new()
        .request(method, format!("{}{path}", emu.base_url()))
        .header("accept", V);
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    if let Some(b) = body {
        r = r.header("content-type", V).body(b.to_owned());
    }
    r.send().await.unwrap()
}

async fn challenge(emu: &EmulatorHandle) -> String {
    let r = send(emu, Method::GET, &path(), None, None).await;
    assert_eq!(r.status().as_u16(), 401);
    r.headers()["www-authenticate"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn digest_nonce_counts_cannot_be_replayed() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let c = challenge(&emu).await;
    assert!(c.starts_with("Digest ") && c.contains("qop=\"auth\"") && c.contains("algorithm=MD5"));
    let p = path();
    let a1 = digest("GET", &p, &c, 1);
    assert_eq!(
        send(&emu, Method::GET, &p, Some(&a1), None)
            .await
            .status()
            .as_u16(),
        200
    );
    // the same nc again is a replay
    let r = send(&emu, Method::GET, &p, Some(&a1), None).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("stale=true"));
    // the next nc on the same nonce works
    let a2 = digest("GET", &p, &c, 2);
    assert_eq!(
        send(&emu, Method::GET, &p, Some(&a2), None)
            .await
            .status()
            .as_u16(),
        200
    );
    // a response computed for another method fails
    let wrong = digest("POST", &p, &c, 3);
    assert_eq!(
        send(&emu, Method::GET, &p, Some(&wrong), None)
            .await
            .status()
            .as_u16(),
        401
    );
}

async fn mint(emu: &EmulatorHandle) -> Response {
    Client::new()
        .post(format!("{}/api/oauth/token", emu.base_url()))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn oauth_tokens_are_limited_and_revocable() {
    let emu = Emulator::start(EmulatorConfig {
        max_live_tokens: 2,
        ..Default::default()
    })
    .unwrap();
    let t1: serde_json::Value = mint(&emu).await.json().await.unwrap();
    assert_eq!(t1["token_type"], "Bearer");
    assert_eq!(t1["expires_in"], 3600);
    let token = t1["access_token"].as_str().unwrap().to_owned();
    assert_eq!(mint(&emu).await.status().as_u16(), 200);
    let third = mint(&emu).await;
    assert_eq!(third.status().as_u16(), 403);
    let body: serde_json::Value = third.json().await.unwrap();
    assert_eq!(body["error"], "access_denied");

    let bearer = format!("Bearer {token}");
    assert_eq!(
        send(&emu, Method::GET, &path(), Some(&bearer), None)
            .await
            .status()
            .as_u16(),
        200
    );
    let revoked = Client::new()
        .post(format!("{}/api/oauth/revoke", emu.base_url()))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .body(format!("token={token}&token_type_hint=access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(
        send(&emu, Method::GET, &path(), Some(&bearer), None)
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(mint(&emu).await.status().as_u16(), 200);

    let bad = Client::new()
        .post(format!("{}/api/oauth/token", emu.base_url()))
        .basic_auth(DEFAULT_CLIENT_ID, Some("wrong"))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
}

fn owner_token_config() -> EmulatorConfig {
    EmulatorConfig {
        access_tokens: vec![("t".into(), Role::OrgOwner)],
        ..Default::default()
    }
}

#[tokio::test]
async fn names_are_unique_ids_are_hex_and_patch_renews_policy_ids() {
    let emu = Emulator::start(owner_token_config()).unwrap();
    let create = serde_json::json!({ "name": "a", "policies": [{ "body": BODY }] }).to_string();
    let r = send(&emu, Method::POST, &path(), Some("Bearer t"), Some(&create)).await;
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(r.headers()["content-type"], V);
    let a: serde_json::Value = r.json().await.unwrap();
    let id = a["id"].as_str().unwrap().to_owned();
    assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(a["policies"][0]["body"], BODY);

    let dup = send(&emu, Method::POST, &path(), Some("Bearer t"), Some(&create)).await;
    assert_eq!(dup.status().as_u16(), 400);
    let e: serde_json::Value = dup.json().await.unwrap();
    assert_eq!(e["error"], 400);
    assert!(e["errorCode"].as_str().unwrap().contains("DUPLICATE"));

    let create_b = serde_json::json!({ "name": "b", "policies": [{ "body": BODY }] }).to_string();
    let b: serde_json::Value = send(
        &emu,
        Method::POST,
        &path(),
        Some("Bearer t"),
        Some(&create_b),
    )
    .await
    .json()
    .await
    .unwrap();
    let b_path = format!("{}/{}", path(), b["id"].as_str().unwrap());
    let rename = serde_json::json!({ "name": "a" }).to_string();
    let r = send(
        &emu,
        Method::PATCH,
        &b_path,
        Some("Bearer t"),
        Some(&rename),
    )
    .await;
    assert_eq!(r.status().as_u16(), 400, "renaming onto an existing name");

    let a_path = format!("{}/{id}", path());
    let patch = serde_json::json!({ "policies": [{ "body": BODY }] }).to_string();
    let p: serde_json::Value = send(&emu, Method::PATCH, &a_path, Some("Bearer t"), Some(&patch))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p["id"], id.as_str());
    assert_ne!(p["policies"][0]["id"], a["policies"][0]["id"]);

    let bad_org = send(
        &emu,
        Method::GET,
        "/api/atlas/v2/orgs/<ORG_ID>/resourcePolicies",
        Some("Bearer t"),
        None,
    )
    .await;
    assert_eq!(bad_org.status().as_u16(), 400);

    let bad_body = serde_json::json!({ "name": "c", "policies": [{ "body": "permit (principal, action, resource);" }] }).to_string();
    let r = send(
        &emu,
        Method::POST,
        &path(),
        Some("Bearer t"),
        Some(&bad_body),
    )
    .await;
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["content-type"], V);
    let env: serde_json::Value = r.json().await.unwrap();
    assert!(env["errorType"].as_str().unwrap().starts_with("POLICY_"));
    assert_eq!(
        env["invalidPolicies"][0]["body"],
        "permit (principal, action, resource);"
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let emu = Emulator::start(EmulatorConfig {
        rate_limit: RateLimit {
            capacity: 2,
            refill_per_minute: 6,
        },
        ..owner_token_config()
    })
    .unwrap();
    for _ in 0..2 {
        assert_eq!(
            send(&emu, Method::GET, &path(), Some("Bearer t"), None)
                .await
                .status()
                .as_u16(),
            200
        );
    }
    let r = send(&emu, Method::GET, &path(), Some("Bearer t"), None).await;
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    assert_eq!(r.headers()["ratelimit-limit"], "2");
    // other organizations have their own bucket
    let other = "/api/atlas/v2/orgs/aaaaaaaaaaaaaaaaaaaaaaaa/resourcePolicies";
    assert_eq!(
        send(&emu, Method::GET, other, Some("Bearer t"), None)
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn control_endpoints_log_and_faults() {
    let emu = Emulator::start(owner_token_config()).unwrap();
    let fault = serde_json::json!({ "method": "GET", "kind": { "kind": "status", "status": 503 } });
    let r = Client::new()
        .post(format!("{}/__emulator/faults", emu.base_url()))
        .body(fault.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(
        send(&emu, Method::GET, &path(), Some("Bearer t"), None)
            .await
            .status()
            .as_u16(),
        503
    );
    assert_eq!(
        send(&emu, Method::GET, &path(), Some("Bearer t"), None)
            .await
            .status()
            .as_u16(),
        200
    );
    let log: serde_json::Value = Client::new()
        .get(format!("{}/__emulator/requests", emu.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<u64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![503, 200]);
    assert_eq!(emu.requests().len(), 2);

    // dropping the connection after a write: the client sees no answer, the write stays
    emu.add_fault(FaultRule::new(Some("POST"), FaultKind::DropAfterApply, 1));
    let create = serde_json::json!({ "name": "x", "policies": [{ "body": BODY }] }).to_string();
    let err = Client::new()
        .post(format!("{}{}", emu.base_url(), path()))
        .header("accept", V)
        .header("content-type", V)
        .header("authorization", "Bearer t")
        .body(create)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(err.is_err(), "{err:?}");
    assert_eq!(emu.policies(DEFAULT_ORG_ID).len(), 1);
    assert!(emu.requests().last().unwrap().dropped);
}

#[tokio::test]
async fn state_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let cfg = EmulatorConfig {
        state_file: Some(state.clone()),
        ..owner_token_config()
    };
    let emu = Emulator::start(cfg.clone()).unwrap();
    let create = serde_json::json!({ "name": "kept", "policies": [{ "body": BODY }] }).to_string();
    assert_eq!(
        send(&emu, Method::POST, &path(), Some("Bearer t"), Some(&create))
            .await
            .status()
            .as_u16(),
        201
    );
    emu.shutdown();
    let again = Emulator::start(cfg).unwrap();
    let list: serde_json::Value = send(&again, Method::GET, &path(), Some("Bearer t"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["name"], "kept");
    assert_eq!(list[0]["policies"][0]["body"], BODY);
}
