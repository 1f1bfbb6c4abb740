//! `[[export_bucket]]`: snapshot export buckets, identified by (project,
//! provider, bucket name) so existing buckets are adopted.
//!
//! - missing: created (then `requirePrivateNetworking` set when asked);
//! - `require_private_networking` differs: updated in place (PATCH);
//! - the role (`iam_role_id`, `role_id`) or `service_url` differs: Atlas
//!   cannot change it in place, so the bucket is replaced (delete, create) and
//!   the plan says so;
//! - with `--prune`: the buckets of the manifest's projects it does not name
//!   are deleted.
//!
//! Direct command: `atlas-cedar export-buckets create`.

use atlas_cedar_client::export_buckets::{create_body, made_by, ExportBucket, ExportBucketInput};
use atlas_cedar_client::rest::check_id;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::jsondiff::{diff, Mode};
use super::kind::{Kind, Listed, Section};
use super::{Action, Apply, BoxFuture, Ctx, Manifest, Phase, PlanError, Request, Step, StepError};

const KIND: &str = "export bucket";
const SECTION: &str = "export_bucket";
const RPN: &str = "requirePrivateNetworking";

/// One `[[export_bucket]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    project_id: Option<String>,
    /// `AWS`, `AZURE` or `GCP`.
    provider: String,
    bucket_name: String,
    /// AWS: the unified AWS access role id.
    iam_role_id: Option<String>,
    /// Azure and GCP: the cloud provider access role id.
    role_id: Option<String>,
    /// Azure: the storage container URL.
    service_url: Option<String>,
    /// Left out: whatever Atlas has is kept.
    require_private_networking: Option<bool>,
}

/// A checked entry.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    project: String,
    input: ExportBucketInput,
    rpn: Option<bool>,
}

impl Desired {
    fn key(&self) -> String {
        key(
            &self.project,
            &self.input.cloud_provider,
            &self.input.bucket_name,
        )
    }
}

fn key(project: &str, provider: &str, bucket: &str) -> String {
    format!("{project}/{provider}/{bucket}")
}

/// The create body for a provider, or what is wrong with the fields.
pub fn input_of(
    provider: &str,
    bucket_name: &str,
    iam_role_id: Option<&str>,
    role_id: Option<&str>,
    service_url: Option<&str>,
) -> Result<ExportBucketInput, String> {
    let provider = provider.to_ascii_uppercase();
    let len = bucket_name.chars().count();
    if !(3..=63).contains(&len) {
        return Err(format!(
            "bucket_name {bucket_name:?} has {len} characters; Atlas takes 3 to 63"
        ));
    }
    let role = |what: &str, v: Option<&str>| -> Result<String, String> {
        let v = v.ok_or_else(|| format!("{provider} buckets need {what}"))?;
        check_id(what, v).map_err(|e| e.to_string())?;
        Ok(v.to_owned())
    };
    let refuse = |what: &str, v: Option<&str>| -> Result<(), String> {
        match v {
            Some(_) => Err(format!("{provider} buckets do not take {what}")),
            None => Ok(()),
        }
    };
    let mut input = ExportBucketInput {
        cloud_provider: provider.clone(),
        bucket_name: bucket_name.to_owned(),
        ..ExportBucketInput::default()
    };
    match provider.as_str() {
        "AWS" => {
            refuse("role_id", role_id)?;
            refuse("service_url", service_url)?;
            input.iam_role_id = Some(role("iam_role_id", iam_role_id)?);
        }
        "AZURE" => {
            refuse("iam_role_id", iam_role_id)?;
            input.role_id = Some(role("role_id", role_id)?);
            let url = service_url.ok_or("AZURE buckets need service_url (https://<account>.blob.core.windows.net/<container>)")?;
            if !url.starts_with("https://") {
                return Err(format!("service_url {url:?} must start with https://"));
            }
            input.service_url = Some(url.to_owned());
        }
        "GCP" => {
            refuse("iam_role_id", iam_role_id)?;
            refuse("service_url", service_url)?;
            input.role_id = Some(role("role_id", role_id)?);
        }
        other => return Err(format!("provider {other:?} is not AWS, AZURE or GCP")),
    }
    Ok(input)
}

