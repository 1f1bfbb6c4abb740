//! Private endpoint services and their endpoints: the manifest section
//! `[[private_endpoint_service]]` (with `[[private_endpoint_service.endpoint]]`)
//! and `atlas-cedar private-endpoints …`.
//!
//! A service is known by (project, provider, region), an endpoint by its id
//! (AWS `vpce-…`, Azure resource id) or its GCP endpoint group name, so
//! existing objects are adopted. Regions may be written as Atlas names
//! (`US_EAST_1`) or cloud codes (`us-east-1`); the cloud code is sent.
//!
//! `push` creates a service and waits until it is `AVAILABLE` (`FAILED`
//! reports Atlas's `errorMessage`), then registers its endpoints and reports
//! their `connectionStatus` (AWS) or `status` (Azure, GCP) without waiting,
//! unless the service entry says `wait_for_endpoints = true` (then it waits
//! until no endpoint is pending). An endpoint cannot change in place: a
//! changed Azure IP address or GCP endpoint list is a replace.
//!
//! Resource policies govern every creation and deletion as
//! `project.privateEndpoint.modify` on the project, with
//! `context.project.privateEndpoints` = the project's endpoints after the
//! change, written `aws:<vpce id>`, `azure:<resource id>`,
//! `gcp:<endpoint group name>`. When the manifest has resource policies (or
//! with `--prune`) the plan reads the services of every provider, so it knows
//! the whole set and the verdict is exact.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use atlas_cedar_analysis::request::ResourceSpec;
use atlas_cedar_client::private_endpoints::{
    create_service_path, endpoint_path, endpoints_path, EndpointService, GcpEndpointInput,
    NewEndpointService, NewPrivateEndpoint, PrivateEndpoint, Provider,
};
use atlas_cedar_client::Client;
use atlas_cedar_core::catalog::Catalog;
use serde::Deserialize;
use serde_json::{json, Value};

use super::jsondiff::{self, Mode};
use super::kind::{Kind, Listed, Section};
use super::{Action, Apply, BoxFuture, Ctx, Manifest, Phase, PlanError, Request, Step, StepError};

const SECTION: &str = "private_endpoint_service";
const ACTION: &str = "project.privateEndpoint.modify";
const SERVICE: &str = "private endpoint service";
const ENDPOINT: &str = "private endpoint";
const API: &str = "/api/atlas/v2";

