//! Private endpoint services and their endpoints
//! (`/groups/{groupId}/privateEndpoint/…`, version 2023-01-01).
//!
//! Store keys: `privateEndpoint/{groupId}/services` (the services as Atlas
//! answers them) and `privateEndpoint/{groupId}/endpoints/{serviceId}` (its
//! endpoints). A service is `INITIATING` on creation and `AVAILABLE` from its
//! second read; an AWS endpoint goes `PENDING_ACCEPTANCE` → `PENDING` →
//! `AVAILABLE` over three reads, Azure and GCP endpoints `INITIATING` →
//! `AVAILABLE` over two. A test makes the next services of a project fail by
//! storing `[{"errorMessage": "…"}]` under `privateEndpoint/{groupId}/fail`
//! (see [`crate::EmulatorHandle::fail_endpoint_services`]).
//!
//! Creating or deleting a service or an endpoint is evaluated against the
//! organization's resource policies as `project.privateEndpoint.modify` on the
//! project, with `context.project.privateEndpoints` = every endpoint of the
//! project after the change, as `aws:<vpce id>`, `azure:<resource id>`,
//! `gcp:<endpoint group name>`. Deletions are immediate (Atlas passes through
//! `DELETING`).
//!
//! Status codes are those the spec declares for each operation: creating an
//! endpoint answers 200 (not 201); a second service for a provider and
//! region, and deleting a service that still has endpoints, answer 400 (the
//! spec declares no 409 for either). Generated values follow the spec's
//! patterns: `endpointServiceName` `com.amazonaws.vpce.<region>.vpce-svc-<17
//! hex>`, `privateLinkServiceName` `pls_<24 hex>`, `serviceAttachmentNames`
//! full `https://www.googleapis.com/compute/v1/projects/…` URLs, and an Azure
//! endpoint's `privateEndpointConnectionName`
//! `<uuid>%2F<resource group>%2F<endpoint name>` ([`connection_name`]).

use atlas_cedar_analysis::request::ResourceSpec;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::{bad_request, json_body, not_found, Ctx};
use crate::server::Answer;
use crate::util::{decode_segment, object_id, random_hex};

const VERSION: &str = "2023-01-01";
const PROVIDERS: [&str; 3] = ["AWS", "AZURE", "GCP"];

/// The project and the `{cloudProvider}` of the path, or Atlas's 400.
fn target(ctx: &Ctx<'_>) -> Result<(String, &'static str), Answer> {
    Ok((
        ctx.scope.id().to_owned(),
        provider_of(ctx.param("cloudProvider"))?,
    ))
}

pub(crate) fn create_service(ctx: &mut Ctx<'_>) -> Answer {
    let group = ctx.scope.id().to_owned();
    new_service(ctx, &group)
}

pub(crate) fn list_services(ctx: &mut Ctx<'_>) -> Answer {
    match target(ctx) {
        Ok((group, p)) => services(ctx, &group, p),
        Err(a) => a,
    }
}

pub(crate) fn get_service(ctx: &mut Ctx<'_>) -> Answer {
    match target(ctx) {
        Ok((group, p)) => service(ctx, &group, p, ctx.param("endpointServiceId")),
        Err(a) => a,
    }
}

pub(crate) fn delete_service(ctx: &mut Ctx<'_>) -> Answer {
    match target(ctx) {
        Ok((group, p)) => remove_service(ctx, &group, p, ctx.param("endpointServiceId")),
        Err(a) => a,
    }
}

pub(crate) fn create_endpoint(ctx: &mut Ctx<'_>) -> Answer {
    match target(ctx) {
        Ok((group, p)) => new_endpoint_of(ctx, &group, p, ctx.param("endpointServiceId")),
        Err(a) => a,
    }
}

pub(crate) fn get_endpoint(ctx: &mut Ctx<'_>) -> Answer {
    match target(ctx) {
        Ok((group, p)) => {
            let e = decode_segment(ctx.param("endpointId"));
            endpoint(ctx, &group, p, ctx.param("endpointServiceId"), &e)
        }
        Err(a) => a,
    }
}

pub(crate) fn delete_endpoint(ctx: &mut Ctx<'_>) -> Answer {
    match target(ctx) {
        Ok((group, p)) => {
            let e = decode_segment(ctx.param("endpointId"));
            remove_endpoint(ctx, &group, p, ctx.param("endpointServiceId"), &e)
        }
        Err(a) => a,
    }
}

