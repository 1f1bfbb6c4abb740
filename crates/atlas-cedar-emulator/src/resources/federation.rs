//! Data-federation / online-archive private endpoints:
//! `GET` (paginated) / `POST /groups/{groupId}/privateNetworkSettings/endpointIds`,
//! `GET`/`DELETE …/endpointIds/{endpointId}` (the id percent-decoded), version
//! 2023-01-01. A POST is an upsert: an entry with the same `endpointId` is
//! replaced (its `status` kept); the answer is the project's list, 201.
//! Stored under `federationEndpoints/{groupId}`.

use hyper::StatusCode;
use serde_json::{Map, Value};

use super::{bad_request, json_body, not_found, Ctx};
use crate::server::Answer;
use crate::util::decode_segment;

const VERSION: &str = "2023-01-01";

/// The fields an upsert may set.
const WRITABLE: [&str; 8] = [
    "endpointId",
    "provider",
    "type",
    "comment",
    "region",
    "customerEndpointDNSName",
    "customerEndpointIPAddress",
    "azureLinkId",
];

fn store(ctx: &Ctx<'_>) -> String {
    format!("federationEndpoints/{}", ctx.scope.id())
}

pub(crate) fn list(ctx: &mut Ctx<'_>) -> Answer {
    ctx.page(ctx.items(&store(ctx)), VERSION)
}

pub(crate) fn upsert(ctx: &mut Ctx<'_>) -> Answer {
    let key = store(ctx);
    upsert_entry(ctx, &key)
}

pub(crate) fn get(ctx: &mut Ctx<'_>) -> Answer {
    let id = decode_segment(ctx.param("endpointId"));
    match find(ctx, &store(ctx), &id) {
        Some(e) => Answer::json(StatusCode::OK, e).with_version(VERSION),
        None => missing(&id),
    }
}

pub(crate) fn delete(ctx: &mut Ctx<'_>) -> Answer {
    let id = decode_segment(ctx.param("endpointId"));
    let removed = ctx.update(&store(ctx), |list| {
        let before = list.len();
        list.retain(|e| endpoint_id(e) != Some(id.as_str()));
        before != list.len()
    });
    if removed {
        Answer::empty(StatusCode::NO_CONTENT).with_version(VERSION)
    } else {
        missing(&id)
    }
}

fn endpoint_id(e: &Value) -> Option<&str> {
    e.get("endpointId").and_then(Value::as_str)
}

fn missing(id: &str) -> Answer {
    not_found(
        "RESOURCE_NOT_FOUND",
        &format!("Cannot find resource private endpoint {id}."),
    )
}

fn find(ctx: &Ctx<'_>, key: &str, id: &str) -> Option<Value> {
    ctx.items(key)
        .into_iter()
        .find(|e| endpoint_id(e) == Some(id))
}

fn invalid(field: &str, why: &str) -> Answer {
    bad_request(
        "INVALID_ATTRIBUTE",
        &format!("Invalid attribute {field} specified: {why}."),
    )
}

/// `vpce-` and 17 lower-case hex digits.
fn is_vpce(id: &str) -> bool {
    id.strip_prefix("vpce-").is_some_and(|h| {
        h.len() == 17
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The stored entry for an upsert body, or Atlas's 400.
fn validate(body: &Map<String, Value>) -> Result<Map<String, Value>, Answer> {
    let mut out = Map::new();
    for f in WRITABLE {
        match body.get(f) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                out.insert(f.to_owned(), Value::String(s.clone()));
            }
            Some(_) => return Err(invalid(f, "must be a string")),
        }
    }
    let text = |f: &str| out.get(f).and_then(Value::as_str).map(str::to_owned);
    let id = text("endpointId").unwrap_or_default();
    if id.is_empty() {
        return Err(bad_request(
            "MISSING_ATTRIBUTE",
            "The required attribute endpointId was not specified.",
        ));
    }
    let provider = text("provider").unwrap_or_else(|| "AWS".to_owned());
    match provider.as_str() {
        "AWS" if !is_vpce(&id) => {
            return Err(invalid("endpointId", "must match ^vpce-[0-9a-f]{17}$"))
        }
        "AWS" | "AZURE" => {}
        other => {
            return Err(bad_request(
                "VALIDATION_ERROR",
                &format!("No provider {other} exists."),
            ))
        }
    }
    let kind = text("type").unwrap_or_else(|| "DATA_LAKE".to_owned());
    if kind != "DATA_LAKE" {
        return Err(invalid("type", "must be DATA_LAKE"));
    }
    if text("region").is_some() != text("customerEndpointDNSName").is_some() {
        return Err(invalid(
            "region",
            "region and customerEndpointDNSName must be given together",
        ));
    }
    if let Some(ip) = text("customerEndpointIPAddress") {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(invalid(
                "customerEndpointIPAddress",
                "must be an IP address",
            ));
        }
    }
    out.insert("provider".to_owned(), Value::String(provider));
    out.insert("type".to_owned(), Value::String(kind));
    Ok(out)
}

fn upsert_entry(ctx: &mut Ctx<'_>, key: &str) -> Answer {
    let body = match json_body(ctx) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return bad_request("INVALID_JSON", "The body must be a JSON object."),
        Err(a) => return a,
    };
    let mut entry = match validate(&body) {
        Ok(e) => e,
        Err(a) => return a,
    };
    let id = entry
        .get("endpointId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let items = ctx.update(key, |list| {
        match list
            .iter_mut()
            .find(|e| endpoint_id(e) == Some(id.as_str()))
        {
            Some(existing) => {
                let status = existing.get("status").cloned();
                entry.insert("status".to_owned(), status.unwrap_or(Value::from("OK")));
                *existing = Value::Object(entry);
            }
            None => {
                entry.insert("status".to_owned(), Value::from("OK"));
                list.push(Value::Object(entry));
            }
        }
        list.clone()
    });
    let mut answer = ctx.page(items, VERSION);
    answer.status = StatusCode::CREATED;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_ids() {
        assert_eq!(decode_segment("%2Fsubs%2Fx%20y"), "/subs/x y");
        assert_eq!(decode_segment("vpce-1%"), "vpce-1%");
        assert!(is_vpce("vpce-3bf78b0ddee411ba1"));
        assert!(!is_vpce("vpce-3bf78b0ddee411ba"));
    }
}
