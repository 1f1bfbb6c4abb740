//! The plan/push engine of atlas-cedar, as a library: the Atlas resources
//! `plan`/`push` manage beside resource policies (search indexes, snapshot
//! export buckets, private endpoints, data-federation private endpoints,
//! organization API keys and stream processors), their plan and their
//! application.
//!
//! No terminal I/O: nothing here prints. Progress, waits and results are
//! reported through [`Events`]; the CLI turns them into lines or a progress
//! bar, tests record them.
//!
//! The manifest (`atlas-cedar.toml`) is read and parsed once
//! ([`Manifest`]): its `[lint]` builds the run's engine, which also judges
//! the policy verdicts of the plan; the kinds read their sections from the
//! same parse.
//!
//! The planning skeleton is written once (`kind.rs`): list each scope once,
//! match entries by natural key, the steps of each entry, then `--prune`.
//! Each kind is a module that supplies only what differs:
//! - its manifest section (`[[search_index]]`, …), read with
//!   [`Manifest::section`] so a typo is reported with its line;
//! - where it lists, its natural key, the steps of one entry (create, update,
//!   replace, stop-patch-start, unchanged, each with a semantic diff and,
//!   where resource policies govern the change, the verdict of
//!   [`Ctx::govern`]) and the deletion of an object the manifest does not
//!   name;
//! - the [`Apply`] operations of its steps;
//! - what its direct commands (`atlas-cedar search-indexes get …`, in the
//!   CLI) share with the plan.
//!
//! Resource policies are a kind like the others ([`policies`]), planned
//! from the manifest's `[[resource_policy]]` tables (or `.cedar` files) and
//! applied first. A plan that cannot be made says why with a [`PlanError`].
//!
//! [`apply`] runs the steps phase by phase (resource policies, network, then
//! indexes, then the rest); a failed step stops the steps that depend on it,
//! a failed resource policy stops every other kind, and the report says what
//! was and was not done.

mod error;
pub mod import;
pub mod jsondiff;
mod kind;
pub mod manifest;
pub mod policies;
pub mod remote_diff;

pub mod api_keys;
pub mod export_buckets;
pub mod federation;
pub mod private_endpoints;
pub mod search;
pub mod streams;

pub use error::PlanError;
pub use manifest::Manifest;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use atlas_cedar_analysis::govern::{govern, Governed, NamedPolicy};
use atlas_cedar_analysis::request::ResourceSpec;
use atlas_cedar_client::Client;
use serde::Serialize;
use serde_json::Value;

/// `prefix/id` as a step key shows it: an id that is itself a path (an Azure
/// resource id, `/subscriptions/…`) without a doubled `/`.
pub(crate) fn key_of(prefix: &str, id: &str) -> String {
    format!("{prefix}/{}", id.trim_start_matches('/'))
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// Changed in place (PATCH or an upsert).
    Update,
    /// Deleted and created again: a field that cannot change in place changes.
    Replace,
    /// A running stream processor: stopped, patched, started again.
    StopPatchStart,
    Delete,
    Unchanged,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update | Action::StopPatchStart => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Unchanged => " ",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::StopPatchStart => "stop, update, start",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
        }
    }

    pub fn is_change(self) -> bool {
        self != Action::Unchanged
    }
}

/// Order of application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Resource policies: they govern every other change.
    Policies,
    /// Private endpoint services and endpoints, data-federation endpoints.
    Network,
    /// Search indexes.
    Indexes,
    /// Export buckets, stream processors, API keys.
    Other,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Atlas answered with an error.
    #[error(transparent)]
    Api(#[from] atlas_cedar_client::Error),
    /// Anything else (a wait that timed out, a `FAILED` state, …).
    #[error("{0}")]
    Other(String),
}

impl From<String> for StepError {
    fn from(e: String) -> Self {
        StepError::Other(e)
    }
}

/// What `push` does for one step. Returns a short account of what was done.
pub trait Apply: Send + Sync + std::fmt::Debug {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>>;
}

