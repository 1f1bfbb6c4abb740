//! Search indexes over raw HTTP: shapes, states, errors and resource-policy
//! enforcement, as any client would see them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use atlas_cedar_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Role, DEFAULT_ORG_ID};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const V: &str = "application/vnd.atlas.2024-05-30+json";
const GROUP: &str = "65f0a1b2c3d4e5f6a7b8c9d1";

fn config() -> EmulatorConfig {
    EmulatorConfig {
        access_tokens: vec![("t".into(), Role::OrgOwner)],
        ..Default::default()
    }
}

fn base() -> String {
    format!("/api/atlas/v2/groups/{GROUP}/clusters/Cluster0/search/indexes")
}

async fn call(
    emu: &EmulatorHandle,
    method: Method,
    path: &str,
    version: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = Client::new()
        .request(method, format!("{}{path}", emu.base_url()))
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

fn movies() -> Value {
    json!({"collectionName": "movies", "database": "mflix", "name": "default",
           "type": "search", "definition": {"mappings": {"dynamic": true}}})
}

#[tokio::test]
async fn an_index_builds_over_reads_and_answers_the_reference_shape() {
    let emu = Emulator::start(config()).unwrap();
    let (s, created) = call(&emu, Method::POST, &base(), V, Some(movies())).await;
    assert_eq!(s, 201, "{created}");
    let id = created["indexID"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["latestDefinition"]["analyzer"], "lucene.standard");
    assert_eq!(created["latestDefinition"]["numPartitions"], 1);
    assert_eq!(created["latestDefinitionVersion"]["version"], 0);
    assert_eq!(created["statusDetail"][0]["mainIndex"]["status"], "PENDING");

    let mut seen = Vec::new();
    for _ in 0..5 {
        let (s, i) = call(&emu, Method::GET, &format!("{}/{id}", base()), V, None).await;
        assert_eq!(s, 200);
        seen.push(i["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["PENDING", "BUILDING", "BUILDING", "READY", "READY"]);

    // By name, percent-decoded; the list is a plain array.
    let (s, i) = call(
        &emu,
        Method::GET,
        &format!("{}/mflix/movies/default", base()),
        V,
        None,
    )
    .await;
    assert_eq!((s, i["indexID"].as_str()), (200, Some(id.as_str())));
    assert_eq!(i["queryable"], true);
    let (s, list) = call(&emu, Method::GET, &base(), V, None).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // A PATCH builds in the background while the old definition serves.
    let patch = json!({"definition": {"mappings": {"dynamic": false, "fields": {"title": {"type": "string"}}}}});
    let (s, p) = call(
        &emu,
        Method::PATCH,
        &format!("{}/{id}", base()),
        V,
        Some(patch),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["status"], "PENDING");
    assert_eq!(p["queryable"], true);
    assert_eq!(p["latestDefinitionVersion"]["version"], 1);
    assert_eq!(p["statusDetail"][0]["stagedIndex"]["status"], "PENDING");
    assert_eq!(p["statusDetail"][0]["mainIndex"]["status"], "READY");
    for _ in 0..4 {
        call(&emu, Method::GET, &format!("{}/{id}", base()), V, None).await;
    }
    let (_, i) = call(&emu, Method::GET, &format!("{}/{id}", base()), V, None).await;
    assert_eq!(i["status"], "READY");
    assert!(i["statusDetail"][0].get("stagedIndex").is_none());
    assert_eq!(
        i["statusDetail"][0]["mainIndex"]["definitionVersion"]["version"],
        1
    );

    // Only the definition can change; by name works for DELETE too.
    let (s, e) = call(
        &emu,
        Method::PATCH,
        &format!("{}/{id}", base()),
        V,
        Some(json!({"name": "x", "definition": {"mappings": {"dynamic": true}}})),
    )
    .await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (400, Some("INVALID_ATTRIBUTE"))
    );
    let (s, _) = call(
        &emu,
        Method::DELETE,
        &format!("{}/mflix/movies/default", base()),
        V,
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, e) = call(&emu, Method::GET, &format!("{}/{id}", base()), V, None).await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (404, Some("RESOURCE_NOT_FOUND"))
    );
}

#[tokio::test]
async fn errors_duplicates_versions_and_the_failure_marker() {
    let emu = Emulator::start(config()).unwrap();
    assert_eq!(
        call(&emu, Method::POST, &base(), V, Some(movies())).await.0,
        201
    );
    let (s, e) = call(&emu, Method::POST, &base(), V, Some(movies())).await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (400, Some("ATLAS_FTS_DUPLICATE_INDEX"))
    );
    let (s, _) = call(
        &emu,
        Method::GET,
        &base(),
        "application/vnd.atlas.2024-08-05+json",
        None,
    )
    .await;
    assert_eq!(s, 406);
    let mut no_mappings = movies();
    no_mappings["name"] = json!("other");
    no_mappings["definition"] = json!({"analyzer": "lucene.english"});
    let (s, e) = call(&emu, Method::POST, &base(), V, Some(no_mappings)).await;
    assert_eq!(
        (s, e["errorCode"].as_str()),
        (400, Some("INVALID_ATTRIBUTE"))
    );
    let vector = json!({"collectionName": "movies", "database": "mflix", "name": "v",
                        "type": "vectorSearch", "definition": {"fields": []}});
    assert_eq!(
        call(&emu, Method::POST, &base(), V, Some(vector)).await.0,
        400
    );
    let (s, _) = call(
        &emu,
        Method::GET,
        &format!("/api/atlas/v2/groups/{GROUP}/clusters/-bad/search/indexes"),
        V,
        None,
    )
    .await;
    assert_eq!(s, 400);

    let mut failing = movies();
    failing["name"] = json!("failing");
    failing["definition"] = json!({"analyzer": "emulator.fail", "mappings": {"dynamic": true}});
    let (_, f) = call(&emu, Method::POST, &base(), V, Some(failing)).await;
    let id = f["indexID"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    for _ in 0..4 {
        last = call(&emu, Method::GET, &format!("{}/{id}", base()), V, None)
            .await
            .1;
    }
    assert_eq!(last["status"], "FAILED");
    assert_eq!(
        last["statusDetail"][0]["mainIndex"]["message"],
        "Index build failed: analyzer \"emulator.fail\" is not defined."
    );
}

#[tokio::test]
async fn resource_policies_are_enforced_with_the_configured_cluster_facts() {
    let gcp = EmulatorConfig {
        cluster_cloud_providers: vec!["gcp".to_owned()],
        ..config()
    };
    for (cfg, expected) in [(config(), 201), (gcp, 403)] {
        let emu = Emulator::start(cfg).unwrap();
        let policy = json!({"name": "no-gcp-search", "policies": [{"body":
            "forbid (principal, action == ResourcePolicy::Action::\"search.index.modify\", resource)\nwhen { context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\"gcp\") };"}]});
        let (s, _) = call(
            &emu,
            Method::POST,
            &format!("/api/atlas/v2/orgs/{DEFAULT_ORG_ID}/resourcePolicies"),
            "application/vnd.atlas.2024-08-05+json",
            Some(policy),
        )
        .await;
        assert_eq!(s, 201);
        let (s, e) = call(&emu, Method::POST, &base(), V, Some(movies())).await;
        assert_eq!(s, expected, "{e}");
        if expected == 403 {
            assert_eq!(
                e["errorCode"],
                "ATLAS_RESOURCE_POLICIES_VIOLATION_NOT_AUTHORIZED"
            );
        }
    }

    // isAutoEmbed: a policy against auto-embedding refuses only those.
    let emu = Emulator::start(config()).unwrap();
    let policy = json!({"name": "no-auto-embed", "policies": [{"body":
        "forbid (principal, action == ResourcePolicy::Action::\"search.index.modify\", resource)\nwhen { context.search.index.isAutoEmbed };"}]});
    call(
        &emu,
        Method::POST,
        &format!("/api/atlas/v2/orgs/{DEFAULT_ORG_ID}/resourcePolicies"),
        "application/vnd.atlas.2024-08-05+json",
        Some(policy),
    )
    .await;
    let vector = |name: &str, ty: &str| {
        json!({"collectionName": "movies", "database": "mflix", "name": name, "type": "vectorSearch",
               "definition": {"fields": [{"type": ty, "path": "plot"}]}})
    };
    assert_eq!(
        call(
            &emu,
            Method::POST,
            &base(),
            V,
            Some(vector("a", "autoEmbed"))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(&emu, Method::POST, &base(), V, Some(vector("b", "vector")))
            .await
            .0,
        201
    );
}