// ---------------------------------------------------------------------------
// Manifest

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceEntry {
    #[serde(default)]
    project_id: Option<String>,
    /// AWS, AZURE or GCP.
    provider: String,
    /// `us-east-1` or `US_EAST_1`.
    region: String,
    /// Wait at push until no endpoint of this service is pending.
    #[serde(default)]
    wait_for_endpoints: bool,
    #[serde(default, rename = "endpoint")]
    endpoints: Vec<EndpointEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointEntry {
    /// AWS `vpce-…` id or Azure private endpoint resource id.
    #[serde(default)]
    id: Option<String>,
    /// Azure.
    #[serde(default)]
    private_endpoint_ip_address: Option<String>,
    /// GCP.
    #[serde(default)]
    endpoint_group_name: Option<String>,
    #[serde(default)]
    gcp_project_id: Option<String>,
    #[serde(default)]
    endpoints: Vec<GcpEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GcpEntry {
    endpoint_name: String,
    ip_address: String,
}

/// A region as the key compares it (Atlas's name) and as it is sent (the
/// cloud's code when known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    pub send: String,
}

pub fn region_of(catalog: &Catalog, provider: Provider, written: &str) -> Region {
    let found = catalog.regions().iter().find(|r| {
        r.provider == provider.lower()
            && (r.atlas_name.eq_ignore_ascii_case(written)
                || r.native_code.eq_ignore_ascii_case(written))
    });
    match found {
        Some(r) => Region {
            name: r.atlas_name.clone(),
            send: r.native_code.clone(),
        },
        None => Region {
            name: written.trim().to_ascii_uppercase().replace('-', "_"),
            send: written.trim().to_owned(),
        },
    }
}

#[derive(Debug)]
pub(crate) struct DesiredService {
    project: String,
    provider: Provider,
    region: Region,
    wait: bool,
    endpoints: Vec<NewPrivateEndpoint>,
}

impl DesiredService {
    fn key(&self) -> String {
        format!("{}/{}/{}", self.project, self.provider, self.region.name)
    }
}

fn endpoint_of(provider: Provider, e: EndpointEntry) -> Result<NewPrivateEndpoint, String> {
    let nonempty = |v: Option<String>, field: &str| -> Result<String, String> {
        v.filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("a {provider} endpoint needs `{field}`"))
    };
    let refuse = |present: bool, field: &str| -> Result<(), String> {
        if present {
            Err(format!("`{field}` is not a field of a {provider} endpoint"))
        } else {
            Ok(())
        }
    };
    match provider {
        Provider::Aws => {
            refuse(
                e.private_endpoint_ip_address.is_some(),
                "private_endpoint_ip_address",
            )?;
            refuse(e.endpoint_group_name.is_some(), "endpoint_group_name")?;
            refuse(e.gcp_project_id.is_some(), "gcp_project_id")?;
            refuse(!e.endpoints.is_empty(), "endpoints")?;
            let id = nonempty(e.id, "id")?;
            if !id.starts_with("vpce-") {
                return Err(format!(
                    "AWS endpoint id {id:?} should be the interface endpoint's id (vpce-…)"
                ));
            }
            Ok(NewPrivateEndpoint::Aws { id })
        }
        Provider::Azure => {
            refuse(e.endpoint_group_name.is_some(), "endpoint_group_name")?;
            refuse(e.gcp_project_id.is_some(), "gcp_project_id")?;
            refuse(!e.endpoints.is_empty(), "endpoints")?;
            let id = nonempty(e.id, "id")?;
            if !id.to_ascii_lowercase().starts_with("/subscriptions/") {
                return Err(format!(
                    "Azure endpoint id {id:?} should be the private endpoint's resource id \
                     (/subscriptions/…/providers/Microsoft.Network/privateEndpoints/…)"
                ));
            }
            let ip = nonempty(e.private_endpoint_ip_address, "private_endpoint_ip_address")?;
            Ok(NewPrivateEndpoint::Azure {
                id,
                private_endpoint_ip_address: ip,
            })
        }
        Provider::Gcp => {
            refuse(e.id.is_some(), "id")?;
            refuse(
                e.private_endpoint_ip_address.is_some(),
                "private_endpoint_ip_address",
            )?;
            let name = nonempty(e.endpoint_group_name, "endpoint_group_name")?;
            let project = nonempty(e.gcp_project_id, "gcp_project_id")?;
            if e.endpoints.is_empty() {
                return Err(
                    "a GCP endpoint group needs `endpoints = [{ endpoint_name = \"…\", ip_address = \"…\" }]`"
                        .to_owned(),
                );
            }
            Ok(NewPrivateEndpoint::Gcp {
                endpoint_group_name: name,
                gcp_project_id: project,
                endpoints: e
                    .endpoints
                    .into_iter()
                    .map(|g| GcpEndpointInput {
                        endpoint_name: g.endpoint_name,
                        ip_address: g.ip_address,
                    })
                    .collect(),
            })
        }
    }
}

