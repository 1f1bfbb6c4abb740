//! Atlas Search and Vector Search indexes
//! (`/groups/{groupId}/clusters/{clusterName}/search/indexes`, version 2024-05-30).
//!
//! - `GET …/search/indexes` answers a plain array (no pages); `POST` creates
//!   (`{collectionName, database, name, type, definition}`, 201 with the
//!   index); `GET`/`PATCH {definition}`/`DELETE` (204) by `{indexId}` or by
//!   `{databaseName}/{collectionName}/{indexName}` (percent-decoded). Any
//!   cluster name that matches Atlas's pattern exists.
//! - Answers have the shape of the reference page: `indexID`,
//!   `latestDefinition` (with the defaults Atlas fills in: `analyzer` and
//!   `searchAnalyzer` `lucene.standard`, `numPartitions` 1),
//!   `latestDefinitionVersion`, `status`, `queryable`, `statusDetail` (one
//!   host with `mainIndex` and, while a changed definition builds,
//!   `stagedIndex`).
//! - Asynchronous states advance with reads of the index (a list counts as a
//!   read of each): first read `PENDING`, second and third `BUILDING`, fourth
//!   `READY`. A PATCH starts again; an index that was `READY` stays queryable
//!   on its old definition while the new one builds in `stagedIndex`.
//! - Failure marker for tests: a definition holding the string
//!   `"emulator.fail"` anywhere (e.g. `"analyzer": "emulator.fail"`) ends in
//!   `FAILED` instead of `READY`, with a message in `statusDetail`.
//! - A second index with the same name on the same collection: 400
//!   `ATLAS_FTS_DUPLICATE_INDEX` ("Duplicate Index.", as in MongoDB's list of
//!   Admin API error codes). Unknown id or name: 404 `RESOURCE_NOT_FOUND`.
//! - Creates and PATCHes are checked against the organization's resource
//!   policies (`search.index.modify` on the cluster, with context
//!   `cluster.cloudProviders` and `search.hasDedicatedNodes` from
//!   [`crate::EmulatorConfig`], and `search.index.isAutoEmbed` true when a
//!   vectorSearch definition has a field of type `autoEmbed`, an assumption:
//!   MongoDB does not say how Atlas derives it). Deletes are never refused.

use atlas_cedar_analysis::request::ResourceSpec;
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::{bad_request, json_body, not_found, Ctx};
use crate::server::Answer;
use crate::util::{decode_segment, now_iso, object_id};

/// The string that makes a build fail.
pub(crate) const FAIL_MARKER: &str = "emulator.fail";
const HOST: &str = "atlas-emulator-shard-00-00.mongodb.net";
const DUPLICATE: &str = "ATLAS_FTS_DUPLICATE_INDEX";

/// The project and the store key of the cluster's indexes, or Atlas's 400
/// for a bad cluster name.
fn target(ctx: &Ctx<'_>) -> Result<(String, String), Answer> {
    let group = ctx.scope.id().to_owned();
    let cluster = ctx.param("clusterName");
    if !valid_cluster_name(cluster) {
        return Err(bad_request(
            "INVALID_CLUSTER_NAME",
            &format!("The cluster name {cluster} is invalid."),
        ));
    }
    let key = format!("searchIndexes/{group}/{cluster}");
    Ok((group, key))
}

pub(crate) fn list(ctx: &mut Ctx<'_>) -> Answer {
    match target(ctx) {
        Ok((_, key)) => list_indexes(ctx, &key),
        Err(a) => a,
    }
}

pub(crate) fn create(ctx: &mut Ctx<'_>) -> Answer {
    match target(ctx) {
        Ok((group, key)) => create_index(ctx, &group, &key),
        Err(a) => a,
    }
}

fn by_id_route(ctx: &Ctx<'_>, method: &Method) -> Answer {
    match target(ctx) {
        Ok((group, key)) => by_id(ctx, method, &group, &key, ctx.param("indexId")),
        Err(a) => a,
    }
}

pub(crate) fn get(ctx: &mut Ctx<'_>) -> Answer {
    by_id_route(ctx, &Method::GET)
}

