//! Stream processors: the `[[stream_processor]]` manifest section, their
//! plan steps (create, update, stop-patch-start, rename, start/stop, delete)
//! and `atlas-cedar stream-processors get|list|start|stop|update`.
//!
//! ```toml
//! [[stream_processor]]
//! instance = "ingest"                    # the stream instance (tenantName)
//! name = "orders"
//! pipeline_file = "streams/orders.json"  # or: pipeline = [{ "$source" = {…} }, …]
//! state = "started"                      # optional: "started" | "stopped"
//! renamed_from = "orders-v1"             # optional: rename by PATCH
//! options = { dlq = { connection_name = "atlas", db = "dlq", coll = "orders" } }
//! ```
//!
//! Decisions:
//! - Atlas refuses to modify a running processor, so a change to a `STARTED`
//!   one is planned as stop, PATCH, start ([`Action::StopPatchStart`]).
//! - `state` is optional: without it the run state is left as it is.
//! - `options.resume_from_checkpoint` is not part of a processor's state
//!   (Atlas never returns it): it is sent with the PATCH of a push that
//!   changes the processor, and never causes a change by itself. `false`
//!   makes the modified processor start from the beginning.
//! - No `options.dlq` means no dead letter queue: one in Atlas is removed
//!   (PATCH `dlq: {}`).

use atlas_cedar_client::streams::{
    self as api, Dlq, PatchOptions, StreamProcessor, StreamProcessorInput, StreamProcessorPatch,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::jsondiff::{diff, Mode};
use super::kind::{Kind, Listed, Owner, Section};
use super::{Action, Apply, BoxFuture, Ctx, Manifest, Phase, PlanError, Request, Step, StepError};

const KIND: &str = "stream processor";
const SECTION: &str = "stream_processor";
const API: &str = "/api/atlas/v2";

/// The run state the manifest asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RunState {
    Started,
    Stopped,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DlqToml {
    connection_name: String,
    db: String,
    coll: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsToml {
    dlq: Option<DlqToml>,
    resume_from_checkpoint: Option<bool>,
}

/// One `[[stream_processor]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    project_id: Option<String>,
    instance: String,
    name: String,
    pipeline: Option<Vec<Value>>,
    pipeline_file: Option<String>,
    #[serde(default)]
    options: OptionsToml,
    state: Option<RunState>,
    renamed_from: Option<String>,
}

/// An entry with its project and pipeline resolved.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    group: String,
    instance: String,
    name: String,
    pipeline: Vec<Value>,
    dlq: Option<Dlq>,
    resume_from_checkpoint: Option<bool>,
    state: Option<RunState>,
    renamed_from: Option<String>,
}

impl Desired {
    fn key(&self) -> String {
        format!("{}/{}/{}", self.group, self.instance, self.name)
    }

    /// What is compared with Atlas: name, pipeline, dead letter queue.
    fn doc(&self) -> Value {
        doc(&self.name, &self.pipeline, self.dlq.as_ref())
    }
}

fn doc(name: &str, pipeline: &[Value], dlq: Option<&Dlq>) -> Value {
    let mut options = serde_json::Map::new();
    if let Some(d) = dlq.filter(|d| !d.is_empty()) {
        options.insert(
            "dlq".to_owned(),
            serde_json::to_value(d).unwrap_or(Value::Null),
        );
    }
    json!({ "name": name, "pipeline": pipeline, "options": options })
}

fn remote_doc(p: &StreamProcessor) -> Value {
    let dlq = p.dlq().map(|d| Dlq {
        coll: d.coll.clone(),
        connection_name: d.connection_name.clone(),
        db: d.db.clone(),
    });
    doc(&p.name, &p.pipeline, dlq.as_ref())
}

pub fn check_pipeline(stages: &[Value], what: &str) -> Result<(), String> {
    match stages.iter().position(|s| !s.is_object()) {
        Some(i) => Err(format!(
            "{what}: stage {} is not an object (a stage is like {{\"$match\": {{…}}}})",
            i + 1
        )),
        None => Ok(()),
    }
}