/// One request a step sends, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub method: &'static str,
    /// From `/api/atlas/v2`, as sent; where an id is only known once an
    /// earlier request is answered, the API's own name for that path
    /// parameter stands for it (`{endpointServiceId}`, `{exportBucketId}`).
    pub path: String,
    /// The JSON body, pretty-printed as it is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Request {
    /// A request without a body.
    pub fn new(method: &'static str, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            body: None,
        }
    }

    /// A request with `body` serialized as JSON (its fields in the order sent).
    pub fn json<T: Serialize + ?Sized>(
        method: &'static str,
        path: impl Into<String>,
        body: &T,
    ) -> Self {
        Request::text(
            method,
            path,
            serde_json::to_string_pretty(body).unwrap_or_default(),
        )
    }

    /// A request with a JSON body already written out.
    pub fn text(method: &'static str, path: impl Into<String>, body: String) -> Self {
        Request {
            body: Some(body),
            ..Request::new(method, path)
        }
    }
}

/// `would POST /api/atlas/v2/…`, then the body on the lines after.
impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "would {} {}", self.method, self.path)?;
        match &self.body {
            Some(body) => write!(f, "\n{body}"),
            None => Ok(()),
        }
    }
}

/// One planned change of one object.
#[derive(Debug, Serialize)]
pub struct Step {
    /// `search index`, `export bucket`, …
    pub kind: &'static str,
    /// The natural key, as shown (`<project>/<cluster>/<db>.<coll>/<name>`).
    pub key: String,
    pub action: Action,
    /// Why this action (`collection movies → films`, `it is STARTED`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The semantic diff or what will be created.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// Warnings for the plan (resource policies, missing facts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Resource policies that forbid (or may forbid) the change when
    /// evaluated locally: named when Atlas answers 403.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub governed_by: Vec<String>,
    pub phase: Phase,
    /// Ids ([`Step::id`]) of steps that must succeed first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// The requests the step sends, in order: `push --dry-run` prints them.
    #[serde(skip)]
    pub requests: Vec<Request>,
    /// A unified diff of the object's text (resource policies: the bodies),
    /// for front ends that show it apart (the Markdown plan).
    #[serde(skip)]
    pub diff: Option<String>,
    #[serde(skip)]
    pub op: Option<Box<dyn Apply>>,
}

impl Step {
    /// A step with no details; fill in the rest with the fields.
    pub fn new(kind: &'static str, key: impl Into<String>, action: Action, phase: Phase) -> Self {
        Step {
            kind,
            key: key.into(),
            action,
            reason: String::new(),
            details: Vec::new(),
            warnings: Vec::new(),
            governed_by: Vec::new(),
            phase,
            after: Vec::new(),
            requests: Vec::new(),
            diff: None,
            op: None,
        }
    }

    /// How messages name the step: `kind key`; a resource policy by its
    /// name alone.
    pub fn label(&self) -> String {
        if self.kind == policies::KIND {
            self.key.clone()
        } else {
            format!("{} {}", self.kind, self.key)
        }
    }

    /// `kind:key`, unique within a plan.
    pub fn id(&self) -> String {
        format!("{}:{}", self.kind, self.key)
    }

    /// Records a governance verdict: a warning line and the policies to name
    /// on a 403.
    pub fn governed(&mut self, verdict: &Governed, action: &str) {
        if let Some(line) = verdict.describe(action) {
            self.warnings.push(line);
        }
        for p in &verdict.policies {
            if !self.governed_by.contains(p) {
                self.governed_by.push(p.clone());
            }
        }
    }
}

/// What [`apply`] and the waits of its operations report while they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A step is about to be applied.
    StepStarted { kind: &'static str, key: String },
    /// A step is waiting for an asynchronous state, or saw one on the way.
    Waiting { message: String },
    /// A step was applied; `done` says what was done.
    StepDone {
        kind: &'static str,
        key: String,
        action: Action,
        done: String,
    },
    /// A step failed; `message` names it and says why.
    StepFailed {
        kind: &'static str,
        key: String,
        message: String,
    },
    /// A step was not attempted because a step it depends on failed.
    StepSkipped {
        kind: &'static str,
        key: String,
        reason: String,
    },
}

