//! Requests written the way people think of them — plain strings for entity ids and
//! IP ranges — turned into Cedar requests, checked against the action's schema.
//!
//! The conversion walks the context alongside the schema's model of the action
//! ([`atlas_cedar_core::schema::ActionInfo`]): where the schema says an attribute is an
//! entity (or a set of entities) a string becomes that entity, where it says `ipaddr`
//! a string (`"10.0.0.0/8"` or `"ip(\"10.0.0.0/8\")"`) becomes an IP value. Unknown
//! and missing attributes, wrong types and ids Atlas does not know are reported with
//! their path (`context.cluster.regionz`), then Cedar validates the whole request
//! against the schema as well: a typo never passes silently.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use atlas_cedar_core::catalog::{did_you_mean, Catalog};
use atlas_cedar_core::schema::{ActionInfo, AttrType, Attribute, NamespaceSchema};
use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression,
};
use serde_json::{json, Map, Value};

use crate::policies::error_chain;

/// The default project id when a test names none.
pub const DEFAULT_PROJECT_ID: &str = "5f0000000000000000000000";
/// The default cluster id when a test names none.
pub const DEFAULT_CLUSTER_ID: &str = "5f0000000000000000000001";

/// The resource of a request: a cluster (in a project) or a project.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// `Cluster` or `Project`; defaults to the action's resource type.
    #[serde(rename = "type", default)]
    pub ty: Option<String>,
    /// A 24-hex ObjectId; a fixed default when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// For a cluster: the project it is in (a fixed default when absent).
    #[serde(default)]
    pub project: Option<String>,
}

/// A request as written in a test file or produced by the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    /// The action id without namespace (`cluster.modify`).
    pub action: String,
    pub resource: ResourceSpec,
    /// The context record with plain strings for entities and IP ranges.
    pub context: Value,
}

/// A request ready for Cedar's authorizer.
#[derive(Debug)]
pub struct BuiltRequest {
    pub request: Request,
    pub entities: Entities,
}

/// Builds the Cedar request; every problem is reported, each on its own line.
pub fn build_request(
    ns: &NamespaceSchema,
    catalog: &Catalog,
    spec: &RequestSpec,
) -> Result<BuiltRequest, Vec<String>> {
    build(ns, catalog, spec, false)
}

/// [`build_request`] for requests the analysis enumerates by the thousand: the
/// context is built directly as Cedar values instead of through Cedar's JSON parser
/// (most of the cost of enumerating a request space). The same checks apply: the
/// conversion above, then Cedar validates the whole request against the schema. A
/// value it does not know falls back to the JSON parser.
pub fn build_request_fast(
    ns: &NamespaceSchema,
    catalog: &Catalog,
    spec: &RequestSpec,
) -> Result<BuiltRequest, Vec<String>> {
    build(ns, catalog, spec, true)
}

/// A converted context value (entities and extension values in Cedar's explicit
/// `__entity` / `__extn` form) as a Cedar expression; `None` for anything else.
fn restricted(v: &Value) -> Option<RestrictedExpression> {
    Some(match v {
        Value::Bool(b) => RestrictedExpression::new_bool(*b),
        Value::Number(n) => RestrictedExpression::new_long(n.as_i64()?),
        Value::String(s) => RestrictedExpression::new_string(s.clone()),
        Value::Array(items) => {
            RestrictedExpression::new_set(items.iter().map(restricted).collect::<Option<Vec<_>>>()?)
        }
        Value::Object(o) => {
            if let Some(e) = o.get("__entity") {
                let ty = EntityTypeName::from_str(e.get("type")?.as_str()?).ok()?;
                let id = EntityId::new(e.get("id")?.as_str()?);
                RestrictedExpression::new_entity_uid(EntityUid::from_type_name_and_id(ty, id))
            } else if let Some(x) = o.get("__extn") {
                let arg = x.get("arg")?.as_str()?;
                match x.get("fn")?.as_str()? {
                    "ip" => RestrictedExpression::new_ip(arg),
                    "decimal" => RestrictedExpression::new_decimal(arg),
                    _ => return None,
                }
            } else {
                RestrictedExpression::new_record(
                    o.iter()
                        .map(|(k, v)| Some((k.clone(), restricted(v)?)))
                        .collect::<Option<Vec<_>>>()?,
                )
                .ok()?
            }
        }
        Value::Null => return None,
    })
}

