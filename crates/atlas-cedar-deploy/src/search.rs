//! Atlas Search and Vector Search indexes: the `[[search_index]]` section and
//! `atlas-cedar search-indexes get|list`.
//!
//! ```toml
//! [[search_index]]
//! cluster = "Cluster0"
//! database = "sample_mflix"
//! collection = "movies"
//! name = "default"
//! type = "search"                      # or "vectorSearch"; default "search"
//! definition = { mappings = { dynamic = true } }
//! # or: definition_file = "search/movies.json"   (relative to the manifest)
//! # replaces = "sample_mflix.films/default"      (see below)
//! # cloud_providers = ["aws"]                    (facts for policy verdicts)
//! # dedicated_search_nodes = false
//! ```
//!
//! - An index is identified by project, cluster, database, collection and
//!   name: an existing index with that key is adopted, no import step.
//! - A changed definition is an update (PATCH), shown as a semantic diff
//!   against Atlas's `latestDefinition`: keys the manifest leaves out are
//!   ignored there (Atlas fills in defaults such as `analyzer`), except field
//!   mappings (`…fields.<name>`), which Atlas never invents, so a field
//!   removed from the manifest shows as `-` and is sent.
//! - Name, database and collection cannot change in place. Since the
//!   manifest only says what should exist, an entry says which existing
//!   index it takes over with `replaces = "<database>.<collection>/<name>"`
//!   (database up to the first `.`, name after the last `/`) or
//!   `replaces = "<indexId>"`. The plan then shows `-/+ replace`, and push
//!   creates the new index, waits until it is `READY`, and only then deletes
//!   the old one (no moment without an index; if the build fails the old one
//!   stays). `replaces` may stay in the manifest: once the old index is gone
//!   it is ignored; it is also ignored, with a warning, when another entry
//!   declares (or already replaces) the index it names.
//! - A type change (`search` ↔ `vectorSearch`) cannot be PATCHed either: a
//!   replace that deletes the old index first (same name on the same
//!   collection), waits until it is gone, then creates; it is not started
//!   when the manifest's resource policies certainly refuse the new index.
//! - `--prune` deletes the indexes of the clusters the section mentions that
//!   no entry names (and only on those clusters).
//! - push waits until each created or changed index is `READY` (progress on
//!   stderr, `--wait-timeout`, `--poll-interval`); `FAILED` is reported with
//!   Atlas's message from `statusDetail`.
//! - Resource policies: creates and changes are evaluated locally against the
//!   manifest's policies for `search.index.modify` on the cluster. The tool
//!   does not know the cluster's cloud providers nor whether it has dedicated
//!   search nodes: every combination is tried, and the plan says "cannot
//!   tell" (naming `cluster.cloudProviders`, `search.hasDedicatedNodes`) when
//!   they disagree. `cloud_providers` and `dedicated_search_nodes` in the
//!   entry state those facts and make the verdict exact. `isAutoEmbed` is
//!   taken to be "a vectorSearch field has type `autoEmbed`".

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use atlas_cedar_analysis::govern::{provider_sets, Governed, Outcome};
use atlas_cedar_analysis::request::ResourceSpec;
use atlas_cedar_client::search::{
    check_cluster_name, index_path, indexes_path, status, SearchIndex, SearchIndexCreate,
    DUPLICATE_INDEX_CODES,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::jsondiff::{self, Mode};
use super::kind::{Kind, Listed, Owner, Section};
use super::{Action, Apply, BoxFuture, Ctx, Manifest, Phase, PlanError, Request, Step, StepError};

const KIND: &str = "search index";
const SECTION: &str = "search_index";
const ACTION: &str = "search.index.modify";
const API: &str = "/api/atlas/v2";

/// One `[[search_index]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    project_id: Option<String>,
    cluster: String,
    database: String,
    collection: String,
    name: String,
    #[serde(rename = "type")]
    index_type: Option<String>,
    definition: Option<Value>,
    definition_file: Option<String>,
    replaces: Option<String>,
    cloud_providers: Option<Vec<String>>,
    dedicated_search_nodes: Option<bool>,
}

/// Which existing index an entry takes over.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Id(String),
    Name {
        database: String,
        collection: String,
        name: String,
    },
}