/// Reads and checks the section; errors name the file and line.
fn desired(manifest: &Manifest) -> Result<Vec<Desired>, PlanError> {
    let entries: Vec<Entry> = manifest.section(SECTION)?;
    let mut out: Vec<Desired> = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let line = manifest.line_of(SECTION, i);
        let what = format!("[[{SECTION}]] {:?}", e.name);
        let at = |msg: &str| manifest.error_at(line, format!("{what}: {msg}"));
        if e.name.is_empty() || e.instance.is_empty() {
            return Err(at("`name` and `instance` must not be empty"));
        }
        let pipeline = match (e.pipeline, &e.pipeline_file) {
            (Some(p), None) => p,
            (None, Some(file)) => match manifest.read_json(file)? {
                Value::Array(p) => p,
                _ => {
                    return Err(PlanError::manifest(
                        manifest.root.join(file),
                        "must hold a JSON array of pipeline stages",
                    ))
                }
            },
            (Some(_), Some(_)) => {
                return Err(at("give either `pipeline` or `pipeline_file`, not both"))
            }
            (None, None) => {
                return Err(at(
                    "no pipeline: add `pipeline = [...]` or `pipeline_file = \"….json\"`",
                ))
            }
        };
        check_pipeline(&pipeline, &what).map_err(|m| manifest.error_at(line, m))?;
        let group = manifest.project_id(e.project_id.as_deref(), SECTION, i)?;
        let d = Desired {
            group,
            instance: e.instance,
            name: e.name,
            pipeline,
            dlq: e.options.dlq.map(|d| Dlq {
                coll: Some(d.coll),
                connection_name: Some(d.connection_name),
                db: Some(d.db),
            }),
            resume_from_checkpoint: e.options.resume_from_checkpoint,
            state: e.state,
            renamed_from: e.renamed_from.filter(|r| !r.is_empty()),
        };
        if out.iter().any(|o| o.key() == d.key()) {
            return Err(at(&format!("declared twice ({})", d.key())));
        }
        if d.renamed_from.as_deref() == Some(d.name.as_str()) {
            return Err(at("`renamed_from` is the name itself"));
        }
        out.push(d);
    }
    // A rename must not take over a processor another entry declares.
    for (i, d) in out.iter().enumerate() {
        let Some(old) = &d.renamed_from else { continue };
        if out
            .iter()
            .any(|o| o.group == d.group && o.instance == d.instance && &o.name == old)
        {
            return Err(manifest.error_at(
                manifest.line_of(SECTION, i),
                format!(
                    "[[{SECTION}]] {:?}: `renamed_from = {old:?}` names a processor another \
                     entry declares; remove one of them",
                    d.name
                ),
            ));
        }
    }
    Ok(out)
}

/// The path of a processor (`…/processor/{name}`), for dry runs.
fn path_of(group: &str, instance: &str, name: &str) -> String {
    use atlas_cedar_client::rest::encode_segment;
    format!(
        "{API}/groups/{group}/streams/{}/processor/{}",
        encode_segment(instance),
        encode_segment(name)
    )
}

/// `[[stream_processor]]`: one list (every page) per stream instance; a
/// processor is its name, and an entry may take over the processor it was
/// `renamed_from`.
pub(crate) struct Processors;

impl Kind for Processors {
    type Desired = Desired;
    type Remote = StreamProcessor;
    /// (project, stream instance)
    type Scope = (String, String);

    fn scope(&self, d: &Desired) -> (String, String) {
        (d.group.clone(), d.instance.clone())
    }

    async fn list(
        &mut self,
        ctx: &Ctx,
        (group, instance): &(String, String),
        _prune: bool,
    ) -> Result<Vec<StreamProcessor>, PlanError> {
        ctx.client
            .list_stream_processors(group, instance)
            .await
            .map_err(|e| {
                PlanError::atlas(format!("stream instance {instance} of project {group}"), e)
            })
    }

    fn is(&self, d: &Desired, p: &StreamProcessor) -> bool {
        p.name == d.name
    }