fn provider_of(p: &str) -> Result<&'static str, Answer> {
    PROVIDERS.into_iter().find(|k| *k == p).ok_or_else(|| {
        bad_request(
            "INVALID_PROVIDER",
            &format!("No provider {p} exists; use AWS, AZURE or GCP."),
        )
    })
}

fn services_key(group: &str) -> String {
    format!("privateEndpoint/{group}/services")
}

fn endpoints_key(group: &str, service: &str) -> String {
    format!("privateEndpoint/{group}/endpoints/{service}")
}

fn fail_key(group: &str) -> String {
    format!("privateEndpoint/{group}/fail")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The list of endpoint ids in a service's answer.
fn list_key(provider: &str) -> &'static str {
    match provider {
        "AZURE" => "privateEndpoints",
        "GCP" => "endpointGroupNames",
        _ => "interfaceEndpoints",
    }
}

/// The id of a stored endpoint (AWS id, Azure resource id, GCP group name).
fn endpoint_id(provider: &str, e: &Value) -> String {
    match provider {
        "AZURE" => str_of(e, "privateEndpointResourceId"),
        "GCP" => str_of(e, "endpointGroupName"),
        _ => str_of(e, "interfaceEndpointId"),
    }
    .to_owned()
}

fn same_id(provider: &str, a: &str, b: &str) -> bool {
    // Azure resource ids are case-insensitive.
    if provider == "AZURE" {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// Atlas's name of a region given either way (`US_EAST_1` or `us-east-1`).
fn region_name(provider: &str, region: &str) -> Option<String> {
    let catalog = atlas_cedar_core::catalog::Catalog::builtin();
    let lower = provider.to_ascii_lowercase();
    catalog
        .regions()
        .iter()
        .find(|r| {
            r.provider == lower
                && (r.atlas_name.eq_ignore_ascii_case(region)
                    || r.native_code.eq_ignore_ascii_case(region))
        })
        .map(|r| r.atlas_name.clone())
}

fn native_code(provider: &str, atlas_name: &str) -> String {
    let catalog = atlas_cedar_core::catalog::Catalog::builtin();
    let lower = provider.to_ascii_lowercase();
    catalog
        .regions()
        .iter()
        .find(|r| r.provider == lower && r.atlas_name == atlas_name)
        .map_or_else(
            || atlas_name.to_ascii_lowercase(),
            |r| r.native_code.clone(),
        )
}

/// Every endpoint of the project, as `project.privateEndpoints` holds them.
fn endpoint_set(ctx: &Ctx<'_>, group: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in ctx.items(&services_key(group)) {
        let provider = str_of(&s, "cloudProvider");
        for e in ctx.items(&endpoints_key(group, str_of(&s, "id"))) {
            out.push(format!(
                "{}:{}",
                provider.to_ascii_lowercase(),
                endpoint_id(provider, &e)
            ));
        }
    }
    out
}

fn enforce(ctx: &Ctx<'_>, group: &str, set: Vec<String>) -> Option<Answer> {
    let resource = ResourceSpec {
        ty: Some("Project".to_owned()),
        id: Some(group.to_owned()),
        project: None,
    };
    ctx.enforce(
        &resource,
        &json!({ "project": { "privateEndpoints": set } }),
    )
}

fn service_not_found(id: &str) -> Answer {
    not_found(
        "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND",
        &format!("Private endpoint service {id} not found."),
    )
}

fn new_service(ctx: &Ctx<'_>, group: &str) -> Answer {
    let body = match json_body(ctx) {
        Ok(b) => b,
        Err(a) => return a,
    };
    let provider = str_of(&body, "providerName");
    if !PROVIDERS.contains(&provider) {
        return bad_request(
            "INVALID_ATTRIBUTE",
            &format!("Invalid attribute providerName {provider:?}: use AWS, AZURE or GCP."),
        );
    }
    let region = str_of(&body, "region");
    let Some(region) = region_name(provider, region) else {
        return bad_request(
            "INVALID_REGION",
            &format!("No region {region:?} exists for {provider}."),
        );
    };
    let services = ctx.items(&services_key(group));
    if services
        .iter()
        .any(|s| str_of(s, "cloudProvider") == provider && str_of(s, "regionName") == region)
    {
        // Atlas's code; the spec declares 400 (and no 409) for this create.
        return bad_request(
            "PRIVATE_ENDPOINT_SERVICE_ALREADY_EXISTS_FOR_REGION",
            &format!("A private endpoint service already exists for {provider} region {region}."),
        );
    }
    if let Some(a) = enforce(ctx, group, endpoint_set(ctx, group)) {
        return a;
    }
    let id = object_id();
    // The spec declares these fields strings (not nullable): what Atlas does
    // not know yet is left out, not answered as `null`.
    let mut s = json!({
        "cloudProvider": provider,
        "id": id,
        "regionName": region,
        "status": "INITIATING",
    });
    if let Some(map) = s.as_object_mut() {
        map.insert(list_key(provider).to_owned(), json!([]));
        if provider == "GCP" {
            map.insert("serviceAttachmentNames".to_owned(), json!([]));
        }
    }
    ctx.reset_polls(&format!("privateEndpoint/{group}/{id}"));
    ctx.update(&services_key(group), |list| list.push(s.clone()));
    Answer::json(StatusCode::OK, s).with_version(VERSION)
}

/// Counts a read of the service and moves it on once read twice.
fn advance_service(ctx: &Ctx<'_>, group: &str, s: &mut Value) {
    if str_of(s, "status") != "INITIATING" {
        return;
    }
    let id = str_of(s, "id").to_owned();
    if ctx.poll(&format!("privateEndpoint/{group}/{id}")) < 2 {
        return;
    }
    let failure = ctx
        .items(&fail_key(group))
        .first()
        .map(|f| str_of(f, "errorMessage").to_owned());
    let provider = str_of(s, "cloudProvider").to_owned();
    let region = str_of(s, "regionName").to_owned();
    let hex: String = id.chars().rev().take(17).collect();
    if let Some(map) = s.as_object_mut() {
        if let Some(message) = failure {
            map.insert("status".to_owned(), json!("FAILED"));
            map.insert("errorMessage".to_owned(), json!(message));
        } else {
            map.insert("status".to_owned(), json!("AVAILABLE"));
            let code = native_code(&provider, &region);
            match provider.as_str() {
                "AWS" => {
                    map.insert(
                        "endpointServiceName".to_owned(),
                        json!(format!("com.amazonaws.vpce.{code}.vpce-svc-{hex}")),
                    );
                }
                "AZURE" => {
                    let name = format!("pls_{id}");
                    map.insert("privateLinkServiceName".to_owned(), json!(name));
                    map.insert(
                        "privateLinkServiceResourceId".to_owned(),
                        json!(format!(
                            "/subscriptions/ae349d51-d12b-ee3d-2a27-7d53f6479cf0/resourcegroups/rg_{id}/providers/Microsoft.Network/privateLinkServices/{name}"
                        )),
                    );
                }
                _ => {
                    map.insert(
                        "serviceAttachmentNames".to_owned(),
                        json!([format!(
                            "https://www.googleapis.com/compute/v1/projects/p-{hex}/regions/{code}/serviceAttachments/sa-{id}"
                        )]),
                    );
                }
            }
        }
    }
    let stored = s.clone();
    ctx.update(&services_key(group), |list| {
        for item in list.iter_mut() {
            if str_of(item, "id") == id {
                *item = stored.clone();
            }
        }
    });
}

fn services(ctx: &Ctx<'_>, group: &str, provider: &str) -> Answer {
    let mut out = Vec::new();
    for mut s in ctx.items(&services_key(group)) {
        if str_of(&s, "cloudProvider") == provider {
            advance_service(ctx, group, &mut s);
            out.push(s);
        }
    }
    Answer::json(StatusCode::OK, Value::Array(out)).with_version(VERSION)
}

fn find_service(ctx: &Ctx<'_>, group: &str, provider: &str, id: &str) -> Option<Value> {
    ctx.items(&services_key(group))
        .into_iter()
        .find(|s| str_of(s, "id") == id && str_of(s, "cloudProvider") == provider)
}

fn service(ctx: &Ctx<'_>, group: &str, provider: &str, id: &str) -> Answer {
    match find_service(ctx, group, provider, id) {
        None => service_not_found(id),
        Some(mut s) => {
            advance_service(ctx, group, &mut s);
            Answer::json(StatusCode::OK, s).with_version(VERSION)
        }
    }
}

fn remove_service(ctx: &Ctx<'_>, group: &str, provider: &str, id: &str) -> Answer {
    if find_service(ctx, group, provider, id).is_none() {
        return service_not_found(id);
    }
    if !ctx.items(&endpoints_key(group, id)).is_empty() {
        // The spec declares 400 (and no 409) for this delete.
        return bad_request(
            "CANNOT_DELETE_ENDPOINT_SERVICE_WITH_ENDPOINTS",
            &format!(
                "Private endpoint service {id} still has private endpoints; delete them first."
            ),
        );
    }
    if let Some(a) = enforce(ctx, group, endpoint_set(ctx, group)) {
        return a;
    }
    ctx.update(&services_key(group), |list| {
        list.retain(|s| str_of(s, "id") != id);
    });
    ctx.reset_polls(&format!("privateEndpoint/{group}/{id}"));
    Answer::empty(StatusCode::NO_CONTENT)
}

/// The stored endpoint for a creation body, or the 400 for a bad one.
fn new_endpoint(provider: &str, body: &Value) -> Result<Value, Answer> {
    let missing = |field: &str| {
        bad_request(
            "INVALID_ATTRIBUTE",
            &format!("Invalid attribute {field} specified."),
        )
    };
    match provider {
        "AWS" => {
            let id = str_of(body, "id");
            if !id.starts_with("vpce-") {
                return Err(missing("id"));
            }
            Ok(json!({
                "cloudProvider": "AWS",
                "connectionStatus": "PENDING_ACCEPTANCE",
                "deleteRequested": false,
                "interfaceEndpointId": id,
            }))
        }
        "AZURE" => {
            let id = str_of(body, "id");
            if !id.to_ascii_lowercase().starts_with("/subscriptions/") {
                return Err(missing("id"));
            }
            let ip = str_of(body, "privateEndpointIPAddress");
            if ip.is_empty() {
                return Err(missing("privateEndpointIPAddress"));
            }
            Ok(json!({
                "cloudProvider": "AZURE",
                "deleteRequested": false,
                "privateEndpointConnectionName": connection_name(id),
                "privateEndpointIPAddress": ip,
                "privateEndpointResourceId": id,
                "status": "INITIATING",
            }))
        }
        _ => {
            let group = str_of(body, "endpointGroupName");
            if group.is_empty() {
                return Err(missing("endpointGroupName"));
            }
            if str_of(body, "gcpProjectId").is_empty() {
                return Err(missing("gcpProjectId"));
            }
            let endpoints = body
                .get("endpoints")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| missing("endpoints"))?;
            let mut out = Vec::new();
            for e in endpoints {
                let (name, ip) = (str_of(e, "endpointName"), str_of(e, "ipAddress"));
                if name.is_empty() || ip.is_empty() {
                    return Err(missing("endpoints"));
                }
                out.push(json!({"endpointName": name, "ipAddress": ip, "status": "INITIATING"}));
            }
            Ok(json!({
                "cloudProvider": "GCP",
                "deleteRequested": false,
                "endpointGroupName": group,
                "endpoints": out,
                "status": "INITIATING",
            }))
        }
    }
}