impl Target {
    fn parse(s: &str) -> Option<Target> {
        let s = s.trim();
        if s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(Target::Id(s.to_ascii_lowercase()));
        }
        let (ns, name) = s.rsplit_once('/')?;
        let (database, collection) = ns.split_once('.')?;
        if database.is_empty() || collection.is_empty() || name.is_empty() {
            return None;
        }
        Some(Target::Name {
            database: database.to_owned(),
            collection: collection.to_owned(),
            name: name.to_owned(),
        })
    }

    fn matches(&self, i: &SearchIndex) -> bool {
        match self {
            Target::Id(id) => i.index_id.eq_ignore_ascii_case(id),
            Target::Name {
                database,
                collection,
                name,
            } => &i.database == database && &i.collection_name == collection && &i.name == name,
        }
    }
}

/// A checked entry.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    line: usize,
    project: String,
    cluster: String,
    database: String,
    collection: String,
    name: String,
    kind: String,
    definition: Value,
    replaces: Option<Target>,
    providers: Option<Vec<String>>,
    dedicated: Option<bool>,
}

impl Desired {
    fn key(&self) -> String {
        format!(
            "{}/{}/{}.{}/{}",
            self.project, self.cluster, self.database, self.collection, self.name
        )
    }

    fn is(&self, i: &SearchIndex) -> bool {
        i.database == self.database && i.collection_name == self.collection && i.name == self.name
    }

    fn body(&self) -> SearchIndexCreate {
        SearchIndexCreate {
            collection_name: self.collection.clone(),
            database: self.database.clone(),
            name: self.name.clone(),
            index_type: self.kind.clone(),
            definition: self.definition.clone(),
        }
    }
}

fn remote_key(project: &str, cluster: &str, i: &SearchIndex) -> String {
    format!(
        "{project}/{cluster}/{}.{}/{}",
        i.database, i.collection_name, i.name
    )
}

/// Reads and checks the section; errors name the file and line.
fn desired(manifest: &Manifest, entries: Vec<Entry>) -> Result<Vec<Desired>, PlanError> {
    let mut out: Vec<Desired> = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let line = manifest.line_of(SECTION, i);
        let at = |msg: String| manifest.entry_error(SECTION, i, msg);
        let project = manifest.project_id(e.project_id.as_deref(), SECTION, i)?;
        check_cluster_name(&e.cluster).map_err(|m| at(m.to_string()))?;
        for (what, v) in [
            ("database", &e.database),
            ("collection", &e.collection),
            ("name", &e.name),
        ] {
            if v.trim().is_empty() {
                return Err(at(format!("`{what}` is empty")));
            }
        }
        if e.database.contains('.') {
            return Err(at(format!(
                "database {:?} holds a '.', which MongoDB does not allow",
                e.database
            )));
        }
        let kind = e.index_type.unwrap_or_else(|| "search".to_owned());
        if kind != "search" && kind != "vectorSearch" {
            return Err(at(format!(
                "type {kind:?} is not one of \"search\", \"vectorSearch\""
            )));
        }
        let definition = match (e.definition, e.definition_file) {
            (Some(d), None) => d,
            (None, Some(f)) => manifest.read_json(&f)?,
            (Some(_), Some(_)) => {
                return Err(at(
                    "give either `definition` or `definition_file`, not both".to_owned()
                ))
            }
            (None, None) => {
                return Err(at(
                    "missing the definition: add `definition = { … }` or `definition_file = \"….json\"`"
                        .to_owned(),
                ))
            }
        };
        if !definition.is_object() {
            return Err(at("the definition must be a JSON object".to_owned()));
        }
        let replaces = match e.replaces.as_deref() {
            None => None,
            Some(r) => Some(Target::parse(r).ok_or_else(|| {
                at(format!(
                    "replaces = {r:?}: write \"<database>.<collection>/<name>\" or a 24-hex index id"
                ))
            })?),
        };
        if let Some(ps) = &e.cloud_providers {
            if ps.is_empty() {
                return Err(at("cloud_providers is empty".to_owned()));
            }
            if let Some(bad) = ps
                .iter()
                .find(|p| !matches!(p.as_str(), "aws" | "azure" | "gcp"))
            {
                return Err(at(format!(
                    "cloud provider {bad:?} is not one of \"aws\", \"azure\", \"gcp\""
                )));
            }
        }
        let d = Desired {
            line,
            project,
            cluster: e.cluster,
            database: e.database,
            collection: e.collection,
            name: e.name,
            kind,
            definition,
            replaces,
            providers: e.cloud_providers,
            dedicated: e.dedicated_search_nodes,
        };
        if let Some(other) = out.iter().find(|o| o.key() == d.key()) {
            return Err(at(format!(
                "search index {} is already declared at line {}",
                d.key(),
                other.line
            )));
        }
        out.push(d);
    }
    Ok(out)
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Field mappings (`…fields.<name>` objects) present in Atlas and not in the
/// manifest: Atlas never adds those, so they are real removals.
fn removed_fields(path: &str, remote: &Value, desired: &Value, out: &mut Vec<String>) {
    match (remote, desired) {
        (Value::Object(r), Value::Object(d)) => {
            for (k, dv) in d {
                let Some(rv) = r.get(k) else { continue };
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k == "fields" {
                    if let (Value::Object(rf), Value::Object(df)) = (rv, dv) {
                        for (name, v) in rf {
                            if !df.contains_key(name) {
                                out.push(format!("- {p}.{name}: {}", show(v)));
                            }
                        }
                    }
                }
                removed_fields(&p, rv, dv, out);
            }
        }
        (Value::Array(r), Value::Array(d)) => {
            for (i, (rv, dv)) in r.iter().zip(d).enumerate() {
                removed_fields(&format!("{path}[{i}]"), rv, dv, out);
            }
        }
        _ => {}
    }
}