/// The manifest's services, checked (provider, endpoint shapes, duplicates).
fn desired(manifest: &Manifest, catalog: &Catalog) -> Result<Vec<DesiredService>, PlanError> {
    let entries: Vec<ServiceEntry> = manifest.section(SECTION)?;
    let mut out: Vec<DesiredService> = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let at = |msg: String| manifest.entry_error(SECTION, i, msg);
        let provider = Provider::parse(&entry.provider).ok_or_else(|| {
            at(format!(
                "provider {:?} is not AWS, AZURE or GCP",
                entry.provider
            ))
        })?;
        if entry.region.trim().is_empty() {
            return Err(at("region is empty".to_owned()));
        }
        let project = manifest.project_id(entry.project_id.as_deref(), SECTION, i)?;
        let region = region_of(catalog, provider, &entry.region);
        let mut endpoints: Vec<NewPrivateEndpoint> = Vec::new();
        for (j, e) in entry.endpoints.into_iter().enumerate() {
            let e = endpoint_of(provider, e).map_err(|m| at(format!("endpoint {}: {m}", j + 1)))?;
            if endpoints
                .iter()
                .any(|o| same_id(provider, o.key(), e.key()))
            {
                return Err(at(format!("endpoint {:?} is listed twice", e.key())));
            }
            endpoints.push(e);
        }
        let d = DesiredService {
            project,
            provider,
            region,
            wait: entry.wait_for_endpoints,
            endpoints,
        };
        if out.iter().any(|o| o.key() == d.key()) {
            return Err(at(format!(
                "a service for {} in {} of project {} is already declared (one per provider and region)",
                d.provider, d.region.name, d.project
            )));
        }
        out.push(d);
    }
    Ok(out)
}

fn same_id(provider: Provider, a: &str, b: &str) -> bool {
    // Azure resource ids are case-insensitive.
    match provider {
        Provider::Azure => a.eq_ignore_ascii_case(b),
        _ => a == b,
    }
}

/// The member of `project.privateEndpoints` for an endpoint.
fn set_member(provider: Provider, id: &str) -> String {
    format!("{}:{id}", provider.lower())
}

// ---------------------------------------------------------------------------
// Plan

/// What the plan knows about a service while the steps are applied: its id
/// (set by the creation) and whether it is known to be available.
#[derive(Debug, Default)]
struct ServiceRef {
    id: OnceLock<String>,
    available: AtomicBool,
}

/// The project's endpoint set as the steps change it, for the verdicts.
struct Governor {
    project: String,
    set: BTreeSet<String>,
}

impl Governor {
    fn check(&self, ctx: &Ctx, step: &mut Step) {
        if ctx.policies.is_empty() {
            return;
        }
        let resource = ResourceSpec {
            ty: Some("Project".to_owned()),
            id: Some(self.project.clone()),
            project: None,
        };
        let members: Vec<&String> = self.set.iter().collect();
        let context = json!({ "project": { "privateEndpoints": members } });
        let verdict = ctx.govern(ACTION, &resource, &[context], &[]);
        step.governed(&verdict, ACTION);
    }

    /// A change that leaves the set as it is (a service created or deleted).
    fn same(&self, ctx: &Ctx, step: &mut Step) {
        self.check(ctx, step);
    }

    fn add(&mut self, ctx: &Ctx, step: &mut Step, member: String) {
        self.set.insert(member);
        self.check(ctx, step);
    }

    fn remove(&mut self, ctx: &Ctx, step: &mut Step, member: &str) {
        self.set.remove(member);
        self.check(ctx, step);
    }
}

fn created_details(body: &Value) -> Vec<String> {
    match body.as_object() {
        Some(map) => map.iter().map(|(k, v)| format!("+ {k}: {v}")).collect(),
        None => Vec::new(),
    }
}

/// `connectionStatus X` / `status X` for a plan line.
fn status_phrase(provider: Provider, e: &PrivateEndpoint) -> String {
    let field = match provider {
        Provider::Aws => "connectionStatus",
        _ => "status",
    };
    let state = if e.state().is_empty() {
        "unknown"
    } else {
        e.state()
    };
    let mut s = format!("{field} {state}");
    if let Some(m) = e.error_message.as_deref().filter(|m| !m.is_empty()) {
        s.push_str(&format!(": {m}"));
    }
    s
}

/// The fields of an endpoint that a replace is about.
fn comparable_remote(provider: Provider, e: &PrivateEndpoint) -> Value {
    match provider {
        Provider::Aws => json!({}),
        Provider::Azure => json!({ "privateEndpointIPAddress": e.private_endpoint_ip_address }),
        Provider::Gcp => json!({
            "endpoints": e.endpoints.iter().flatten().map(|g| json!({
                "endpointName": g.endpoint_name, "ipAddress": g.ip_address
            })).collect::<Vec<_>>()
        }),
    }
}

