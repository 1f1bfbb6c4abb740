//! Stream processors (`/groups/{groupId}/streams/{tenantName}/processor…`,
//! version 2024-05-30).
//!
//! Stored under `streamProcessors/{groupId}/{tenantName}` as Atlas returns
//! them (`_id`, `name`, `pipeline`, `state`, `options.dlq`, `stats`). Every
//! stream instance name exists (there is no stream-instance API here).
//!
//! Behaviour, and where it is the emulator's choice:
//! - `:start` / `:stop` answer 200 `{}` at once; the new state shows from the
//!   second read of the processor (`GET …/processor/{name}`) after the
//!   request, so clients must poll. Until then the processor keeps its old
//!   state: a PATCH right after `:stop` is refused as Atlas refuses one on a
//!   running processor. The list does not advance states. Starting a started
//!   processor (or stopping a stopped one) is a no-op 200.
//! - PATCH of a `STARTED` processor: 400 `VALIDATION_ERROR` ("must be
//!   STOPPED"). Atlas's documentation says a processor must be stopped
//!   before it is modified; the API pages give no error code for it, so the
//!   emulator uses the 400 code the pages show.
//! - A name already used in the instance: 409
//!   `DUPLICATE_STREAM_PROCESSOR_NAME` (the emulator's code) for a create;
//!   400 with the same code for a rename (PATCH), since the spec declares no
//!   409 for that operation.
//! - Failure hook for tests: a pipeline stage `{"$emulatorFail": "message"}`
//!   makes `:start` end in `FAILED` with `errorMsg` = the message.
//! - PATCH `options.dlq: {}` removes the dead letter queue;
//!   `resumeFromCheckpoint: false` clears `stats` (starts from the beginning).

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::{bad_request, json_body, not_found, Ctx};
use crate::server::Answer;
use crate::util::{decode_segment, object_id};

const VERSION: &str = "2024-05-30";
/// Where a requested state change waits until it is seen.
const PENDING: &str = "__pending";

/// The project and the (decoded) stream instance of the path.
fn tenant(ctx: &Ctx<'_>) -> (String, String) {
    (
        ctx.scope.id().to_owned(),
        decode_segment(ctx.param("tenantName")),
    )
}

pub(crate) fn list(ctx: &mut Ctx<'_>) -> Answer {
    let (group, tenant) = tenant(ctx);
    list_processors(ctx, &group, &tenant)
}

pub(crate) fn create(ctx: &mut Ctx<'_>) -> Answer {
    let (group, tenant) = tenant(ctx);
    create_processor(ctx, &group, &tenant)
}

/// Runs `f` on the processor the path names.
fn on_processor(ctx: &Ctx<'_>, f: impl FnOnce(&Ctx<'_>, &Key<'_>) -> Answer) -> Answer {
    let (group, tenant) = tenant(ctx);
    let name = decode_segment(ctx.param("processorName"));
    let key = Key {
        group: &group,
        tenant: &tenant,
        name: &name,
    };
    f(ctx, &key)
}

pub(crate) fn get(ctx: &mut Ctx<'_>) -> Answer {
    on_processor(ctx, get_processor)
}

pub(crate) fn patch(ctx: &mut Ctx<'_>) -> Answer {
    on_processor(ctx, patch_processor)
}

pub(crate) fn delete(ctx: &mut Ctx<'_>) -> Answer {
    on_processor(ctx, delete_processor)
}

pub(crate) fn start(ctx: &mut Ctx<'_>) -> Answer {
    on_processor(ctx, |ctx, key| start_stop(ctx, key, "start"))
}

pub(crate) fn stop(ctx: &mut Ctx<'_>) -> Answer {
    on_processor(ctx, |ctx, key| start_stop(ctx, key, "stop"))
}

struct Key<'a> {
    group: &'a str,
    tenant: &'a str,
    name: &'a str,
}