pub(crate) fn patch(ctx: &mut Ctx<'_>) -> Answer {
    by_id_route(ctx, &Method::PATCH)
}

pub(crate) fn delete(ctx: &mut Ctx<'_>) -> Answer {
    by_id_route(ctx, &Method::DELETE)
}

/// The index named `{databaseName}/{collectionName}/{indexName}`, as by id.
fn by_name(ctx: &Ctx<'_>, method: &Method) -> Answer {
    let (group, key) = match target(ctx) {
        Ok(t) => t,
        Err(a) => return a,
    };
    let (db, coll, name) = (
        decode_segment(ctx.param("databaseName")),
        decode_segment(ctx.param("collectionName")),
        decode_segment(ctx.param("indexName")),
    );
    let found = ctx.items(&key).into_iter().find(|i| {
        str_of(i, "database") == db
            && str_of(i, "collectionName") == coll
            && str_of(i, "name") == name
    });
    match found {
        Some(i) => {
            let id = str_of(&i, "indexID").to_owned();
            by_id(ctx, method, &group, &key, &id)
        }
        None => not_found(
            "RESOURCE_NOT_FOUND",
            &format!("No search index named {name} exists on {db}.{coll}."),
        ),
    }
}

pub(crate) fn get_by_name(ctx: &mut Ctx<'_>) -> Answer {
    by_name(ctx, &Method::GET)
}

pub(crate) fn patch_by_name(ctx: &mut Ctx<'_>) -> Answer {
    by_name(ctx, &Method::PATCH)
}

pub(crate) fn delete_by_name(ctx: &mut Ctx<'_>) -> Answer {
    by_name(ctx, &Method::DELETE)
}

fn by_id(ctx: &Ctx<'_>, method: &Method, group: &str, key: &str, id: &str) -> Answer {
    match *method {
        Method::GET => match read(ctx, key, id) {
            Some(i) => Answer::json(StatusCode::OK, i),
            None => missing(id),
        },
        Method::PATCH => patch_index(ctx, group, key, id),
        Method::DELETE => {
            let removed = ctx.update(key, |list| {
                let before = list.len();
                list.retain(|i| str_of(i, "indexID") != id);
                before != list.len()
            });
            ctx.reset_polls(&poll_key(key, id));
            if removed {
                Answer::empty(StatusCode::NO_CONTENT)
            } else {
                missing(id)
            }
        }
        _ => not_found("RESOURCE_NOT_FOUND", "Not found."),
    }
}

fn missing(id: &str) -> Answer {
    not_found(
        "RESOURCE_NOT_FOUND",
        &format!("No search index with ID {id} exists."),
    )
}

fn valid_cluster_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn str_of<'v>(v: &'v Value, k: &str) -> &'v str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn poll_key(key: &str, id: &str) -> String {
    format!("{key}/{id}")
}

fn list_indexes(ctx: &Ctx<'_>, key: &str) -> Answer {
    let ids: Vec<String> = ctx
        .items(key)
        .iter()
        .map(|i| str_of(i, "indexID").to_owned())
        .collect();
    let items: Vec<Value> = ids.iter().filter_map(|id| read(ctx, key, id)).collect();
    Answer::json(StatusCode::OK, Value::Array(items))
}

/// One read of the index: advances its build and returns it.
fn read(ctx: &Ctx<'_>, key: &str, id: &str) -> Option<Value> {
    let current = ctx
        .items(key)
        .into_iter()
        .find(|i| str_of(i, "indexID") == id)?;
    if !matches!(str_of(&current, "status"), "PENDING" | "BUILDING") {
        return Some(current);
    }
    let reads = ctx.poll(&poll_key(key, id));
    ctx.update(key, |list| {
        let slot = list.iter_mut().find(|i| str_of(i, "indexID") == id)?;
        advance(slot, reads);
        Some(slot.clone())
    })
}

/// The build phase after `reads` reads since the create or the last PATCH.
fn phase(reads: u32, fails: bool) -> &'static str {
    match reads {
        0 | 1 => "PENDING",
        2 | 3 => "BUILDING",
        _ if fails => "FAILED",
        _ => "READY",
    }
}

