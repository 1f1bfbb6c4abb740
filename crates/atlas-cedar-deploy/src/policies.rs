//! Resource policies as a kind: the organization's policies against the
//! manifest's (`[[resource_policy]]`, or one policy per `.cedar` file), one
//! [`Step`] per policy, applied first (phase [`Phase::Policies`]) because
//! they govern every other change.
//!
//! A step shows the policy by name alone: `+ create <name> (N policies)` with
//! the file and line of each body, `~ update <name> (<id>)` with a unified
//! diff of the bodies and what the edit does to behaviour, `- delete <name>
//! (<id>)` (with `--prune`), `unchanged <name>`.

use atlas_cedar_client::{
    CreateOutcome, Error, ResourcePolicy, ResourcePolicyInput, ResourcePolicyPatch,
};

use crate::kind::{Kind, Listed};
use crate::manifest::{LocalBody, LocalPolicy};
use crate::{Action, Apply, BoxFuture, Ctx, Phase, PlanError, Request, Step, StepError};

/// [`Step::kind`] of a resource policy.
pub const KIND: &str = "resource policy";

/// The policy as Atlas's create and `:validate` take it.
pub fn input_of(p: &LocalPolicy) -> ResourcePolicyInput {
    let bodies: Vec<&str> = p.bodies.iter().map(|b| b.text.as_str()).collect();
    ResourcePolicyInput::new(&p.name, p.description.as_deref(), &bodies)
}

/// The resource policies as a kind: the organization's policies, listed
/// once, against the manifest's, matched by name; with `--prune` a delete per
/// policy of the organization the manifest does not name. Verdict lines of
/// updates use `ctx.engine` (the run's engine: the user's schema and
/// entities).
#[derive(Default)]
pub(crate) struct Policies {
    /// The organization's policies when already listed (tests).
    pub(crate) listed: Option<Vec<ResourcePolicy>>,
}

fn base(ctx: &Ctx) -> String {
    format!("/api/atlas/v2/orgs/{}/resourcePolicies", ctx.org)
}

impl Kind for Policies {
    type Desired = LocalPolicy;
    type Remote = ResourcePolicy;
    type Scope = ();

    fn scope(&self, _: &LocalPolicy) {}

    /// The organization is listed even when the manifest has no policy
    /// (`--prune` then deletes them all, and the plan counts them).
    fn fixed_scopes(&self) -> Vec<()> {
        vec![()]
    }

    async fn list(
        &mut self,
        ctx: &Ctx,
        _: &(),
        _prune: bool,
    ) -> Result<Vec<ResourcePolicy>, PlanError> {
        match self.listed.take() {
            Some(listed) => Ok(listed),
            None => Ok(ctx.client.list_policies(&ctx.org).await?),
        }
    }

    fn is(&self, local: &LocalPolicy, r: &ResourcePolicy) -> bool {
        r.name == local.name
    }

    async fn steps(
        &mut self,
        ctx: &Ctx,
        _: &(),
        local: &LocalPolicy,
        found: Option<&ResourcePolicy>,
        _listed: &mut Listed<'_, ResourcePolicy>,
    ) -> Result<Vec<Step>, PlanError> {
        let base = base(ctx);
        let input = input_of(local);
        let bodies = local.bodies.clone();
        let s = match found {
            None => {
                let n = local.bodies.len();
                let mut s = step(&local.name, Action::Create);
                s.reason = format!("{n} {}", if n == 1 { "policy" } else { "policies" });
                s.details = local
                    .bodies
                    .iter()
                    .map(|b| format!("{}:{}", b.file.display(), b.line))
                    .collect();
                s.requests = vec![Request::json("POST", &base, &input)];
                s.op = Some(Box::new(Write::Create { input, bodies }));
                s
            }
            Some(r) if r.matches(&input) => {
                let mut s = step(&local.name, Action::Unchanged);
                s.reason.clone_from(&r.id);
                s
            }
            Some(r) => {
                let mut s = step(&local.name, Action::Update);
                s.reason.clone_from(&r.id);
                let diff = diff(r, local);
                s.details = diff.lines().map(str::to_owned).collect();
                s.details.extend(behaviour_lines(ctx, r, local));
                s.diff = Some(diff);
                let patch = ResourcePolicyPatch::from(&input);
                s.requests = vec![Request::json("PATCH", format!("{base}/{}", r.id), &patch)];
                s.op = Some(Box::new(Write::Update {
                    id: r.id.clone(),
                    patch,
                    bodies,
                }));
                s
            }
        };
        Ok(vec![s])
    }

