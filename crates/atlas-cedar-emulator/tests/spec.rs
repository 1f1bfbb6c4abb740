//! The emulator's answers against MongoDB's official Atlas Admin API v2
//! OpenAPI document (the subset in `tests/spec/`, see its README): every
//! operation the emulator serves is driven over HTTP with realistic requests,
//! and every answer must
//!
//! - carry a status code the spec declares for that operation;
//! - when it has a body, carry a declared media type (the versioned type for
//!   successes) and validate, with the `jsonschema` crate, against the schema
//!   the spec declares for that operation, status and media type;
//! - hold no JSON `null`: the subset declares no `nullable` field, and JSON
//!   Schema has no `nullable`, so `null` where a string is declared fails the
//!   schema too.
//!
//! `envelope=true` and `pretty=true` are checked on operations of every
//! kind (object, plain array, page, error, empty answer).
//!
//! The schemas are OpenAPI 3.0 Schema Objects; two things are translated so
//! that a JSON Schema validator (draft 2020-12 here) sees what OpenAPI means:
//!
//! - `discriminator.mapping`: OpenAPI selects the mapped schema by the value
//!   of the discriminating property (`cloudProvider`, `type`); a JSON Schema
//!   validator ignores the keyword, so each such schema becomes
//!   `allOf: [base, if <property> = <value> then <mapped schema>, …]`, and a
//!   mapped schema that extends the base with `allOf` refers to the base
//!   without the dispatch (as OpenAPI inheritance means, and without it the
//!   reference would loop);
//! - known defects of the published document, each overridden where the
//!   document contradicts itself, and asserted first so that a new version of
//!   the spec makes the test say so ([`fix_known_defects`]).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use atlas_cedar_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Role, DEFAULT_ORG_ID};
use reqwest::{Client, Method};
use serde_json::{json, Map, Value};

const SPEC_TEXT: &str = include_str!("spec/atlas-admin-v2-subset.json");
const PREFIX: &str = "/api/atlas/v2";
const ORG: &str = DEFAULT_ORG_ID;
const G: &str = "5f00000000000000000000cc";
const RP: &str = "2024-08-05";
const V2023: &str = "2023-01-01";
const V2024: &str = "2024-05-30";
const POLICY: &str = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };";
const NO_BODY: &str = "#/components/schemas/NoBody";

// ---------------------------------------------------------------- the spec

struct Spec {
    /// The subset as published.
    doc: Value,
    /// `components` after [`fix_known_defects`] and the discriminator
    /// translation, plus `x-bases` (the discriminated schemas without their
    /// dispatch): the root every validator resolves `$ref`s in.
    root: Map<String, Value>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let doc: Value = serde_json::from_str(SPEC_TEXT).expect("the subset is JSON");
        assert_eq!(doc["openapi"], "3.0.1");
        assert!(
            !SPEC_TEXT.contains("\"nullable\""),
            "the subset declares a nullable field: the no-null check below must learn it"
        );
        let mut schemas = doc["components"]["schemas"].as_object().unwrap().clone();
        fix_known_defects(&mut schemas);
        let bases = translate_discriminators(&mut schemas);
        let mut components = doc["components"].as_object().unwrap().clone();
        components.insert("schemas".to_owned(), Value::Object(schemas));
        let mut root = Map::new();
        root.insert("components".to_owned(), Value::Object(components));
        root.insert("x-bases".to_owned(), Value::Object(bases));
        Spec {
            doc,
            root,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// Where the published document contradicts itself. Each value is asserted
/// as published before it is replaced.
fn fix_known_defects(schemas: &mut Map<String, Value>) {
    // `BasicDBObject` and `Document` stand for MongoDB documents (Java's
    // `BasicDBObject`, BSON's `Document`), whose values are any BSON value,
    // yet declare every value an object: a vector search field as the spec's
    // own description of `VectorSearchIndexDefinition.fields` documents it
    // (`{"type": "vector", "path": …, "numDimensions": …}`) would fail.
    for name in ["BasicDBObject", "Document"] {
        let s = schemas.get_mut(name).unwrap().as_object_mut().unwrap();
        assert_eq!(
            s.get("additionalProperties"),
            Some(&json!({"type": "object"})),
            "{name} changed in the spec: review this override"
        );
        s.remove("additionalProperties");
    }
    // An AWS service lists its interface endpoints by the ids the endpoint
    // was created with (`CreateAWSEndpointRequest.id`, `^vpce-[0-9a-f]{17}$`)
    // and is read back by (the `endpointId` path parameter, `^vpce-…`), yet
    // declares them 24-hexadecimal ObjectIds.
    let vpce = schemas["CreateAWSEndpointRequest"]
        .pointer("/allOf/1/properties/id/pattern")
        .cloned()
        .unwrap();
    assert_eq!(vpce, "^vpce-[0-9a-f]{17}$");
    let items = schemas
        .get_mut("AWSPrivateLinkConnection")
        .unwrap()
        .pointer_mut("/properties/interfaceEndpoints/items")
        .unwrap();
    assert_eq!(
        items["pattern"], "^([a-f0-9]{24})$",
        "AWSPrivateLinkConnection.interfaceEndpoints changed in the spec: review this override"
    );
    items["pattern"] = vpce;
}

/// Rewrites every schema with a `discriminator.mapping` (see the module
/// documentation); returns the bases.
fn translate_discriminators(schemas: &mut Map<String, Value>) -> Map<String, Value> {
    let names: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| s.get("discriminator").is_some())
        .map(|(n, _)| n.clone())
        .collect();
    let mut bases = Map::new();
    for name in names {
        let schema = schemas[&name].clone();
        let property = schema["discriminator"]["propertyName"]
            .as_str()
            .unwrap()
            .to_owned();
        let mapping = schema["discriminator"]["mapping"]
            .as_object()
            .unwrap()
            .clone();
        let mut base = schema.as_object().unwrap().clone();
        for k in ["discriminator", "oneOf", "anyOf"] {
            base.remove(k);
        }
        bases.insert(name.clone(), Value::Object(base));
        let own = json!({ "$ref": format!("#/components/schemas/{name}") });
        let to_base = json!({ "$ref": format!("#/x-bases/{name}") });
        let mut dispatch = vec![to_base.clone()];
        for (value, target) in &mapping {
            let target_name = target
                .as_str()
                .and_then(|t| t.strip_prefix("#/components/schemas/"))
                .unwrap();
            if let Some(all) = schemas
                .get_mut(target_name)
                .and_then(|t| t.get_mut("allOf"))
                .and_then(Value::as_array_mut)
            {
                for item in all.iter_mut().filter(|i| **i == own) {
                    *item = to_base.clone();
                }
            }
            dispatch.push(json!({
                "if": { "properties": { &property: { "const": value } }, "required": [&property] },
                "then": { "$ref": target },
            }));
        }
        schemas.insert(name, json!({ "allOf": dispatch }));
    }
    bases
}

impl Spec {
    fn operation(&self, method: &Method, template: &str) -> &Value {
        let op = &self.doc["paths"][format!("{PREFIX}{template}")][method.as_str().to_lowercase()];
        assert!(op.is_object(), "the spec has no {method} {template}");
        op
    }