fn store_key(group: &str, tenant: &str) -> String {
    format!("streamProcessors/{group}/{tenant}")
}

fn poll_key(group: &str, tenant: &str, id: &str) -> String {
    format!("streamProcessors/{group}/{tenant}/{id}")
}

/// The processor as Atlas shows it (no emulator bookkeeping).
fn public(p: &Value) -> Value {
    match p {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with("__"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn missing(key: &Key<'_>) -> Answer {
    not_found(
        "STREAM_PROCESSOR_NOT_FOUND",
        &format!(
            "Stream processor {} not found in stream instance {}.",
            key.name, key.tenant
        ),
    )
}

fn name_of(p: &Value) -> &str {
    p.get("name").and_then(Value::as_str).unwrap_or("")
}

fn list_processors(ctx: &Ctx<'_>, group: &str, tenant: &str) -> Answer {
    let items: Vec<Value> = ctx
        .items(&store_key(group, tenant))
        .iter()
        .map(public)
        .collect();
    ctx.page(items, VERSION)
}

/// Checks `pipeline` (array of objects) and `options.dlq` of a body;
/// `required`: the pipeline must be there.
fn check_body(body: &Value, required: bool) -> Result<(), Answer> {
    let Some(map) = body.as_object() else {
        return Err(bad_request(
            "INVALID_JSON",
            "The request body must be a JSON object.",
        ));
    };
    for k in map.keys() {
        if !matches!(k.as_str(), "name" | "pipeline" | "options") {
            return Err(field_error(k, "unknown attribute"));
        }
    }
    match map.get("pipeline") {
        None if required => return Err(field_error("pipeline", "is required")),
        None => {}
        Some(Value::Array(stages)) if stages.iter().any(|s| !s.is_object()) => {
            return Err(field_error("pipeline", "every stage must be an object"));
        }
        Some(Value::Array(_)) => {}
        Some(_) => return Err(field_error("pipeline", "must be an array")),
    }
    match map.get("name") {
        None if required => return Err(field_error("name", "is required")),
        None => {}
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(_) => return Err(field_error("name", "must be a non-empty string")),
    }
    if let Some(opts) = map.get("options") {
        let Some(o) = opts.as_object() else {
            return Err(field_error("options", "must be an object"));
        };
        for (k, v) in o {
            match k.as_str() {
                "dlq" => {
                    let Some(d) = v.as_object() else {
                        return Err(field_error("options.dlq", "must be an object"));
                    };
                    for (dk, dv) in d {
                        if !matches!(dk.as_str(), "coll" | "connectionName" | "db") {
                            return Err(field_error(
                                &format!("options.dlq.{dk}"),
                                "unknown attribute",
                            ));
                        }
                        if !dv.is_string() {
                            return Err(field_error(
                                &format!("options.dlq.{dk}"),
                                "must be a string",
                            ));
                        }
                    }
                }
                "resumeFromCheckpoint" if !required => {
                    if !v.is_boolean() {
                        return Err(field_error(
                            "options.resumeFromCheckpoint",
                            "must be a boolean",
                        ));
                    }
                }
                _ => return Err(field_error(&format!("options.{k}"), "unknown attribute")),
            }
        }
    }
    Ok(())
}

fn field_error(field: &str, why: &str) -> Answer {
    let mut a = bad_request(
        "VALIDATION_ERROR",
        &format!("Invalid attribute {field}: {why}."),
    );
    if let Some(Value::Object(m)) = a.body.as_mut() {
        m.insert(
            "badRequestDetail".to_owned(),
            json!({"fields": [{"field": field, "description": why}]}),
        );
    }
    a
}

fn duplicate(status: StatusCode, name: &str, tenant: &str) -> Answer {
    Answer::error(
        status,
        "DUPLICATE_STREAM_PROCESSOR_NAME",
        &format!("A stream processor named {name} already exists in stream instance {tenant}."),
    )
}

/// `options` as stored: `{dlq}` only when the queue has fields.
fn stored_options(dlq: Option<&Value>) -> Value {
    match dlq.and_then(Value::as_object).filter(|d| !d.is_empty()) {
        Some(d) => json!({ "dlq": d }),
        None => json!({}),
    }
}

fn create_processor(ctx: &Ctx<'_>, group: &str, tenant: &str) -> Answer {
    let body = match json_body(ctx) {
        Ok(b) => b,
        Err(a) => return a,
    };
    if let Err(a) = check_body(&body, true) {
        return a;
    }
    let name = name_of(&body).to_owned();
    let processor = json!({
        "_id": object_id(),
        "name": name,
        "pipeline": body.get("pipeline").cloned().unwrap_or_else(|| json!([])),
        "options": stored_options(body.pointer("/options/dlq")),
        "state": "CREATED",
        "stats": {},
    });
    let out = public(&processor);
    let created = ctx.update(&store_key(group, tenant), |list| {
        if list.iter().any(|p| name_of(p) == name) {
            false
        } else {
            list.push(processor);
            true
        }
    });
    if created {
        Answer::json(StatusCode::OK, out)
    } else {
        duplicate(StatusCode::CONFLICT, &name, tenant)
    }
}

/// Applies a pending start/stop on the second read after it.
fn get_processor(ctx: &Ctx<'_>, key: &Key<'_>) -> Answer {
    let skey = store_key(key.group, key.tenant);
    let Some(found) = ctx
        .items(&skey)
        .into_iter()
        .find(|p| name_of(p) == key.name)
    else {
        return missing(key);
    };
    let id = found
        .get("_id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if found.get(PENDING).is_none() {
        return Answer::json(StatusCode::OK, public(&found));
    }
    if ctx.poll(&poll_key(key.group, key.tenant, &id)) < 2 {
        return Answer::json(StatusCode::OK, public(&found));
    }
    ctx.reset_polls(&poll_key(key.group, key.tenant, &id));
    let now = ctx.update(&skey, |list| {
        let p = list.iter_mut().find(|p| name_of(p) == key.name)?;
        let m = p.as_object_mut()?;
        if let Some(Value::Object(pending)) = m.remove(PENDING) {
            for (k, v) in pending {
                if v.is_null() {
                    m.remove(&k);
                } else {
                    m.insert(k, v);
                }
            }
        }
        Some(public(p))
    });
    match now {
        Some(p) => Answer::json(StatusCode::OK, p),
        None => missing(key),
    }
}

fn state_of(p: &Value) -> &str {
    p.get("state").and_then(Value::as_str).unwrap_or("")
}

fn start_stop(ctx: &Ctx<'_>, key: &Key<'_>, verb: &str) -> Answer {
    let skey = store_key(key.group, key.tenant);
    let result = ctx.update(&skey, |list| {
        let p = list.iter_mut().find(|p| name_of(p) == key.name)?;
        let target = if verb == "start" {
            "STARTED"
        } else {
            "STOPPED"
        };
        let failure = (verb == "start")
            .then(|| {
                p.get("pipeline")?
                    .as_array()?
                    .iter()
                    .find_map(|s| s.get("$emulatorFail"))
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
            })
            .flatten();
        let id = p
            .get("_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let m = p.as_object_mut()?;
        let current = m
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let pending_target = m
            .get(PENDING)
            .and_then(|v| v.get("state"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let effective = pending_target.unwrap_or(current.clone());
        if effective == target {
            return Some(id);
        }
        let mut pending = Map::new();
        match failure {
            Some(msg) => {
                pending.insert("state".to_owned(), json!("FAILED"));
                pending.insert("errorMsg".to_owned(), json!(msg));
            }
            None => {
                pending.insert("state".to_owned(), json!(target));
                pending.insert("errorMsg".to_owned(), Value::Null);
            }
        }
        if current == target {
            // A start then a stop before either was seen: back where it was.
            m.remove(PENDING);
        } else {
            m.insert(PENDING.to_owned(), Value::Object(pending));
        }
        Some(id)
    });
    match result {
        Some(id) => {
            ctx.reset_polls(&poll_key(key.group, key.tenant, &id));
            Answer::json(StatusCode::OK, json!({}))
        }
        None => missing(key),
    }
}

enum PatchOutcome {
    Missing,
    Running,
    Duplicate(String),
    Done(Value),
}

fn patch_processor(ctx: &Ctx<'_>, key: &Key<'_>) -> Answer {
    let body = match json_body(ctx) {
        Ok(b) => b,
        Err(a) => return a,
    };
    if let Err(a) = check_body(&body, false) {
        return a;
    }
    let skey = store_key(key.group, key.tenant);
    let outcome = ctx.update(&skey, |list| {
        let new_name = body.get("name").and_then(Value::as_str);
        if let Some(n) = new_name {
            if n != key.name && list.iter().any(|p| name_of(p) == n) {
                return PatchOutcome::Duplicate(n.to_owned());
            }
        }
        let Some(p) = list.iter_mut().find(|p| name_of(p) == key.name) else {
            return PatchOutcome::Missing;
        };
        if state_of(p) == "STARTED" {
            return PatchOutcome::Running;
        }
        let Some(m) = p.as_object_mut() else {
            return PatchOutcome::Missing;
        };
        if let Some(n) = new_name {
            m.insert("name".to_owned(), json!(n));
        }
        if let Some(pipeline) = body.get("pipeline") {
            m.insert("pipeline".to_owned(), pipeline.clone());
        }
        if let Some(dlq) = body.pointer("/options/dlq") {
            m.insert("options".to_owned(), stored_options(Some(dlq)));
        }
        if body.pointer("/options/resumeFromCheckpoint") == Some(&Value::Bool(false)) {
            m.insert("stats".to_owned(), json!({}));
        }
        PatchOutcome::Done(public(p))
    });
    match outcome {
        PatchOutcome::Done(p) => Answer::json(StatusCode::OK, p),
        PatchOutcome::Missing => missing(key),
        PatchOutcome::Duplicate(n) => duplicate(StatusCode::BAD_REQUEST, &n, key.tenant),
        PatchOutcome::Running => bad_request(
            "VALIDATION_ERROR",
            &format!(
                "Stream processor {} must be STOPPED before it can be modified (it is STARTED).",
                key.name
            ),
        ),
    }
}

fn delete_processor(ctx: &Ctx<'_>, key: &Key<'_>) -> Answer {
    let skey = store_key(key.group, key.tenant);
    let removed = ctx.update(&skey, |list| {
        let i = list.iter().position(|p| name_of(p) == key.name)?;
        Some(list.remove(i))
    });
    match removed {
        Some(p) => {
            let id = p.get("_id").and_then(Value::as_str).unwrap_or("");
            ctx.reset_polls(&poll_key(key.group, key.tenant, id));
            Answer::empty(StatusCode::NO_CONTENT)
        }
        None => missing(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_decoded() {
        assert_eq!(decode_segment("a%3Ab%2Fc%20d"), "a:b/c d");
        assert_eq!(decode_segment("bad%zz%"), "bad%zz%");
    }

    #[test]
    fn bodies_are_checked() {
        assert!(check_body(&json!({"name": "p", "pipeline": []}), true).is_ok());
        assert!(check_body(&json!({"pipeline": []}), true).is_err());
        assert!(check_body(&json!({"pipeline": {}}), false).is_err());
        assert!(check_body(&json!({"pipelines": []}), false).is_err());
        assert!(check_body(
            &json!({"options": {"dlq": {}, "resumeFromCheckpoint": false}}),
            false
        )
        .is_ok());
        assert!(check_body(&json!({"options": {"dlq": {"x": "y"}}}), false).is_err());
    }
}