fn new_endpoint_of(ctx: &Ctx<'_>, group: &str, provider: &str, service: &str) -> Answer {
    let Some(s) = find_service(ctx, group, provider, service) else {
        return service_not_found(service);
    };
    if !matches!(str_of(&s, "status"), "AVAILABLE" | "WAITING_FOR_USER") {
        return Answer::error(
            StatusCode::CONFLICT,
            "PRIVATE_ENDPOINT_SERVICE_NOT_AVAILABLE",
            &format!(
                "Private endpoint service {service} is {}; wait until it is AVAILABLE.",
                str_of(&s, "status")
            ),
        );
    }
    let body = match json_body(ctx) {
        Ok(b) => b,
        Err(a) => return a,
    };
    let endpoint = match new_endpoint(provider, &body) {
        Ok(e) => e,
        Err(a) => return a,
    };
    let id = endpoint_id(provider, &endpoint);
    let existing = ctx.items(&endpoints_key(group, service));
    if existing
        .iter()
        .any(|e| same_id(provider, &endpoint_id(provider, e), &id))
    {
        return Answer::error(
            StatusCode::CONFLICT,
            "PRIVATE_ENDPOINT_ALREADY_EXISTS",
            &format!("Private endpoint {id} already exists."),
        );
    }
    let mut set = endpoint_set(ctx, group);
    set.push(format!("{}:{id}", provider.to_ascii_lowercase()));
    if let Some(a) = enforce(ctx, group, set) {
        return a;
    }
    ctx.reset_polls(&format!("privateEndpoint/{group}/{service}/{id}"));
    ctx.update(&endpoints_key(group, service), |list| {
        list.push(endpoint.clone());
    });
    set_service_list(ctx, group, service, provider);
    Answer::json(StatusCode::OK, endpoint).with_version(VERSION)
}