    async fn steps(
        &mut self,
        _ctx: &Ctx,
        _scope: &(String, String),
        d: &Desired,
        by_name: Option<&StreamProcessor>,
        listed: &mut Listed<'_, StreamProcessor>,
    ) -> Result<Vec<Step>, PlanError> {
        let by_old = d
            .renamed_from
            .as_deref()
            .and_then(|old| listed.find(|p| p.name == old))
            .filter(|(i, _)| listed.owner(*i) != Owner::Other)
            .map(|(i, _)| i);
        let step = match (by_name, by_old) {
            (Some(p), None) => update_step(d, p),
            (Some(p), Some(i)) => {
                let mut step = update_step(d, p);
                if let Some(old) = listed.items().get(i) {
                    step.warnings.push(format!(
                        "`renamed_from = {:?}`: both {} and {} exist; {} is not touched \
                         (--prune deletes it)",
                        old.name, old.name, d.name, old.name
                    ));
                }
                step
            }
            (None, Some(i)) => {
                listed.claim(i);
                match listed.items().get(i) {
                    Some(p) => update_step(d, p),
                    None => create_step(d),
                }
            }
            (None, None) => create_step(d),
        };
        Ok(vec![step])
    }

    fn delete(
        &mut self,
        _ctx: &Ctx,
        (group, instance): &(String, String),
        p: &StreamProcessor,
        _planned: &[Step],
    ) -> Option<Step> {
        Some(delete_step(group, instance, p))
    }
}

impl Section for Processors {
    fn desired(&mut self, manifest: &Manifest) -> Result<Vec<Desired>, PlanError> {
        desired(manifest)
    }
}

fn op(d: &Desired, current: &str) -> ProcessorOp {
    ProcessorOp {
        group: d.group.clone(),
        instance: d.instance.clone(),
        current: current.to_owned(),
        name: d.name.clone(),
        create: None,
        stop_first: false,
        patch: None,
        start_after: false,
        delete: false,
        state_declared: d.state.is_some(),
    }
}

fn create_step(d: &Desired) -> Step {
    let mut step = Step::new(KIND, d.key(), Action::Create, Phase::Other);
    for (i, stage) in d.pipeline.iter().enumerate() {
        step.details.push(format!("+ pipeline[{i}]: {stage}"));
    }
    if let Some(dlq) = &d.dlq {
        step.details.push(format!(
            "+ options.dlq: {}",
            serde_json::to_string(dlq).unwrap_or_default()
        ));
    }
    let input = StreamProcessorInput {
        name: d.name.clone(),
        pipeline: d.pipeline.clone(),
        options: d
            .dlq
            .clone()
            .map(|dlq| api::CreateOptions { dlq: Some(dlq) }),
    };
    let base = format!(
        "{API}/groups/{}/streams/{}/processor",
        d.group,
        atlas_cedar_client::rest::encode_segment(&d.instance)
    );
    step.requests.push(Request::json("POST", base, &input));
    let mut o = op(d, &d.name);
    if d.state == Some(RunState::Started) {
        step.reason = "then start it (state = started)".to_owned();
        let path = path_of(&d.group, &d.instance, &d.name);
        step.requests
            .push(Request::new("POST", format!("{path}:start")));
        o.start_after = true;
    }
    o.create = Some(input);
    step.op = Some(Box::new(o));
    step
}

