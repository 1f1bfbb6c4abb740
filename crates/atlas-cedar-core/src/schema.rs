//! The Atlas schema, one Cedar schema per namespace.
//!
//! A body is validated against the schema of the namespace it uses only: one schema
//! holding both `ResourcePolicy` and the legacy `cloud` namespace would make Cedar
//! type-check an unconstrained-action policy against the legacy actions too and report
//! false errors. Users can extend a namespace, add one, or replace everything with
//! their own schema files, for when Atlas ships an action before we do.

use std::collections::BTreeMap;

use cedar_policy::{Schema, SchemaFragment, Validator};
use serde_json::Value;

use crate::catalog::{CURRENT_NAMESPACE, LEGACY_NAMESPACE};

const RESOURCE_POLICY_SCHEMA: &str = include_str!("../data/resource-policy.cedarschema");
const CLOUD_SCHEMA: &str = include_str!("../data/cloud.cedarschema");
/// The two files above in Cedar's JSON schema format, as `{file label: fragment}`.
/// Parsing the Cedar schema syntax builds a fresh lexer (regexes) per call and was a
/// quarter of the CPU of linting one small file; serde reads this in microseconds.
/// A test (`builtin_json_is_the_cedarschema_files`) keeps it equal to the text
/// files; `ATLAS_CEDAR_BLESS=1 cargo test -p atlas-cedar-core builtin_json`
/// rewrites it after the `.cedarschema` files change.
const BUILTIN_JSON: &str = include_str!("../data/builtin-schema.json");
const BUILTIN_LABELS: [(&str, &str); 2] = [
    ("built-in ResourcePolicy schema", RESOURCE_POLICY_SCHEMA),
    ("built-in cloud schema", CLOUD_SCHEMA),
];

/// The built-in schema files as `(file name, text)`, for tools that show them (the
/// language server's go to definition).
pub fn builtin_schema_files() -> [(&'static str, &'static str); 2] {
    [
        ("resource-policy.cedarschema", RESOURCE_POLICY_SCHEMA),
        ("cloud.cedarschema", CLOUD_SCHEMA),
    ]
}

/// A user schema file's text and name (for messages).
#[derive(Debug, Clone)]
pub struct SchemaSource {
    pub name: String,
    pub text: String,
}

/// How user schema files combine with the built-in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaMode {
    /// Add declarations to the built-in namespaces (or new namespaces).
    #[default]
    Extend,
    /// Use only the user's files.
    Replace,
}

/// A schema problem, with the file it came from.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{file}: {message}")]
pub struct SchemaLoadError {
    pub file: String,
    pub message: String,
}

/// The type of a context attribute, as far as completion, hover and rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrType {
    Bool,
    Long,
    String,
    Entity(String),
    Extension(String),
    Set(Box<AttrType>),
    Record(BTreeMap<String, Attribute>),
    Unknown(String),
}

impl std::fmt::Display for AttrType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrType::Bool => f.write_str("Bool"),
            AttrType::Long => f.write_str("Long"),
            AttrType::String => f.write_str("String"),
            AttrType::Entity(n) | AttrType::Extension(n) | AttrType::Unknown(n) => f.write_str(n),
            AttrType::Set(t) => write!(f, "Set<{t}>"),
            AttrType::Record(_) => f.write_str("Record"),
        }
    }
}

/// One attribute of a record type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub ty: AttrType,
    pub required: bool,
}

/// One action of a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionInfo {
    pub name: String,
    pub principal_types: Vec<String>,
    pub resource_types: Vec<String>,
    /// The context record's attributes.
    pub context: BTreeMap<String, Attribute>,
}

/// A namespace's schema: the Cedar validator and a plain model of its vocabulary.
#[derive(Debug)]
pub struct NamespaceSchema {
    pub name: String,
    pub schema: Schema,
    pub validator: Validator,
    pub actions: BTreeMap<String, ActionInfo>,
    pub entity_types: Vec<String>,
}