/// An Azure endpoint's `privateEndpointConnectionName` in the format the
/// spec's pattern documents,
/// `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}%2[fF]([-\w._()]+)%2[fF]([-\w._()]+)`:
/// the subscription of the endpoint's resource id (a random UUID when that is
/// not one), its resource group and its name, joined by `%2F` (characters
/// the pattern does not allow become `_`).
fn connection_name(resource_id: &str) -> String {
    let segments: Vec<&str> = resource_id.split('/').filter(|s| !s.is_empty()).collect();
    let after = |key: &str| {
        segments
            .iter()
            .position(|s| s.eq_ignore_ascii_case(key))
            .and_then(|i| segments.get(i + 1))
            .copied()
            .unwrap_or("")
    };
    let subscription = after("subscriptions");
    let subscription = if is_uuid(subscription) {
        subscription.to_ascii_lowercase()
    } else {
        random_uuid()
    };
    let clean = |s: &str, fallback: &str| {
        let c: String = s
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.()".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if c.is_empty() {
            fallback.to_owned()
        } else {
            c
        }
    };
    format!(
        "{subscription}%2F{}%2F{}",
        clean(after("resourceGroups"), "rg"),
        clean(segments.last().copied().unwrap_or(""), "pe")
    )
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A random (version 4) UUID.
fn random_uuid() -> String {
    let variant = char::from(b"89ab".get(fastrand::usize(..4)).copied().unwrap_or(b'8'));
    format!(
        "{}-{}-4{}-{variant}{}-{}",
        random_hex(8),
        random_hex(4),
        random_hex(3),
        random_hex(3),
        random_hex(12)
    )
}

