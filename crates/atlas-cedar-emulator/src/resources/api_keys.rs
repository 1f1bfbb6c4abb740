//! Organization API keys: `GET` (paginated) / `POST /orgs/{orgId}/apiKeys`,
//! `GET`/`PATCH`/`DELETE …/apiKeys/{apiUserId}`, version 2023-01-01. The
//! private key is answered once, by the POST; it is never stored, so no list
//! or GET can return it. Stored under `apiKeys/{orgId}` (tests seed keys with
//! `set_resources`). These keys are objects to manage, not the emulator's
//! own credentials.

use hyper::StatusCode;
use serde_json::{json, Map, Value};

use super::{bad_request, json_body, not_found, Ctx};
use crate::server::Answer;
use crate::util::{object_id, random_hex};

const VERSION: &str = "2023-01-01";

const ORG_ROLES: [&str; 6] = [
    "ORG_OWNER",
    "ORG_MEMBER",
    "ORG_GROUP_CREATOR",
    "ORG_BILLING_ADMIN",
    "ORG_BILLING_READ_ONLY",
    "ORG_READ_ONLY",
];

/// The store key of the organization's keys.
fn store(ctx: &Ctx<'_>) -> (String, String) {
    let org = ctx.org();
    (format!("apiKeys/{org}"), org)
}

pub(crate) fn list(ctx: &mut Ctx<'_>) -> Answer {
    let (key, _) = store(ctx);
    let keys = ctx
        .items(&key)
        .into_iter()
        .map(without_private_key)
        .collect();
    ctx.page(keys, VERSION)
}

pub(crate) fn create(ctx: &mut Ctx<'_>) -> Answer {
    let (key, org) = store(ctx);
    create_key(ctx, &key, &org)
}

pub(crate) fn get(ctx: &mut Ctx<'_>) -> Answer {
    let (key, _) = store(ctx);
    let id = ctx.param("apiUserId");
    match find(ctx, &key, id) {
        Some(k) => Answer::json(StatusCode::OK, without_private_key(k)).with_version(VERSION),
        None => missing(id),
    }
}

pub(crate) fn patch(ctx: &mut Ctx<'_>) -> Answer {
    let (key, org) = store(ctx);
    let id = ctx.param("apiUserId").to_owned();
    patch_key(ctx, &key, &org, &id)
}

pub(crate) fn delete(ctx: &mut Ctx<'_>) -> Answer {
    let (key, _) = store(ctx);
    let id = ctx.param("apiUserId");
    let removed = ctx.update(&key, |list| {
        let before = list.len();
        list.retain(|k| k.get("id").and_then(Value::as_str) != Some(id));
        before != list.len()
    });
    if removed {
        Answer::empty(StatusCode::NO_CONTENT).with_version(VERSION)
    } else {
        missing(id)
    }
}

/// A seeded key may hold a `privateKey`: reads never answer it.
fn without_private_key(mut k: Value) -> Value {
    if let Some(o) = k.as_object_mut() {
        o.remove("privateKey");
    }
    k
}

fn missing(id: &str) -> Answer {
    not_found(
        "API_KEY_NOT_FOUND",
        &format!("No API key with ID {id} exists."),
    )
}

fn find(ctx: &Ctx<'_>, key: &str, id: &str) -> Option<Value> {
    ctx.items(key)
        .into_iter()
        .find(|k| k.get("id").and_then(Value::as_str) == Some(id))
}

fn invalid(field: &str, why: &str) -> Answer {
    bad_request(
        "INVALID_ATTRIBUTE",
        &format!("Invalid attribute {field} specified: {why}."),
    )
}

/// `desc` (1–250 characters) and `roles` (organization roles) of a body;
/// `None` for what the body leaves out.
#[allow(clippy::type_complexity)]
fn fields(
    body: &Map<String, Value>,
    org: &str,
) -> Result<(Option<String>, Option<Vec<Value>>), Answer> {
    let desc = match body.get("desc") {
        None => None,
        Some(Value::String(d)) if (1..=250).contains(&d.chars().count()) => Some(d.clone()),
        Some(_) => return Err(invalid("desc", "must be 1 to 250 characters")),
    };
    let roles = match body.get("roles") {
        None => None,
        Some(Value::Array(rs)) if !rs.is_empty() => {
            let mut out = Vec::new();
            for r in rs {
                match r.as_str() {
                    Some(name) if ORG_ROLES.contains(&name) => {
                        out.push(json!({"orgId": org, "roleName": name}));
                    }
                    _ => {
                        return Err(invalid(
                            "roles",
                            &format!("{r} is not an organization role"),
                        ))
                    }
                }
            }
            Some(out)
        }
        Some(_) => return Err(invalid("roles", "must be a non-empty array")),
    };
    Ok((desc, roles))
}

fn create_key(ctx: &mut Ctx<'_>, key: &str, org: &str) -> Answer {
    let body = match json_body(ctx) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad_request("INVALID_JSON", "The body must be a JSON object."),
        Err(a) => return a,
    };
    let (desc, roles) = match fields(&body, org) {
        Ok(f) => f,
        Err(a) => return a,
    };
    let Some(desc) = desc else {
        return bad_request(
            "MISSING_ATTRIBUTE",
            "The required attribute desc was not specified.",
        );
    };
    let Some(roles) = roles else {
        return bad_request(
            "MISSING_ATTRIBUTE",
            "The required attribute roles was not specified.",
        );
    };
    let id = object_id();
    let stored = json!({
        "id": id,
        "desc": desc,
        "publicKey": random_hex(8),
        "roles": roles,
        "links": [{
            "rel": "self",
            "href": format!("https://cloud.mongodb.com/api/atlas/v2/orgs/{org}/apiKeys/{id}"),
        }],
    });
    ctx.update(key, |list| list.push(stored.clone()));
    // The only answer that holds the private key.
    let mut answer = stored;
    if let Some(o) = answer.as_object_mut() {
        o.insert(
            "privateKey".to_owned(),
            Value::String(format!(
                "{}-{}-{}-{}-{}",
                random_hex(8),
                random_hex(4),
                random_hex(4),
                random_hex(4),
                random_hex(12)
            )),
        );
    }
    Answer::json(StatusCode::OK, answer).with_version(VERSION)
}

fn patch_key(ctx: &mut Ctx<'_>, key: &str, org: &str, id: &str) -> Answer {
    let body = match json_body(ctx) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad_request("INVALID_JSON", "The body must be a JSON object."),
        Err(a) => return a,
    };
    let (desc, roles) = match fields(&body, org) {
        Ok(f) => f,
        Err(a) => return a,
    };
    let updated = ctx.update(key, |list| {
        let k = list
            .iter_mut()
            .find(|k| k.get("id").and_then(Value::as_str) == Some(id))?;
        if let Some(o) = k.as_object_mut() {
            if let Some(d) = desc {
                o.insert("desc".to_owned(), Value::String(d));
            }
            if let Some(r) = roles {
                o.insert("roles".to_owned(), Value::Array(r));
            }
        }
        Some(k.clone())
    });
    match updated {
        Some(k) => Answer::json(StatusCode::OK, without_private_key(k)).with_version(VERSION),
        None => missing(id),
    }
}