/// What changes from Atlas's `latestDefinition` to the manifest's definition.
fn definition_diff(remote: &Value, desired: &Value) -> Vec<String> {
    let mut lines = jsondiff::diff(remote, desired, Mode::DesiredKeysOnly);
    removed_fields("", remote, desired, &mut lines);
    lines
}

/// What a create sends: the type and each top-level key of the definition.
fn creation_details(d: &Desired) -> Vec<String> {
    let mut lines = vec![format!("+ type: {:?}", d.kind)];
    lines.extend(jsondiff::diff(&json!({}), &d.definition, Mode::Exact));
    lines
}

fn is_auto_embed(kind: &str, definition: &Value) -> bool {
    kind == "vectorSearch"
        && definition
            .get("fields")
            .and_then(Value::as_array)
            .is_some_and(|f| {
                f.iter()
                    .any(|x| x.get("type").and_then(Value::as_str) == Some("autoEmbed"))
            })
}

/// Evaluates the change against the manifest's resource policies, trying
/// every value of the facts the entry does not state. Returns the policies
/// when Atlas will certainly refuse the change.
fn govern(ctx: &Ctx, cache: &mut Verdicts, step: &mut Step, d: &Desired) -> Vec<String> {
    if ctx.policies.is_empty() {
        return Vec::new();
    }
    let auto = is_auto_embed(&d.kind, &d.definition);
    // Entries with the same facts get the same verdict: evaluate once.
    let key = format!("{}|{auto}|{:?}|{:?}", d.project, d.providers, d.dedicated);
    let verdict = match cache.get(&key) {
        Some(v) => v.clone(),
        None => {
            let v = evaluate(ctx, d, auto);
            cache.insert(key, v.clone());
            v
        }
    };
    step.governed(&verdict, ACTION);
    if verdict.outcome == Outcome::Refused {
        verdict.policies
    } else {
        Vec::new()
    }
}

/// Verdicts by project and facts, for one plan.
type Verdicts = BTreeMap<String, Governed>;

fn evaluate(ctx: &Ctx, d: &Desired, auto: bool) -> Governed {
    let mut unknown = Vec::new();
    let providers: Vec<Vec<String>> = match &d.providers {
        Some(p) => vec![p.clone()],
        None => {
            unknown.push("cluster.cloudProviders");
            provider_sets()
                .into_iter()
                .map(|s| s.into_iter().map(str::to_owned).collect())
                .collect()
        }
    };
    let dedicated: Vec<bool> = match d.dedicated {
        Some(b) => vec![b],
        None => {
            unknown.push("search.hasDedicatedNodes");
            vec![false, true]
        }
    };
    let mut contexts = Vec::new();
    for p in &providers {
        for n in &dedicated {
            contexts.push(json!({
                "cluster": {"cloudProviders": p},
                "search": {"hasDedicatedNodes": n, "index": {"isAutoEmbed": auto}},
            }));
        }
    }
    let resource = ResourceSpec {
        ty: Some("Cluster".to_owned()),
        id: None,
        project: Some(d.project.clone()),
    };
    ctx.govern(ACTION, &resource, &contexts, &unknown)
}