fn comparable_desired(d: &NewPrivateEndpoint) -> Value {
    match d {
        NewPrivateEndpoint::Aws { .. } => json!({}),
        NewPrivateEndpoint::Azure {
            private_endpoint_ip_address,
            ..
        } => json!({ "privateEndpointIPAddress": private_endpoint_ip_address }),
        NewPrivateEndpoint::Gcp { endpoints, .. } => json!({
            "endpoints": endpoints.iter().map(|g| json!({
                "endpointName": g.endpoint_name, "ipAddress": g.ip_address
            })).collect::<Vec<_>>()
        }),
    }
}

fn remote_region(catalog: &Catalog, provider: Provider, s: &EndpointService) -> Region {
    region_of(catalog, provider, s.region_name.as_deref().unwrap_or(""))
}

async fn get_endpoint(
    client: &Client,
    project: &str,
    provider: Provider,
    service: &str,
    id: &str,
) -> Result<Option<PrivateEndpoint>, PlanError> {
    match client
        .get_private_endpoint(project, provider, service, id)
        .await
    {
        Ok(e) => Ok(Some(e)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `[[private_endpoint_service]]`: per project, one list of the services of
/// each provider (every provider when pruning or when resource policies are
/// evaluated: `project.privateEndpoints` holds the endpoints of all of them).
/// A service is its (provider, region); its endpoints are planned with it.
/// Pruning comes first, endpoints before their service, so each verdict sees
/// the endpoint set as the steps before it leave it.
pub(crate) struct Services {
    catalog: Catalog,
    /// The providers the entries of each project name.
    providers: BTreeMap<String, BTreeSet<Provider>>,
    /// Each project's endpoint set, as the steps so far change it.
    governors: BTreeMap<String, Governor>,
}

impl Services {
    pub(crate) fn new() -> Self {
        Services {
            catalog: Catalog::builtin(),
            providers: BTreeMap::new(),
            governors: BTreeMap::new(),
        }
    }

    fn governor(&mut self, project: &str) -> &mut Governor {
        self.governors
            .entry(project.to_owned())
            .or_insert_with(|| Governor {
                project: project.to_owned(),
                set: BTreeSet::new(),
            })
    }
}

impl Kind for Services {
    type Desired = DesiredService;
    type Remote = (Provider, EndpointService);
    type Scope = String;

    const PRUNE_FIRST: bool = true;

    fn scope(&self, d: &DesiredService) -> String {
        d.project.clone()
    }

    async fn list(
        &mut self,
        ctx: &Ctx,
        project: &String,
        prune: bool,
    ) -> Result<Vec<(Provider, EndpointService)>, PlanError> {
        let providers: BTreeSet<Provider> = if prune || !ctx.policies.is_empty() {
            Provider::ALL.into_iter().collect()
        } else {
            self.providers.get(project).cloned().unwrap_or_default()
        };
        let mut remote = Vec::new();
        for p in providers {
            let list = ctx.client.list_endpoint_services(project, p).await?;
            remote.extend(list.into_iter().map(|s| (p, s)));
        }
        let set = remote
            .iter()
            .flat_map(|(p, s)| {
                let p = *p;
                s.endpoint_ids(p)
                    .into_iter()
                    .map(move |id| set_member(p, &id))
            })
            .collect();
        self.governor(project).set = set;
        Ok(remote)
    }

    fn is(&self, d: &DesiredService, (p, s): &(Provider, EndpointService)) -> bool {
        d.provider == *p && remote_region(&self.catalog, *p, s).name == d.region.name
    }

    /// The endpoints of `(p, s)` no entry names, then the service itself
    /// when no entry names it.
    async fn prune(
        &mut self,
        ctx: &Ctx,
        project: &String,
        (p, s): &(Provider, EndpointService),
        desired: Option<&DesiredService>,
        _planned: &[Step],
    ) -> Result<Vec<Step>, PlanError> {
        let mut steps = Vec::new();
        let region = remote_region(&self.catalog, *p, s);
        let gov = self.governor(project);
        let mut endpoint_steps = Vec::new();
        for id in s.endpoint_ids(*p) {
            let named =
                desired.is_some_and(|d| d.endpoints.iter().any(|e| same_id(*p, e.key(), &id)));
            if named {
                continue;
            }
            let key = crate::key_of(&format!("{project}/{p}/{}", region.name), &id);
            let mut step = Step::new(ENDPOINT, key, Action::Delete, Phase::Network);
            let state = get_endpoint(&ctx.client, project, *p, &s.id, &id).await?;
            step.reason = match &state {
                Some(e) => format!("not in the manifest; {}", status_phrase(*p, e)),
                None => "not in the manifest".to_owned(),
            };
            step.requests.push(Request::new(
                "DELETE",
                format!("{API}{}", endpoint_path(project, *p, &s.id, &id)),
            ));
            gov.remove(ctx, &mut step, &set_member(*p, &id));
            step.op = Some(Box::new(DeleteEndpoint {
                project: project.clone(),
                provider: *p,
                service: s.id.clone(),
                endpoint: id.clone(),
            }));
            endpoint_steps.push(step);
        }
        let ids: Vec<String> = endpoint_steps.iter().map(Step::id).collect();
        steps.extend(endpoint_steps);
        if desired.is_none() {
            let key = format!("{project}/{p}/{}", region.name);
            let mut step = Step::new(SERVICE, key, Action::Delete, Phase::Network);
            step.reason = format!("not in the manifest; status {}", s.status());
            step.after = ids;
            step.requests.push(Request::new(
                "DELETE",
                format!(
                    "{API}/groups/{project}/privateEndpoint/{p}/endpointService/{}",
                    s.id
                ),
            ));
            gov.same(ctx, &mut step);
            step.op = Some(Box::new(DeleteService {
                project: project.clone(),
                provider: *p,
                service: s.id.clone(),
            }));
            steps.push(step);
        }
        Ok(steps)
    }

    /// Unused: [`Kind::prune`] above deletes services with their endpoints.
    fn delete(
        &mut self,
        _: &Ctx,
        _: &String,
        _: &(Provider, EndpointService),
        _: &[Step],
    ) -> Option<Step> {
        None
    }

    async fn steps(
        &mut self,
        ctx: &Ctx,
        project: &String,
        d: &DesiredService,
        natural: Option<&(Provider, EndpointService)>,
        _listed: &mut Listed<'_, (Provider, EndpointService)>,
    ) -> Result<Vec<Step>, PlanError> {
        let mut steps = Vec::new();
        let gov = self.governor(project);
        let service_ref = Arc::new(ServiceRef::default());
        let key = d.key();
        let mut service_step;
        let remote_ids: Vec<String>;
        match natural {
            None => {
                service_step = Step::new(SERVICE, key.clone(), Action::Create, Phase::Network);
                let body = NewEndpointService {
                    provider_name: d.provider,
                    region: d.region.send.clone(),
                };
                let body_json = serde_json::to_value(&body).unwrap_or_default();
                service_step.details = created_details(&body_json);
                service_step.requests.push(Request::json(
                    "POST",
                    format!("{API}{}", create_service_path(project)),
                    &body_json,
                ));
                gov.same(ctx, &mut service_step);
                service_step.op = Some(Box::new(CreateService {
                    project: project.clone(),
                    region: d.region.name.clone(),
                    body,
                    service: Arc::clone(&service_ref),
                }));
                remote_ids = Vec::new();
            }
            Some((p, s)) => {
                let _ = service_ref.id.set(s.id.clone());
                service_ref
                    .available
                    .store(is_ready(s.status()), Ordering::SeqCst);
                service_step = Step::new(SERVICE, key.clone(), Action::Unchanged, Phase::Network);
                service_step.reason = format!("{}, status {}", s.id, s.status());
                if s.status() == "FAILED" {
                    service_step.warnings.push(format!(
                        "Atlas reports it FAILED{}: delete it (`--prune` after removing it \
                         from the manifest) and create it again",
                        s.error_message
                            .as_deref()
                            .map(|m| format!(" ({m})"))
                            .unwrap_or_default()
                    ));
                }
                remote_ids = s.endpoint_ids(*p);
            }
        }
        let service_id = service_step.id();
        let service_path_id = service_ref
            .id
            .get()
            .cloned()
            .unwrap_or_else(|| "{endpointServiceId}".to_owned());
        steps.push(service_step);

        for e in &d.endpoints {
            let ekey = crate::key_of(&key, e.key());
            let exists = remote_ids
                .iter()
                .find(|id| same_id(d.provider, id, e.key()));
            let body_json = serde_json::to_value(e).unwrap_or_default();
            let create_request = Request::json(
                "POST",
                format!(
                    "{API}{}",
                    endpoints_path(project, d.provider, &service_path_id)
                ),
                &body_json,
            );
            let mut op = CreateEndpoint {
                project: project.clone(),
                provider: d.provider,
                service: Arc::clone(&service_ref),
                body: e.clone(),
                replace: None,
                wait: d.wait,
            };
            let mut step;
            match exists {
                None => {
                    step = Step::new(ENDPOINT, ekey, Action::Create, Phase::Network);
                    step.details = created_details(&body_json);
                    step.requests.push(create_request);
                    gov.add(ctx, &mut step, set_member(d.provider, e.key()));
                }
                Some(remote_id) => {
                    let current = get_endpoint(
                        &ctx.client,
                        project,
                        d.provider,
                        &service_path_id,
                        remote_id,
                    )
                    .await?
                    .unwrap_or_default();
                    let lines = jsondiff::diff(
                        &comparable_remote(d.provider, &current),
                        &comparable_desired(e),
                        Mode::Exact,
                    );
                    let broken = matches!(current.state(), "REJECTED" | "FAILED");
                    if lines.is_empty() && !broken {
                        step = Step::new(ENDPOINT, ekey, Action::Unchanged, Phase::Network);
                        step.reason = status_phrase(d.provider, &current);
                    } else {
                        step = Step::new(ENDPOINT, ekey, Action::Replace, Phase::Network);
                        step.reason = if lines.is_empty() {
                            format!(
                                "{}; registering it again",
                                status_phrase(d.provider, &current)
                            )
                        } else {
                            format!(
                                "an endpoint cannot change in place; {}",
                                status_phrase(d.provider, &current)
                            )
                        };
                        step.details = lines;
                        step.requests.push(Request::new(
                            "DELETE",
                            format!(
                                "{API}{}",
                                endpoint_path(project, d.provider, &service_path_id, remote_id)
                            ),
                        ));
                        step.requests.push(create_request);
                        let member = set_member(d.provider, remote_id);
                        gov.remove(ctx, &mut step, &member);
                        gov.add(ctx, &mut step, set_member(d.provider, e.key()));
                        op.replace = Some(remote_id.clone());
                    }
                }
            }
            step.after.push(service_id.clone());
            if step.action.is_change() {
                step.op = Some(Box::new(op));
            }
            steps.push(step);
        }
        Ok(steps)
    }
}

impl Section for Services {
    fn desired(&mut self, manifest: &Manifest) -> Result<Vec<DesiredService>, PlanError> {
        let desired = desired(manifest, &self.catalog)?;
        for d in &desired {
            self.providers
                .entry(d.project.clone())
                .or_default()
                .insert(d.provider);
        }
        Ok(desired)
    }
}

pub fn is_ready(status: &str) -> bool {
    matches!(status, "AVAILABLE" | "WAITING_FOR_USER")
}

// ---------------------------------------------------------------------------
// Apply

/// Polls the service until it is `AVAILABLE` (or `WAITING_FOR_USER`);
/// `FAILED` is an error with Atlas's message. (Also `private-endpoints
/// service create --wait`.)
pub async fn wait_available(
    ctx: &Ctx,
    project: &str,
    provider: Provider,
    id: &str,
) -> Result<EndpointService, StepError> {
    let what = format!("private endpoint service {id} to be AVAILABLE");
    ctx.wait_for(&what, move || async move {
        let s = ctx
            .client
            .get_endpoint_service(project, provider, id)
            .await?;
        let status = s.status().to_owned();
        match status.as_str() {
            st if is_ready(st) => Ok(Some(s)),
            "FAILED" => Err(StepError::Other(format!(
                "Atlas reports private endpoint service {id} FAILED: {}",
                s.error_message.as_deref().unwrap_or("no error message")
            ))),
            "DELETING" => Err(StepError::Other(format!(
                "private endpoint service {id} is being deleted"
            ))),
            _ => Ok(None),
        }
    })
    .await
}

#[derive(Debug)]
struct CreateService {
    project: String,
    /// Atlas's name of the region (what a list answers).
    region: String,
    body: NewEndpointService,
    service: Arc<ServiceRef>,
}

impl Apply for CreateService {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            let started = Instant::now();
            let (created, _) = ctx
                .client
                .create_endpoint_service_or_adopt(&self.project, &self.body, &self.region)
                .await?;
            let _ = self.service.id.set(created.id.clone());
            ctx.note(&format!(
                "private endpoint service {} created ({}), waiting until it is AVAILABLE",
                created.id,
                created.status()
            ));
            let s =
                wait_available(ctx, &self.project, self.body.provider_name, &created.id).await?;
            self.service.available.store(true, Ordering::SeqCst);
            Ok(format!(
                "created {}; {} after {:.1} s",
                created.id,
                s.status(),
                started.elapsed().as_secs_f64()
            ))
        })
    }
}

