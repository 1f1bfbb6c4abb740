//! The route table: every Admin API operation the emulator answers, as
//! (method, path pattern, version, handler), plus the prefixes whose unknown
//! paths are still version-checked before their 404.
//!
//! A pattern is the path after `/api/atlas/v2`, one segment at a time: a
//! literal, `{name}` (any segment, captured), `{name}:suffix` (a segment
//! ending in `:suffix`, the rest captured) or, in a [`Mount`] only, a final
//! `**` (any number of segments). When several patterns match a path, the
//! one with the most literal characters wins (`…/{processorName}:start` over
//! `…/{processorName}`); a path whose winning pattern has no route for the
//! method is unknown (404).
//!
//! The middleware that runs before a handler is [`crate::middleware`]:
//! auth, faults, scope, rate limit, version, role.
//! Resource-policy enforcement is the handler's last check before it
//! changes anything (Atlas answers a bad body 400 before a policy 403): a
//! route that declares an `action` has its handler call [`Ctx::enforce`].

use hyper::Method;

use crate::resources::{
    api_keys, export_buckets, federation, policies, private_endpoints, search, streams, Ctx,
};
use crate::server::Answer;
use crate::RESOURCE_POLICY_VERSION;

/// The methods the Admin API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    fn of(method: &Method) -> Option<Verb> {
        match *method {
            Method::GET => Some(Verb::Get),
            Method::POST => Some(Verb::Post),
            Method::PATCH => Some(Verb::Patch),
            Method::DELETE => Some(Verb::Delete),
            _ => None,
        }
    }
}

pub(crate) type Handler = fn(&mut Ctx<'_>) -> Answer;

/// One operation.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) verb: Verb,
    pub(crate) path: &'static str,
    /// The media-type version the request must ask for (406 otherwise);
    /// every answer is labelled with it.
    pub(crate) version: &'static str,
    pub(crate) handler: Handler,
    /// Whether a success changes state: a `DropAfterApply` fault drops the
    /// connection after such a change (not after a read or a validation).
    pub(crate) applies: bool,
    /// The action the organization's resource policies are evaluated
    /// against before the change ([`Ctx::enforce`]).
    pub(crate) action: Option<&'static str>,
}

impl Route {
    const fn new(verb: Verb, path: &'static str, version: &'static str, handler: Handler) -> Self {
        Route {
            verb,
            path,
            version,
            handler,
            applies: !matches!(verb, Verb::Get),
            action: None,
        }
    }

    const fn get(path: &'static str, version: &'static str, handler: Handler) -> Self {
        Route::new(Verb::Get, path, version, handler)
    }

    const fn post(path: &'static str, version: &'static str, handler: Handler) -> Self {
        Route::new(Verb::Post, path, version, handler)
    }

    const fn patch(path: &'static str, version: &'static str, handler: Handler) -> Self {
        Route::new(Verb::Patch, path, version, handler)
    }

    const fn delete(path: &'static str, version: &'static str, handler: Handler) -> Self {
        Route::new(Verb::Delete, path, version, handler)
    }

    /// A `POST` that changes nothing (`resourcePolicies:validate`).
    const fn check(path: &'static str, version: &'static str, handler: Handler) -> Self {
        let mut r = Route::new(Verb::Post, path, version, handler);
        r.applies = false;
        r
    }

    const fn enforcing(mut self, action: &'static str) -> Self {
        self.action = Some(action);
        self
    }
}

/// A prefix whose paths no route answers are version-checked, then 404.
#[derive(Debug)]
pub(crate) struct Mount {
    pub(crate) prefix: &'static str,
    pub(crate) version: &'static str,
}

const RP: &str = RESOURCE_POLICY_VERSION;
const V2023: &str = "2023-01-01";
const V2024: &str = "2024-05-30";

const POLICY: &str = "/orgs/{orgId}/resourcePolicies/{resourcePolicyId}";
const KEY: &str = "/orgs/{orgId}/apiKeys/{apiUserId}";
const INDEXES: &str = "/groups/{groupId}/clusters/{clusterName}/search/indexes";
const INDEX: &str = "/groups/{groupId}/clusters/{clusterName}/search/indexes/{indexId}";
const INDEX_BY_NAME: &str = "/groups/{groupId}/clusters/{clusterName}/search/indexes/{databaseName}/{collectionName}/{indexName}";
const BUCKETS: &str = "/groups/{groupId}/backup/exportBuckets";
const BUCKET: &str = "/groups/{groupId}/backup/exportBuckets/{exportBucketId}";
const SERVICES: &str = "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService";
const SERVICE: &str =
    "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}";
const ENDPOINTS: &str =
    "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint";
const ENDPOINT: &str = "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint/{endpointId}";
const FEDERATION: &str = "/groups/{groupId}/privateNetworkSettings/endpointIds";
const FEDERATION_ONE: &str = "/groups/{groupId}/privateNetworkSettings/endpointIds/{endpointId}";
const PROCESSOR: &str = "/groups/{groupId}/streams/{tenantName}/processor/{processorName}";

