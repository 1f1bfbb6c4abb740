//! Stream processors over raw HTTP: shapes, states, the refused PATCH of a
//! running processor, pagination, the failure hook.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use atlas_cedar_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Role};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const V: &str = "application/vnd.atlas.2024-05-30+json";
const BASE: &str = "/api/atlas/v2/groups/5f2222222222222222222222/streams/my%20tenant";

fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        access_tokens: vec![("t".into(), Role::OrgOwner)],
        ..EmulatorConfig::default()
    })
    .unwrap()
}

async fn call(
    emu: &EmulatorHandle,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_v(emu, method, path, body, V).await
}

async fn call_v(
    emu: &EmulatorHandle,
    method: Method,
    path: &str,
    body: Option<Value>,
    version: &str,
) -> (u16, Value) {
    let mut r = Client::new()
        .request(method, format!("{}{BASE}{path}", emu.base_url()))
        .header("accept", version)
        .header("authorization", "Bearer t");
    if let Some(b) = body {
        r = r.header("content-type", version).body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn pipeline() -> Value {
    json!([{"$source": {"connectionName": "kafka"}}, {"$emit": {"connectionName": "__testLog"}}])
}

#[tokio::test]
async fn lifecycle_states_and_the_refused_patch_of_a_running_processor() {
    let emu = emulator();
    let body = json!({"name": "a:b", "pipeline": pipeline(),
                      "options": {"dlq": {"connectionName": "atlas", "db": "d", "coll": "c"}}});
    let (s, p) = call(&emu, Method::POST, "/processor", Some(body.clone())).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["state"], "CREATED");
    assert_eq!(p["_id"].as_str().unwrap().len(), 24);
    assert_eq!(p["options"]["dlq"]["db"], "d");
    assert!(p["stats"].is_object());
    let (s, e) = call(&emu, Method::POST, "/processor", Some(body)).await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (409, Some("DUPLICATE_STREAM_PROCESSOR_NAME"))
    );
    let (s, e) = call_v(
        &emu,
        Method::GET,
        "/processor/a%3Ab",
        None,
        "application/vnd.atlas.2023-01-01+json",
    )
    .await;
    assert_eq!(s, 406, "{e}");

    // :start answers at once; the state shows from the second read.
    let (s, r) = call(&emu, Method::POST, "/processor/a%3Ab:start", None).await;
    assert_eq!((s, r), (200, json!({})));
    assert_eq!(
        call(&emu, Method::GET, "/processor/a%3Ab", None).await.1["state"],
        "CREATED"
    );
    assert_eq!(
        call(&emu, Method::GET, "/processor/a%3Ab", None).await.1["state"],
        "STARTED"
    );

    // Running: PATCH refused; still refused right after :stop (not seen yet).
    let patch = json!({"name": "renamed", "options": {"dlq": {}, "resumeFromCheckpoint": false}});
    let (s, e) = call(&emu, Method::PATCH, "/processor/a%3Ab", Some(patch.clone())).await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (400, Some("VALIDATION_ERROR")),
        "{e}"
    );
    assert!(
        e["detail"].as_str().unwrap().contains("must be STOPPED"),
        "{e}"
    );
    call(&emu, Method::POST, "/processor/a%3Ab:stop", None).await;
    let (s, _) = call(&emu, Method::PATCH, "/processor/a%3Ab", Some(patch.clone())).await;
    assert_eq!(s, 400);
    call(&emu, Method::GET, "/processor/a%3Ab", None).await;
    assert_eq!(
        call(&emu, Method::GET, "/processor/a%3Ab", None).await.1["state"],
        "STOPPED"
    );
    let (s, p) = call(&emu, Method::PATCH, "/processor/a%3Ab", Some(patch)).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["name"], "renamed");
    assert_eq!(p["options"], json!({}));
    assert_eq!(p["pipeline"], pipeline());

    // Bad bodies.
    let (s, e) = call(
        &emu,
        Method::PATCH,
        "/processor/renamed",
        Some(json!({"pipeline": {}})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["badRequestDetail"]["fields"][0]["field"], "pipeline");

    let (s, _) = call(&emu, Method::DELETE, "/processor/renamed", None).await;
    assert_eq!(s, 204);
    let (s, e) = call(&emu, Method::GET, "/processor/renamed", None).await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (404, Some("STREAM_PROCESSOR_NOT_FOUND"))
    );
}

#[tokio::test]
async fn pages_and_the_failure_hook() {
    let emu = emulator();
    for name in ["one", "two", "three"] {
        let mut p = pipeline();
        if name == "two" {
            p.as_array_mut()
                .unwrap()
                .push(json!({"$emulatorFail": "sink unreachable"}));
        }
        let (s, _) = call(
            &emu,
            Method::POST,
            "/processor",
            Some(json!({"name": name, "pipeline": p})),
        )
        .await;
        assert_eq!(s, 200);
    }
    let (s, page) = call(
        &emu,
        Method::GET,
        "/processors?pageNum=2&itemsPerPage=2",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(page["totalCount"], 3);
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    assert_eq!(page["results"][0]["name"], "three");
    let (_, first) = call(&emu, Method::GET, "/processors?itemsPerPage=2", None).await;
    assert!(first["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "next"));

    call(&emu, Method::POST, "/processor/two:start", None).await;
    call(&emu, Method::GET, "/processor/two", None).await;
    let (_, p) = call(&emu, Method::GET, "/processor/two", None).await;
    assert_eq!(p["state"], "FAILED");
    assert_eq!(p["errorMsg"], "sink unreachable");
    assert!(p.get("__pending").is_none());
}

/// `envelope=true` and `pretty=true`, which Atlas honours on every
/// operation: the status moves into the body (a list page gets `status`,
/// anything else is wrapped as `{status, content}`) and HTTP says 200; the
/// JSON is indented.
#[tokio::test]
async fn envelope_and_pretty_are_honoured() {
    let emu = emulator();
    let get = |query: &'static str| {
        let url = format!("{}{BASE}/processors{query}", emu.base_url());
        async move {
            let r = Client::new()
                .get(url)
                .header("accept", V)
                .header("authorization", "Bearer t")
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, plain) = get("").await;
    assert_eq!(status, 200);
    assert!(!plain.contains('\n'), "{plain}");
    let (status, text) = get("?envelope=true&pretty=true").await;
    assert_eq!(status, 200);
    assert!(text.contains("\n  \""), "indented: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["results"], json!([]));

    // Not found: HTTP 200, the 404 and the error in the envelope.
    let url = format!("{}{BASE}/processor/absent?envelope=true", emu.base_url());
    let r = Client::new()
        .get(url)
        .header("accept", V)
        .header("authorization", "Bearer t")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["status"], 404, "{v}");
    assert_eq!(v["content"]["error"], 404, "{v}");
}
