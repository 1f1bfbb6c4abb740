//! `[[federation_endpoint]]`: data-federation / online-archive private
//! endpoints, identified by (project, endpoint id). Atlas's POST is an upsert,
//! so a change is an update that sends the whole entry again (fields the
//! manifest leaves out are cleared); with `--prune` the endpoints of the
//! manifest's projects it does not name are deleted. Lists are read through
//! every page.
//!
//! Direct command: `atlas-cedar federation-endpoints list`.

use atlas_cedar_client::federation::{upsert_body, FederationEndpoint};
use serde::Deserialize;
use serde_json::{json, Value};

use super::jsondiff::{diff, Mode};
use super::kind::{Kind, Listed, Section};
use super::{Action, Apply, BoxFuture, Ctx, Manifest, Phase, PlanError, Step, StepError};

const KIND: &str = "federation endpoint";
const SECTION: &str = "federation_endpoint";

/// One `[[federation_endpoint]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    project_id: Option<String>,
    /// `vpce-` + 17 hex digits (AWS), or the Azure private endpoint's id.
    endpoint_id: String,
    /// `AWS` (default) or `AZURE`.
    provider: Option<String>,
    comment: Option<String>,
    /// Goes with `customer_endpoint_dns_name`.
    region: Option<String>,
    customer_endpoint_dns_name: Option<String>,
    customer_endpoint_ip_address: Option<String>,
    azure_link_id: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Desired {
    project: String,
    endpoint: FederationEndpoint,
}

impl Desired {
    fn key(&self) -> String {
        crate::key_of(&self.project, &self.endpoint.endpoint_id)
    }
}

fn is_vpce(id: &str) -> bool {
    id.strip_prefix("vpce-").is_some_and(|h| {
        h.len() == 17
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn endpoint_of(e: Entry) -> Result<FederationEndpoint, String> {
    let provider = e
        .provider
        .map_or_else(|| "AWS".to_owned(), |p| p.to_ascii_uppercase());
    match provider.as_str() {
        "AWS" if !is_vpce(&e.endpoint_id) => {
            return Err(format!(
                "endpoint_id {:?} is not an AWS endpoint id (vpce- and 17 hex digits)",
                e.endpoint_id
            ))
        }
        "AWS" | "AZURE" => {}
        other => return Err(format!("provider {other:?} is not AWS or AZURE")),
    }
    if e.endpoint_id.is_empty() {
        return Err("endpoint_id is empty".to_owned());
    }
    if e.region.is_some() != e.customer_endpoint_dns_name.is_some() {
        return Err(
            "region and customer_endpoint_dns_name go together: give both or neither".to_owned(),
        );
    }
    if let Some(ip) = &e.customer_endpoint_ip_address {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!(
                "customer_endpoint_ip_address {ip:?} is not an IP address"
            ));
        }
    }
    Ok(FederationEndpoint {
        endpoint_id: e.endpoint_id,
        provider: Some(provider),
        kind: Some("DATA_LAKE".to_owned()),
        comment: e.comment,
        region: e.region,
        customer_endpoint_dns_name: e.customer_endpoint_dns_name,
        customer_endpoint_ip_address: e.customer_endpoint_ip_address,
        azure_link_id: e.azure_link_id,
        ..FederationEndpoint::default()
    })
}

fn check(manifest: &Manifest, entries: Vec<Entry>) -> Result<Vec<Desired>, PlanError> {
    let mut out: Vec<(Desired, usize)> = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let line = manifest.line_of(SECTION, i);
        let at = |msg: String| manifest.entry_error(SECTION, i, msg);
        let project = manifest.project_id(e.project_id.as_deref(), SECTION, i)?;
        let d = Desired {
            project,
            endpoint: endpoint_of(e).map_err(at)?,
        };
        if let Some((_, first)) = out.iter().find(|(o, _)| o.key() == d.key()) {
            return Err(at(format!(
                "{} is already declared at line {first}",
                d.key()
            )));
        }
        out.push((d, line));
    }
    Ok(out.into_iter().map(|(d, _)| d).collect())
}

/// The writable fields, with Atlas's defaults filled in, as JSON.
fn view(e: &FederationEndpoint) -> Value {
    let mut e = upsert_body(e);
    e.provider.get_or_insert_with(|| "AWS".to_owned());
    e.kind.get_or_insert_with(|| "DATA_LAKE".to_owned());
    serde_json::to_value(e).unwrap_or(Value::Null)
}

fn base(project: &str) -> String {
    format!("/api/atlas/v2/groups/{project}/privateNetworkSettings/endpointIds")
}

fn upsert_request(d: &Desired) -> crate::Request {
    crate::Request::json("POST", base(&d.project), &upsert_body(&d.endpoint))
}

fn step_for(d: &Desired, remote: Option<&FederationEndpoint>) -> Step {
    let desired = view(&d.endpoint);
    let (action, details) = match remote {
        None => (Action::Create, diff(&json!({}), &desired, Mode::Exact)),
        Some(r) => {
            let details = diff(&view(r), &desired, Mode::Exact);
            if details.is_empty() {
                return Step::new(KIND, d.key(), Action::Unchanged, Phase::Network);
            }
            (Action::Update, details)
        }
    };
    let mut s = Step::new(KIND, d.key(), action, Phase::Network);
    if action == Action::Update {
        s.reason = "upsert: the entry is sent again".to_owned();
    }
    s.details = details;
    s.requests = vec![upsert_request(d)];
    s.op = Some(Box::new(Upsert {
        project: d.project.clone(),
        endpoint: d.endpoint.clone(),
    }));
    s
}