    /// Every operation of the subset, as `METHOD template`.
    fn operations(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in ["get", "post", "patch", "put", "delete"] {
                if item.get(method).is_some() {
                    let template = path.strip_prefix(PREFIX).unwrap();
                    out.insert(format!("{} {template}", method.to_uppercase()));
                }
            }
        }
        out
    }

    /// A `$ref` to `#/components/responses/…` resolved.
    fn response<'a>(&'a self, r: &'a Value) -> &'a Value {
        match r.get("$ref").and_then(Value::as_str) {
            Some(p) => self.doc.pointer(p.trim_start_matches('#')).unwrap(),
            None => r,
        }
    }

    /// Validation errors of `instance` against `schema` (a Schema Object of
    /// the document; `key` names it for the cache).
    fn errors(&self, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        let validator = {
            let mut cache = self.validators.lock().unwrap();
            Arc::clone(cache.entry(key.to_owned()).or_insert_with(|| {
                let mut root = self.root.clone();
                root.insert("x-target".to_owned(), schema.clone());
                root.insert("$ref".to_owned(), json!("#/x-target"));
                let v = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&Value::Object(root))
                    .unwrap_or_else(|e| panic!("{key}: the schema does not compile: {e}"));
                Arc::new(v)
            }))
        };
        validator
            .iter_errors(instance)
            .map(|e| {
                format!(
                    "{e} (at {:?}, schema {})",
                    e.instance_path().as_str(),
                    e.evaluation_path()
                )
            })
            .collect()
    }
}

// -------------------------------------------------------------- the client

/// One answer.
struct Got {
    status: u16,
    content_type: String,
    text: String,
    json: Value,
}

struct Api {
    emu: EmulatorHandle,
    client: Client,
    violations: Mutex<Vec<String>>,
    /// Operations that answered a success.
    covered: Mutex<BTreeSet<String>>,
}

fn media(version: &str) -> String {
    format!("application/vnd.atlas.{version}+json")
}

