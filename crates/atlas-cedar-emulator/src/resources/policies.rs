//! Resource policies (organization, version 2024-08-05): list, create,
//! validate, get, update, delete, and the non-compliant resources. Stored in
//! the persisted state per organization.

use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Ctx;
use crate::lock;
use crate::server::{Answer, Shared};
use crate::util::{now_iso, object_id};

/// A resource policy as stored and returned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StoredPolicy {
    pub id: String,
    pub org_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub version: String,
    pub created_date: String,
    pub last_updated_date: String,
    pub created_by_user: UserRef,
    pub last_updated_by_user: UserRef,
    pub policies: Vec<PolicyBody>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PolicyBody {
    pub id: String,
    pub body: String,
}

pub(crate) fn list(ctx: &mut Ctx<'_>) -> Answer {
    list_policies(ctx.shared, ctx.scope.id())
}

pub(crate) fn create(ctx: &mut Ctx<'_>) -> Answer {
    create_policy(ctx.shared, ctx.scope.id(), ctx.body())
}

pub(crate) fn validate(ctx: &mut Ctx<'_>) -> Answer {
    validate_policy(ctx.scope.id(), ctx.body())
}

pub(crate) fn get(ctx: &mut Ctx<'_>) -> Answer {
    get_policy(ctx.shared, ctx.scope.id(), ctx.param("resourcePolicyId"))
}

pub(crate) fn update(ctx: &mut Ctx<'_>) -> Answer {
    update_policy(
        ctx.shared,
        ctx.scope.id(),
        ctx.param("resourcePolicyId"),
        ctx.body(),
    )
}

pub(crate) fn delete(ctx: &mut Ctx<'_>) -> Answer {
    delete_policy(ctx.shared, ctx.scope.id(), ctx.param("resourcePolicyId"))
}

pub(crate) fn non_compliant(ctx: &mut Ctx<'_>) -> Answer {
    let list = lock(&ctx.shared.state)
        .non_compliant
        .get(ctx.scope.id())
        .cloned()
        .unwrap_or_default();
    Answer::json(StatusCode::OK, Value::Array(list))
}

#[derive(Debug, Deserialize)]
struct PolicyInput {
    body: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    name: Option<String>,
    description: Option<String>,
    policies: Option<Vec<PolicyInput>>,
}

fn parse_input(body: &str) -> Result<CreateInput, Answer> {
    serde_json::from_str::<CreateInput>(body).map_err(|e| {
        Answer::error(
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
            &format!("Invalid JSON: {e}"),
        )
    })
}

fn invalid_attribute(field: &str, description: &str) -> Answer {
    let mut a = Answer::error(
        StatusCode::BAD_REQUEST,
        "INVALID_ATTRIBUTE",
        &format!("Invalid attribute {field} specified."),
    );
    if let Some(Value::Object(map)) = a.body.as_mut() {
        map.insert(
            "badRequestDetail".to_owned(),
            json!({ "fields": [ { "field": field, "description": description } ] }),
        );
    }
    a
}

/// The policy 400 envelope for bad bodies, if any.
fn check_bodies(policies: &[PolicyInput]) -> Option<Answer> {
    let bodies: Vec<&str> = policies.iter().map(|p| p.body.as_str()).collect();
    let envelope = crate::validation::verdict(&bodies)?;
    Some(Answer::json(StatusCode::BAD_REQUEST, envelope))
}

fn system_user() -> UserRef {
    UserRef {
        id: "000000000000000000000001".to_owned(),
        name: "emulator".to_owned(),
    }
}

fn list_policies(shared: &Shared, org: &str) -> Answer {
    let st = lock(&shared.state);
    let list = st.persisted.orgs.get(org).cloned().unwrap_or_default();
    Answer::json(
        StatusCode::OK,
        serde_json::to_value(list).unwrap_or(Value::Null),
    )
}

fn get_policy(shared: &Shared, org: &str, id: &str) -> Answer {
    let st = lock(&shared.state);
    match st
        .persisted
        .orgs
        .get(org)
        .and_then(|l| l.iter().find(|p| p.id == id))
    {
        Some(p) => Answer::json(
            StatusCode::OK,
            serde_json::to_value(p).unwrap_or(Value::Null),
        ),
        None => not_found(id),
    }
}

fn not_found(id: &str) -> Answer {
    Answer::error(
        StatusCode::NOT_FOUND,
        "RESOURCE_POLICY_NOT_FOUND",
        &format!("Resource policy {id} not found."),
    )
}