const ENDPOINT_ACTION: &str = "project.privateEndpoint.modify";
const SEARCH_ACTION: &str = "search.index.modify";

/// Every operation the emulator answers.
pub(crate) static ROUTES: &[Route] = &[
    // Resource policies (organization).
    Route::get("/orgs/{orgId}/resourcePolicies", RP, policies::list),
    Route::post("/orgs/{orgId}/resourcePolicies", RP, policies::create),
    Route::check(
        "/orgs/{orgId}/resourcePolicies:validate",
        RP,
        policies::validate,
    ),
    Route::get(POLICY, RP, policies::get),
    Route::patch(POLICY, RP, policies::update),
    Route::delete(POLICY, RP, policies::delete),
    Route::get(
        "/orgs/{orgId}/nonCompliantResources",
        RP,
        policies::non_compliant,
    ),
    // Organization API keys.
    Route::get("/orgs/{orgId}/apiKeys", V2023, api_keys::list),
    Route::post("/orgs/{orgId}/apiKeys", V2023, api_keys::create),
    Route::get(KEY, V2023, api_keys::get),
    Route::patch(KEY, V2023, api_keys::patch),
    Route::delete(KEY, V2023, api_keys::delete),
    // Atlas Search indexes.
    Route::get(INDEXES, V2024, search::list),
    Route::post(INDEXES, V2024, search::create).enforcing(SEARCH_ACTION),
    Route::get(INDEX, V2024, search::get),
    Route::patch(INDEX, V2024, search::patch).enforcing(SEARCH_ACTION),
    Route::delete(INDEX, V2024, search::delete),
    Route::get(INDEX_BY_NAME, V2024, search::get_by_name),
    Route::patch(INDEX_BY_NAME, V2024, search::patch_by_name).enforcing(SEARCH_ACTION),
    Route::delete(INDEX_BY_NAME, V2024, search::delete_by_name),
    // Export buckets (the delete is an older version).
    Route::get(BUCKETS, V2024, export_buckets::list),
    Route::post(BUCKETS, V2024, export_buckets::create),
    Route::get(BUCKET, V2024, export_buckets::get),
    Route::patch(BUCKET, V2024, export_buckets::patch),
    Route::delete(BUCKET, V2023, export_buckets::delete),
    // Private endpoint services and their endpoints.
    Route::post(
        "/groups/{groupId}/privateEndpoint/endpointService",
        V2023,
        private_endpoints::create_service,
    )
    .enforcing(ENDPOINT_ACTION),
    Route::get(SERVICES, V2023, private_endpoints::list_services),
    Route::get(SERVICE, V2023, private_endpoints::get_service),
    Route::delete(SERVICE, V2023, private_endpoints::delete_service).enforcing(ENDPOINT_ACTION),
    Route::post(ENDPOINTS, V2023, private_endpoints::create_endpoint).enforcing(ENDPOINT_ACTION),
    Route::get(ENDPOINT, V2023, private_endpoints::get_endpoint),
    Route::delete(ENDPOINT, V2023, private_endpoints::delete_endpoint).enforcing(ENDPOINT_ACTION),
    // Data Federation private endpoints.
    Route::get(FEDERATION, V2023, federation::list),
    Route::post(FEDERATION, V2023, federation::upsert),
    Route::get(FEDERATION_ONE, V2023, federation::get),
    Route::delete(FEDERATION_ONE, V2023, federation::delete),
    // Stream processors.
    Route::get(
        "/groups/{groupId}/streams/{tenantName}/processors",
        V2024,
        streams::list,
    ),
    Route::post(
        "/groups/{groupId}/streams/{tenantName}/processor",
        V2024,
        streams::create,
    ),
    Route::get(PROCESSOR, V2024, streams::get),
    Route::patch(PROCESSOR, V2024, streams::patch),
    Route::delete(PROCESSOR, V2024, streams::delete),
    Route::post(
        "/groups/{groupId}/streams/{tenantName}/processor/{processorName}:start",
        V2024,
        streams::start,
    ),
    Route::post(
        "/groups/{groupId}/streams/{tenantName}/processor/{processorName}:stop",
        V2024,
        streams::stop,
    ),
];

/// Prefixes checked for their version even where no route matches.
pub(crate) static MOUNTS: &[Mount] = &[
    Mount {
        prefix: "/orgs/{orgId}/resourcePolicies/**",
        version: RP,
    },
    Mount {
        prefix: "/orgs/{orgId}/resourcePolicies:validate/**",
        version: RP,
    },
    Mount {
        prefix: "/orgs/{orgId}/nonCompliantResources/**",
        version: RP,
    },
    Mount {
        prefix: "/orgs/{orgId}/apiKeys",
        version: V2023,
    },
    Mount {
        prefix: KEY,
        version: V2023,
    },
    Mount {
        prefix: "/groups/{groupId}/clusters/{clusterName}/search/indexes/**",
        version: V2024,
    },
    Mount {
        prefix: "/groups/{groupId}/privateEndpoint/**",
        version: V2023,
    },
];

