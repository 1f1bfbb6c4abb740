//! Export buckets, data-federation private endpoints and organization API
//! keys over raw HTTP: per-operation versions, Atlas's validation and 404
//! codes, pagination, and the private key answered once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use atlas_cedar_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Role, DEFAULT_ORG_ID};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const TOKEN: &str = "owner-token";
const P: &str = "5f1111111111111111111111";
const ROLE: &str = "668c5f0ed436263134491592";

fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        access_tokens: vec![(TOKEN.to_owned(), Role::OrgOwner)],
        ..EmulatorConfig::default()
    })
    .unwrap()
}

/// Sends a request with `version`; answers the status and the JSON body
/// (`Null` when empty).
async fn call(
    emu: &EmulatorHandle,
    method: Method,
    path: &str,
    version: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let media = format!("application/vnd.atlas.{version}+json");
    let mut r = Client::new()
        .request(method, format!("{}/api/atlas/v2{path}", emu.base_url()))
        .bearer_auth(TOKEN)
        .header("Accept", &media);
    if let Some(b) = body {
        r = r.header("Content-Type", &media).body(b.to_string());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, v)
}

#[tokio::test]
async fn export_bucket_versions_bodies_and_codes() {
    let emu = emulator();
    let base = format!("/groups/{P}/backup/exportBuckets");
    let aws = json!({"iamRoleId": ROLE, "bucketName": "export-bucket", "cloudProvider": "AWS"});

    // the deprecated 2023-01-01 create is not answered; 2024-05-30 is
    let (s, v) = call(&emu, Method::POST, &base, "2023-01-01", Some(aws.clone())).await;
    assert_eq!(
        (s, v["errorCode"].as_str()),
        (406, Some("INVALID_VERSION_DATE"))
    );
    let (s, made) = call(&emu, Method::POST, &base, "2024-05-30", Some(aws)).await;
    assert_eq!(s, 200, "{made}");
    let id = made["_id"].as_str().unwrap().to_owned();
    assert_eq!(made["bucketName"], "export-bucket");
    assert_eq!(made["links"][0]["rel"], "self");

    // Atlas's checks
    for (body, code) in [
        (
            json!({"cloudProvider": "AWS", "bucketName": "ab", "iamRoleId": ROLE}),
            "INVALID_ATTRIBUTE",
        ),
        (
            json!({"cloudProvider": "AWS", "bucketName": "abc"}),
            "MISSING_ATTRIBUTE",
        ),
        (
            json!({"cloudProvider": "AZURE", "bucketName": "abc", "roleId": ROLE}),
            "INVALID_ATTRIBUTE",
        ),
        (
            json!({"cloudProvider": "IBM", "bucketName": "abc", "roleId": ROLE}),
            "VALIDATION_ERROR",
        ),
    ] {
        let (s, v) = call(&emu, Method::POST, &base, "2024-05-30", Some(body.clone())).await;
        assert_eq!(
            (s, v["errorCode"].as_str()),
            (400, Some(code)),
            "{body} → {v}"
        );
    }

    // PATCH takes requirePrivateNetworking only
    let one = format!("{base}/{id}");
    let (s, v) = call(
        &emu,
        Method::PATCH,
        &one,
        "2024-05-30",
        Some(json!({"bucketName": "x"})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = call(
        &emu,
        Method::PATCH,
        &one,
        "2024-05-30",
        Some(json!({"requirePrivateNetworking": true})),
    )
    .await;
    assert_eq!(
        (s, v["requirePrivateNetworking"].as_bool()),
        (200, Some(true))
    );

    // DELETE is answered in 2023-01-01 only
    let (s, _) = call(&emu, Method::DELETE, &one, "2024-05-30", None).await;
    assert_eq!(s, 406);
    let (s, v) = call(&emu, Method::DELETE, &one, "2023-01-01", None).await;
    assert_eq!((s, v), (204, Value::Null));
    let (s, v) = call(&emu, Method::GET, &one, "2024-05-30", None).await;
    assert_eq!(
        (s, v["errorCode"].as_str()),
        (404, Some("EXPORT_BUCKET_NOT_FOUND"))
    );
    let (s, v) = call(&emu, Method::GET, &base, "2024-05-30", None).await;
    assert_eq!((s, v["totalCount"].as_u64()), (200, Some(0)));
}

/// Percent-encodes a path segment as clients must for Azure ids.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn federation_endpoints_upsert_page_and_decode_ids() {
    let emu = emulator();
    let base = format!("/groups/{P}/privateNetworkSettings/endpointIds");
    let v = "2023-01-01";
    let e = json!({"endpointId": "vpce-3bf78b0ddee411ba1", "comment": "one", "region": "US_EAST_1",
                   "customerEndpointDNSName": "vpce-1.example.com"});
    let (s, page) = call(&emu, Method::POST, &base, v, Some(e)).await;
    assert_eq!(s, 201, "{page}");
    assert_eq!(page["results"][0]["provider"], "AWS");
    assert_eq!(page["results"][0]["type"], "DATA_LAKE");
    // same endpointId: replaced, not added
    let (s, page) = call(
        &emu,
        Method::POST,
        &base,
        v,
        Some(json!({"endpointId": "vpce-3bf78b0ddee411ba1", "comment": "two"})),
    )
    .await;
    assert_eq!((s, page["totalCount"].as_u64()), (201, Some(1)));
    assert_eq!(page["results"][0]["comment"], "two");
    assert!(page["results"][0].get("region").is_none());

    for bad in [
        json!({"endpointId": "vpce-1"}),
        json!({"endpointId": "vpce-3bf78b0ddee411ba2", "region": "US_EAST_1"}),
        json!({"endpointId": "vpce-3bf78b0ddee411ba2", "type": "ONLINE"}),
        json!({"endpointId": "x", "provider": "AZURE", "customerEndpointIPAddress": "10.0.0.300"}),
    ] {
        let (s, _) = call(&emu, Method::POST, &base, v, Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad}");
    }

    let azure =
        "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe 1";
    let (s, _) = call(&emu, Method::POST, &base, v,
        Some(json!({"endpointId": azure, "provider": "AZURE", "customerEndpointIPAddress": "10.0.0.4"}))).await;
    assert_eq!(s, 201);
    let encoded = encode(azure);
    let (s, got) = call(&emu, Method::GET, &format!("{base}/{encoded}"), v, None).await;
    assert_eq!((s, got["endpointId"].as_str()), (200, Some(azure)));

    // pages
    let (s, p2) = call(
        &emu,
        Method::GET,
        &format!("{base}?pageNum=2&itemsPerPage=1"),
        v,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(p2["results"].as_array().unwrap().len(), 1);
    assert_eq!(p2["results"][0]["endpointId"], azure);
    assert_eq!(p2["totalCount"], 2);

    let (s, _) = call(&emu, Method::DELETE, &format!("{base}/{encoded}"), v, None).await;
    assert_eq!(s, 204);
    let (s, err) = call(&emu, Method::DELETE, &format!("{base}/{encoded}"), v, None).await;
    assert_eq!(
        (s, err["errorCode"].as_str()),
        (404, Some("RESOURCE_NOT_FOUND"))
    );
    let (s, _) = call(&emu, Method::GET, &base, "2024-05-30", None).await;
    assert_eq!(s, 406);
}

#[tokio::test]
async fn api_keys_answer_the_private_key_once() {
    let emu = emulator();
    let base = format!("/orgs/{DEFAULT_ORG_ID}/apiKeys");
    let v = "2023-01-01";
    let (s, made) = call(
        &emu,
        Method::POST,
        &base,
        v,
        Some(json!({"desc": "ci", "roles": ["ORG_READ_ONLY"]})),
    )
    .await;
    assert_eq!(s, 200, "{made}");
    let private = made["privateKey"].as_str().unwrap().to_owned();
    assert_eq!(private.len(), 36);
    assert_eq!(
        made["roles"][0],
        json!({"orgId": DEFAULT_ORG_ID, "roleName": "ORG_READ_ONLY"})
    );
    let id = made["id"].as_str().unwrap().to_owned();

    // a seeded key's private part is not answered either
    let mut stored = emu.resources(&format!("apiKeys/{DEFAULT_ORG_ID}"));
    assert!(!serde_json::to_string(&stored).unwrap().contains(&private));
    stored.push(json!({"id": "5f2222222222222222222201", "desc": "seeded", "privateKey": "seeded-secret", "roles": []}));
    emu.set_resources(&format!("apiKeys/{DEFAULT_ORG_ID}"), stored);
    let (s, list) = call(&emu, Method::GET, &base, v, None).await;
    assert_eq!((s, list["totalCount"].as_u64()), (200, Some(2)));
    let text = list.to_string();
    assert!(
        !text.contains("privateKey") && !text.contains(&private),
        "{text}"
    );
    let (_, one) = call(
        &emu,
        Method::GET,
        &format!("{base}/5f2222222222222222222201"),
        v,
        None,
    )
    .await;
    assert!(one.get("privateKey").is_none(), "{one}");

    let (s, patched) = call(
        &emu,
        Method::PATCH,
        &format!("{base}/{id}"),
        v,
        Some(json!({"desc": "ci-2"})),
    )
    .await;
    assert_eq!((s, patched["desc"].as_str()), (200, Some("ci-2")));
    let (s, _) = call(
        &emu,
        Method::POST,
        &base,
        v,
        Some(json!({"desc": "x", "roles": ["GROUP_OWNER"]})),
    )
    .await;
    assert_eq!(s, 400);

    let (s, _) = call(&emu, Method::DELETE, &format!("{base}/{id}"), v, None).await;
    assert_eq!(s, 204);
    let (s, err) = call(&emu, Method::DELETE, &format!("{base}/{id}"), v, None).await;
    assert_eq!(
        (s, err["errorCode"].as_str()),
        (404, Some("API_KEY_NOT_FOUND"))
    );
}
