//! The Admin API resources: one module per kind, each holding the handlers
//! the route table ([`crate::routes::ROUTES`]) names.
//!
//! Objects are stored as the JSON Atlas returns, in the persisted state under
//! a key per kind and scope (`searchIndexes/{groupId}/{clusterName}`), so a
//! state file keeps them across restarts. Asynchronous states advance with
//! the number of reads ([`Ctx::poll`]).

pub(crate) mod api_keys;
pub(crate) mod export_buckets;
pub(crate) mod federation;
pub(crate) mod policies;
pub(crate) mod private_endpoints;
pub(crate) mod search;
pub(crate) mod streams;

use atlas_cedar_analysis::govern::{govern, NamedPolicy, Outcome};
use atlas_cedar_analysis::request::ResourceSpec;
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::lock;
use crate::routes::Params;
use crate::server::{Answer, Req, Scope, Shared};

/// What a kind's handler sees.
pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) req: &'a mut Req,
    pub(crate) scope: Scope,
    /// The segments the route's pattern captured.
    pub(crate) params: Params,
    /// The route's resource-policy action, if it declares one.
    pub(crate) action: Option<&'static str>,
}

impl Ctx<'_> {
    /// The organization the request is about: the org of an `/orgs/` path, or
    /// the emulator's organization for a project (every project belongs to it).
    pub(crate) fn org(&self) -> String {
        match &self.scope {
            Scope::Org(o) => o.clone(),
            Scope::Group(_) => self.shared.config.org_id.clone(),
        }
    }

    /// The path segment the route's pattern captured as `name` (raw).
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }

    pub(crate) fn body(&self) -> &str {
        &self.req.body
    }

    /// A query parameter (first occurrence, not percent-decoded).
    pub(crate) fn query(&self, name: &str) -> Option<String> {
        self.req.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then(|| v.to_owned())
        })
    }

    /// The objects stored under `key`.
    pub(crate) fn items(&self, key: &str) -> Vec<Value> {
        lock(&self.shared.state)
            .persisted
            .resources
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// Changes the objects under `key` and saves the state file.
    pub(crate) fn update<R>(&self, key: &str, f: impl FnOnce(&mut Vec<Value>) -> R) -> R {
        let mut st = lock(&self.shared.state);
        let list = st.persisted.resources.entry(key.to_owned()).or_default();
        let r = f(list);
        if st.persisted.resources.get(key).is_some_and(Vec::is_empty) {
            st.persisted.resources.remove(key);
        }
        self.shared.save(&st);
        r
    }

    /// Counts one more read of the asynchronous object `key`; returns the
    /// count including this one.
    pub(crate) fn poll(&self, key: &str) -> u32 {
        let mut st = lock(&self.shared.state);
        let n = st.polls.entry(key.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    /// Forgets the reads of `key` (the object was changed or re-created).
    pub(crate) fn reset_polls(&self, key: &str) {
        lock(&self.shared.state).polls.remove(key);
    }

    /// One page of `items` as Atlas answers a paginated list: `pageNum` from
    /// 1, `itemsPerPage` 1–500 (default 100), `includeCount` (default true).
    pub(crate) fn page(&self, items: Vec<Value>, version: &str) -> Answer {
        let page_num = match self.query("pageNum").map(|v| v.parse::<usize>()) {
            None => 1,
            Some(Ok(n)) if n >= 1 => n,
            Some(_) => return invalid_query("pageNum", "must be an integer from 1"),
        };
        let per_page = match self.query("itemsPerPage").map(|v| v.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=500).contains(&n) => n,
            Some(_) => return invalid_query("itemsPerPage", "must be an integer from 1 to 500"),
        };
        let include_count = self.query("includeCount").as_deref() != Some("false");
        let total = items.len();
        let start = (page_num - 1).saturating_mul(per_page);
        let results: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
        let path = self.req.path.clone();
        let mut links = vec![json!({
            "href": format!("{path}?pageNum={page_num}&itemsPerPage={per_page}"),
            "rel": "self",
        })];
        if start + per_page < total {
            links.push(json!({
                "href": format!("{path}?pageNum={}&itemsPerPage={per_page}", page_num + 1),
                "rel": "next",
            }));
        }
        let mut body = json!({ "results": results, "links": links });
        if let (true, Some(map)) = (include_count, body.as_object_mut()) {
            map.insert("totalCount".to_owned(), json!(total));
        }
        Answer::json(StatusCode::OK, body).with_version(version)
    }

    /// The organization's resource policies as Atlas would evaluate them.
    fn org_policies(&self) -> Vec<NamedPolicy> {
        let org = self.org();
        lock(&self.shared.state)
            .persisted
            .orgs
            .get(&org)
            .map(|ps| {
                ps.iter()
                    .map(|p| NamedPolicy {
                        name: p.name.clone(),
                        bodies: p.policies.iter().map(|b| b.body.clone()).collect(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Atlas's 403 when the organization's resource policies forbid the
    /// route's action on `resource` with `context` (as Atlas, the answer
    /// names no policy); `None` for a route that declares no action.
    pub(crate) fn enforce(&self, resource: &ResourceSpec, context: &Value) -> Option<Answer> {
        let action = self.action?;
        let policies = self.org_policies();
        if policies.is_empty() {
            return None;
        }
        let engine = self
            .shared
            .engine
            .get_or_init(|| atlas_cedar_core::Engine::builtin().ok())
            .as_ref()?;
        let verdict = govern(
            engine,
            &policies,
            action,
            resource,
            std::slice::from_ref(context),
            &[],
        );
        (verdict.outcome == Outcome::Refused).then(|| {
            Answer::error(
                StatusCode::FORBIDDEN,
                "ATLAS_RESOURCE_POLICIES_VIOLATION_NOT_AUTHORIZED",
                "The request was denied by one or more resource policies of the organization.",
            )
        })
    }
}

/// 400 for a bad query parameter.
pub(crate) fn invalid_query(name: &str, why: &str) -> Answer {
    Answer::error(
        StatusCode::BAD_REQUEST,
        "INVALID_QUERY_PARAMETER",
        &format!("Invalid query parameter {name}: {why}."),
    )
}

/// 404 `errorCode` with Atlas's detail.
pub(crate) fn not_found(code: &str, detail: &str) -> Answer {
    Answer::error(StatusCode::NOT_FOUND, code, detail)
}

/// 400 `INVALID_JSON` / field errors for a request body.
pub(crate) fn bad_request(code: &str, detail: &str) -> Answer {
    Answer::error(StatusCode::BAD_REQUEST, code, detail)
}

/// Parses a JSON request body, or answers 400 `INVALID_JSON`.
pub(crate) fn json_body(ctx: &Ctx<'_>) -> Result<Value, Answer> {
    serde_json::from_str::<Value>(ctx.body())
        .map_err(|e| bad_request("INVALID_JSON", &format!("Invalid JSON: {e}")))
}