/// Receives [`Event`]s (from several tasks at once).
pub trait Events: Send + Sync + std::fmt::Debug {
    fn event(&self, event: Event);
}

/// Discards every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl Events for NoEvents {
    fn event(&self, _: Event) {}
}

/// Keeps every event, in order (for tests and other front ends).
#[derive(Debug, Default)]
pub struct RecordedEvents(pub std::sync::Mutex<Vec<Event>>);

impl Events for RecordedEvents {
    fn event(&self, event: Event) {
        if let Ok(mut v) = self.0.lock() {
            v.push(event);
        }
    }
}

/// How long `push` waits for asynchronous states.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    pub timeout: Duration,
    pub interval: Duration,
}

/// What plans and operations share.
#[derive(Debug)]
pub struct Ctx {
    pub client: Arc<Client>,
    pub org: String,
    /// The manifest's resource policies (as they will be once pushed).
    pub policies: Vec<NamedPolicy>,
    pub engine: Option<Arc<atlas_cedar_core::Engine>>,
    pub wait: WaitOptions,
    /// Where progress, waits and results go.
    pub events: Arc<dyn Events>,
    /// Search-index steps applied at the same time (each waits for its own
    /// build, so builds overlap); 1 applies them one by one.
    pub concurrency: usize,
}

impl Ctx {
    /// A context for `org` with the default waits (30 min, every 10 s), no
    /// events and 4 writes at a time; `policies` are the manifest's.
    pub fn new(
        client: Arc<Client>,
        org: String,
        policies: &[manifest::LocalPolicy],
        engine: Option<Arc<atlas_cedar_core::Engine>>,
    ) -> Self {
        Ctx {
            client,
            org,
            policies: policies
                .iter()
                .map(|p| NamedPolicy {
                    name: p.name.clone(),
                    bodies: p.bodies.iter().map(|b| b.text.clone()).collect(),
                })
                .collect(),
            engine,
            wait: WaitOptions {
                timeout: Duration::from_secs(1800),
                interval: Duration::from_secs(10),
            },
            events: Arc::new(NoEvents),
            concurrency: 4,
        }
    }

    /// Would the manifest's resource policies refuse `action` on `resource`
    /// in each of `contexts`? See [`atlas_cedar_analysis::govern`].
    pub fn govern(
        &self,
        action: &str,
        resource: &ResourceSpec,
        contexts: &[Value],
        unknown: &[&str],
    ) -> Governed {
        match &self.engine {
            Some(engine) => govern(engine, &self.policies, action, resource, contexts, unknown),
            None => Governed {
                outcome: atlas_cedar_analysis::govern::Outcome::CannotTell,
                policies: Vec::new(),
                reason: Some("the Atlas schema could not be loaded".to_owned()),
            },
        }
    }

    /// A progress note of a step (a wait, a state seen).
    pub fn note(&self, message: &str) {
        self.events.event(Event::Waiting {
            message: message.to_owned(),
        });
    }

    /// Polls `check` until it returns `Ok(Some(v))`, with the configured
    /// interval and timeout; `what` names the wait in messages.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, mut check: F) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, StepError>>,
    {
        let started = std::time::Instant::now();
        let mut polls = 0u32;
        loop {
            polls += 1;
            if let Some(v) = check().await? {
                return Ok(v);
            }
            if started.elapsed() >= self.wait.timeout {
                return Err(StepError::Other(format!(
                    "gave up waiting for {what} after {} s ({polls} polls); it may still \
                     finish in Atlas: run plan again later (--wait-timeout sets the limit)",
                    started.elapsed().as_secs()
                )));
            }
            if polls == 1 || polls.is_multiple_of(10) {
                self.note(&format!("waiting for {what}…"));
            }
            tokio::time::sleep(self.wait.interval).await;
        }
    }
}

/// A run's plan: every kind's steps, the resource policies first, in
/// application order.
#[derive(Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The organization's resource policies the manifest does not name
    /// (what `--prune` would delete).
    pub unmanaged_policies: usize,
}