fn check(manifest: &Manifest, entries: Vec<Entry>) -> Result<Vec<Desired>, PlanError> {
    let mut out: Vec<(Desired, usize)> = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let line = manifest.line_of(SECTION, i);
        let at = |msg: String| manifest.entry_error(SECTION, i, msg);
        let project = manifest.project_id(e.project_id.as_deref(), SECTION, i)?;
        let input = input_of(
            &e.provider,
            &e.bucket_name,
            e.iam_role_id.as_deref(),
            e.role_id.as_deref(),
            e.service_url.as_deref(),
        )
        .map_err(at)?;
        let d = Desired {
            project,
            input,
            rpn: e.require_private_networking,
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

/// The fields plans compare, as JSON.
fn view(b: &ExportBucket) -> Value {
    let mut m = Map::new();
    m.insert("cloudProvider".to_owned(), json!(b.cloud_provider));
    m.insert("bucketName".to_owned(), json!(b.bucket_name));
    for (k, v) in [
        ("iamRoleId", &b.iam_role_id),
        ("roleId", &b.role_id),
        ("serviceUrl", &b.service_url),
    ] {
        if let Some(v) = v {
            m.insert(k.to_owned(), json!(v));
        }
    }
    m.insert(
        RPN.to_owned(),
        json!(b.require_private_networking.unwrap_or(false)),
    );
    Value::Object(m)
}

fn desired_view(d: &Desired, remote_rpn: bool) -> Value {
    let mut v = serde_json::to_value(&d.input).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        m.insert(RPN.to_owned(), json!(d.rpn.unwrap_or(remote_rpn)));
    }
    v
}

fn base(project: &str) -> String {
    format!("/api/atlas/v2/groups/{project}/backup/exportBuckets")
}

fn create_requests(d: &Desired) -> Vec<Request> {
    let mut r = vec![Request::text(
        "POST",
        base(&d.project),
        create_body(&d.input),
    )];
    if d.rpn == Some(true) {
        let path = format!("{}/{{exportBucketId}}", base(&d.project));
        r.push(Request::json("PATCH", path, &json!({ RPN: true })));
    }
    r
}

/// The step of one entry given the bucket it adopts (if any).
fn step_for(d: &Desired, remote: Option<&ExportBucket>) -> Step {
    let Some(r) = remote else {
        let mut s = Step::new(KIND, d.key(), Action::Create, Phase::Other);
        s.details = diff(&json!({}), &desired_view(d, false), Mode::Exact);
        s.requests = create_requests(d);
        s.op = Some(Box::new(Create {
            project: d.project.clone(),
            input: d.input.clone(),
            rpn: d.rpn,
        }));
        return s;
    };
    let remote_rpn = r.require_private_networking.unwrap_or(false);
    let details = diff(&view(r), &desired_view(d, remote_rpn), Mode::Exact);
    if details.is_empty() {
        return Step::new(KIND, d.key(), Action::Unchanged, Phase::Other);
    }
    let fixed: Vec<&str> = ["iamRoleId", "roleId", "serviceUrl"]
        .into_iter()
        .filter(|f| {
            details
                .iter()
                .any(|l| l.get(2..).is_some_and(|t| t.starts_with(f)))
        })
        .collect();
    if fixed.is_empty() {
        let want = d.rpn.unwrap_or(remote_rpn);
        let mut s = Step::new(KIND, d.key(), Action::Update, Phase::Other);
        s.details = details;
        let path = format!("{}/{}", base(&d.project), r.id);
        s.requests = vec![Request::json("PATCH", path, &json!({ RPN: want }))];
        s.op = Some(Box::new(Patch {
            project: d.project.clone(),
            id: r.id.clone(),
            rpn: want,
        }));
        return s;
    }
    let mut s = Step::new(KIND, d.key(), Action::Replace, Phase::Other);
    s.reason = format!(
        "{} cannot change in place: bucket {} is deleted and created again",
        fixed.join(" and "),
        r.id
    );
    s.details = details;
    s.requests = vec![Request::new(
        "DELETE",
        format!("{}/{}", base(&d.project), r.id),
    )];
    s.requests.extend(create_requests(d));
    s.op = Some(Box::new(Replace {
        old_id: r.id.clone(),
        create: Create {
            project: d.project.clone(),
            input: d.input.clone(),
            rpn: d.rpn,
        },
    }));
    s
}

/// `[[export_bucket]]`: one list per project of the manifest; a bucket is
/// its (provider, name), and of two with the same name the one with the
/// entry's role is taken (the other is left to `--prune`).
pub(crate) struct Buckets;

impl Kind for Buckets {
    type Desired = Desired;
    type Remote = ExportBucket;
    type Scope = String;

    fn scope(&self, d: &Desired) -> String {
        d.project.clone()
    }

    async fn list(
        &mut self,
        ctx: &Ctx,
        project: &String,
        _prune: bool,
    ) -> Result<Vec<ExportBucket>, PlanError> {
        ctx.client
            .list_export_buckets(project)
            .await
            .map_err(|e| PlanError::atlas(format!("export buckets of project {project}"), e))
    }

    fn is(&self, d: &Desired, r: &ExportBucket) -> bool {
        r.cloud_provider == d.input.cloud_provider && r.bucket_name == d.input.bucket_name
    }

    fn prefer(&self, d: &Desired, r: &ExportBucket) -> bool {
        made_by(r, &d.input)
    }

    async fn steps(
        &mut self,
        _ctx: &Ctx,
        _project: &String,
        d: &Desired,
        natural: Option<&ExportBucket>,
        _listed: &mut Listed<'_, ExportBucket>,
    ) -> Result<Vec<Step>, PlanError> {
        Ok(vec![step_for(d, natural)])
    }

    fn delete(
        &mut self,
        _ctx: &Ctx,
        project: &String,
        r: &ExportBucket,
        planned: &[Step],
    ) -> Option<Step> {
        let mut k = key(project, &r.cloud_provider, &r.bucket_name);
        if planned.iter().any(|s| s.key == k) {
            k = format!("{k} [{}]", r.id);
        }
        let mut s = Step::new(KIND, k, Action::Delete, Phase::Other);
        s.reason = "not in the manifest (--prune)".to_owned();
        s.details = vec![format!("- _id: {:?}", r.id)];
        s.details.extend(diff(&view(r), &json!({}), Mode::Exact));
        s.requests = vec![Request::new(
            "DELETE",
            format!("{}/{}", base(project), r.id),
        )];
        s.op = Some(Box::new(Delete {
            project: project.clone(),
            id: r.id.clone(),
        }));
        Some(s)
    }
}

impl Section for Buckets {
    fn desired(&mut self, manifest: &Manifest) -> Result<Vec<Desired>, PlanError> {
        check(manifest, manifest.section(SECTION)?)
    }
}

#[derive(Debug)]
struct Create {
    project: String,
    input: ExportBucketInput,
    rpn: Option<bool>,
}

impl Create {
    async fn run(&self, ctx: &Ctx) -> Result<String, StepError> {
        let (b, adopted) = ctx
            .client
            .create_export_bucket_or_adopt(&self.project, &self.input)
            .await?;
        let verb = if adopted {
            "created (answer lost, adopted)"
        } else {
            "created"
        };
        match self.rpn {
            Some(want) if b.require_private_networking.unwrap_or(false) != want => {
                ctx.client
                    .update_export_bucket(&self.project, &b.id, want)
                    .await
                    .map_err(|e| {
                        StepError::Other(format!(
                            "created {} but setting {RPN} failed: {e}; run push again",
                            b.id
                        ))
                    })?;
                Ok(format!("{verb} ({}), {RPN} set to {want}", b.id))
            }
            _ => Ok(format!("{verb} ({})", b.id)),
        }
    }
}

impl Apply for Create {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(self.run(ctx))
    }
}