fn contains_marker(v: &Value) -> bool {
    match v {
        Value::String(s) => s == FAIL_MARKER,
        Value::Array(a) => a.iter().any(contains_marker),
        Value::Object(o) => o.values().any(contains_marker),
        _ => false,
    }
}

fn fail_message(definition: &Value) -> String {
    let analyzer_marked = definition
        .get("analyzer")
        .or_else(|| definition.get("searchAnalyzer"))
        .and_then(Value::as_str)
        == Some(FAIL_MARKER);
    if analyzer_marked {
        format!("Index build failed: analyzer \"{FAIL_MARKER}\" is not defined.")
    } else {
        format!("Index build failed: invalid index definition (\"{FAIL_MARKER}\").")
    }
}

/// Sets `status`, `queryable` and `statusDetail` for the phase `reads` gives.
fn advance(index: &mut Value, reads: u32) {
    let definition = index
        .get("latestDefinition")
        .cloned()
        .unwrap_or(Value::Null);
    let fails = contains_marker(&definition);
    let now = phase(reads, fails);
    let Some(host) = index
        .get_mut("statusDetail")
        .and_then(Value::as_array_mut)
        .and_then(|a| a.first_mut())
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let staged = host.contains_key("stagedIndex");
    let message = (now == "FAILED").then(|| fail_message(&definition));
    let target = if staged { "stagedIndex" } else { "mainIndex" };
    if let Some(t) = host.get_mut(target).and_then(Value::as_object_mut) {
        t.insert("status".to_owned(), json!(now));
        t.insert("queryable".to_owned(), json!(now == "READY"));
        if let Some(m) = &message {
            t.insert("message".to_owned(), json!(m));
        }
    }
    // A staged build that is READY replaces the main index.
    if staged && now == "READY" {
        if let Some(s) = host.remove("stagedIndex") {
            host.insert("mainIndex".to_owned(), s);
        }
    }
    let queryable = host
        .get("mainIndex")
        .and_then(|m| m.get("queryable"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    host.insert("status".to_owned(), json!(now));
    host.insert("queryable".to_owned(), json!(queryable));
    if let Some(o) = index.as_object_mut() {
        o.insert("status".to_owned(), json!(now));
        o.insert("queryable".to_owned(), json!(queryable));
    }
}

fn field_error(field: &str, why: &str) -> Answer {
    bad_request(
        "INVALID_ATTRIBUTE",
        &format!("Invalid attribute {field} specified: {why}."),
    )
}

/// Checks a definition for its type (the shape Atlas requires).
fn check_definition(kind: &str, definition: &Value) -> Result<(), Answer> {
    let Some(def) = definition.as_object() else {
        return Err(field_error("definition", "must be an object"));
    };
    match kind {
        "search" => {
            if !def.get("mappings").is_some_and(Value::is_object) {
                return Err(field_error(
                    "definition.mappings",
                    "a search index needs mappings (dynamic or fields)",
                ));
            }
        }
        _ => {
            let fields = def.get("fields").and_then(Value::as_array);
            let ok = fields.is_some_and(|f| {
                !f.is_empty()
                    && f.iter().all(|x| {
                        x.get("type").is_some_and(Value::is_string)
                            && x.get("path").is_some_and(Value::is_string)
                    })
            });
            if !ok {
                return Err(field_error(
                    "definition.fields",
                    "a vectorSearch index needs a non-empty array of fields, each with type and path",
                ));
            }
        }
    }
    Ok(())
}

/// The definition with the defaults Atlas fills in.
fn with_defaults(kind: &str, definition: &Value) -> Value {
    let mut d = definition.clone();
    if let Some(o) = d.as_object_mut() {
        if kind == "search" {
            for k in ["analyzer", "searchAnalyzer"] {
                o.entry(k.to_owned())
                    .or_insert_with(|| json!("lucene.standard"));
            }
        }
        o.entry("numPartitions".to_owned())
            .or_insert_with(|| json!(1));
    }
    d
}

/// `isAutoEmbed`: a vectorSearch field of type `autoEmbed` (assumed).
pub(crate) fn is_auto_embed(kind: &str, definition: &Value) -> bool {
    kind == "vectorSearch"
        && definition
            .get("fields")
            .and_then(Value::as_array)
            .is_some_and(|f| f.iter().any(|x| str_of(x, "type") == "autoEmbed"))
}

/// Atlas's 403 when the organization's resource policies forbid the change.
fn enforce(ctx: &Ctx<'_>, group: &str, kind: &str, definition: &Value) -> Option<Answer> {
    let cfg = &ctx.shared.config;
    let context = json!({
        "cluster": {"cloudProviders": cfg.cluster_cloud_providers},
        "search": {
            "hasDedicatedNodes": cfg.dedicated_search_nodes,
            "index": {"isAutoEmbed": is_auto_embed(kind, definition)},
        },
    });
    let resource = ResourceSpec {
        ty: Some("Cluster".to_owned()),
        id: None,
        project: Some(group.to_owned()),
    };
    ctx.enforce(&resource, &context)
}

fn version_of(n: u64) -> Value {
    json!({"createdAt": now_iso(), "version": n})
}

/// A host's build of `definition` (the whole definition: the spec declares
/// the type's definition here, which for a search index requires `mappings`).
fn build_entry(definition: &Value, version: &Value) -> Value {
    json!({
        "definition": definition,
        "definitionVersion": version,
        "queryable": false,
        "status": "PENDING",
    })
}

fn create_index(ctx: &Ctx<'_>, group: &str, key: &str) -> Answer {
    let body = match json_body(ctx) {
        Ok(b) => b,
        Err(a) => return a,
    };
    let Some(obj) = body.as_object() else {
        return field_error("body", "must be a JSON object");
    };
    let mut strings = Vec::new();
    for f in ["collectionName", "database", "name"] {
        match obj.get(f).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => strings.push(s.to_owned()),
            _ => {
                return bad_request(
                    "MISSING_ATTRIBUTE",
                    &format!("The required attribute {f} was not specified."),
                )
            }
        }
    }
    let [coll, db, name] = strings.as_slice() else {
        return field_error("body", "incomplete");
    };
    let kind = match obj.get("type") {
        None => "search",
        Some(Value::String(s)) if s == "search" || s == "vectorSearch" => s.as_str(),
        Some(_) => return field_error("type", "must be search or vectorSearch"),
    };
    let Some(definition) = obj.get("definition") else {
        return bad_request(
            "MISSING_ATTRIBUTE",
            "The required attribute definition was not specified.",
        );
    };
    if let Err(a) = check_definition(kind, definition) {
        return a;
    }
    let taken = ctx.items(key).iter().any(|i| {
        str_of(i, "database") == db
            && str_of(i, "collectionName") == coll
            && str_of(i, "name") == name
    });
    if taken {
        return bad_request(
            DUPLICATE,
            &format!("Duplicate Index. An index named {name} already exists on {db}.{coll}."),
        );
    }
    if let Some(refused) = enforce(ctx, group, kind, definition) {
        return refused;
    }
    let id = object_id();
    let latest = with_defaults(kind, definition);
    let version = version_of(0);
    let mut index = json!({
        "collectionName": coll,
        "database": db,
        "indexID": id,
        "latestDefinition": latest,
        "latestDefinitionVersion": version,
        "name": name,
        "queryable": false,
        "status": "PENDING",
        "statusDetail": [{
            "hostname": HOST,
            "mainIndex": build_entry(&latest, &version),
            "queryable": false,
            "status": "PENDING",
        }],
        "type": kind,
    });
    if kind == "search" && latest.get("synonyms").is_some() {
        if let Some(o) = index.as_object_mut() {
            o.insert("synonymMappingStatus".to_owned(), json!("BUILDING"));
        }
    }
    ctx.reset_polls(&poll_key(key, &id));
    ctx.update(key, |list| list.push(index.clone()));
    Answer::json(StatusCode::CREATED, index)
}

fn patch_index(ctx: &Ctx<'_>, group: &str, key: &str, id: &str) -> Answer {
    let Some(current) = ctx
        .items(key)
        .into_iter()
        .find(|i| str_of(i, "indexID") == id)
    else {
        return missing(id);
    };
    let body = match json_body(ctx) {
        Ok(b) => b,
        Err(a) => return a,
    };
    let Some(obj) = body.as_object() else {
        return field_error("body", "must be a JSON object");
    };
    if let Some(other) = obj.keys().find(|k| *k != "definition") {
        return field_error(
            other,
            "only the definition of a search index can be changed",
        );
    }
    let Some(definition) = obj.get("definition") else {
        return bad_request(
            "MISSING_ATTRIBUTE",
            "The required attribute definition was not specified.",
        );
    };
    let kind = str_of(&current, "type").to_owned();
    if let Err(a) = check_definition(&kind, definition) {
        return a;
    }
    if let Some(refused) = enforce(ctx, group, &kind, definition) {
        return refused;
    }
    let latest = with_defaults(&kind, definition);
    let next = current
        .get("latestDefinitionVersion")
        .and_then(|v| v.get("version"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
        + 1;
    let version = version_of(next);
    let was_serving = current.get("queryable").and_then(Value::as_bool) == Some(true);
    ctx.reset_polls(&poll_key(key, id));
    let updated = ctx.update(key, |list| {
        let slot = list.iter_mut().find(|i| str_of(i, "indexID") == id)?;
        let o = slot.as_object_mut()?;
        o.insert("latestDefinition".to_owned(), latest.clone());
        o.insert("latestDefinitionVersion".to_owned(), version.clone());
        o.insert("status".to_owned(), json!("PENDING"));
        let mut host = Map::new();
        host.insert("hostname".to_owned(), json!(HOST));
        if was_serving {
            let main = o
                .get("statusDetail")
                .and_then(|d| d.get(0))
                .and_then(|h| h.get("mainIndex"))
                .cloned()
                .unwrap_or_else(|| build_entry(&latest, &version));
            host.insert("mainIndex".to_owned(), main);
            host.insert("stagedIndex".to_owned(), build_entry(&latest, &version));
        } else {
            host.insert("mainIndex".to_owned(), build_entry(&latest, &version));
        }
        host.insert("queryable".to_owned(), json!(was_serving));
        host.insert("status".to_owned(), json!("PENDING"));
        o.insert("queryable".to_owned(), json!(was_serving));
        o.insert("statusDetail".to_owned(), json!([Value::Object(host)]));
        Some(slot.clone())
    });
    match updated {
        Some(i) => Answer::json(StatusCode::OK, i),
        None => missing(id),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn phases_and_marker() {
        assert_eq!(phase(1, false), "PENDING");
        assert_eq!(phase(3, true), "BUILDING");
        assert_eq!(phase(4, false), "READY");
        assert_eq!(phase(9, true), "FAILED");
        assert!(contains_marker(
            &json!({"a": [{"analyzer": "emulator.fail"}]})
        ));
        assert!(!contains_marker(&json!({"analyzer": "lucene.standard"})));
    }

    #[test]
    fn segments_are_decoded() {
        assert_eq!(decode_segment("a%20b%2Fc"), "a b/c");
        assert_eq!(decode_segment("50%"), "50%");
        assert_eq!(decode_segment("%zz"), "%zz");
    }

    #[test]
    fn staged_build_replaces_main_when_ready() {
        let mut i = json!({
            "latestDefinition": {"mappings": {"dynamic": true}},
            "status": "PENDING",
            "statusDetail": [{"mainIndex": {"status": "READY", "queryable": true, "definitionVersion": {"version": 0}},
                              "stagedIndex": {"status": "PENDING", "queryable": false, "definitionVersion": {"version": 1}}}]
        });
        advance(&mut i, 2);
        assert_eq!(i["status"], "BUILDING");
        assert_eq!(i["queryable"], true);
        advance(&mut i, 4);
        assert_eq!(i["status"], "READY");
        assert!(i["statusDetail"][0].get("stagedIndex").is_none());
        assert_eq!(
            i["statusDetail"][0]["mainIndex"]["definitionVersion"]["version"],
            1
        );
    }

    #[test]
    fn auto_embed_is_a_vector_field_type() {
        let d = json!({"fields": [{"type": "autoEmbed", "path": "plot"}]});
        assert!(is_auto_embed("vectorSearch", &d));
        assert!(!is_auto_embed("search", &d));
    }
}