fn fast_context(v: &Value) -> Option<Context> {
    let Value::Object(o) = v else { return None };
    let pairs = o
        .iter()
        .map(|(k, v)| Some((k.clone(), restricted(v)?)))
        .collect::<Option<Vec<_>>>()?;
    Context::from_pairs(pairs).ok()
}

fn build(
    ns: &NamespaceSchema,
    catalog: &Catalog,
    spec: &RequestSpec,
    fast: bool,
) -> Result<BuiltRequest, Vec<String>> {
    let Some(action) = ns.actions.get(&spec.action) else {
        let hint = did_you_mean(&spec.action, ns.actions.keys().map(String::as_str))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(vec![format!(
            "unknown action `{}` in namespace {}{hint}; known: {}",
            spec.action,
            ns.name,
            ns.actions.keys().cloned().collect::<Vec<_>>().join(", ")
        )]);
    };
    let mut errors = Vec::new();
    let context = convert_context(ns, catalog, action, &spec.context, &mut errors);
    let (resource, entities) = resource_entities(ns, action, &spec.resource, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(resource), Some(entities)) = (resource, entities) else {
        return Err(vec!["the resource could not be built".to_owned()]);
    };
    let principal_ty = action
        .principal_types
        .first()
        .map_or("User", String::as_str);
    let principal = uid(&ns.name, principal_ty, "atlas-cedar-test").map_err(|e| vec![e])?;
    let action_uid = uid(&ns.name, "Action", &action.name).map_err(|e| vec![e])?;
    let context = match fast.then(|| fast_context(&context)).flatten() {
        Some(c) => c,
        None => {
            Context::from_json_value(context, Some((&ns.schema, &action_uid))).map_err(|e| {
                vec![format!(
                    "context does not match the schema: {}",
                    error_chain(&e)
                )]
            })?
        }
    };
    let request = Request::new(principal, action_uid, resource, context, Some(&ns.schema))
        .map_err(|e| {
            vec![format!(
                "request does not match the schema: {}",
                error_chain(&e)
            )]
        })?;
    Ok(BuiltRequest { request, entities })
}

/// `Ns::Type::"id"`.
pub fn uid(ns: &str, ty: &str, id: &str) -> Result<EntityUid, String> {
    let name = if ns.is_empty() {
        ty.to_owned()
    } else {
        format!("{ns}::{ty}")
    };
    let ty = EntityTypeName::from_str(&name).map_err(|e| format!("bad type `{name}`: {e}"))?;
    Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
}

fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn resource_entities(
    ns: &NamespaceSchema,
    action: &ActionInfo,
    spec: &ResourceSpec,
    errors: &mut Vec<String>,
) -> (Option<EntityUid>, Option<Entities>) {
    let ty = spec
        .ty
        .clone()
        .or_else(|| action.resource_types.first().cloned())
        .unwrap_or_else(|| "Cluster".to_owned());
    let ty = ty.rsplit("::").next().unwrap_or(&ty).to_owned();
    if !action.resource_types.is_empty() && !action.resource_types.contains(&ty) {
        errors.push(format!(
            "resource type `{ty}` does not apply to action `{}` (expected {})",
            action.name,
            action.resource_types.join(" or ")
        ));
        return (None, None);
    }
    let is_cluster = ty.eq_ignore_ascii_case("cluster");
    let id = spec.id.clone().unwrap_or_else(|| {
        if is_cluster {
            DEFAULT_CLUSTER_ID.to_owned()
        } else {
            DEFAULT_PROJECT_ID.to_owned()
        }
    });
    if !is_object_id(&id) {
        errors.push(format!(
            "resource id `{id}` is not a 24-hex ObjectId (Atlas ids look like 5f0000000000000000000001)"
        ));
    }
    let mut entities = Vec::new();
    let resource = match uid(&ns.name, &ty, &id) {
        Ok(u) => u,
        Err(e) => {
            errors.push(e);
            return (None, None);
        }
    };
    if is_cluster {
        let project_id = spec
            .project
            .clone()
            .unwrap_or_else(|| DEFAULT_PROJECT_ID.to_owned());
        if !is_object_id(&project_id) {
            errors.push(format!(
                "resource project `{project_id}` is not a 24-hex ObjectId"
            ));
        }
        match uid(&ns.name, "Project", &project_id) {
            Ok(project) => {
                entities.push(Entity::with_uid(project.clone()));
                let parents: HashSet<EntityUid> = [project].into_iter().collect();
                entities.push(Entity::new_no_attrs(resource.clone(), parents));
            }
            Err(e) => errors.push(e),
        }
    } else {
        if spec.project.is_some() {
            errors.push("`project` applies to a Cluster resource only".to_owned());
        }
        entities.push(Entity::with_uid(resource.clone()));
    }
    match Entities::from_entities(entities, Some(&ns.schema)) {
        Ok(e) => (Some(resource), Some(e)),
        Err(e) => {
            errors.push(format!("entities: {}", error_chain(&e)));
            (None, None)
        }
    }
}