fn post_request(d: &Desired) -> Vec<Request> {
    let path = indexes_path(&d.project, &d.cluster).unwrap_or_default();
    vec![Request::json("POST", format!("{API}{path}"), &d.body())]
}

fn patch_request(d: &Desired, id: &str) -> Vec<Request> {
    let path = index_path(&d.project, &d.cluster, id).unwrap_or_default();
    let body = json!({"definition": d.definition});
    vec![Request::json("PATCH", format!("{API}{path}"), &body)]
}

fn delete_request(project: &str, cluster: &str, id: &str) -> Request {
    let path = index_path(project, cluster, id).unwrap_or_default();
    Request::new("DELETE", format!("{API}{path}"))
}

/// `[[search_index]]`: one list per cluster the section mentions; an index
/// is its (database, collection, name), and an entry may take over another
/// one (`replaces`) that no other entry names.
#[derive(Default)]
pub(crate) struct Indexes {
    /// Verdicts by project and facts, for this plan.
    verdicts: Verdicts,
}

impl Kind for Indexes {
    type Desired = Desired;
    type Remote = SearchIndex;
    /// (project, cluster)
    type Scope = (String, String);

    fn scope(&self, d: &Desired) -> (String, String) {
        (d.project.clone(), d.cluster.clone())
    }

    async fn list(
        &mut self,
        ctx: &Ctx,
        (p, c): &(String, String),
        _prune: bool,
    ) -> Result<Vec<SearchIndex>, PlanError> {
        ctx.client.list_search_indexes(p, c).await.map_err(|e| {
            PlanError::atlas(format!("search indexes of cluster {c} in project {p}"), e)
        })
    }

    fn is(&self, d: &Desired, r: &SearchIndex) -> bool {
        d.is(r)
    }

    async fn steps(
        &mut self,
        ctx: &Ctx,
        _scope: &(String, String),
        d: &Desired,
        natural: Option<&SearchIndex>,
        listed: &mut Listed<'_, SearchIndex>,
    ) -> Result<Vec<Step>, PlanError> {
        let mut ignored = None;
        let mut replaced = None;
        let target = d
            .replaces
            .as_ref()
            .and_then(|t| listed.find(|i| t.matches(i)).map(|(i, _)| i));
        if let Some(i) = target {
            match listed.owner(i) {
                // The entry's own index.
                Owner::Me => {}
                Owner::Other => {
                    if let Some(old) = listed.items().get(i) {
                        ignored = Some(format!(
                            "`replaces` is ignored: {} (id {}) is declared or replaced by another \
                             entry; remove `replaces` from this one",
                            remote_key(&d.project, &d.cluster, old),
                            old.index_id
                        ));
                    }
                }
                Owner::Nobody => {
                    listed.claim(i);
                    replaced = listed.items().get(i);
                }
            }
        }
        let mut own = step_for(ctx, &mut self.verdicts, d, natural, replaced);
        if let (Some(w), Some(first)) = (ignored, own.first_mut()) {
            first.warnings.push(w);
        }
        Ok(own)
    }

    fn delete(
        &mut self,
        _ctx: &Ctx,
        (p, c): &(String, String),
        i: &SearchIndex,
        _planned: &[Step],
    ) -> Option<Step> {
        let mut s = Step::new(KIND, remote_key(p, c, i), Action::Delete, Phase::Indexes);
        s.reason = format!("not in the manifest (--prune), id {}", i.index_id);
        s.requests = vec![delete_request(p, c, &i.index_id)];
        s.op = Some(Box::new(DeleteOp {
            project: p.clone(),
            cluster: c.clone(),
            id: i.index_id.clone(),
        }));
        Some(s)
    }
}

impl Section for Indexes {
    fn desired(&mut self, manifest: &Manifest) -> Result<Vec<Desired>, PlanError> {
        desired(manifest, manifest.section(SECTION)?)
    }
}