fn update_step(d: &Desired, p: &StreamProcessor) -> Step {
    let running = p.state == api::state::STARTED;
    let mut details = diff(&remote_doc(p), &d.doc(), Mode::Exact);
    let content_changes = !details.is_empty();
    let want_running = match d.state {
        Some(RunState::Started) => true,
        Some(RunState::Stopped) => false,
        None => running,
    };
    let mut o = op(d, &p.name);
    let mut reasons: Vec<String> = Vec::new();
    if p.name != d.name {
        reasons.push(format!("renamed from {}", p.name));
    }
    let path = path_of(&d.group, &d.instance, &p.name);
    let final_path = path_of(&d.group, &d.instance, &d.name);
    let mut requests = Vec::new();
    let mut warnings = Vec::new();
    let action;
    if content_changes {
        let mut patch = StreamProcessorPatch {
            name: (p.name != d.name).then(|| d.name.clone()),
            pipeline: Some(d.pipeline.clone()),
            options: None,
        };
        let dlq_change = match (&d.dlq, p.dlq()) {
            (Some(want), _) => Some(want.clone()),
            (None, Some(_)) => Some(Dlq::default()),
            (None, None) => None,
        };
        if dlq_change.is_some() || d.resume_from_checkpoint.is_some() {
            patch.options = Some(PatchOptions {
                dlq: dlq_change,
                resume_from_checkpoint: d.resume_from_checkpoint,
            });
        }
        if d.resume_from_checkpoint == Some(false) {
            details.push(
                "resumeFromCheckpoint = false: the modified processor starts from the \
                 beginning, not from its last checkpoint"
                    .to_owned(),
            );
        }
        if running {
            o.stop_first = true;
            requests.push(Request::new("POST", format!("{path}:stop")));
        }
        // The patch as sent (`patch_json`), read back so the dry run shows its
        // keys sorted like every other body.
        let sent = api::patch_json(&patch)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok());
        requests.push(match sent {
            Some(v) => Request::json("PATCH", &path, &v),
            None => Request::text("PATCH", &path, String::new()),
        });
        o.patch = Some(patch);
        if want_running {
            o.start_after = true;
            requests.push(Request::new("POST", format!("{final_path}:start")));
        }
        action = if running && want_running {
            reasons.push("it is STARTED: stop, update, start".to_owned());
            if d.state.is_none() {
                warnings.push(
                    "`state` is not declared: if the update fails after the stop, the \
                     processor stays STOPPED and a re-run will not start it again; declare \
                     state = \"started\" so that re-runs converge"
                        .to_owned(),
                );
            }
            Action::StopPatchStart
        } else if running {
            reasons
                .push("it is STARTED: stop, update; state = stopped keeps it stopped".to_owned());
            Action::Update
        } else if want_running {
            reasons.push(format!(
                "it is {}: update, then start (state = started)",
                p.state
            ));
            details.push(format!("~ state: {} → STARTED", p.state));
            Action::Update
        } else {
            reasons.push(format!("it is {}", p.state));
            Action::Update
        };
    } else if want_running && !running {
        reasons.push(format!("start: it is {}", p.state));
        details.push(format!("~ state: {} → STARTED", p.state));
        if let Some(msg) = p.error_message() {
            details.push(format!("it failed: {msg}"));
        }
        o.start_after = true;
        requests.push(Request::new("POST", format!("{final_path}:start")));
        action = Action::Update;
    } else if !want_running && running {
        reasons.push("stop: it is STARTED (state = stopped)".to_owned());
        details.push("~ state: STARTED → STOPPED".to_owned());
        o.stop_first = true;
        requests.push(Request::new("POST", format!("{path}:stop")));
        action = Action::Update;
    } else {
        action = Action::Unchanged;
    }
    let mut step = Step::new(KIND, d.key(), action, Phase::Other);
    step.reason = reasons.join("; ");
    step.details = details;
    step.warnings = warnings;
    step.requests = requests;
    if action.is_change() {
        step.op = Some(Box::new(o));
    }
    step
}

fn delete_step(group: &str, instance: &str, p: &StreamProcessor) -> Step {
    let key = format!("{group}/{instance}/{}", p.name);
    let mut step = Step::new(KIND, key, Action::Delete, Phase::Other);
    step.reason = format!("not in the manifest (--prune); it is {}", p.state);
    step.requests
        .push(Request::new("DELETE", path_of(group, instance, &p.name)));
    step.op = Some(Box::new(ProcessorOp {
        group: group.to_owned(),
        instance: instance.to_owned(),
        current: p.name.clone(),
        name: p.name.clone(),
        create: None,
        stop_first: false,
        patch: None,
        start_after: false,
        delete: true,
        state_declared: false,
    }));
    step
}

/// What push does for one processor, in this order: delete; or create; or
/// stop (and wait for it), PATCH, start (and wait for it).
#[derive(Debug)]
pub struct ProcessorOp {
    pub group: String,
    pub instance: String,
    /// Its name in Atlas now (the path of `:stop` and PATCH).
    pub current: String,
    /// Its name once done.
    pub name: String,
    pub create: Option<StreamProcessorInput>,
    pub stop_first: bool,
    pub patch: Option<StreamProcessorPatch>,
    pub start_after: bool,
    pub delete: bool,
    pub state_declared: bool,
}