impl Plan {
    /// Lists the organization's resource policies once and plans them, then
    /// the other kinds: `sections`, the manifest's, as [`check_sections`]
    /// read them (`None` without a manifest).
    pub async fn new(
        ctx: &Ctx,
        desired: &manifest::Desired,
        sections: Option<Sections>,
        prune: bool,
    ) -> Result<Plan, PlanError> {
        let policies = kind::plan(
            &mut policies::Policies::default(),
            ctx,
            &desired.policies,
            prune,
        )
        .await?;
        let mut steps = policies.steps;
        if let Some(sections) = sections {
            steps.extend(plan(ctx, sections, prune).await?);
        }
        Ok(Plan {
            steps,
            unmanaged_policies: policies.unclaimed,
        })
    }

    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.action.is_change())
    }

    /// The resource-policy steps and the others.
    pub fn split(&self) -> (Vec<&Step>, Vec<&Step>) {
        self.steps.iter().partition(|s| s.kind == policies::KIND)
    }

    /// `N to create, N to update,[ N to replace,] N to delete.`
    pub fn summary(&self) -> String {
        let (c, u, r, d) = counts(&self.steps);
        let replace = if r > 0 {
            format!(" {r} to replace,")
        } else {
            String::new()
        };
        format!("{c} to create, {u} to update,{replace} {d} to delete.")
    }

    /// What `push` asks to confirm: `(resource policies deleted, other
    /// objects deleted, objects replaced)` (a replace deletes the object it
    /// replaces).
    pub fn deletes(&self) -> (usize, usize, usize) {
        let (policies, others) = self.split();
        let (_, _, _, policy_deletes) = counts(policies);
        let (_, _, replaces, deletes) = counts(others);
        (policy_deletes, deletes, replaces)
    }
}

/// Every section of a manifest but the resource policies, checked: what
/// [`plan`] lists and matches. Read once ([`check_sections`]), before any
/// request.
pub struct Sections {
    policy_entries: usize,
    services: private_endpoints::Services,
    service_entries: Vec<private_endpoints::DesiredService>,
    federation: Vec<federation::Desired>,
    indexes: Vec<search::Desired>,
    buckets: Vec<export_buckets::Desired>,
    processors: Vec<streams::Desired>,
    keys: Vec<api_keys::Name>,
}

impl std::fmt::Debug for Sections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sections")
            .field("entries", &self.entries())
            .finish_non_exhaustive()
    }
}

impl Sections {
    /// How many entries the manifest's sections hold, `[[resource_policy]]`
    /// included.
    pub fn entries(&self) -> usize {
        self.policy_entries
            + self.service_entries.len()
            + self.federation.len()
            + self.indexes.len()
            + self.buckets.len()
            + self.processors.len()
            + self.keys.len()
    }
}

/// Checks every section of `manifest` the way [`plan`] reads it (entries,
/// projects, ids, definitions and pipeline files), without the network: a
/// mistake is reported before any credential is needed.
pub fn check_sections(manifest: &Manifest) -> Result<Sections, PlanError> {
    use kind::Section;
    let mut services = private_endpoints::Services::new();
    Ok(Sections {
        policy_entries: manifest::check_policy_entries(manifest)?,
        service_entries: services.desired(manifest)?,
        services,
        federation: federation::Endpoints.desired(manifest)?,
        indexes: search::Indexes::default().desired(manifest)?,
        buckets: export_buckets::Buckets.desired(manifest)?,
        processors: streams::Processors.desired(manifest)?,
        keys: api_keys::Keys.desired(manifest)?,
    })
}