/// The step(s) of one entry: its own, and the deletion of an index it
/// replaced when a previous push created the new one but did not finish.
fn step_for(
    ctx: &Ctx,
    cache: &mut Verdicts,
    d: &Desired,
    natural: Option<&SearchIndex>,
    replaced: Option<&SearchIndex>,
) -> Vec<Step> {
    let key = d.key();
    let mut out = Vec::new();
    match natural {
        Some(r) if r.kind() != d.kind => {
            let mut s = Step::new(KIND, key.clone(), Action::Replace, Phase::Indexes);
            s.reason = format!("type {} → {}", r.kind(), d.kind);
            s.details = creation_details(d);
            s.details.push(format!(
                "the index (id {}) is deleted first: the type cannot change in place",
                r.index_id
            ));
            s.requests = vec![delete_request(&d.project, &d.cluster, &r.index_id)];
            s.requests.extend(post_request(d));
            let refused_by = govern(ctx, cache, &mut s, d);
            s.op = Some(Box::new(ReplaceOp {
                desired: d.clone(),
                old_id: r.index_id.clone(),
                delete_first: true,
                refused_by,
            }));
            out.push(s);
        }
        Some(r) => {
            let diff = definition_diff(&r.latest_definition, &d.definition);
            if diff.is_empty() {
                let mut s = Step::new(KIND, key.clone(), Action::Unchanged, Phase::Indexes);
                if r.status() != status::READY && !r.status().is_empty() {
                    s.warnings
                        .push(format!("the index is {} in Atlas", r.status()));
                }
                out.push(s);
            } else {
                let mut s = Step::new(KIND, key.clone(), Action::Update, Phase::Indexes);
                s.reason = format!("definition, id {}", r.index_id);
                s.details = diff;
                s.requests = patch_request(d, &r.index_id);
                govern(ctx, cache, &mut s, d);
                s.op = Some(Box::new(UpdateOp {
                    desired: d.clone(),
                    id: r.index_id.clone(),
                }));
                out.push(s);
            }
        }
        None => match replaced {
            Some(old) => {
                let mut s = Step::new(KIND, key.clone(), Action::Replace, Phase::Indexes);
                let mut why = Vec::new();
                if old.database != d.database {
                    why.push(format!("database {} → {}", old.database, d.database));
                }
                if old.collection_name != d.collection {
                    why.push(format!(
                        "collection {} → {}",
                        old.collection_name, d.collection
                    ));
                }
                if old.name != d.name {
                    why.push(format!("name {} → {}", old.name, d.name));
                }
                if old.kind() != d.kind {
                    why.push(format!("type {} → {}", old.kind(), d.kind));
                }
                s.reason = why.join(", ");
                s.details = if old.kind() == d.kind {
                    definition_diff(&old.latest_definition, &d.definition)
                } else {
                    creation_details(d)
                };
                s.details.push(format!(
                    "replaces {} (id {}), deleted once the new index is READY",
                    remote_key(&d.project, &d.cluster, old),
                    old.index_id
                ));
                s.requests = post_request(d);
                s.requests
                    .push(delete_request(&d.project, &d.cluster, &old.index_id));
                govern(ctx, cache, &mut s, d);
                s.op = Some(Box::new(ReplaceOp {
                    desired: d.clone(),
                    old_id: old.index_id.clone(),
                    delete_first: false,
                    refused_by: Vec::new(),
                }));
                out.push(s);
            }
            None => {
                let mut s = Step::new(KIND, key.clone(), Action::Create, Phase::Indexes);
                s.details = creation_details(d);
                s.requests = post_request(d);
                govern(ctx, cache, &mut s, d);
                s.op = Some(Box::new(CreateOp { desired: d.clone() }));
                out.push(s);
            }
        },
    }
    // The index this entry replaces still exists next to the new one (a
    // replace that stopped half-way): finish it.
    if let (Some(_), Some(old)) = (natural, replaced) {
        let own = out.first().map(Step::id);
        let mut s = Step::new(
            KIND,
            remote_key(&d.project, &d.cluster, old),
            Action::Delete,
            Phase::Indexes,
        );
        s.reason = format!("replaced by {key} (id {})", old.index_id);
        s.requests = vec![delete_request(&d.project, &d.cluster, &old.index_id)];
        if let Some(own) = own.filter(|_| out.iter().any(|x| x.action.is_change())) {
            s.after.push(own);
        }
        s.op = Some(Box::new(DeleteOp {
            project: d.project.clone(),
            cluster: d.cluster.clone(),
            id: old.index_id.clone(),
        }));
        out.push(s);
    }
    out
}