/// `stream-processors update`: PATCHes processor `name` of instance `t` in
/// project `g`; a running processor is refused unless `restart` (then it is
/// stopped, patched and started again). Returns its final name and what was
/// done.
pub async fn update_by_hand(
    ctx: &Ctx,
    g: &str,
    t: &str,
    name: &str,
    patch: &StreamProcessorPatch,
    restart: bool,
) -> Result<(String, String), String> {
    let before = ctx
        .client
        .get_stream_processor(g, t, name)
        .await
        .map_err(|e| e.to_string())?;
    let running = before.state == api::state::STARTED;
    if running && !restart {
        return Err(format!(
            "stream processor {name} is STARTED and Atlas only modifies a stopped processor; \
             nothing was changed. Pass --restart to stop it, update it and start it again, \
             or stop it first (`atlas-cedar stream-processors stop --project-id {g} --instance {} {}`)",
            shell_word(t),
            shell_word(name)
        ));
    }
    let final_name = patch.name.clone().unwrap_or_else(|| name.to_owned());
    let op = ProcessorOp {
        group: g.to_owned(),
        instance: t.to_owned(),
        current: name.to_owned(),
        name: final_name.clone(),
        create: None,
        stop_first: running,
        patch: Some(patch.clone()),
        start_after: running,
        delete: false,
        state_declared: true,
    };
    let done = op.run(ctx).await.map_err(|e| match e {
        StepError::Other(m) => format!("stream processor {name}: {m}"),
        StepError::Api(e) => e.to_string(),
    })?;
    Ok((final_name, done))
}

/// How to start a processor by hand.
fn start_hint(group: &str, instance: &str, name: &str) -> String {
    format!(
        "atlas-cedar stream-processors start --project-id {group} --instance {} {}",
        shell_word(instance),
        shell_word(name)
    )
}

pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Waits until the processor is `STARTED` (`want_started`) or no longer
/// running; `FAILED` while starting is an error with Atlas's message.
pub async fn wait_state(
    ctx: &Ctx,
    group: &str,
    instance: &str,
    name: &str,
    want_started: bool,
) -> Result<StreamProcessor, StepError> {
    let what = format!(
        "stream processor {name} to be {}",
        if want_started { "STARTED" } else { "STOPPED" }
    );
    ctx.wait_for(&what, || async {
        let p = ctx
            .client
            .get_stream_processor(group, instance, name)
            .await?;
        let done = if want_started {
            if p.state == api::state::FAILED {
                return Err(StepError::Other(format!(
                    "it FAILED after :start: {}",
                    p.error_message().unwrap_or("Atlas gave no message")
                )));
            }
            p.state == api::state::STARTED
        } else {
            p.state != api::state::STARTED
        };
        Ok(done.then_some(p))
    })
    .await
}