/// The segments a pattern captured, by name (raw, not percent-decoded).
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The captured segment `name` (empty when the pattern has none).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// What the table knows of a request.
#[derive(Debug)]
pub(crate) enum Lookup {
    Route(&'static Route, Params),
    /// No route, but under a mount of this version.
    Mounted(&'static str),
    Unknown,
}

/// One pattern segment against one path segment; the number of literal
/// characters matched, or `None`.
fn segment(
    pattern: &'static str,
    seg: &str,
    params: &mut Vec<(&'static str, String)>,
) -> Option<usize> {
    let Some(capture) = pattern.strip_prefix('{') else {
        return (pattern == seg).then_some(pattern.len());
    };
    let (name, suffix) = capture.split_once('}')?;
    let value = seg.strip_suffix(suffix)?;
    params.push((name, value.to_owned()));
    Some(suffix.len())
}

/// The captures and specificity of `pattern` on `segments`, if it matches.
fn matches(pattern: &'static str, segments: &[&str]) -> Option<(Params, usize)> {
    let mut params = Vec::new();
    let mut score = 0;
    let mut pats = pattern.trim_start_matches('/').split('/');
    let mut segs = segments.iter();
    loop {
        match (pats.next(), segs.next()) {
            (None, None) => return Some((Params(params), score)),
            (Some("**"), _) => return Some((Params(params), score)),
            (Some(p), Some(s)) => score += segment(p, s, &mut params)?,
            _ => return None,
        }
    }
}

/// The route for `method` on `path` (the part after `/api/atlas/v2/`).
pub(crate) fn lookup(method: &Method, path: &str) -> Lookup {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, &'static str)> = None;
    for r in ROUTES {
        if let Some((_, score)) = matches(r.path, &segments) {
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, r.path));
            }
        }
    }
    let verb = Verb::of(method);
    if let Some((_, pattern)) = best {
        let found = ROUTES
            .iter()
            .filter(|r| r.path == pattern && Some(r.verb) == verb)
            .find_map(|r| matches(r.path, &segments).map(|(p, _)| (r, p)));
        if let Some((route, params)) = found {
            return Lookup::Route(route, params);
        }
    }
    match MOUNTS
        .iter()
        .find(|m| matches(m.prefix, &segments).is_some())
    {
        Some(m) => Lookup::Mounted(m.version),
        None => Lookup::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A concrete path for a pattern: each capture becomes `<name>0`.
    fn sample(pattern: &str) -> String {
        pattern
            .trim_start_matches('/')
            .split('/')
            .map(
                |p| match p.strip_prefix('{').and_then(|c| c.split_once('}')) {
                    Some((name, suffix)) => format!("{name}0{suffix}"),
                    None => p.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/")
    }

    fn method(verb: Verb) -> Method {
        match verb {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Patch => Method::PATCH,
            Verb::Delete => Method::DELETE,
        }
    }

    #[test]
    fn no_two_routes_match_the_same_method_and_path() {
        for r in ROUTES {
            let path = sample(r.path);
            let segments: Vec<&str> = path.split('/').collect();
            let matching: Vec<&str> = ROUTES
                .iter()
                .filter(|o| o.verb == r.verb && matches(o.path, &segments).is_some())
                .map(|o| o.path)
                .collect();
            assert_eq!(matching, vec![r.path], "{:?} {path}", r.verb);
            match lookup(&method(r.verb), &path) {
                Lookup::Route(found, _) => assert!(std::ptr::eq(found, r), "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_route_declares_a_known_version_and_a_scope() {
        for r in ROUTES {
            assert!(
                crate::server::media_type(r.version).contains(r.version),
                "{} {}",
                r.path,
                r.version
            );
            assert!(
                r.path.starts_with("/orgs/{orgId}/") || r.path.starts_with("/groups/{groupId}/"),
                "{}",
                r.path
            );
        }
        for m in MOUNTS {
            assert!(crate::server::media_type(m.version).contains(m.version));
        }
    }

    #[test]
    fn the_most_literal_pattern_wins_and_mounts_answer_for_their_prefix() {
        let start = "groups/g/streams/t/processor/p:start";
        match lookup(&Method::POST, start) {
            Lookup::Route(r, params) => {
                assert!(r.path.ends_with(":start"));
                assert_eq!(params.get("processorName"), "p");
                assert_eq!(params.get("tenantName"), "t");
            }
            other => panic!("{other:?}"),
        }
        // A PATCH of `p:start` is no processor named so.
        assert!(matches!(lookup(&Method::PATCH, start), Lookup::Unknown));
        assert!(matches!(
            lookup(&Method::PUT, "orgs/o/resourcePolicies/x/y"),
            Lookup::Mounted(RP)
        ));
        assert!(matches!(
            lookup(&Method::PUT, "groups/g/backup/exportBuckets"),
            Lookup::Unknown
        ));
        assert!(matches!(
            lookup(&Method::POST, "orgs/o/resourcePolicies:validate"),
            Lookup::Route(Route { applies: false, .. }, _)
        ));
    }
}