/// Every kind's plan but the resource policies, in application order.
pub async fn plan(ctx: &Ctx, sections: Sections, prune: bool) -> Result<Vec<Step>, PlanError> {
    let Sections {
        mut services,
        service_entries,
        federation,
        indexes,
        buckets,
        processors,
        keys,
        ..
    } = sections;
    let mut steps = Vec::new();
    steps.extend(
        kind::plan(&mut services, ctx, &service_entries, prune)
            .await?
            .steps,
    );
    steps.extend(
        kind::plan(&mut federation::Endpoints, ctx, &federation, prune)
            .await?
            .steps,
    );
    steps.extend(
        kind::plan(&mut search::Indexes::default(), ctx, &indexes, prune)
            .await?
            .steps,
    );
    steps.extend(
        kind::plan(&mut export_buckets::Buckets, ctx, &buckets, prune)
            .await?
            .steps,
    );
    steps.extend(
        kind::plan(&mut streams::Processors, ctx, &processors, prune)
            .await?
            .steps,
    );
    steps.extend(
        kind::plan(&mut api_keys::Keys, ctx, &keys, prune)
            .await?
            .steps,
    );
    steps.sort_by_key(|s| s.phase);
    Ok(steps)
}

/// What `push` did with the steps.
#[derive(Debug, Default, Serialize)]
pub struct ApplyReport {
    /// `kind key: what was done`.
    pub done: Vec<String>,
    pub failed: Vec<String>,
    /// Steps not attempted because a step they depend on failed.
    pub not_done: Vec<String>,
    pub unchanged: usize,
    /// The resource policies, apart (push counts them by what was done).
    #[serde(skip)]
    pub policies: PolicyReport,
}

/// What `push` did with the resource policies.
#[derive(Debug, Default)]
pub struct PolicyReport {
    /// Name, and what was done: `created`, `adopted`, `updated`, `deleted`.
    pub done: Vec<(String, String)>,
    pub unchanged: Vec<String>,
    pub failed: Vec<String>,
}