/// Rewrites the service's list of endpoint ids from the stored endpoints.
fn set_service_list(ctx: &Ctx<'_>, group: &str, service: &str, provider: &str) {
    let ids: Vec<String> = ctx
        .items(&endpoints_key(group, service))
        .iter()
        .map(|e| endpoint_id(provider, e))
        .collect();
    ctx.update(&services_key(group), |list| {
        for s in list.iter_mut() {
            if str_of(s, "id") == service {
                if let Some(map) = s.as_object_mut() {
                    map.insert(list_key(provider).to_owned(), json!(ids));
                }
            }
        }
    });
}

fn endpoint_not_found(id: &str) -> Answer {
    not_found(
        "PRIVATE_ENDPOINT_NOT_FOUND",
        &format!("Private endpoint {id} not found."),
    )
}

fn endpoint(ctx: &Ctx<'_>, group: &str, provider: &str, service: &str, id: &str) -> Answer {
    if find_service(ctx, group, provider, service).is_none() {
        return service_not_found(service);
    }
    let key = endpoints_key(group, service);
    let Some(mut e) = ctx
        .items(&key)
        .into_iter()
        .find(|e| same_id(provider, &endpoint_id(provider, e), id))
    else {
        return endpoint_not_found(id);
    };
    let stored_id = endpoint_id(provider, &e);
    let reads = ctx.poll(&format!("privateEndpoint/{group}/{service}/{stored_id}"));
    let changed = advance_endpoint(provider, &mut e, reads);
    if changed {
        let stored = e.clone();
        ctx.update(&key, |list| {
            for item in list.iter_mut() {
                if endpoint_id(provider, item) == stored_id {
                    *item = stored.clone();
                }
            }
        });
    }
    Answer::json(StatusCode::OK, e).with_version(VERSION)
}

/// The endpoint's state after `reads` reads; `true` when it changed.
fn advance_endpoint(provider: &str, e: &mut Value, reads: u32) -> bool {
    let Some(map) = e.as_object_mut() else {
        return false;
    };
    if provider == "AWS" {
        let now = map
            .get("connectionStatus")
            .and_then(Value::as_str)
            .unwrap_or("");
        let next = match (now, reads) {
            ("PENDING_ACCEPTANCE", 2) => "PENDING",
            ("PENDING_ACCEPTANCE" | "PENDING", n) if n >= 3 => "AVAILABLE",
            _ => return false,
        };
        map.insert("connectionStatus".to_owned(), json!(next));
        return true;
    }
    if map.get("status").and_then(Value::as_str) != Some("INITIATING") || reads < 2 {
        return false;
    }
    map.insert("status".to_owned(), json!("AVAILABLE"));
    if let Some(list) = map.get_mut("endpoints").and_then(Value::as_array_mut) {
        for item in list.iter_mut() {
            if let Some(m) = item.as_object_mut() {
                m.insert("status".to_owned(), json!("AVAILABLE"));
            }
        }
    }
    true
}