impl ProcessorOp {
    pub async fn run(&self, ctx: &Ctx) -> Result<String, StepError> {
        let c = &ctx.client;
        let (g, t) = (self.group.as_str(), self.instance.as_str());
        if self.delete {
            c.delete_stream_processor(g, t, &self.current).await?;
            return Ok("deleted".to_owned());
        }
        let mut done: Vec<&str> = Vec::new();
        if let Some(input) = &self.create {
            // A lost answer: the client adopts the processor if it is there.
            c.create_stream_processor_or_adopt(g, t, input).await?;
            done.push("created");
        }
        let mut stopped_here = false;
        if self.stop_first {
            c.stop_stream_processor(g, t, &self.current).await?;
            if let Err(e) = wait_state(ctx, g, t, &self.current, false).await {
                if !self.start_after {
                    return Err(e);
                }
                return Err(StepError::Other(format!(
                    "{}; :stop was sent, so once it stops it stays STOPPED with its old \
                     definition: run push again, or start it with `{}`",
                    step_message(e),
                    start_hint(g, t, &self.current)
                )));
            }
            stopped_here = true;
            done.push("stopped");
        }
        if let Some(patch) = &self.patch {
            if let Err(e) = c.update_stream_processor(g, t, &self.current, patch).await {
                if stopped_here && self.start_after {
                    return Err(StepError::Other(format!(
                        "the update failed after the processor was stopped: {}. \
                         It was left STOPPED with its old definition; start it again with \
                         `{}`, or fix the manifest and run push again{}",
                        e.to_string().trim_end_matches('.'),
                        start_hint(g, t, &self.current),
                        if self.state_declared {
                            ""
                        } else {
                            " (with state = \"started\", so that push starts it)"
                        }
                    )));
                }
                return Err(e.into());
            }
            done.push("updated");
        }
        if self.start_after {
            let started = async {
                c.start_stream_processor(g, t, &self.name).await?;
                wait_state(ctx, g, t, &self.name, true).await
            };
            if let Err(e) = started.await {
                let e = match e {
                    StepError::Api(e) => e.to_string(),
                    StepError::Other(e) => e,
                };
                let so_far = if done.is_empty() {
                    String::new()
                } else {
                    format!(" (it was {})", done.join(", "))
                };
                return Err(StepError::Other(format!(
                    "starting it failed{so_far}: {e}; once fixed, start it with `{}` or run \
                     push again",
                    start_hint(g, t, &self.name)
                )));
            }
            done.push("started");
        }
        Ok(done.join(", "))
    }
}

impl Apply for ProcessorOp {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(self.run(ctx))
    }
}

/// Reads and checks a PATCH body file; errors name the file (and line and
/// column for JSON syntax).
pub fn read_patch_file(path: &std::path::Path) -> Result<StreamProcessorPatch, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{shown}:{}:{}: invalid JSON: {e}", e.line(), e.column()))?;
    let Value::Object(map) = &v else {
        return Err(format!(
            "{shown}: must hold a JSON object (the PATCH body: name, pipeline, options)"
        ));
    };
    for k in map.keys() {
        if !matches!(k.as_str(), "name" | "pipeline" | "options") {
            return Err(format!(
                "{shown}: unknown key {k:?}: the body may hold `name`, `pipeline` and `options`"
            ));
        }
    }
    match map.get("pipeline") {
        None => {}
        Some(Value::Array(stages)) => check_pipeline(stages, &format!("{shown}: pipeline"))?,
        Some(_) => {
            return Err(format!(
                "{shown}: `pipeline` must be an array of stages ([{{\"$source\": …}}, …])"
            ))
        }
    }
    if let Some(o) = map.get("options") {
        let Some(o) = o.as_object() else {
            return Err(format!("{shown}: `options` must be an object"));
        };
        for k in o.keys() {
            if !matches!(k.as_str(), "dlq" | "resumeFromCheckpoint") {
                return Err(format!(
                    "{shown}: unknown key options.{k}: options may hold `dlq` and \
                     `resumeFromCheckpoint`"
                ));
            }
        }
    }
    if map.is_empty() {
        return Err(format!("{shown}: the body is empty: nothing to update"));
    }
    serde_json::from_value(v).map_err(|e| format!("{shown}: {e}"))
}