fn fill(template: &str, params: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in params {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    assert!(!out.contains('{'), "unfilled parameter in {out}");
    out
}

/// Where `v` holds `null`.
fn nulls(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Null => out.push(if at.is_empty() {
            "/".to_owned()
        } else {
            at.to_owned()
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| nulls(x, &format!("{at}/{i}"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| nulls(x, &format!("{at}/{k}"), out)),
        _ => {}
    }
}

impl Api {
    fn new() -> Api {
        let emu = Emulator::start(EmulatorConfig {
            access_tokens: vec![("t".into(), Role::OrgOwner)],
            ..Default::default()
        })
        .unwrap();
        Api {
            emu,
            client: Client::new(),
            violations: Mutex::new(Vec::new()),
            covered: Mutex::new(BTreeSet::new()),
        }
    }

    fn violation(&self, text: String) {
        self.violations.lock().unwrap().push(text);
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        version: &str,
        body: Option<&Value>,
    ) -> Got {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        let mut r = self
            .client
            .request(
                method.clone(),
                format!("{}{PREFIX}{path}{q}", self.emu.base_url()),
            )
            .header("accept", media(version))
            .header("authorization", "Bearer t");
        if let Some(b) = body {
            r = r.header("content-type", media(version)).body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = resp.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| {
                self.violation(format!(
                    "{method} {path}: the body is not JSON ({e}): {text}"
                ));
                Value::Null
            })
        };
        Got {
            status,
            content_type,
            text,
            json,
        }
    }

    /// Sends one request of the operation `method template` and checks the
    /// answer; `expect` is the status the scenario calls for.
    async fn op(
        &self,
        expect: u16,
        method: Method,
        template: &str,
        params: &[(&str, &str)],
        version: &str,
        body: Option<Value>,
    ) -> Got {
        self.op_q(expect, method, template, params, "", version, body)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn op_q(
        &self,
        expect: u16,
        method: Method,
        template: &str,
        params: &[(&str, &str)],
        query: &str,
        version: &str,
        body: Option<Value>,
    ) -> Got {
        let path = fill(template, params);
        let got = self
            .send(&method, &path, query, version, body.as_ref())
            .await;
        if got.status != expect {
            self.violation(format!(
                "{method} {template}: expected {expect}, answered {}: {}",
                got.status, got.text
            ));
        }
        self.check(&method, template, &got);
        got
    }

    /// Checks an answer (status, media type, schema, nulls) against the
    /// operation's declared responses.
    fn check(&self, method: &Method, template: &str, got: &Got) {
        let spec = spec();
        let what = format!("{method} {template} -> {}", got.status);
        let op = spec.operation(method, template);
        let declared = op["responses"].as_object().unwrap();
        let Some(response) = declared.get(&got.status.to_string()) else {
            self.violation(format!(
                "{what}: status not declared (the spec declares {:?}): {}",
                declared.keys().collect::<Vec<_>>(),
                got.text
            ));
            return;
        };
        if (200..300).contains(&got.status) {
            self.covered
                .lock()
                .unwrap()
                .insert(format!("{method} {template}"));
        }
        let response = spec.response(response);
        let content = response.get("content").and_then(Value::as_object);
        if got.text.is_empty() {
            let wants_body = content.is_some_and(|c| {
                c.values().any(|m| {
                    m.get("schema")
                        .is_some_and(|s| s.get("$ref").and_then(Value::as_str) != Some(NO_BODY))
                })
            });
            if wants_body {
                self.violation(format!("{what}: no body, but the spec declares one"));
            }
            return;
        }
        let Some(content) = content else {
            self.violation(format!(
                "{what}: a body where the spec declares none: {}",
                got.text
            ));
            return;
        };
        let ct = got.content_type.split(';').next().unwrap_or("").trim();
        let chosen = match content.get(ct) {
            Some(m) => Some((ct.to_owned(), m)),
            // Atlas's errors are `application/json`; where the spec labels
            // an error with the versioned type only, that schema applies.
            None if got.status >= 400 && content.len() == 1 => {
                content.iter().next().map(|(k, m)| (k.clone(), m))
            }
            None => None,
        };
        let Some((media_type, m)) = chosen else {
            self.violation(format!(
                "{what}: media type {ct:?} not declared ({:?})",
                content.keys().collect::<Vec<_>>()
            ));
            return;
        };
        let Some(schema) = m.get("schema") else {
            self.violation(format!(
                "{what}: a body where the spec declares none: {}",
                got.text
            ));
            return;
        };
        let key = format!("{method} {template} {} {media_type}", got.status);
        for e in spec.errors(&key, schema, &got.json) {
            self.violation(format!("{what}: {e}\n    answer: {}", got.text));
        }
        let mut at = Vec::new();
        nulls(&got.json, "", &mut at);
        for p in at {
            self.violation(format!("{what}: null at {p}: {}", got.text));
        }
    }

    /// The same request with `envelope=true`: HTTP 200, the status in the
    /// body, and the enveloped answer checked as if it came unwrapped.
    #[allow(clippy::too_many_arguments)]
    async fn enveloped(
        &self,
        expect: u16,
        method: Method,
        template: &str,
        params: &[(&str, &str)],
        query: &str,
        version: &str,
        body: Option<Value>,
    ) -> Got {
        let op = spec().operation(&method, template);
        let params_declared = op["parameters"].to_string();
        assert!(
            params_declared.contains("#/components/parameters/envelope"),
            "{method} {template} does not declare envelope"
        );
        let path = fill(template, params);
        let q = if query.is_empty() {
            "envelope=true".to_owned()
        } else {
            format!("{query}&envelope=true")
        };
        let got = self.send(&method, &path, &q, version, body.as_ref()).await;
        let what = format!("{method} {template}?{q}");
        if got.status != 200 {
            self.violation(format!(
                "{what}: HTTP {} (an envelope answers 200)",
                got.status
            ));
        }
        let Some(status) = got.json.get("status").and_then(Value::as_u64) else {
            self.violation(format!("{what}: no status in the envelope: {}", got.text));
            return got;
        };
        let mut inner = got.json.clone();
        let obj = inner.as_object_mut().unwrap();
        obj.remove("status");
        let unwrapped = if obj.contains_key("results") {
            // A page is its own envelope: `status` is added to it.
            inner
        } else {
            let extra: Vec<&String> = obj.keys().filter(|k| *k != "content").collect();
            if !extra.is_empty() {
                self.violation(format!(
                    "{what}: envelope fields {extra:?} besides status and content"
                ));
            }
            obj.remove("content").unwrap_or(Value::Null)
        };
        let inner_got = Got {
            status: u16::try_from(status).unwrap(),
            content_type: got.content_type.clone(),
            text: if unwrapped.is_null() {
                String::new()
            } else {
                unwrapped.to_string()
            },
            json: unwrapped,
        };
        if inner_got.status != expect {
            self.violation(format!(
                "{what}: expected {expect} in the envelope, got {}",
                inner_got.status
            ));
        }
        self.check(&method, template, &inner_got);
        got
    }

    fn finish(&self) {
        let v = self.violations.lock().unwrap();
        assert!(
            v.is_empty(),
            "{} answer(s) differ from the spec:\n  - {}",
            v.len(),
            v.join("\n  - ")
        );
    }
}

fn id_of(got: &Got, key: &str) -> String {
    got.json[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {}", got.text))
        .to_owned()
}

// ---------------------------------------------------------- the scenarios

const POLICIES: &str = "/orgs/{orgId}/resourcePolicies";
const POLICY_ONE: &str = "/orgs/{orgId}/resourcePolicies/{resourcePolicyId}";
const POLICY_VALIDATE: &str = "/orgs/{orgId}/resourcePolicies:validate";
const NON_COMPLIANT: &str = "/orgs/{orgId}/nonCompliantResources";

async fn resource_policies(api: &Api) {
    let org = [("orgId", ORG)];
    let created = api
        .op(
            201,
            Method::POST,
            POLICIES,
            &org,
            RP,
            Some(json!({
                "name": "cap-clusters",
                "description": "At most two clusters a project.",
                "policies": [{"body": POLICY}],
            })),
        )
        .await;
    let id = id_of(&created, "id");
    let one = [("orgId", ORG), ("resourcePolicyId", id.as_str())];
    // the same name again; a body Atlas refuses; one it cannot parse
    let again = json!({"name": "cap-clusters", "policies": [{"body": POLICY}]});
    api.op(400, Method::POST, POLICIES, &org, RP, Some(again))
        .await;
    let permit =
        json!({"name": "open", "policies": [{"body": "permit (principal, action, resource);"}]});
    api.op(400, Method::POST, POLICIES, &org, RP, Some(permit))
        .await;
    // a policy without a description (nothing to answer for it)
    api.op(
        201,
        Method::POST,
        POLICIES,
        &org,
        RP,
        Some(json!({"name": "no-description", "policies": [{"body": POLICY}]})),
    )
    .await;
    api.op(200, Method::GET, POLICIES, &org, RP, None).await;
    api.op(200, Method::GET, POLICY_ONE, &one, RP, None).await;
    api.op(
        200,
        Method::PATCH,
        POLICY_ONE,
        &one,
        RP,
        Some(json!({"name": "cap-clusters-2", "description": "Renamed."})),
    )
    .await;
    api.op(
        200,
        Method::POST,
        POLICY_VALIDATE,
        &org,
        RP,
        Some(json!({"policies": [{"body": POLICY}]})),
    )
    .await;
    api.op(
        400,
        Method::POST,
        POLICY_VALIDATE,
        &org,
        RP,
        Some(json!({"name": "x", "policies": [{"body": "forbid (principal, action resource);"}]})),
    )
    .await;
    api.emu.set_non_compliant(
        ORG,
        vec![json!({
            "orgId": ORG,
            "resourceId": "5f00000000000000000000dd",
            "resourceName": "Cluster0",
            "resourceType": "CLUSTER",
            "resourcePoliciesCausingNonCompliance": [{
                "resourcePolicyId": id,
                "resourcePolicyName": "cap-clusters-2",
                "policiesCausingNonCompliance": [{"policyId": created.json["policies"][0]["id"]}],
            }],
        })],
    );
    api.op(200, Method::GET, NON_COMPLIANT, &org, RP, None)
        .await;
    api.op(200, Method::DELETE, POLICY_ONE, &one, RP, None)
        .await;
    api.op(404, Method::GET, POLICY_ONE, &one, RP, None).await;
}

const INDEXES: &str = "/groups/{groupId}/clusters/{clusterName}/search/indexes";
const INDEX_ID: &str = "/groups/{groupId}/clusters/{clusterName}/search/indexes/{indexId}";
const INDEX_NAME: &str = "/groups/{groupId}/clusters/{clusterName}/search/indexes/{databaseName}/{collectionName}/{indexName}";

fn vector_fields(dimensions: u32) -> Value {
    json!([
        {"type": "vector", "path": "plot_embedding", "numDimensions": dimensions, "similarity": "euclidean"},
        {"type": "filter", "path": "genres"},
    ])
}

async fn search_indexes(api: &Api) {
    let c = [("groupId", G), ("clusterName", "Cluster0")];
    let text = json!({
        "collectionName": "movies",
        "database": "sample_mflix",
        "name": "default",
        "type": "search",
        "definition": {
            "mappings": {"dynamic": false, "fields": {
                "title": {"type": "string", "analyzer": "lucene.english"},
                "year": {"type": "number"},
            }},
            "storedSource": {"include": ["title"]},
            "synonyms": [{"analyzer": "lucene.english", "name": "words", "source": {"collection": "synonyms"}}],
        },
    });
    let created = api
        .op(201, Method::POST, INDEXES, &c, V2024, Some(text.clone()))
        .await;
    let text_id = id_of(&created, "indexID");
    api.op(400, Method::POST, INDEXES, &c, V2024, Some(text))
        .await;
    let vector = json!({
        "collectionName": "movies",
        "database": "sample_mflix",
        "name": "plot-vectors",
        "type": "vectorSearch",
        "definition": {"fields": vector_fields(1536)},
    });
    let created = api
        .op(201, Method::POST, INDEXES, &c, V2024, Some(vector))
        .await;
    let vector_id = id_of(&created, "indexID");
    // a build that fails (the emulator's marker, in a field mapping)
    let failing = json!({
        "collectionName": "movies",
        "database": "sample_mflix",
        "name": "broken",
        "definition": {"mappings": {"dynamic": true, "fields": {
            "plot": {"type": "string", "analyzer": "emulator.fail"},
        }}},
    });
    let created = api
        .op(201, Method::POST, INDEXES, &c, V2024, Some(failing))
        .await;
    let failing_id = id_of(&created, "indexID");

    api.op(200, Method::GET, INDEXES, &c, V2024, None).await;
    // PENDING, BUILDING, READY / FAILED
    for id in [&text_id, &vector_id, &failing_id] {
        let one = [c[0], c[1], ("indexId", id.as_str())];
        for _ in 0..4 {
            api.op(200, Method::GET, INDEX_ID, &one, V2024, None).await;
        }
    }
    let by_name = [
        c[0],
        c[1],
        ("databaseName", "sample_mflix"),
        ("collectionName", "movies"),
        ("indexName", "default"),
    ];
    api.op(200, Method::GET, INDEX_NAME, &by_name, V2024, None)
        .await;
    // a READY index rebuilds in stagedIndex while it keeps serving
    let text_one = [c[0], c[1], ("indexId", text_id.as_str())];
    api.op(
        200,
        Method::PATCH,
        INDEX_ID,
        &text_one,
        V2024,
        Some(json!({"definition": {"mappings": {"dynamic": true}}})),
    )
    .await;
    api.op(200, Method::GET, INDEX_ID, &text_one, V2024, None)
        .await;
    let vector_name = [
        c[0],
        c[1],
        ("databaseName", "sample_mflix"),
        ("collectionName", "movies"),
        ("indexName", "plot-vectors"),
    ];
    api.op(
        200,
        Method::PATCH,
        INDEX_NAME,
        &vector_name,
        V2024,
        Some(json!({"definition": {"fields": vector_fields(768)}})),
    )
    .await;
    api.op(204, Method::DELETE, INDEX_NAME, &vector_name, V2024, None)
        .await;
    api.op(404, Method::GET, INDEX_NAME, &vector_name, V2024, None)
        .await;
    api.op(204, Method::DELETE, INDEX_ID, &text_one, V2024, None)
        .await;
    api.op(404, Method::GET, INDEX_ID, &text_one, V2024, None)
        .await;
}

const BUCKETS: &str = "/groups/{groupId}/backup/exportBuckets";
const BUCKET: &str = "/groups/{groupId}/backup/exportBuckets/{exportBucketId}";

async fn export_buckets(api: &Api) {
    let g = [("groupId", G)];
    let aws = api
        .op(
            200,
            Method::POST,
            BUCKETS,
            &g,
            V2024,
            Some(json!({"bucketName": "export-bucket", "cloudProvider": "AWS", "iamRoleId": "668c5f0ed436263134491592"})),
        )
        .await;
    let azure = api
        .op(
            200,
            Method::POST,
            BUCKETS,
            &g,
            V2024,
            Some(json!({
                "bucketName": "exportcontainer",
                "cloudProvider": "AZURE",
                "roleId": "668c5f0ed436263134491593",
                "serviceUrl": "https://examplestorageaccount.blob.core.windows.net/exportcontainer",
            })),
        )
        .await;
    api.op(
        400,
        Method::POST,
        BUCKETS,
        &g,
        V2024,
        Some(json!({"bucketName": "x", "cloudProvider": "AWS", "iamRoleId": "668c5f0ed436263134491592"})),
    )
    .await;
    api.op(200, Method::GET, BUCKETS, &g, V2024, None).await;
    for b in [&aws, &azure] {
        let id = id_of(b, "_id");
        let one = [("groupId", G), ("exportBucketId", id.as_str())];
        api.op(200, Method::GET, BUCKET, &one, V2024, None).await;
        api.op(204, Method::DELETE, BUCKET, &one, V2023, None).await;
        api.op(404, Method::DELETE, BUCKET, &one, V2023, None).await;
        api.op(404, Method::GET, BUCKET, &one, V2024, None).await;
    }
}

const SERVICE_NEW: &str = "/groups/{groupId}/privateEndpoint/endpointService";
const SERVICES: &str = "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService";
const SERVICE: &str =
    "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}";
const ENDPOINT_NEW: &str =
    "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint";
const ENDPOINT: &str = "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint/{endpointId}";
const AZURE_PE: &str = "/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas";

async fn private_endpoints(api: &Api) {
    let g = [("groupId", G)];
    let mut services = Vec::new();
    for (provider, region) in [
        ("AWS", "us-east-1"),
        ("AZURE", "eastus2"),
        ("GCP", "us-central1"),
    ] {
        let s = api
            .op(
                200,
                Method::POST,
                SERVICE_NEW,
                &g,
                V2023,
                Some(json!({"providerName": provider, "region": region})),
            )
            .await;
        services.push((provider, id_of(&s, "id")));
    }
    // a second service for the same provider and region; an unknown provider
    api.op(
        400,
        Method::POST,
        SERVICE_NEW,
        &g,
        V2023,
        Some(json!({"providerName": "AWS", "region": "US_EAST_1"})),
    )
    .await;
    api.op(
        400,
        Method::POST,
        SERVICE_NEW,
        &g,
        V2023,
        Some(json!({"providerName": "IBM", "region": "us-south"})),
    )
    .await;
    // no endpoint while a service is INITIATING
    let (_, aws_id) = &services[0];
    api.op(
        409,
        Method::POST,
        ENDPOINT_NEW,
        &[
            ("groupId", G),
            ("cloudProvider", "AWS"),
            ("endpointServiceId", aws_id),
        ],
        V2023,
        Some(json!({"id": "vpce-0a1b2c3d4e5f60718"})),
    )
    .await;
    // the list reads each service once, the GET makes it AVAILABLE
    for (provider, id) in &services {
        let p = [("groupId", G), ("cloudProvider", *provider)];
        api.op(200, Method::GET, SERVICES, &p, V2023, None).await;
        let one = [p[0], p[1], ("endpointServiceId", id.as_str())];
        api.op(200, Method::GET, SERVICE, &one, V2023, None).await;
    }
    let azure_encoded = AZURE_PE.replace('/', "%2F");
    let endpoints: [(&str, Value, &str); 3] = [
        (
            "AWS",
            json!({"id": "vpce-0a1b2c3d4e5f60718"}),
            "vpce-0a1b2c3d4e5f60718",
        ),
        (
            "AZURE",
            json!({"id": AZURE_PE, "privateEndpointIPAddress": "10.0.0.4"}),
            &azure_encoded,
        ),
        (
            "GCP",
            json!({
                "endpointGroupName": "atlas-group",
                "gcpProjectId": "p-fdeeb3e43b8e733e5ab627b1",
                "endpoints": [
                    {"endpointName": "atlas-ep-0", "ipAddress": "10.142.0.2"},
                    {"endpointName": "atlas-ep-1", "ipAddress": "10.142.0.3"},
                ],
            }),
            "atlas-group",
        ),
    ];
    for ((provider, body, endpoint_id), (_, service_id)) in endpoints.iter().zip(&services) {
        let s = [
            ("groupId", G),
            ("cloudProvider", *provider),
            ("endpointServiceId", service_id.as_str()),
        ];
        api.op(
            200,
            Method::POST,
            ENDPOINT_NEW,
            &s,
            V2023,
            Some(body.clone()),
        )
        .await;
        api.op(
            409,
            Method::POST,
            ENDPOINT_NEW,
            &s,
            V2023,
            Some(body.clone()),
        )
        .await;
        let e = [s[0], s[1], s[2], ("endpointId", endpoint_id)];
        for _ in 0..3 {
            api.op(200, Method::GET, ENDPOINT, &e, V2023, None).await;
        }
        // the service lists its endpoint; it cannot go while it has one
        api.op(200, Method::GET, SERVICE, &s, V2023, None).await;
        api.op(200, Method::GET, SERVICES, &s[..2], V2023, None)
            .await;
        api.op(400, Method::DELETE, SERVICE, &s, V2023, None).await;
        api.op(204, Method::DELETE, ENDPOINT, &e, V2023, None).await;
        api.op(404, Method::GET, ENDPOINT, &e, V2023, None).await;
        api.op(204, Method::DELETE, SERVICE, &s, V2023, None).await;
        api.op(404, Method::GET, SERVICE, &s, V2023, None).await;
    }
    // a service that fails
    let other = "5f00000000000000000000ce";
    api.emu
        .fail_endpoint_services(other, "Insufficient capacity in us-east-1.");
    let s = api
        .op(
            200,
            Method::POST,
            SERVICE_NEW,
            &[("groupId", other)],
            V2023,
            Some(json!({"providerName": "AWS", "region": "us-east-1"})),
        )
        .await;
    let id = id_of(&s, "id");
    let one = [
        ("groupId", other),
        ("cloudProvider", "AWS"),
        ("endpointServiceId", id.as_str()),
    ];
    for _ in 0..2 {
        api.op(200, Method::GET, SERVICE, &one, V2023, None).await;
    }
}

const FEDERATION: &str = "/groups/{groupId}/privateNetworkSettings/endpointIds";
const FEDERATION_ONE: &str = "/groups/{groupId}/privateNetworkSettings/endpointIds/{endpointId}";

async fn federation(api: &Api) {
    let g = [("groupId", G)];
    let entry = json!({
        "endpointId": "vpce-3bf78b0ddee411ba1",
        "provider": "AWS",
        "type": "DATA_LAKE",
        "comment": "Data Federation from the app VPC",
        "region": "US_EAST_1",
        "customerEndpointDNSName": "vpce-3bf78b0ddee411ba1-4fzpx3ne.vpce-svc-00e311695874992b4.us-east-1.vpce.amazonaws.com",
    });
    api.op(201, Method::POST, FEDERATION, &g, V2023, Some(entry))
        .await;
    api.op(
        201,
        Method::POST,
        FEDERATION,
        &g,
        V2023,
        Some(json!({"endpointId": "vpce-3bf78b0ddee411ba1", "comment": "renamed"})),
    )
    .await;
    api.op(
        400,
        Method::POST,
        FEDERATION,
        &g,
        V2023,
        Some(json!({"endpointId": "vpce-1"})),
    )
    .await;
    api.op(200, Method::GET, FEDERATION, &g, V2023, None).await;
    let one = [("groupId", G), ("endpointId", "vpce-3bf78b0ddee411ba1")];
    api.op(200, Method::GET, FEDERATION_ONE, &one, V2023, None)
        .await;
    api.op(204, Method::DELETE, FEDERATION_ONE, &one, V2023, None)
        .await;
    api.op(404, Method::DELETE, FEDERATION_ONE, &one, V2023, None)
        .await;
    api.op(404, Method::GET, FEDERATION_ONE, &one, V2023, None)
        .await;
}

const KEYS: &str = "/orgs/{orgId}/apiKeys";
const KEY: &str = "/orgs/{orgId}/apiKeys/{apiUserId}";

async fn api_keys(api: &Api) {
    let org = [("orgId", ORG)];
    let created = api
        .op(
            200,
            Method::POST,
            KEYS,
            &org,
            V2023,
            Some(json!({"desc": "Deployment pipeline", "roles": ["ORG_MEMBER", "ORG_READ_ONLY"]})),
        )
        .await;
    let id = id_of(&created, "id");
    let one = [("orgId", ORG), ("apiUserId", id.as_str())];
    api.op(200, Method::GET, KEYS, &org, V2023, None).await;
    api.op(200, Method::GET, KEY, &one, V2023, None).await;
    api.op(
        200,
        Method::PATCH,
        KEY,
        &one,
        V2023,
        Some(json!({"desc": "Deployment pipeline (read only)", "roles": ["ORG_READ_ONLY"]})),
    )
    .await;
    api.op(
        400,
        Method::PATCH,
        KEY,
        &one,
        V2023,
        Some(json!({"roles": ["GROUP_OWNER"]})),
    )
    .await;
    api.op(204, Method::DELETE, KEY, &one, V2023, None).await;
}

const PROCESSORS: &str = "/groups/{groupId}/streams/{tenantName}/processors";
const PROCESSOR_NEW: &str = "/groups/{groupId}/streams/{tenantName}/processor";
const PROCESSOR: &str = "/groups/{groupId}/streams/{tenantName}/processor/{processorName}";
const START: &str = "/groups/{groupId}/streams/{tenantName}/processor/{processorName}:start";
const STOP: &str = "/groups/{groupId}/streams/{tenantName}/processor/{processorName}:stop";

fn pipeline(coll: &str) -> Value {
    json!([
        {"$source": {"connectionName": "kafka-prod", "topic": "orders"}},
        {"$match": {"operationType": "insert"}},
        {"$merge": {"into": {"connectionName": "atlas", "db": "sales", "coll": coll}}},
    ])
}

async fn stream_processors(api: &Api) {
    let t = [("groupId", G), ("tenantName", "ingest")];
    let orders = json!({
        "name": "orders",
        "pipeline": pipeline("orders"),
        "options": {"dlq": {"connectionName": "atlas", "db": "sales", "coll": "dlq"}},
    });
    api.op(
        200,
        Method::POST,
        PROCESSOR_NEW,
        &t,
        V2024,
        Some(orders.clone()),
    )
    .await;
    api.op(409, Method::POST, PROCESSOR_NEW, &t, V2024, Some(orders))
        .await;
    api.op(
        200,
        Method::POST,
        PROCESSOR_NEW,
        &t,
        V2024,
        Some(json!({"name": "archive", "pipeline": pipeline("archive")})),
    )
    .await;
    api.op(200, Method::GET, PROCESSORS, &t, V2024, None).await;
    let one = [t[0], t[1], ("processorName", "orders")];
    api.op(200, Method::GET, PROCESSOR, &one, V2024, None).await;
    api.op(200, Method::POST, START, &one, V2024, None).await;
    for _ in 0..2 {
        api.op(200, Method::GET, PROCESSOR, &one, V2024, None).await;
    }
    // a running processor cannot be changed
    api.op(
        400,
        Method::PATCH,
        PROCESSOR,
        &one,
        V2024,
        Some(json!({"pipeline": pipeline("orders-v2")})),
    )
    .await;
    api.op(200, Method::POST, STOP, &one, V2024, None).await;
    for _ in 0..2 {
        api.op(200, Method::GET, PROCESSOR, &one, V2024, None).await;
    }
    // a name another processor has
    api.op(
        400,
        Method::PATCH,
        PROCESSOR,
        &one,
        V2024,
        Some(json!({"name": "archive"})),
    )
    .await;
    api.op(
        200,
        Method::PATCH,
        PROCESSOR,
        &one,
        V2024,
        Some(json!({
            "pipeline": pipeline("orders-v2"),
            "options": {"dlq": {}, "resumeFromCheckpoint": false},
        })),
    )
    .await;
    api.op(204, Method::DELETE, PROCESSOR, &one, V2024, None)
        .await;
    api.op(404, Method::GET, PROCESSOR, &one, V2024, None).await;
    api.op(404, Method::POST, START, &one, V2024, None).await;
}

#[tokio::test]
async fn every_operation_answers_as_the_spec_says() {
    let api = Api::new();
    resource_policies(&api).await;
    search_indexes(&api).await;
    export_buckets(&api).await;
    private_endpoints(&api).await;
    federation(&api).await;
    api_keys(&api).await;
    stream_processors(&api).await;
    let covered = api.covered.lock().unwrap().clone();
    for op in spec().operations().difference(&covered) {
        api.violation(format!("{op}: never answered a success"));
    }
    api.finish();
}

#[tokio::test]
async fn envelope_and_pretty_as_the_spec_says() {
    let api = Api::new();
    let org = [("orgId", ORG)];
    let g = [("groupId", G)];
    // an object (201), a plain array, an error, an empty answer
    let created = api
        .enveloped(
            201,
            Method::POST,
            POLICIES,
            &org,
            "",
            RP,
            Some(json!({"name": "cap", "policies": [{"body": POLICY}]})),
        )
        .await;
    let id = created.json["content"]["id"].as_str().unwrap().to_owned();
    let one = [("orgId", ORG), ("resourcePolicyId", id.as_str())];
    let list = api
        .enveloped(200, Method::GET, POLICIES, &org, "", RP, None)
        .await;
    assert!(list.json["content"].is_array(), "{}", list.text);
    let missing = [
        ("orgId", ORG),
        ("resourcePolicyId", "5f00000000000000000000ff"),
    ];
    let error = api
        .enveloped(404, Method::GET, POLICY_ONE, &missing, "", RP, None)
        .await;
    assert_eq!(error.json["content"]["error"], 404, "{}", error.text);
    let deleted = api
        .enveloped(200, Method::DELETE, POLICY_ONE, &one, "", RP, None)
        .await;
    assert!(deleted.json.get("content").is_none(), "{}", deleted.text);
    // a page: the status goes into the page itself
    api.op(
        200,
        Method::POST,
        KEYS,
        &org,
        V2023,
        Some(json!({"desc": "ci", "roles": ["ORG_MEMBER"]})),
    )
    .await;
    let page = api
        .enveloped(200, Method::GET, KEYS, &org, "itemsPerPage=1", V2023, None)
        .await;
    assert_eq!(page.json["status"], 200, "{}", page.text);
    assert_eq!(page.json["results"].as_array().map(Vec::len), Some(1));
    // another kind and version: a private endpoint service, a 400
    let service = api
        .enveloped(
            200,
            Method::POST,
            SERVICE_NEW,
            &g,
            "",
            V2023,
            Some(json!({"providerName": "AZURE", "region": "eastus2"})),
        )
        .await;
    assert_eq!(service.json["content"]["cloudProvider"], "AZURE");
    api.enveloped(
        400,
        Method::POST,
        SERVICE_NEW,
        &g,
        "",
        V2023,
        Some(json!({"providerName": "AZURE", "region": "eastus2"})),
    )
    .await;

    // pretty: indented JSON, the same document as without it (the service
    // is read once first, so that both reads see it AVAILABLE)
    api.op(
        200,
        Method::GET,
        SERVICES,
        &[("groupId", G), ("cloudProvider", "AZURE")],
        V2023,
        None,
    )
    .await;
    api.op(
        201,
        Method::POST,
        POLICIES,
        &org,
        RP,
        Some(json!({"name": "cap", "policies": [{"body": POLICY}]})),
    )
    .await;
    for (template, params, version) in [
        (POLICIES, &org[..], RP),
        (KEYS, &org[..], V2023),
        (
            SERVICES,
            &[("groupId", G), ("cloudProvider", "AZURE")][..],
            V2023,
        ),
    ] {
        let plain = api
            .op(200, Method::GET, template, params, version, None)
            .await;
        let pretty = api
            .op_q(
                200,
                Method::GET,
                template,
                params,
                "pretty=true",
                version,
                None,
            )
            .await;
        assert!(!plain.text.contains('\n'), "{}", plain.text);
        assert!(pretty.text.contains("\n  "), "{template}: {}", pretty.text);
        assert_eq!(pretty.json, plain.json, "{template}");
    }
    let both = api
        .enveloped(
            404,
            Method::GET,
            POLICY_ONE,
            &missing,
            "pretty=true",
            RP,
            None,
        )
        .await;
    assert!(both.text.contains("\n  \"content\""), "{}", both.text);
    api.finish();
}

/// The checks above can fail: the validator (with the translation and the
/// overrides) refuses what the spec forbids and accepts what it allows.
#[test]
fn the_validator_refuses_what_the_spec_forbids() {
    let s = spec();
    let check = |name: &str, instance: Value| {
        let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
        s.errors(&format!("self-test {name}"), &schema, &instance)
    };
    // `null` where a string is declared
    assert!(!check("ApiAtlasResourcePolicyView", json!({"description": null})).is_empty());
    assert!(check("ApiAtlasResourcePolicyView", json!({"description": "d"})).is_empty());
    // the discriminator selects the provider's schema and its patterns
    let azure = |name: &str| json!({"cloudProvider": "AZURE", "privateLinkServiceName": name});
    assert!(!check("EndpointService", azure("pls-1")).is_empty());
    assert!(check("EndpointService", azure("pls_0123456789abcdef01234567")).is_empty());
    let connection =
        |name: &str| json!({"cloudProvider": "AZURE", "privateEndpointConnectionName": name});
    assert!(!check(
        "PrivateLinkEndpoint",
        connection("pe-atlas.0123456789abcdef01234567")
    )
    .is_empty());
    assert!(check(
        "PrivateLinkEndpoint",
        connection("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0%2Frg-app%2Fpe-atlas")
    )
    .is_empty());
    // oneOf + discriminator + allOf back to the base: no loop, required fields
    let bucket = json!({
        "_id": "668c5f0ed436263134491592", "bucketName": "exportcontainer", "cloudProvider": "AZURE",
        "roleId": "668c5f0ed436263134491593",
        "serviceUrl": "https://examplestorageaccount.blob.core.windows.net/exportcontainer",
    });
    assert!(!check("DiskBackupSnapshotExportBucketResponse", bucket.clone()).is_empty());
    let mut with_tenant = bucket;
    with_tenant["tenantId"] = json!("4297fc77-1592-4de8-a6d5-a8c32401df87");
    assert!(check(
        "DiskBackupSnapshotExportBucketResponse",
        with_tenant.clone()
    )
    .is_empty());
    with_tenant["tenantId"] = json!("not-a-uuid");
    assert!(!check("DiskBackupSnapshotExportBucketResponse", with_tenant).is_empty());
    // a search index's definition needs mappings; a vector field has scalars
    let search = json!({"type": "search", "latestDefinition": {"analyzer": "lucene.standard"}});
    assert!(!check("SearchIndexResponse", search).is_empty());
    let vector = json!({"type": "vectorSearch", "latestDefinition": {"fields": vector_fields(3)}});
    assert!(check("SearchIndexResponse", vector).is_empty());
    // AWS interface endpoints are vpce ids (the override)
    let aws = |id: &str| json!({"cloudProvider": "AWS", "interfaceEndpoints": [id]});
    assert!(check("EndpointService", aws("vpce-0a1b2c3d4e5f60718")).is_empty());
    assert!(!check("EndpointService", aws("vpce-bad")).is_empty());
}