/// `[[federation_endpoint]]`: one list (every page) per project; an
/// endpoint is its id.
pub(crate) struct Endpoints;

impl Kind for Endpoints {
    type Desired = Desired;
    type Remote = FederationEndpoint;
    type Scope = String;

    fn scope(&self, d: &Desired) -> String {
        d.project.clone()
    }

    async fn list(
        &mut self,
        ctx: &Ctx,
        project: &String,
        _prune: bool,
    ) -> Result<Vec<FederationEndpoint>, PlanError> {
        ctx.client
            .list_federation_endpoints(project)
            .await
            .map_err(|e| {
                PlanError::atlas(
                    format!("data federation private endpoints of project {project}"),
                    e,
                )
            })
    }

    fn is(&self, d: &Desired, r: &FederationEndpoint) -> bool {
        r.endpoint_id == d.endpoint.endpoint_id
    }

    async fn steps(
        &mut self,
        _ctx: &Ctx,
        _project: &String,
        d: &Desired,
        natural: Option<&FederationEndpoint>,
        _listed: &mut Listed<'_, FederationEndpoint>,
    ) -> Result<Vec<Step>, PlanError> {
        Ok(vec![step_for(d, natural)])
    }

    fn delete(
        &mut self,
        _ctx: &Ctx,
        project: &String,
        r: &FederationEndpoint,
        _planned: &[Step],
    ) -> Option<Step> {
        let mut s = Step::new(
            KIND,
            crate::key_of(project, &r.endpoint_id),
            Action::Delete,
            Phase::Network,
        );
        s.reason = "not in the manifest (--prune)".to_owned();
        s.details = diff(&view(r), &json!({}), Mode::Exact);
        s.requests = vec![crate::Request::new(
            "DELETE",
            format!(
                "{}/{}",
                base(project),
                atlas_cedar_client::rest::encode_segment(&r.endpoint_id)
            ),
        )];
        s.op = Some(Box::new(Delete {
            project: project.clone(),
            endpoint_id: r.endpoint_id.clone(),
        }));
        Some(s)
    }
}

impl Section for Endpoints {
    fn desired(&mut self, manifest: &Manifest) -> Result<Vec<Desired>, PlanError> {
        check(manifest, manifest.section(SECTION)?)
    }
}

#[derive(Debug)]
struct Upsert {
    project: String,
    endpoint: FederationEndpoint,
}

impl Apply for Upsert {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            ctx.client
                .upsert_federation_endpoint(&self.project, &self.endpoint)
                .await?;
            Ok("upserted".to_owned())
        })
    }
}

#[derive(Debug)]
struct Delete {
    project: String,
    endpoint_id: String,
}

impl Apply for Delete {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            ctx.client
                .delete_federation_endpoint(&self.project, &self.endpoint_id)
                .await?;
            Ok("deleted".to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            project_id: None,
            endpoint_id: id.to_owned(),
            provider: None,
            comment: Some("a".to_owned()),
            region: None,
            customer_endpoint_dns_name: None,
            customer_endpoint_ip_address: None,
            azure_link_id: None,
        }
    }

    #[test]
    fn entries_are_checked() {
        assert!(endpoint_of(entry("vpce-3bf78b0ddee411ba1")).is_ok());
        let e = endpoint_of(entry("vpce-1")).unwrap_err();
        assert!(e.contains("17 hex"), "{e}");
        let mut az = entry("/subscriptions/x/pe");
        az.provider = Some("azure".to_owned());
        assert_eq!(endpoint_of(az).unwrap().provider.as_deref(), Some("AZURE"));
        let mut r = entry("vpce-3bf78b0ddee411ba1");
        r.region = Some("US_EAST_1".to_owned());
        assert!(endpoint_of(r).unwrap_err().contains("go together"));
    }

    #[test]
    fn defaults_count_as_equal_and_a_dropped_comment_is_a_change() {
        let d = Desired {
            project: "5f0000000000000000000000".to_owned(),
            endpoint: endpoint_of(entry("vpce-3bf78b0ddee411ba1")).unwrap(),
        };
        let mut remote = FederationEndpoint {
            endpoint_id: "vpce-3bf78b0ddee411ba1".to_owned(),
            comment: Some("a".to_owned()),
            status: Some("OK".to_owned()),
            ..FederationEndpoint::default()
        };
        assert_eq!(step_for(&d, Some(&remote)).action, Action::Unchanged);
        remote.comment = Some("b".to_owned());
        let s = step_for(&d, Some(&remote));
        assert_eq!(s.action, Action::Update);
        assert_eq!(s.details, vec!["~ comment: \"b\" → \"a\""]);
        let mut none = d.clone();
        none.endpoint.comment = None;
        assert_eq!(
            step_for(&none, Some(&remote)).details,
            vec!["- comment: \"b\""]
        );
    }
}