fn remove_endpoint(ctx: &Ctx<'_>, group: &str, provider: &str, service: &str, id: &str) -> Answer {
    if find_service(ctx, group, provider, service).is_none() {
        return service_not_found(service);
    }
    let key = endpoints_key(group, service);
    let Some(found) = ctx
        .items(&key)
        .iter()
        .map(|e| endpoint_id(provider, e))
        .find(|e| same_id(provider, e, id))
    else {
        return endpoint_not_found(id);
    };
    let gone = format!("{}:{found}", provider.to_ascii_lowercase());
    let set: Vec<String> = endpoint_set(ctx, group)
        .into_iter()
        .filter(|e| *e != gone)
        .collect();
    if let Some(a) = enforce(ctx, group, set) {
        return a;
    }
    ctx.update(&key, |list| {
        list.retain(|e| endpoint_id(provider, e) != found);
    });
    set_service_list(ctx, group, service, provider);
    ctx.reset_polls(&format!("privateEndpoint/{group}/{service}/{found}"));
    Answer::empty(StatusCode::NO_CONTENT)
}

impl crate::EmulatorHandle {
    /// Services of `group` created from now on end `FAILED` with `message`
    /// instead of becoming `AVAILABLE`.
    pub fn fail_endpoint_services(&self, group: &str, message: &str) {
        self.set_resources(&fail_key(group), vec![json!({ "errorMessage": message })]);
    }

    /// The stored private endpoint services of `group`.
    pub fn endpoint_services(&self, group: &str) -> Vec<Value> {
        self.resources(&services_key(group))
    }

    /// The stored endpoints of one service.
    pub fn private_endpoints(&self, group: &str, service: &str) -> Vec<Value> {
        self.resources(&endpoints_key(group, service))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decodes_encoded_azure_ids() {
        assert_eq!(
            decode_segment("%2Fsubscriptions%2Fs%2FresourceGroups%2Frg%2Fpe%201"),
            "/subscriptions/s/resourceGroups/rg/pe 1"
        );
        assert_eq!(decode_segment("vpce-1%"), "vpce-1%");
    }

    #[test]
    fn regions_either_way() {
        assert_eq!(
            region_name("AWS", "us-east-1").as_deref(),
            Some("US_EAST_1")
        );
        assert_eq!(
            region_name("AWS", "US_EAST_1").as_deref(),
            Some("US_EAST_1")
        );
        assert_eq!(region_name("AWS", "mars-1"), None);
        assert_eq!(native_code("AWS", "US_EAST_1"), "us-east-1");
    }

    #[test]
    fn azure_connection_names_follow_the_spec() {
        assert_eq!(
            connection_name("/subscriptions/0B1C2D3E-4f50-6172-8394-a5b6c7d8e9f0/resourceGroups/rg-app/providers/Microsoft.Network/privateEndpoints/pe-atlas"),
            "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0%2Frg-app%2Fpe-atlas"
        );
        let odd = connection_name("/subscriptions/0/resourcegroups/rg 1/providers/Microsoft.Network/privateEndpoints/pe 1");
        let (uuid, rest) = odd.split_once("%2F").unwrap();
        assert!(is_uuid(uuid), "{odd}");
        assert_eq!(rest, "rg_1%2Fpe_1");
        assert!(is_uuid(&random_uuid()));
        assert!(!is_uuid("0b1c2d3e-4f50-6172-8394"));
    }

    #[test]
    fn aws_endpoints_move_over_three_reads() {
        let mut e = json!({"connectionStatus": "PENDING_ACCEPTANCE"});
        assert!(!advance_endpoint("AWS", &mut e, 1));
        assert!(advance_endpoint("AWS", &mut e, 2));
        assert_eq!(e["connectionStatus"], "PENDING");
        assert!(advance_endpoint("AWS", &mut e, 3));
        assert_eq!(e["connectionStatus"], "AVAILABLE");
        let mut g = json!({"status": "INITIATING", "endpoints": [{"status": "INITIATING"}]});
        assert!(advance_endpoint("GCP", &mut g, 2));
        assert_eq!(g["endpoints"][0]["status"], "AVAILABLE");
    }
}