#[derive(Debug)]
struct Patch {
    project: String,
    id: String,
    rpn: bool,
}

impl Apply for Patch {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            ctx.client
                .update_export_bucket(&self.project, &self.id, self.rpn)
                .await?;
            Ok(format!("{RPN} set to {} ({})", self.rpn, self.id))
        })
    }
}

#[derive(Debug)]
struct Replace {
    old_id: String,
    create: Create,
}

impl Apply for Replace {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            ctx.client
                .delete_export_bucket(&self.create.project, &self.old_id)
                .await?;
            let created = self.create.run(ctx).await.map_err(|e| {
                let e = match e {
                    StepError::Api(e) => e.to_string(),
                    StepError::Other(e) => e,
                };
                StepError::Other(format!(
                    "deleted {} but creating its replacement failed: {e}; run push again to create it",
                    self.old_id
                ))
            })?;
            Ok(format!("deleted {}, {created}", self.old_id))
        })
    }
}

#[derive(Debug)]
struct Delete {
    project: String,
    id: String,
}

impl Apply for Delete {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            ctx.client
                .delete_export_bucket(&self.project, &self.id)
                .await?;
            Ok(format!("deleted ({})", self.id))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn provider_shapes_are_checked() {
        let role = Some("668c5f0ed436263134491592");
        assert!(input_of("aws", "exports", role, None, None).is_ok());
        let e = input_of("AWS", "ex", role, None, None).unwrap_err();
        assert!(e.contains("3 to 63"), "{e}");
        let e = input_of("AWS", "exports", None, role, None).unwrap_err();
        assert!(e.contains("do not take role_id"), "{e}");
        let e = input_of("AZURE", "exports", None, role, None).unwrap_err();
        assert!(e.contains("service_url"), "{e}");
        let e = input_of("GCP", "exports", None, Some("nope"), None).unwrap_err();
        assert!(e.contains("24-hex"), "{e}");
        assert!(input_of("IBM", "exports", role, None, None).is_err());
    }