/// The message for a failed step; Atlas's resource-policy 403 names the
/// policies that forbid the change locally.
fn failure(step: &Step, e: StepError) -> String {
    let what = step.label();
    match e {
        StepError::Api(e)
            if e.error_code() == Some("ATLAS_RESOURCE_POLICIES_VIOLATION_NOT_AUTHORIZED") =>
        {
            let likely = if step.governed_by.is_empty() {
                "no resource policy of the manifest forbids it when evaluated here; a policy \
                 in Atlas that the manifest does not manage, or a fact atlas-cedar cannot \
                 see, may (see `atlas-cedar policies list`)"
                    .to_owned()
            } else {
                format!(
                    "likely resource {} {} (it forbids this change when evaluated here)",
                    if step.governed_by.len() == 1 {
                        "policy"
                    } else {
                        "policies"
                    },
                    step.governed_by
                        .iter()
                        .map(|p| format!("{p:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            format!(
                "{what}: Atlas refused it: 403 ATLAS_RESOURCE_POLICIES_VIOLATION_NOT_AUTHORIZED; {likely}"
            )
        }
        StepError::Api(e) => format!("{what}: {e}"),
        StepError::Other(e) => format!("{what}: {e}"),
    }
}

/// Applies the steps phase by phase, in plan order. A step whose
/// dependencies failed (or were not done) is not attempted.
///
/// Search-index steps (phase [`Phase::Indexes`]) run up to
/// [`Ctx::concurrency`] at a time, each waiting for its own build, so N
/// indexes take about one build time rather than N; a step still waits for
/// the steps it depends on. The other phases run one step after another: the
/// order of private-endpoint writes is the order their policy verdicts were
/// computed in.
pub async fn apply(ctx: &Ctx, steps: &[Step]) -> ApplyReport {
    let mut report = ApplyReport::default();
    let mut broken: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(first) = steps.get(i) {
        let parallel = matches!(first.phase, Phase::Policies | Phase::Indexes);
        if first.phase != Phase::Policies && !report.policies.failed.is_empty() {
            // The resource policies govern the rest: nothing else is applied
            // on top of a half-pushed set.
            for s in steps.iter().skip(i).filter(|s| s.action.is_change()) {
                skip(
                    ctx,
                    &mut report,
                    s,
                    "the resource policies were not all pushed".to_owned(),
                );
            }
            break;
        }
        let len = if parallel {
            steps
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|s| s.phase == first.phase)
                .count()
        } else {
            1
        };
        // `len` is at least 1: `first` is in its own phase.
        let batch: Vec<&Step> = steps.iter().skip(i).take(len).collect();
        i += len;
        let width = if parallel { ctx.concurrency.max(1) } else { 1 };
        apply_batch(ctx, batch, width, &mut report, &mut broken).await;
    }
    report
}

/// A step not attempted: reported as not done, and told to the events.
fn skip(ctx: &Ctx, report: &mut ApplyReport, step: &Step, reason: String) {
    report
        .not_done
        .push(format!("{}: not attempted: {reason}", step.label()));
    ctx.events.event(Event::StepSkipped {
        kind: step.kind,
        key: step.key.clone(),
        reason,
    });
}

/// Applies `batch` in waves: each wave holds the steps none of whose
/// dependencies is still pending, `width` at a time.
async fn apply_batch(
    ctx: &Ctx,
    batch: Vec<&Step>,
    width: usize,
    report: &mut ApplyReport,
    broken: &mut Vec<String>,
) {
    let mut pending: Vec<&Step> = Vec::new();
    for step in batch {
        if step.action.is_change() {
            pending.push(step);
        } else if step.kind == policies::KIND {
            report.policies.unchanged.push(step.key.clone());
        } else {
            report.unchanged += 1;
        }
    }
    while !pending.is_empty() {
        let waiting: Vec<String> = pending.iter().map(|s| s.id()).collect();
        let (mut ready, mut rest): (Vec<&Step>, Vec<&Step>) = pending
            .into_iter()
            .partition(|s| !s.after.iter().any(|d| waiting.contains(d)));
        if ready.is_empty() && !rest.is_empty() {
            // A dependency cycle cannot come from a plan; never spin on one.
            ready.push(rest.remove(0));
        }
        pending = rest;
        for chunk in ready.chunks(width) {
            let mut runnable = Vec::new();
            for step in chunk {
                if let Some(dep) = step.after.iter().find(|d| broken.contains(d)) {
                    skip(ctx, report, step, format!("{dep} failed"));
                    broken.push(step.id());
                } else if let Some(op) = &step.op {
                    ctx.events.event(Event::StepStarted {
                        kind: step.kind,
                        key: step.key.clone(),
                    });
                    runnable.push((*step, op.apply(ctx)));
                }
            }
            let (who, futures): (Vec<&Step>, Vec<_>) = runnable.into_iter().unzip();
            let results = join_all(futures).await;
            for (step, result) in who.into_iter().zip(results) {
                match result {
                    Ok(done) => {
                        if step.kind == policies::KIND {
                            report.policies.done.push((step.key.clone(), done.clone()));
                        } else {
                            report.done.push(format!("{}: {done}", step.label()));
                        }
                        ctx.events.event(Event::StepDone {
                            kind: step.kind,
                            key: step.key.clone(),
                            action: step.action,
                            done,
                        });
                    }
                    Err(e) => {
                        let message = failure(step, e);
                        if step.kind == policies::KIND {
                            report.policies.failed.push(message.clone());
                        } else {
                            report.failed.push(message.clone());
                        }
                        ctx.events.event(Event::StepFailed {
                            kind: step.kind,
                            key: step.key.clone(),
                            message,
                        });
                        broken.push(step.id());
                    }
                }
            }
        }
    }
}

/// Polls every future until all are done; the results in the same order.
async fn join_all<'a, T>(mut futures: Vec<BoxFuture<'a, T>>) -> Vec<T> {
    let mut results: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut busy = false;
        for (future, slot) in futures.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => busy = true,
                }
            }
        }
        if busy {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// `(create, update, replace, delete)` counts; stop-patch-start counts as an update.
pub fn counts<'a>(steps: impl IntoIterator<Item = &'a Step>) -> (usize, usize, usize, usize) {
    let mut c = (0, 0, 0, 0);
    for s in steps {
        match s.action {
            Action::Create => c.0 += 1,
            Action::Update | Action::StopPatchStart => c.1 += 1,
            Action::Replace => c.2 += 1,
            Action::Delete => c.3 += 1,
            Action::Unchanged => {}
        }
    }
    c
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// A step's operation that answers without the network.
    #[derive(Debug)]
    struct Fixed(Result<&'static str, &'static str>);

    impl Apply for Fixed {
        fn apply<'a>(&'a self, _: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
            Box::pin(async move {
                match self.0 {
                    Ok(done) => Ok(done.to_owned()),
                    Err(e) => Err(StepError::Other(e.to_owned())),
                }
            })
        }
    }

    #[test]
    fn apply_reports_through_events_and_skips_dependants_of_a_failure() {
        let client = atlas_cedar_client::Client::new(atlas_cedar_client::ClientConfig::new(
            "http://127.0.0.1:9",
            atlas_cedar_client::Credentials::AccessToken(atlas_cedar_client::Secret::new(
                "t".to_owned(),
            )),
        ))
        .unwrap();
        let events = Arc::new(RecordedEvents::default());
        let ctx = Ctx {
            client: Arc::new(client),
            org: "o".to_owned(),
            policies: Vec::new(),
            engine: None,
            wait: WaitOptions {
                timeout: Duration::from_secs(1),
                interval: Duration::from_secs(1),
            },
            events: events.clone(),
            concurrency: 1,
        };
        let step = |key: &str, op: Fixed| {
            let mut s = Step::new("thing", key, Action::Create, Phase::Other);
            s.op = Some(Box::new(op));
            s
        };
        let a = step("a", Fixed(Ok("created")));
        let b = step("b", Fixed(Err("it broke")));
        let mut c = step("c", Fixed(Ok("created")));
        c.after.push(b.id());
        let unchanged = Step::new("thing", "d", Action::Unchanged, Phase::Other);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let report = rt.block_on(apply(&ctx, &[a, b, c, unchanged]));
        assert_eq!(report.done, vec!["thing a: created"]);
        assert_eq!(report.failed, vec!["thing b: it broke"]);
        assert_eq!(
            report.not_done,
            vec!["thing c: not attempted: thing:b failed"]
        );
        assert_eq!(report.unchanged, 1);
        // A resource policy that fails stops every other kind; the policies
        // are reported apart, by name.
        let policy = |key: &str, action, op: Option<Fixed>| {
            let mut s = Step::new(policies::KIND, key, action, Phase::Policies);
            s.op = op.map(|op| Box::new(op) as Box<dyn Apply>);
            s
        };
        let after = rt.block_on(apply(
            &ctx,
            &[
                policy("p", Action::Create, Some(Fixed(Err("it broke")))),
                policy("q", Action::Update, Some(Fixed(Ok("updated")))),
                policy("r", Action::Unchanged, None),
                step("x", Fixed(Ok("created"))),
            ],
        ));
        assert_eq!(after.policies.failed, vec!["p: it broke"]);
        assert_eq!(
            after.policies.done,
            vec![("q".to_owned(), "updated".to_owned())]
        );
        assert_eq!(after.policies.unchanged, vec!["r"]);
        assert!(after.done.is_empty() && after.failed.is_empty());
        assert_eq!(
            after.not_done,
            vec!["thing x: not attempted: the resource policies were not all pushed"]
        );
        let seen = events.0.lock().unwrap().clone();
        assert_eq!(
            seen[..5],
            vec![
                Event::StepStarted {
                    kind: "thing",
                    key: "a".to_owned()
                },
                Event::StepDone {
                    kind: "thing",
                    key: "a".to_owned(),
                    action: Action::Create,
                    done: "created".to_owned()
                },
                Event::StepStarted {
                    kind: "thing",
                    key: "b".to_owned()
                },
                Event::StepFailed {
                    kind: "thing",
                    key: "b".to_owned(),
                    message: "thing b: it broke".to_owned()
                },
                Event::StepSkipped {
                    kind: "thing",
                    key: "c".to_owned(),
                    reason: "thing:b failed".to_owned()
                },
            ]
        );
    }
}
