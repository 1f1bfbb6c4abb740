//! Snapshot export buckets: `GET`/`POST /groups/{groupId}/backup/exportBuckets`
//! (paginated list), `GET`/`PATCH`/`DELETE …/exportBuckets/{exportBucketId}`.
//! Version 2024-05-30, except DELETE which answers only 2023-01-01 (as Atlas
//! pins each operation's version). Stored under `exportBuckets/{groupId}`.

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::{bad_request, json_body, not_found, Ctx};
use crate::server::Answer;
use crate::util::{is_object_id, object_id};

const VERSION: &str = "2024-05-30";
const DELETE_VERSION: &str = "2023-01-01";
/// The tenant Azure answers carry (Atlas's example).
const AZURE_TENANT: &str = "4297fc77-1592-4de8-a6d5-a8c32401df87";

/// The project and the store key of its buckets.
fn store(ctx: &Ctx<'_>) -> (String, String) {
    let group = ctx.scope.id().to_owned();
    let key = format!("exportBuckets/{group}");
    (group, key)
}

pub(crate) fn list(ctx: &mut Ctx<'_>) -> Answer {
    let (_, key) = store(ctx);
    ctx.page(ctx.items(&key), VERSION)
}

pub(crate) fn create(ctx: &mut Ctx<'_>) -> Answer {
    let (group, key) = store(ctx);
    create_bucket(ctx, &key, &group)
}

pub(crate) fn get(ctx: &mut Ctx<'_>) -> Answer {
    let (_, key) = store(ctx);
    let id = ctx.param("exportBucketId");
    match find(ctx, &key, id) {
        Some(b) => Answer::json(StatusCode::OK, b).with_version(VERSION),
        None => missing(id),
    }
}

pub(crate) fn patch(ctx: &mut Ctx<'_>) -> Answer {
    let (_, key) = store(ctx);
    let id = ctx.param("exportBucketId").to_owned();
    patch_bucket(ctx, &key, &id)
}

pub(crate) fn delete(ctx: &mut Ctx<'_>) -> Answer {
    let (_, key) = store(ctx);
    let id = ctx.param("exportBucketId");
    let removed = ctx.update(&key, |list| {
        let before = list.len();
        list.retain(|b| b.get("_id").and_then(Value::as_str) != Some(id));
        before != list.len()
    });
    if removed {
        Answer::empty(StatusCode::NO_CONTENT).with_version(DELETE_VERSION)
    } else {
        missing(id)
    }
}

fn missing(id: &str) -> Answer {
    not_found(
        "EXPORT_BUCKET_NOT_FOUND",
        &format!("Export bucket {id} not found."),
    )
}

fn find(ctx: &Ctx<'_>, key: &str, id: &str) -> Option<Value> {
    ctx.items(key)
        .into_iter()
        .find(|b| b.get("_id").and_then(Value::as_str) == Some(id))
}

fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

fn invalid(field: &str, why: &str) -> Answer {
    bad_request(
        "INVALID_ATTRIBUTE",
        &format!("Invalid attribute {field} specified: {why}."),
    )
}

fn missing_field(field: &str) -> Answer {
    bad_request(
        "MISSING_ATTRIBUTE",
        &format!("The required attribute {field} was not specified."),
    )
}

/// Checks a create body as Atlas does (one shape per provider) and returns
/// the stored object.
fn validate(body: &Map<String, Value>, group: &str) -> Result<Value, Answer> {
    let provider = text(body, "cloudProvider").ok_or_else(|| missing_field("cloudProvider"))?;
    let name = text(body, "bucketName").ok_or_else(|| missing_field("bucketName"))?;
    let len = name.chars().count();
    if !(3..=63).contains(&len) {
        return Err(invalid(
            "bucketName",
            "length must be between 3 and 63 characters",
        ));
    }
    let id = object_id();
    let mut out = json!({
        "_id": id,
        "bucketName": name,
        "cloudProvider": provider,
        "links": [{
            "rel": "self",
            "href": format!("https://cloud.mongodb.com/api/atlas/v2/groups/{group}/backup/exportBuckets/{id}"),
        }],
    });
    let role = |field: &str| -> Result<String, Answer> {
        let v = text(body, field).ok_or_else(|| missing_field(field))?;
        if is_object_id(v) {
            Ok(v.to_owned())
        } else {
            Err(invalid(field, "must be a 24-hexadecimal character string"))
        }
    };
    let fields: &[&str] = match provider {
        "AWS" => &["iamRoleId"],
        "AZURE" => &["roleId", "serviceUrl"],
        "GCP" => &["roleId"],
        other => {
            return Err(bad_request(
                "VALIDATION_ERROR",
                &format!("No provider {other} exists."),
            ))
        }
    };
    for f in fields {
        let v = if *f == "serviceUrl" {
            text(body, f)
                .filter(|u| u.starts_with("https://"))
                .map(str::to_owned)
                .ok_or_else(|| invalid(f, "must be an https:// URL"))?
        } else {
            role(f)?
        };
        if let Some(o) = out.as_object_mut() {
            o.insert((*f).to_owned(), Value::String(v));
        }
    }
    if provider == "AZURE" {
        if let Some(o) = out.as_object_mut() {
            o.insert("tenantId".to_owned(), json!(AZURE_TENANT));
        }
    }
    Ok(out)
}

fn create_bucket(ctx: &mut Ctx<'_>, key: &str, group: &str) -> Answer {
    let body = match json_body(ctx) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad_request("INVALID_JSON", "The body must be a JSON object."),
        Err(a) => return a,
    };
    let bucket = match validate(&body, group) {
        Ok(b) => b,
        Err(a) => return a,
    };
    ctx.update(key, |list| list.push(bucket.clone()));
    Answer::json(StatusCode::OK, bucket).with_version(VERSION)
}

fn patch_bucket(ctx: &mut Ctx<'_>, key: &str, id: &str) -> Answer {
    let body = match json_body(ctx) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad_request("INVALID_JSON", "The body must be a JSON object."),
        Err(a) => return a,
    };
    if let Some(other) = body.keys().find(|k| *k != "requirePrivateNetworking") {
        return invalid(other, "only requirePrivateNetworking can be updated");
    }
    let Some(flag) = body
        .get("requirePrivateNetworking")
        .and_then(Value::as_bool)
    else {
        return missing_field("requirePrivateNetworking");
    };
    let updated = ctx.update(key, |list| {
        let b = list
            .iter_mut()
            .find(|b| b.get("_id").and_then(Value::as_str) == Some(id))?;
        if let Some(o) = b.as_object_mut() {
            o.insert("requirePrivateNetworking".to_owned(), Value::Bool(flag));
        }
        Some(b.clone())
    });
    match updated {
        Some(b) => Answer::json(StatusCode::OK, b).with_version(VERSION),
        None => missing(id),
    }
}