    fn delete(&mut self, ctx: &Ctx, _: &(), r: &ResourcePolicy, _planned: &[Step]) -> Option<Step> {
        let mut s = step(&r.name, Action::Delete);
        s.reason.clone_from(&r.id);
        s.requests = vec![Request::new("DELETE", format!("{}/{}", base(ctx), r.id))];
        s.op = Some(Box::new(Write::Delete { id: r.id.clone() }));
        Some(s)
    }
}

fn step(name: &str, action: Action) -> Step {
    Step::new(KIND, name, action, Phase::Policies)
}

fn render(description: Option<&str>, bodies: &[&str]) -> String {
    let mut s = String::new();
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        s.push_str(&format!("# description: {d}\n"));
    }
    for (i, b) in bodies.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(b);
        if !b.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

fn diff(remote: &ResourcePolicy, local: &LocalPolicy) -> String {
    let old = render(remote.description.as_deref(), &remote.bodies());
    let local_bodies: Vec<&str> = local.bodies.iter().map(|b| b.text.as_str()).collect();
    let new = render(local.description.as_deref(), &local_bodies);
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("atlas: {}", remote.name),
            &format!("local: {}", local.name),
        )
        .to_string()
}

/// What an update does to behaviour, from `atlas-cedar diff`'s analysis:
/// whether the edit is cosmetic or which request it newly forbids or allows.
fn behaviour_lines(ctx: &Ctx, remote: &ResourcePolicy, local: &LocalPolicy) -> Vec<String> {
    use atlas_cedar_analysis::policies::load_policies;
    use atlas_cedar_analysis::semantics::diff as semantic_diff;
    use atlas_cedar_analysis::space::DEFAULT_CAP;
    let Some(engine) = ctx.engine.as_deref() else {
        return Vec::new();
    };
    let name = local.name.as_str();
    let old_text = remote.bodies().join("\n");
    let new_text = local
        .bodies
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    atlas_cedar_core::check::with_stack(|| {
        let (Ok(old), Ok(mut new)) = (
            load_policies(engine, name, &old_text),
            load_policies(engine, name, &new_text),
        ) else {
            return vec!["behaviour: not analysed (a body does not load)".to_owned()];
        };
        for (o, n) in old.iter().zip(new.iter_mut()) {
            if n.annotation_id.is_none() || n.annotation_id == o.annotation_id {
                n.rename(&o.id);
            }
        }
        let report = semantic_diff(engine, &old, &new, DEFAULT_CAP);
        let method = report
            .method
            .as_ref()
            .map(|m| format!("{m:?}").to_lowercase())
            .unwrap_or_default();
        if report.same_behaviour == Some(true) {
            return vec![format!(
                "behaviour: unchanged, the edit is cosmetic ({method})"
            )];
        }
        let mut lines = Vec::new();
        for c in report
            .changes
            .iter()
            .filter(|c| c.kind != "unchanged" && c.kind != "cosmetic")
        {
            let what = c
                .message
                .strip_prefix("behavioural: ")
                .map_or_else(|| c.message.clone(), |m| format!("behaviour changes: {m}"));
            lines.push(format!("{what} ({method})"));
            if let Some(e) = &c.now_forbidden {
                lines.push(format!("  now forbidden: {} {}", e.action, e.values));
            }
            if let Some(e) = &c.now_allowed {
                lines.push(format!("  now allowed:   {} {}", e.action, e.values));
            }
        }
        lines
    })
}

/// The write of one step. `bodies` say where each body comes from, to
/// place Atlas's errors.
#[derive(Debug)]
enum Write {
    /// Create, or adopt a policy created by a lost answer.
    Create {
        input: ResourcePolicyInput,
        bodies: Vec<LocalBody>,
    },
    Update {
        id: String,
        patch: ResourcePolicyPatch,
        bodies: Vec<LocalBody>,
    },
    Delete {
        id: String,
    },
}