/// POST under the client's create policy (a lost answer: the index is
/// looked up by name before the POST is sent again).
async fn create(ctx: &Ctx, d: &Desired) -> Result<(SearchIndex, bool), StepError> {
    match ctx
        .client
        .create_search_index_or_adopt(&d.project, &d.cluster, &d.body())
        .await
    {
        Ok(made) => Ok(made),
        Err(e)
            if e.error_code()
                .is_some_and(|c| DUPLICATE_INDEX_CODES.contains(&c)) =>
        {
            Err(StepError::Other(format!(
                "Atlas says an index of that name already exists ({e}); it was created since \
                 the plan was made: run plan again"
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads the index until it is `READY` with no build left in the background
/// and, after a PATCH, every host serving definition version `version` or
/// later (so a read that still shows the old, ready definition does not end
/// the wait); `FAILED` and `STALE` end the wait with Atlas's message.
/// Returns the number of reads.
async fn wait_ready(
    ctx: &Ctx,
    d: &Desired,
    id: &str,
    version: Option<u64>,
) -> Result<u32, StepError> {
    let last = Mutex::new(String::new());
    let reads = AtomicU32::new(0);
    let (last, reads) = (&last, &reads);
    let what = format!("search index {} (id {id}) to be READY", d.key());
    ctx.wait_for(&what, move || async move {
        reads.fetch_add(1, Ordering::Relaxed);
        let i = ctx
            .client
            .get_search_index(&d.project, &d.cluster, id)
            .await?;
        let now = i.status().to_owned();
        let changed = {
            let mut l = last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let changed = *l != now;
            l.clone_from(&now);
            changed
        };
        if changed {
            ctx.note(&format!("search index {}: {now}", d.key()));
        }
        let messages = i.messages().join("; ");
        let said = if messages.is_empty() {
            "Atlas gave no message".to_owned()
        } else {
            messages
        };
        match now.as_str() {
            status::READY
                if !i.has_staged_build() && version.is_none_or(|v| i.serves_version(v)) =>
            {
                Ok(Some(()))
            }
            status::FAILED => Err(StepError::Other(format!(
                "Atlas could not build the index (id {id}): FAILED: {said}"
            ))),
            status::STALE => Err(StepError::Other(format!(
                "the index (id {id}) is STALE: queryable but no longer replicating: {said}"
            ))),
            status::DELETING | status::DOES_NOT_EXIST => Err(StepError::Other(format!(
                "the index (id {id}) is {now}: it was deleted while push waited"
            ))),
            _ => Ok(None),
        }
    })
    .await?;
    Ok(reads.load(Ordering::Relaxed))
}

fn reads_word(n: u32) -> String {
    format!("{n} read{}", if n == 1 { "" } else { "s" })
}

#[derive(Debug)]
struct CreateOp {
    desired: Desired,
}

impl Apply for CreateOp {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            let d = &self.desired;
            let (i, adopted) = create(ctx, d).await?;
            let n = wait_ready(ctx, d, &i.index_id, None).await?;
            Ok(format!(
                "{} (id {}), READY after {}",
                if adopted {
                    "created (its answer was lost; found by name)"
                } else {
                    "created"
                },
                i.index_id,
                reads_word(n)
            ))
        })
    }
}

#[derive(Debug)]
struct UpdateOp {
    desired: Desired,
    id: String,
}

impl Apply for UpdateOp {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            let d = &self.desired;
            let patched = ctx
                .client
                .update_search_index(&d.project, &d.cluster, &self.id, &d.definition)
                .await?;
            let n = wait_ready(ctx, d, &self.id, patched.definition_version()).await?;
            Ok(format!(
                "definition updated (id {}), READY after {}",
                self.id,
                reads_word(n)
            ))
        })
    }
}

#[derive(Debug)]
struct ReplaceOp {
    desired: Desired,
    old_id: String,
    /// Same name on the same collection (a type change): the old index must
    /// go first.
    delete_first: bool,
    /// Resource policies that refuse the new index in every context: a
    /// delete-first replace is then not started (it would only delete).
    refused_by: Vec<String>,
}

impl ReplaceOp {
    async fn delete_and_wait_gone(&self, ctx: &Ctx) -> Result<(), StepError> {
        let d = &self.desired;
        ctx.client
            .delete_search_index(&d.project, &d.cluster, &self.old_id)
            .await?;
        let what = format!("search index {} (id {}) to be gone", d.key(), self.old_id);
        ctx.wait_for(&what, || async {
            match ctx
                .client
                .get_search_index(&d.project, &d.cluster, &self.old_id)
                .await
            {
                Err(e) if e.status() == Some(404) => Ok(Some(())),
                Err(e) => Err(e.into()),
                Ok(_) => Ok(None),
            }
        })
        .await
    }
}