pub fn step_message(e: StepError) -> String {
    match e {
        StepError::Api(e) => e.to_string(),
        StepError::Other(e) => e,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::path::Path;

    fn processor(state: &str, pipeline: Value) -> StreamProcessor {
        serde_json::from_value(json!({
            "_id": "32b6e34b3d91647abb20e7b8",
            "name": "orders",
            "pipeline": pipeline,
            "state": state,
            "options": {"dlq": {"coll": "c", "connectionName": "atlas", "db": "d", "links": []}},
        }))
        .unwrap()
    }

    fn wanted(text: &str) -> Result<Vec<Desired>, String> {
        let m = Manifest::parse(Path::new("atlas-cedar.toml"), text.to_owned())
            .map_err(|e| e.to_string())?;
        desired(&m).map_err(|e| e.to_string())
    }

    const P: &str = "[project]\nid = \"5f0000000000000000000000\"\n\n";

    #[test]
    fn inline_pipelines_and_errors_with_lines() {
        let ok = wanted(&format!(
            "{P}[[stream_processor]]\ninstance = \"t\"\nname = \"orders\"\nstate = \"started\"\n\
             pipeline = [{{ \"$source\" = {{ connectionName = \"k\" }} }}, {{ \"$match\" = {{ x = 1 }} }}]\n\
             options = {{ dlq = {{ connection_name = \"atlas\", db = \"d\", coll = \"c\" }} }}\n"
        ))
        .unwrap();
        assert_eq!(ok[0].pipeline[1], json!({"$match": {"x": 1}}));
        assert_eq!(ok[0].state, Some(RunState::Started));
        let e = wanted(&format!(
            "{P}[[stream_processor]]\ninstance = \"t\"\nname = \"a\"\n"
        ))
        .unwrap_err();
        assert!(e.starts_with("atlas-cedar.toml:4: "), "{e}");
        assert!(e.contains("no pipeline"), "{e}");
        let e = wanted(&format!(
            "{P}[[stream_processor]]\ninstance = \"t\"\nname = \"a\"\nstate = \"running\"\npipeline = []\n"
        ))
        .unwrap_err();
        assert!(e.contains("running"), "{e}");
    }

    #[test]
    fn a_rename_cannot_take_over_another_entry() {
        let e = wanted(&format!(
            "{P}[[stream_processor]]\ninstance = \"t\"\nname = \"a\"\npipeline = []\n\n\
             [[stream_processor]]\ninstance = \"t\"\nname = \"b\"\nrenamed_from = \"a\"\npipeline = []\n"
        ))
        .unwrap_err();
        assert!(e.starts_with("atlas-cedar.toml:9: "), "{e}");
        assert!(
            e.contains("names a processor another entry declares"),
            "{e}"
        );
    }

    #[test]
    fn stage_order_matters_key_order_does_not() {
        let d = wanted(&format!(
            "{P}[[stream_processor]]\ninstance = \"t\"\nname = \"orders\"\n\
             pipeline = [{{ \"$source\" = {{ a = 1, b = 2 }} }}, {{ \"$emit\" = {{}} }}]\n\
             options = {{ dlq = {{ connection_name = \"atlas\", db = \"d\", coll = \"c\" }} }}\n"
        ))
        .unwrap();
        let same = processor(
            "STARTED",
            json!([{"$source": {"b": 2, "a": 1}}, {"$emit": {}}]),
        );
        assert_eq!(update_step(&d[0], &same).action, Action::Unchanged);
        let swapped = processor(
            "STARTED",
            json!([{"$emit": {}}, {"$source": {"a": 1, "b": 2}}]),
        );
        let s = update_step(&d[0], &swapped);
        assert_eq!(s.action, Action::StopPatchStart);
        assert!(
            s.reason.contains("it is STARTED: stop, update, start"),
            "{}",
            s.reason
        );
        assert!(
            s.details.iter().any(|l| l.contains("pipeline[0]")),
            "{:?}",
            s.details
        );
        assert!(!s.warnings.is_empty());
        let stopped = processor("STOPPED", json!([{"$emit": {}}]));
        let s = update_step(&d[0], &stopped);
        assert_eq!(s.action, Action::Update);
        assert_eq!(s.requests.len(), 1, "{:?}", s.requests);
        assert_eq!(s.requests[0].method, "PATCH", "{:?}", s.requests);
    }

    #[test]
    fn patch_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.json");
        std::fs::write(&f, "{\"pipelines\": []}").unwrap();
        assert!(read_patch_file(&f)
            .unwrap_err()
            .contains("unknown key \"pipelines\""));
        std::fs::write(&f, "{\"pipeline\": {}}").unwrap();
        assert!(read_patch_file(&f)
            .unwrap_err()
            .contains("must be an array"));
        std::fs::write(&f, "{\n\"pipeline\": [,]}").unwrap();
        assert!(read_patch_file(&f).unwrap_err().contains("p.json:2:"));
        std::fs::write(&f, "{\"options\": {\"resumeFromCheckpoint\": false}}").unwrap();
        assert_eq!(
            read_patch_file(&f)
                .unwrap()
                .options
                .unwrap()
                .resume_from_checkpoint,
            Some(false)
        );
    }
}