impl Apply for Write {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            let (client, org) = (&ctx.client, ctx.org.as_str());
            let (result, bodies) = match self {
                Write::Create { input, bodies } => (
                    match client.create_policy_or_adopt(org, input).await {
                        Ok(CreateOutcome::Created(_)) => Ok("created"),
                        Ok(CreateOutcome::Adopted(_)) => Ok("adopted"),
                        Err(e) => Err(e),
                    },
                    bodies.as_slice(),
                ),
                Write::Update { id, patch, bodies } => (
                    client
                        .update_policy(org, id, patch)
                        .await
                        .map(|_| "updated"),
                    bodies.as_slice(),
                ),
                Write::Delete { id } => (
                    client.delete_policy(org, id).await.map(|()| "deleted"),
                    &[][..],
                ),
            };
            result.map(str::to_owned).map_err(|e| {
                let refs: Vec<&LocalBody> = bodies.iter().collect();
                match describe_invalid(&e, &refs, None) {
                    Some(lines) => StepError::Other(format!(
                        "Atlas rejected the bodies:\n{}",
                        lines.join("\n")
                    )),
                    None => StepError::Api(e),
                }
            })
        })
    }
}

/// The policy with this id (24 hex digits) or name, also as Atlas sent it
/// (`policies get`, `policies delete`).
pub async fn find(
    client: &atlas_cedar_client::Client,
    org: &str,
    target: &str,
) -> Result<atlas_cedar_client::rest::Raw<ResourcePolicy>, String> {
    let is_id = target.len() == 24 && target.bytes().all(|b| b.is_ascii_hexdigit());
    if is_id {
        match client.get_policy_raw(org, target).await {
            Ok(p) => return Ok(p),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    let list = client
        .list_policies_raw(org)
        .await
        .map_err(|e| e.to_string())?;
    let mut matches = list.into_iter().filter(|p| p.value.name == target);
    match (matches.next(), matches.next()) {
        (Some(p), None) => Ok(p),
        (Some(_), Some(_)) => Err(format!(
            "several resource policies are named {target:?}; use the id"
        )),
        (None, _) => Err(format!(
            "no resource policy with id or name {target:?} in organization {org}"
        )),
    }
}

/// What local lint said about each body (by body text), to show next to
/// Atlas's verdict; `None` when lint did not run.
pub type LintNotes = std::collections::HashMap<String, Vec<String>>;

/// The findings of a lint run, by body text (`severity CODE(name): message`).
pub fn lint_notes(reports: &[atlas_cedar_core::FileReport]) -> LintNotes {
    let mut notes = LintNotes::new();
    for report in reports {
        for body in &report.bodies {
            notes.entry(body.text(&report.text).to_owned()).or_default();
        }
        for d in &report.diagnostics {
            let Some(body) = d.body.and_then(|i| report.bodies.get(i)) else {
                continue;
            };
            notes
                .entry(body.text(&report.text).to_owned())
                .or_default()
                .push(format!(
                    "{} {}({}): {}",
                    d.severity.as_str(),
                    d.rule.code,
                    d.rule.name,
                    d.message
                ));
        }
    }
    notes
}

/// Atlas's policy errors as `file:line: Atlas TYPE: detail` lines, each
/// body found among `bodies` by its exact text, followed by what local lint
/// said about that body; `None` for other errors.
pub fn describe_invalid(
    err: &Error,
    bodies: &[&LocalBody],
    notes: Option<&LintNotes>,
) -> Option<Vec<String>> {
    let Error::InvalidPolicies { envelope, .. } = err else {
        return None;
    };
    let mut lines = Vec::new();
    for bad in &envelope.invalid_policies {
        let place = bodies
            .iter()
            .find(|b| b.text == bad.body)
            .map(|b| format!("{}:{}", b.file.display(), b.line))
            .unwrap_or_else(|| "<unknown body>".to_owned());
        for e in &bad.errors {
            lines.push(format!(
                "{place}: Atlas {}: {}",
                envelope.error_type, e.detail
            ));
        }
        if bad.errors.is_empty() {
            lines.push(format!("{place}: Atlas {}", envelope.error_type));
        }
        if let Some(notes) = notes {
            match notes.get(&bad.body) {
                Some(found) if !found.is_empty() => {
                    for n in found {
                        lines.push(format!("{place}:   local lint: {n}"));
                    }
                }
                _ => lines.push(format!(
                    "{place}:   local lint: no finding for this body (Atlas and the local \
                     check disagree; please report it)"
                )),
            }
        }
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn body(provider: &str) -> String {
        format!(
            "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\n\
             when {{ context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\"{provider}\") }};"
        )
    }

    fn local(name: &str, text: String) -> LocalPolicy {
        LocalPolicy {
            name: name.to_owned(),
            description: None,
            bodies: vec![LocalBody {
                text,
                file: PathBuf::from(format!("{name}.cedar")),
                line: 1,
            }],
        }
    }

    fn remote(id: &str, name: &str, text: String) -> ResourcePolicy {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "policies": [{"body": text}]
        }))
        .unwrap()
    }

    #[test]
    fn one_step_per_policy_with_reason_details_and_requests() {
        let client = atlas_cedar_client::Client::new(atlas_cedar_client::ClientConfig::new(
            "http://127.0.0.1:9",
            atlas_cedar_client::Credentials::AccessToken(atlas_cedar_client::Secret::new(
                "t".to_owned(),
            )),
        ))
        .unwrap();
        let ctx = Ctx {
            client: Arc::new(client),
            org: "o".to_owned(),
            policies: Vec::new(),
            engine: Some(Arc::new(atlas_cedar_core::Engine::builtin().unwrap())),
            wait: crate::WaitOptions {
                timeout: std::time::Duration::from_secs(1),
                interval: std::time::Duration::from_secs(1),
            },
            events: Arc::new(crate::NoEvents),
            concurrency: 1,
        };
        let desired = [
            local("keep", body("gcp")),
            local("change", body("azure")),
            local("new", body("gcp")),
        ];
        let remote = vec![
            remote("id1", "keep", body("gcp")),
            remote("id2", "change", body("gcp")),
            remote("id3", "stray", body("gcp")),
        ];
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let plan = |prune: bool| {
            let mut kind = Policies {
                listed: Some(remote.clone()),
            };
            rt.block_on(crate::kind::plan(&mut kind, &ctx, &desired, prune))
                .unwrap()
        };
        let planned = plan(false);
        assert_eq!((planned.steps.len(), planned.unclaimed), (3, 1));
        let steps = plan(true).steps;
        let actions: Vec<(Action, &str, &str)> = steps
            .iter()
            .map(|s| (s.action, s.key.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                (Action::Unchanged, "keep", "id1"),
                (Action::Update, "change", "id2"),
                (Action::Create, "new", "1 policy"),
                (Action::Delete, "stray", "id3"),
            ]
        );
        assert!(steps.iter().all(|s| s.kind == KIND
            && s.phase == Phase::Policies
            && s.label() == s.key
            && s.op.is_some() == s.action.is_change()));
        let (keep, change, new, stray) = (&steps[0], &steps[1], &steps[2], &steps[3]);
        assert!(keep.requests.is_empty() && keep.details.is_empty());
        let base = "/api/atlas/v2/orgs/o/resourcePolicies";
        assert_eq!(new.details, ["new.cedar:1"]);
        assert_eq!(
            (new.requests[0].method, new.requests[0].path.as_str()),
            ("POST", base)
        );
        assert!(new.requests[0]
            .to_string()
            .starts_with(&format!("would POST {base}\n{{")));
        let diff = change.diff.as_deref().unwrap();
        assert!(diff.contains("-when") && diff.contains("+when"), "{diff}");
        assert!(
            change
                .details
                .iter()
                .any(|d| d.starts_with("behaviour changes: ")),
            "{:#?}",
            change.details
        );
        assert_eq!(change.requests[0].method, "PATCH");
        assert_eq!(change.requests[0].path, format!("{base}/id2"));
        assert_eq!(
            stray.requests[0].to_string(),
            format!("would DELETE {base}/id3")
        );
    }
}