impl Apply for ReplaceOp {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            let d = &self.desired;
            if self.delete_first && !self.refused_by.is_empty() {
                return Err(StepError::Other(format!(
                    "not started: resource policy {} forbids `{ACTION}` for the new index, and \
                     the old one (id {}) would have been deleted first; nothing was changed",
                    self.refused_by
                        .iter()
                        .map(|p| format!("{p:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.old_id
                )));
            }
            if self.delete_first {
                self.delete_and_wait_gone(ctx).await?;
                let (i, _) = create(ctx, d).await?;
                let n = wait_ready(ctx, d, &i.index_id, None).await.map_err(|e| {
                    StepError::Other(format!(
                        "the old index (id {}) was deleted; the new one (id {}): {}",
                        self.old_id,
                        i.index_id,
                        describe(e)
                    ))
                })?;
                return Ok(format!(
                    "deleted id {}, created id {}, READY after {}",
                    self.old_id,
                    i.index_id,
                    reads_word(n)
                ));
            }
            let (i, _) = create(ctx, d).await?;
            let n = wait_ready(ctx, d, &i.index_id, None).await.map_err(|e| {
                StepError::Other(format!(
                    "{}; the old index (id {}) was kept",
                    describe(e),
                    self.old_id
                ))
            })?;
            ctx.client
                .delete_search_index(&d.project, &d.cluster, &self.old_id)
                .await?;
            Ok(format!(
                "created id {}, READY after {}, then deleted the old index id {}",
                i.index_id,
                reads_word(n),
                self.old_id
            ))
        })
    }
}

fn describe(e: StepError) -> String {
    match e {
        StepError::Api(e) => e.to_string(),
        StepError::Other(s) => s,
    }
}

#[derive(Debug)]
struct DeleteOp {
    project: String,
    cluster: String,
    id: String,
}

impl Apply for DeleteOp {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            ctx.client
                .delete_search_index(&self.project, &self.cluster, &self.id)
                .await?;
            Ok(format!("deleted (id {})", self.id))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn replaces_parses_names_and_ids() {
        assert_eq!(
            Target::parse("mflix.old.films/default"),
            Some(Target::Name {
                database: "mflix".to_owned(),
                collection: "old.films".to_owned(),
                name: "default".to_owned()
            })
        );
        assert_eq!(
            Target::parse("65F0A1B2C3D4E5F6A7B8C9D0"),
            Some(Target::Id("65f0a1b2c3d4e5f6a7b8c9d0".to_owned()))
        );
        assert_eq!(Target::parse("movies/default"), None);
        assert_eq!(Target::parse("db./x"), None);
    }

    #[test]
    fn defaults_are_ignored_but_removed_field_mappings_are_not() {
        let remote = json!({
            "analyzer": "lucene.standard", "numPartitions": 1,
            "mappings": {"dynamic": false, "fields": {
                "title": {"type": "string"},
                "meta": {"type": "document", "fields": {"a": {"type": "token"}, "b": {"type": "token"}}}
            }}
        });
        let same = json!({"mappings": {"dynamic": false, "fields": {
            "title": {"type": "string"},
            "meta": {"type": "document", "fields": {"a": {"type": "token"}, "b": {"type": "token"}}}
        }}});
        assert!(definition_diff(&remote, &same).is_empty());
        let fewer = json!({"mappings": {"dynamic": false, "fields": {
            "meta": {"type": "document", "fields": {"a": {"type": "token"}}}
        }}});
        assert_eq!(
            definition_diff(&remote, &fewer),
            vec![
                "- mappings.fields.title: {\"type\":\"string\"}".to_owned(),
                "- mappings.fields.meta.fields.b: {\"type\":\"token\"}".to_owned()
            ]
        );
    }

    #[test]
    fn auto_embed() {
        let d = json!({"fields": [{"type": "vector", "path": "v"}, {"type": "autoEmbed", "path": "plot"}]});
        assert!(is_auto_embed("vectorSearch", &d));
        assert!(!is_auto_embed("vectorSearch", &json!({"fields": []})));
    }
}