/// Converts a context written with plain strings into Cedar's JSON form.
pub fn convert_context(
    ns: &NamespaceSchema,
    catalog: &Catalog,
    action: &ActionInfo,
    value: &Value,
    errors: &mut Vec<String>,
) -> Value {
    let cx = Conv {
        ns: &ns.name,
        catalog,
        action: &action.name,
    };
    cx.record("context", &action.context, value, errors)
}

struct Conv<'a> {
    ns: &'a str,
    catalog: &'a Catalog,
    action: &'a str,
}

impl Conv<'_> {
    fn record(
        &self,
        path: &str,
        attrs: &BTreeMap<String, Attribute>,
        value: &Value,
        errors: &mut Vec<String>,
    ) -> Value {
        let empty = Map::new();
        let obj = match value {
            Value::Object(o) => o,
            Value::Null => &empty,
            other => {
                errors.push(format!(
                    "{path}: expected a record, found {}",
                    describe(other)
                ));
                return Value::Null;
            }
        };
        let mut out = Map::new();
        for (k, v) in obj {
            let sub = format!("{path}.{k}");
            match attrs.get(k) {
                Some(a) => {
                    out.insert(k.clone(), self.value(&sub, &a.ty, v, errors));
                }
                None => {
                    let hint = did_you_mean(k, attrs.keys().map(String::as_str))
                        .map(|s| format!("did you mean `{path}.{s}`? "))
                        .unwrap_or_default();
                    errors.push(format!(
                        "{sub}: unknown attribute for action `{}`; {hint}known here: {}",
                        self.action,
                        attrs.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        for (k, a) in attrs {
            if a.required && !obj.contains_key(k) {
                errors.push(format!(
                    "{path}.{k}: missing required attribute ({}) for action `{}`",
                    a.ty, self.action
                ));
            }
        }
        Value::Object(out)
    }

    fn value(&self, path: &str, ty: &AttrType, v: &Value, errors: &mut Vec<String>) -> Value {
        match ty {
            AttrType::Bool => {
                if !v.is_boolean() {
                    errors.push(format!(
                        "{path}: expected true or false, found {}",
                        describe(v)
                    ));
                }
                v.clone()
            }
            AttrType::Long => {
                if v.as_i64().is_none() {
                    errors.push(format!(
                        "{path}: expected an integer, found {}",
                        describe(v)
                    ));
                }
                v.clone()
            }
            AttrType::String => {
                if !v.is_string() {
                    errors.push(format!("{path}: expected a string, found {}", describe(v)));
                }
                v.clone()
            }
            AttrType::Entity(name) => self.entity(path, name, v, errors),
            AttrType::Extension(name) => extension(path, name, v, errors),
            AttrType::Set(elem) => match v {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.value(&format!("{path}[{i}]"), elem, item, errors))
                        .collect(),
                ),
                other => {
                    errors.push(format!(
                        "{path}: expected a list ({ty}), found {}",
                        describe(other)
                    ));
                    Value::Null
                }
            },
            AttrType::Record(attrs) => self.record(path, attrs, v, errors),
            AttrType::Unknown(_) => v.clone(),
        }
    }

    fn entity(&self, path: &str, name: &str, v: &Value, errors: &mut Vec<String>) -> Value {
        let Some(id) = v.as_str() else {
            // Already in Cedar's form: let Cedar check it.
            if v.is_object() {
                return v.clone();
            }
            errors.push(format!(
                "{path}: expected a {name} id as a string, found {}",
                describe(v)
            ));
            return Value::Null;
        };
        // Accept `Ns::Type::"id"` too.
        let id = id
            .rsplit_once("::\"")
            .map_or(id, |(_, rest)| rest.trim_end_matches('"'));
        let current = self.catalog.current_type_name(self.ns, name);
        if let Some(known) = self.catalog.ids(current) {
            if !known.contains_key(id) {
                let hint = self
                    .catalog
                    .suggest(current, id)
                    .first()
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                errors.push(format!(
                    "{path}: `{id}` is not a {name} id Atlas knows{hint}"
                ));
            }
        } else if atlas_cedar_core::catalog::OBJECT_ID_TYPES.contains(&current) && !is_object_id(id)
        {
            errors.push(format!("{path}: `{id}` is not a 24-hex ObjectId"));
        }
        let ty = if self.ns.is_empty() {
            name.to_owned()
        } else {
            format!("{}::{name}", self.ns)
        };
        json!({ "__entity": { "type": ty, "id": id } })
    }
}

fn extension(path: &str, name: &str, v: &Value, errors: &mut Vec<String>) -> Value {
    let Some(s) = v.as_str() else {
        if v.is_object() {
            return v.clone();
        }
        errors.push(format!(
            "{path}: expected a {name} as a string, found {}",
            describe(v)
        ));
        return Value::Null;
    };
    let s = s.trim();
    let func = match name {
        "ipaddr" => "ip",
        other => other,
    };
    let arg = s
        .strip_prefix(func)
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
        .map(|r| r.trim().trim_matches('"'))
        .unwrap_or(s);
    json!({ "__extn": { "fn": func, "arg": arg } })
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a table".to_owned(),
    }
}

/// Deep-merges `over` into `base` (tables merge, anything else replaces).
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use atlas_cedar_core::Engine;

    /// The fast path builds exactly the context Cedar's JSON parser builds.
    #[test]
    fn fast_and_json_contexts_are_the_same() {
        let engine = Engine::builtin().unwrap();
        let ns = engine.schemas.get("ResourcePolicy").unwrap();
        let specs = [
            RequestSpec {
                action: "project.ipAccessList.modify".to_owned(),
                resource: ResourceSpec::default(),
                context: json!({ "project": { "ipAccessList": ["0.0.0.0/0", "ip(\"10.0.0.0/8\")"] } }),
            },
            RequestSpec {
                action: "search.deployment.modify".to_owned(),
                resource: ResourceSpec::default(),
                context: json!({
                    "cluster": { "cloudProviders": ["aws", "gcp"], "regions": ["aws:eu-west-1"] },
                    "search": { "hasDedicatedNodes": true, "hasIndexes": false,
                                "encryptionAtRest": { "customerManagedKey": { "enabled": true } } }
                }),
            },
        ];
        for spec in &specs {
            let slow = build_request(ns, &engine.catalog, spec).unwrap();
            let fast = build_request_fast(ns, &engine.catalog, spec).unwrap();
            let show = |b: &BuiltRequest| format!("{}", b.request.context().unwrap());
            assert_eq!(show(&slow), show(&fast));
            assert!(show(&fast).contains("ip(") || show(&fast).contains("aws:eu-west-1"));
        }
        // A typo is still refused on the fast path.
        let mut bad = specs[0].clone();
        bad.context = json!({ "project": { "ipAccessLizt": ["0.0.0.0/0"] } });
        assert!(build_request_fast(ns, &engine.catalog, &bad).is_err());
    }
}