    #[test]
    fn role_changes_replace_and_the_flag_updates() {
        let role = "668c5f0ed436263134491592";
        let d = Desired {
            project: "5f0000000000000000000000".to_owned(),
            input: input_of("AWS", "exports", Some(role), None, None).unwrap(),
            rpn: Some(true),
        };
        let mut r = ExportBucket {
            id: "32b6e34b3d91647abb20e7b8".to_owned(),
            bucket_name: "exports".to_owned(),
            cloud_provider: "AWS".to_owned(),
            iam_role_id: Some(role.to_owned()),
            ..ExportBucket::default()
        };
        let s = step_for(&d, Some(&r));
        assert_eq!(s.action, Action::Update);
        assert_eq!(s.details, vec!["~ requirePrivateNetworking: false → true"]);
        r.iam_role_id = Some("668c5f0ed436263134491599".to_owned());
        let s = step_for(&d, Some(&r));
        assert_eq!(s.action, Action::Replace);
        assert!(
            s.reason.starts_with("iamRoleId cannot change in place"),
            "{}",
            s.reason
        );
        r.iam_role_id = Some(role.to_owned());
        r.require_private_networking = Some(true);
        assert_eq!(step_for(&d, Some(&r)).action, Action::Unchanged);
        let keep = Desired { rpn: None, ..d };
        assert_eq!(step_for(&keep, Some(&r)).action, Action::Unchanged);
    }
}