#[derive(Debug)]
struct CreateEndpoint {
    project: String,
    provider: Provider,
    service: Arc<ServiceRef>,
    body: NewPrivateEndpoint,
    /// The id of the endpoint to delete first.
    replace: Option<String>,
    wait: bool,
}

impl Apply for CreateEndpoint {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            let Some(service) = self.service.id.get() else {
                return Err(StepError::Other(
                    "the id of its private endpoint service is unknown (the service was not created)"
                        .to_owned(),
                ));
            };
            let (project, provider) = (self.project.as_str(), self.provider);
            let mut done = String::new();
            if let Some(old) = &self.replace {
                ctx.client
                    .delete_private_endpoint(project, provider, service, old)
                    .await?;
                ctx.wait_for(
                    &format!("private endpoint {old} to be deleted"),
                    move || async move {
                        match ctx
                            .client
                            .get_private_endpoint(project, provider, service, old)
                            .await
                        {
                            Err(e) if e.status() == Some(404) => Ok(Some(())),
                            Err(e) => Err(StepError::Api(e)),
                            Ok(_) => Ok(None),
                        }
                    },
                )
                .await?;
                done.push_str("deleted, ");
            }
            if !self.service.available.load(Ordering::SeqCst) {
                wait_available(ctx, project, provider, service).await?;
                self.service.available.store(true, Ordering::SeqCst);
            }
            let (created, _) = ctx
                .client
                .create_private_endpoint_or_adopt(project, provider, service, &self.body)
                .await?;
            let mut e = created;
            if self.wait && e.is_pending() {
                let id = self.body.key();
                e = ctx
                    .wait_for(
                        &format!("private endpoint {id} to leave {}", e.state()),
                        move || async move {
                            let e = ctx
                                .client
                                .get_private_endpoint(project, provider, service, id)
                                .await?;
                            Ok((!e.is_pending()).then_some(e))
                        },
                    )
                    .await?;
                if matches!(e.state(), "REJECTED" | "FAILED") {
                    return Err(StepError::Other(format!(
                        "registered, then {}",
                        status_phrase(provider, &e)
                    )));
                }
            }
            done.push_str(&format!("registered; {}", status_phrase(provider, &e)));
            if e.is_pending() {
                done.push_str(&format!(
                    " (not waited for: `atlas-cedar private-endpoints get --provider {provider} \
                     --service-id {service} …` or the next plan shows it)"
                ));
            }
            Ok(done)
        })
    }
}