impl NamespaceSchema {
    /// Every attribute name at any depth of any action's context (for suggestions).
    pub fn all_attribute_names(&self) -> Vec<&str> {
        fn walk<'a>(attrs: &'a BTreeMap<String, Attribute>, out: &mut Vec<&'a str>) {
            for (name, a) in attrs {
                out.push(name);
                if let AttrType::Record(inner) = &a.ty {
                    walk(inner, out);
                }
            }
        }
        let mut out = Vec::new();
        for a in self.actions.values() {
            walk(&a.context, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The schemas of every namespace, built once and shared.
#[derive(Debug)]
pub struct SchemaSet {
    namespaces: BTreeMap<String, NamespaceSchema>,
}

impl SchemaSet {
    /// The built-in Atlas schema.
    pub fn builtin() -> Result<Self, SchemaLoadError> {
        Self::load(&[], SchemaMode::Extend)
    }

    /// The built-in schema combined with user files.
    pub fn load(user: &[SchemaSource], mode: SchemaMode) -> Result<Self, SchemaLoadError> {
        let mut by_ns: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
        if mode == SchemaMode::Extend {
            let mut builtin: serde_json::Map<String, Value> = serde_json::from_str(BUILTIN_JSON)
                .map_err(|e| SchemaLoadError {
                    file: "built-in schema".to_owned(),
                    message: e.to_string(),
                })?;
            for (name, text) in BUILTIN_LABELS {
                match builtin.remove(name) {
                    Some(json) => add_json(&mut by_ns, name, json)?,
                    None => add_fragment(&mut by_ns, name, text)?,
                }
            }
        }
        for src in user {
            if src.name.ends_with(".json") {
                let json: Value = serde_json::from_str(&src.text).map_err(|e| SchemaLoadError {
                    file: src.name.clone(),
                    message: format!("invalid JSON schema: {e}"),
                })?;
                add_json(&mut by_ns, &src.name, json)?;
            } else {
                add_fragment(&mut by_ns, &src.name, &src.text)?;
            }
        }
        let mut namespaces = BTreeMap::new();
        for (ns, parts) in by_ns {
            let files: Vec<String> = parts.iter().map(|(f, _)| f.clone()).collect();
            let merged = merged_definition(&parts);
            let fragments = parts
                .into_iter()
                .map(|(file, json)| {
                    let mut wrapped = serde_json::Map::new();
                    wrapped.insert(ns.clone(), json);
                    SchemaFragment::from_json_value(Value::Object(wrapped)).map_err(|e| {
                        SchemaLoadError {
                            file,
                            message: format!("namespace `{ns}`: {}", error_chain(&e)),
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let schema = Schema::from_schema_fragments(fragments).map_err(|e| SchemaLoadError {
                file: files.join(", "),
                message: format!("namespace `{ns}`: {}", error_chain(&e)),
            })?;
            let actions = model_actions(&merged);
            let entity_types = schema
                .entity_types()
                .map(|t| t.basename().to_owned())
                .collect();
            namespaces.insert(
                ns.clone(),
                NamespaceSchema {
                    name: ns,
                    validator: Validator::new(schema.clone()),
                    schema,
                    actions,
                    entity_types,
                },
            );
        }
        Ok(SchemaSet { namespaces })
    }

    pub fn get(&self, namespace: &str) -> Option<&NamespaceSchema> {
        self.namespaces.get(namespace)
    }

    /// The schema used for bodies that name no namespace: the current one when present.
    pub fn default_namespace(&self) -> Option<&NamespaceSchema> {
        self.namespaces
            .get(CURRENT_NAMESPACE)
            .or_else(|| self.namespaces.values().next())
    }

    pub fn namespaces(&self) -> impl Iterator<Item = &NamespaceSchema> {
        self.namespaces.values()
    }

    /// Whether `name` is the legacy namespace.
    pub fn is_legacy(name: &str) -> bool {
        name == LEGACY_NAMESPACE
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

fn add_fragment(
    by_ns: &mut BTreeMap<String, Vec<(String, Value)>>,
    file: &str,
    text: &str,
) -> Result<(), SchemaLoadError> {
    let (fragment, _warnings) =
        SchemaFragment::from_cedarschema_str(text).map_err(|e| SchemaLoadError {
            file: file.to_owned(),
            message: miette_message(&e),
        })?;
    let json = fragment.to_json_value().map_err(|e| SchemaLoadError {
        file: file.to_owned(),
        message: error_chain(&e),
    })?;
    add_json(by_ns, file, json)
}

fn miette_message(e: &(dyn miette::Diagnostic + Send + Sync + 'static)) -> String {
    let mut msg = error_chain(e);
    if let Some(related) = e.related() {
        for r in related {
            msg.push_str("; ");
            msg.push_str(&r.to_string());
        }
    }
    if let Some(help) = e.help() {
        msg.push_str(&format!(" (help: {help})"));
    }
    msg
}

fn add_json(
    by_ns: &mut BTreeMap<String, Vec<(String, Value)>>,
    file: &str,
    json: Value,
) -> Result<(), SchemaLoadError> {
    let Value::Object(map) = json else {
        return Err(SchemaLoadError {
            file: file.to_owned(),
            message: "a schema must be an object of namespaces".to_owned(),
        });
    };
    for (ns, def) in map {
        by_ns.entry(ns).or_default().push((file.to_owned(), def));
    }
    Ok(())
}

/// Merges the JSON definitions of one namespace from several files (for the model;
/// Cedar itself reports conflicting declarations).
fn merged_definition(parts: &[(String, Value)]) -> Value {
    let mut merged = serde_json::Map::new();
    for (_, def) in parts {
        let Some(def) = def.as_object() else { continue };
        for (section, body) in def {
            match (merged.get_mut(section), body) {
                (Some(Value::Object(into)), Value::Object(from)) => {
                    into.extend(from.clone());
                }
                _ => {
                    merged.insert(section.clone(), body.clone());
                }
            }
        }
    }
    Value::Object(merged)
}

/// Builds the action model of one namespace from its JSON definition.
fn model_actions(def: &Value) -> BTreeMap<String, ActionInfo> {
    let common = def
        .get("commonTypes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    let Some(actions) = def.get("actions").and_then(Value::as_object) else {
        return out;
    };
    for (name, a) in actions {
        let applies = a.get("appliesTo");
        let names = |key: &str| -> Vec<String> {
            applies
                .and_then(|x| x.get(key))
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let context = applies
            .and_then(|x| x.get("context"))
            .map(|c| convert_type(c, &common, 0))
            .and_then(|t| match t {
                AttrType::Record(r) => Some(r),
                _ => None,
            })
            .unwrap_or_default();
        out.insert(
            name.clone(),
            ActionInfo {
                name: name.clone(),
                principal_types: names("principalTypes"),
                resource_types: names("resourceTypes"),
                context,
            },
        );
    }
    out
}

fn convert_type(t: &Value, common: &serde_json::Map<String, Value>, depth: usize) -> AttrType {
    if depth > 32 {
        return AttrType::Unknown("…".to_owned());
    }
    let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
    let name = t.get("name").and_then(Value::as_str).unwrap_or("");
    match kind {
        "Boolean" | "Bool" => AttrType::Bool,
        "Long" => AttrType::Long,
        "String" => AttrType::String,
        "Set" => AttrType::Set(Box::new(
            t.get("element").map_or(AttrType::Unknown("?".into()), |e| {
                convert_type(e, common, depth + 1)
            }),
        )),
        "Record" => {
            let mut attrs = BTreeMap::new();
            if let Some(obj) = t.get("attributes").and_then(Value::as_object) {
                for (k, v) in obj {
                    attrs.insert(
                        k.clone(),
                        Attribute {
                            ty: convert_type(v, common, depth + 1),
                            required: v.get("required").and_then(Value::as_bool).unwrap_or(true),
                        },
                    );
                }
            }
            AttrType::Record(attrs)
        }
        "Entity" => AttrType::Entity(name.to_owned()),
        "Extension" => AttrType::Extension(name.to_owned()),
        "EntityOrCommon" => named_type(name, common, depth),
        other => named_type(other, common, depth),
    }
}

fn named_type(name: &str, common: &serde_json::Map<String, Value>, depth: usize) -> AttrType {
    let base = name.rsplit("::").next().unwrap_or(name);
    if let Some(def) = common.get(base) {
        return convert_type(def, common, depth + 1);
    }
    match base {
        "Bool" | "Boolean" => AttrType::Bool,
        "Long" => AttrType::Long,
        "String" => AttrType::String,
        "ipaddr" | "decimal" | "datetime" | "duration" => AttrType::Extension(base.to_owned()),
        _ => AttrType::Entity(base.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped JSON is exactly the `.cedarschema` files converted by Cedar.
    #[test]
    fn builtin_json_is_the_cedarschema_files() {
        let mut want = serde_json::Map::new();
        for (name, text) in BUILTIN_LABELS {
            let (fragment, _) = SchemaFragment::from_cedarschema_str(text)
                .unwrap_or_else(|e| unreachable!("{name}: {e}"));
            let json = fragment
                .to_json_value()
                .unwrap_or_else(|e| unreachable!("{name}: {e}"));
            want.insert(name.to_owned(), json);
        }
        let want = Value::Object(want);
        if std::env::var_os("ATLAS_CEDAR_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/builtin-schema.json");
            let text = serde_json::to_string_pretty(&want).unwrap_or_default() + "\n";
            std::fs::write(path, text).unwrap_or_else(|e| unreachable!("{path}: {e}"));
            return;
        }
        let have: Value = serde_json::from_str(BUILTIN_JSON).unwrap_or(Value::Null);
        assert!(
            have == want,
            "data/builtin-schema.json is out of date with the .cedarschema files: \
             run ATLAS_CEDAR_BLESS=1 cargo test -p atlas-cedar-core builtin_json"
        );
    }

    #[test]
    fn builtin_schema_models_actions_and_optional_attributes() {
        let set = SchemaSet::builtin().unwrap_or_else(|e| unreachable!("{e}"));
        let rp = set.get("ResourcePolicy").unwrap_or_else(|| unreachable!());
        let cm = rp
            .actions
            .get("cluster.modify")
            .unwrap_or_else(|| unreachable!());
        let AttrType::Record(cluster) = &cm.context["cluster"].ty else {
            unreachable!()
        };
        assert!(!cluster["diskSizeGB"].required);
        assert_eq!(cluster["regions"].ty.to_string(), "Set<Region>");
        assert!(rp
            .all_attribute_names()
            .contains(&"maxGeneralClassInstanceSizeValue"));
        assert!(set.get("cloud").is_some());
    }
}