fn duplicate(name: &str) -> Answer {
    Answer::error(
        StatusCode::BAD_REQUEST,
        "DUPLICATE_RESOURCE_POLICY_NAME",
        &format!("A resource policy named {name} already exists in this organization."),
    )
}

fn new_bodies(policies: Vec<PolicyInput>) -> Vec<PolicyBody> {
    policies
        .into_iter()
        .map(|p| PolicyBody {
            id: object_id(),
            body: p.body,
        })
        .collect()
}

fn create_policy(shared: &Shared, org: &str, body: &str) -> Answer {
    let input = match parse_input(body) {
        Ok(i) => i,
        Err(a) => return a,
    };
    let name = match input.name {
        Some(n) if !n.trim().is_empty() => n,
        _ => return invalid_attribute("name", "name must not be empty"),
    };
    let policies = match input.policies {
        Some(p) if !p.is_empty() => p,
        _ => return invalid_attribute("policies", "policies must not be empty"),
    };
    if let Some(a) = check_bodies(&policies) {
        return a;
    }
    let mut st = lock(&shared.state);
    let list = st.persisted.orgs.entry(org.to_owned()).or_default();
    if list.iter().any(|p| p.name == name) {
        return duplicate(&name);
    }
    let now = now_iso();
    let policy = StoredPolicy {
        id: object_id(),
        org_id: org.to_owned(),
        name,
        description: input.description,
        version: "v1".to_owned(),
        created_date: now.clone(),
        last_updated_date: now,
        created_by_user: system_user(),
        last_updated_by_user: system_user(),
        policies: new_bodies(policies),
    };
    list.push(policy.clone());
    shared.save(&st);
    Answer::json(
        StatusCode::CREATED,
        serde_json::to_value(policy).unwrap_or(Value::Null),
    )
}

fn validate_policy(org: &str, body: &str) -> Answer {
    let input = match parse_input(body) {
        Ok(i) => i,
        Err(a) => return a,
    };
    let policies = match input.policies {
        Some(p) if !p.is_empty() => p,
        _ => return invalid_attribute("policies", "policies must not be empty"),
    };
    if let Some(a) = check_bodies(&policies) {
        return a;
    }
    let now = now_iso();
    let mut out = json!({
        "orgId": org,
        "name": input.name.unwrap_or_default(),
        "version": "v1",
        "createdDate": now,
        "lastUpdatedDate": now,
        "policies": new_bodies(policies),
    });
    // The spec declares a string: no description is left out, not `null`.
    if let (Some(d), Some(map)) = (input.description, out.as_object_mut()) {
        map.insert("description".to_owned(), Value::String(d));
    }
    Answer::json(StatusCode::OK, out)
}

fn update_policy(shared: &Shared, org: &str, id: &str, body: &str) -> Answer {
    let input = match parse_input(body) {
        Ok(i) => i,
        Err(a) => return a,
    };
    if let Some(p) = &input.policies {
        if p.is_empty() {
            return invalid_attribute("policies", "policies must not be empty");
        }
        if let Some(a) = check_bodies(p) {
            return a;
        }
    }
    if matches!(&input.name, Some(n) if n.trim().is_empty()) {
        return invalid_attribute("name", "name must not be empty");
    }
    let mut st = lock(&shared.state);
    let list = st.persisted.orgs.entry(org.to_owned()).or_default();
    if let Some(name) = &input.name {
        if list.iter().any(|p| &p.name == name && p.id != id) {
            return duplicate(name);
        }
    }
    let Some(policy) = list.iter_mut().find(|p| p.id == id) else {
        return not_found(id);
    };
    if let Some(name) = input.name {
        policy.name = name;
    }
    if let Some(d) = input.description {
        policy.description = Some(d);
    }
    if let Some(p) = input.policies {
        policy.policies = new_bodies(p);
    }
    policy.last_updated_date = now_iso();
    policy.last_updated_by_user = system_user();
    let out = policy.clone();
    shared.save(&st);
    Answer::json(
        StatusCode::OK,
        serde_json::to_value(out).unwrap_or(Value::Null),
    )
}

fn delete_policy(shared: &Shared, org: &str, id: &str) -> Answer {
    let mut st = lock(&shared.state);
    let list = st.persisted.orgs.entry(org.to_owned()).or_default();
    let before = list.len();
    list.retain(|p| p.id != id);
    if list.len() == before {
        return not_found(id);
    }
    shared.save(&st);
    // The spec declares 200 with no body (not 204) for this delete.
    Answer::empty(StatusCode::OK)
}