#[derive(Debug)]
struct DeleteEndpoint {
    project: String,
    provider: Provider,
    service: String,
    endpoint: String,
}

impl Apply for DeleteEndpoint {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            ctx.client
                .delete_private_endpoint(
                    &self.project,
                    self.provider,
                    &self.service,
                    &self.endpoint,
                )
                .await?;
            Ok("deleted".to_owned())
        })
    }
}

#[derive(Debug)]
struct DeleteService {
    project: String,
    provider: Provider,
    service: String,
}

impl Apply for DeleteService {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            let (project, provider, id) =
                (self.project.as_str(), self.provider, self.service.as_str());
            // Atlas deletes endpoints asynchronously; the service goes once they are gone.
            ctx.wait_for(
                &format!("the endpoints of private endpoint service {id} to be deleted"),
                move || async move {
                    match ctx.client.get_endpoint_service(project, provider, id).await {
                        Ok(s) => Ok(s.endpoint_ids(provider).is_empty().then_some(())),
                        Err(e) if e.status() == Some(404) => Ok(Some(())),
                        Err(e) => Err(StepError::Api(e)),
                    }
                },
            )
            .await?;
            ctx.client
                .delete_endpoint_service(project, provider, id)
                .await?;
            Ok("deleted".to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::path::Path;

    fn manifest(text: &str) -> Manifest {
        Manifest::parse(Path::new("atlas-cedar.toml"), text.to_owned()).unwrap()
    }

    #[test]
    fn regions_either_way() {
        let c = Catalog::builtin();
        let a = region_of(&c, Provider::Aws, "us-east-1");
        let b = region_of(&c, Provider::Aws, "US_EAST_1");
        assert_eq!(a, b);
        assert_eq!(a.name, "US_EAST_1");
        assert_eq!(a.send, "us-east-1");
        let unknown = region_of(&c, Provider::Aws, "mars-north-1");
        assert_eq!(unknown.name, "MARS_NORTH_1");
        assert_eq!(unknown.send, "mars-north-1");
    }

    #[test]
    fn entries_are_checked_per_provider_with_their_line() {
        let c = Catalog::builtin();
        let text = "[project]\nid = \"5f0000000000000000000000\"\n\n[[private_endpoint_service]]\nprovider = \"AZURE\"\nregion = \"eastus2\"\n\n[[private_endpoint_service.endpoint]]\nid = \"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe\"\n";
        let e = desired(&manifest(text), &c).unwrap_err().to_string();
        assert!(e.starts_with("atlas-cedar.toml:4: [[private_endpoint_service]] number 1: endpoint 1: a AZURE endpoint needs `private_endpoint_ip_address`"), "{e}");

        let text = "[project]\nid = \"5f0000000000000000000000\"\n\n[[private_endpoint_service]]\nprovider = \"aws\"\nregion = \"us-east-1\"\n[[private_endpoint_service.endpoint]]\nid = \"vpce-1\"\n\n[[private_endpoint_service]]\nprovider = \"AWS\"\nregion = \"US_EAST_1\"\n";
        let e = desired(&manifest(text), &c).unwrap_err().to_string();
        assert!(e.starts_with("atlas-cedar.toml:10: [[private_endpoint_service]] number 2: a service for AWS in US_EAST_1"), "{e}");

        let text = "[project]\nid = \"5f0000000000000000000000\"\n\n[[private_endpoint_service]]\nprovider = \"GCP\"\nregion = \"us-central1\"\n[[private_endpoint_service.endpoint]]\nendpoint_group_name = \"g1\"\ngcp_project_id = \"p\"\nendpoints = [{ endpoint_name = \"e1\", ip_address = \"10.0.0.1\" }]\n";
        let d = desired(&manifest(text), &c).unwrap();
        assert_eq!(d[0].key(), "5f0000000000000000000000/GCP/CENTRAL_US");
        assert_eq!(d[0].endpoints[0].key(), "g1");

        let text = "[[private_endpoint_service]]\nprovider = \"AWS\"\nregion = \"us-east-1\"\nproject_id = \"5f0000000000000000000000\"\ncolour = \"blue\"\n";
        let e = desired(&manifest(text), &c).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }
}
