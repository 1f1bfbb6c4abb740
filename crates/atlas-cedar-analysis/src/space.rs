//! The request space of an action, for answering questions by evaluation.
//!
//! A body reads a few context attributes and compares them with literals. Every
//! attribute the bodies read gets a finite domain that covers its behaviour: all
//! ids of a fixed entity type (providers, regions, TLS versions, …), `true`/`false`,
//! each integer literal and its neighbours, the string and IP literals plus one
//! value none of them names, "absent" for optional attributes, and for sets the
//! subsets of those values. Attributes no body reads keep one neutral value.
//! The cross product is evaluated request by request with Cedar.
//!
//! The space is **complete** when every domain is (sets of at most
//! [`MAX_FULL_SET`] relevant values, integers compared only with literals) and the
//! product is at most the cap: then "no request is forbidden" is exhaustive. When it
//! is not, sets are limited to small subsets or the product is sampled, and the
//! answer says so: a counterexample found is still a real one (it was evaluated),
//! but "none found" is only "none found in N requests".

use std::collections::{BTreeMap, BTreeSet};

use atlas_cedar_core::catalog::{Catalog, OBJECT_ID_TYPES};
use atlas_cedar_core::lexer::{lex, Token, TokenKind};
use atlas_cedar_core::schema::{ActionInfo, AttrType, Attribute, NamespaceSchema};
use serde_json::{Map, Value};

use crate::request::{
    build_request_fast, BuiltRequest, RequestSpec, ResourceSpec, DEFAULT_PROJECT_ID,
};

/// Sets over at most this many relevant values are enumerated completely.
pub const MAX_FULL_SET: usize = 8;
/// The default cap on requests per action.
pub const DEFAULT_CAP: usize = 20_000;

/// One request of the space.
#[derive(Debug)]
pub struct Probe {
    pub spec: RequestSpec,
    pub built: BuiltRequest,
    /// The attributes that vary, with their values (for showing a counterexample).
    pub shown: Value,
}

/// The enumerated requests of one action.
#[derive(Debug)]
pub struct Space {
    pub action: String,
    pub probes: Vec<Probe>,
    /// Whether the enumeration covers every behaviour of the bodies it was built for.
    pub complete: bool,
    /// Why it is not complete.
    pub limits: Vec<String>,
}

/// What the bodies mention: attribute paths read and literals.
#[derive(Debug, Default, Clone)]
pub struct Mentions {
    pub paths: BTreeSet<String>,
    pub ints: BTreeSet<i64>,
    pub strings: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    /// Entity literals: type basename → ids.
    pub entities: BTreeMap<String, BTreeSet<String>>,
    /// Whether an integer is used in arithmetic (then integer domains are bounded).
    pub arithmetic: bool,
    /// Paths compared with `==` or `!=` (their set elements cannot be merged).
    pub eq_paths: BTreeSet<String>,
    /// For each string/entity literal, the `[...]` lists it appears in (a literal
    /// outside any list gets a group of its own).
    pub groups: BTreeMap<String, BTreeSet<usize>>,
}

impl Mentions {
    /// Scans Cedar texts (lexer tokens: never fails).
    pub fn scan<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut m = Mentions::default();
        for text in texts {
            let toks = lex(text);
            let sig: Vec<&Token> = toks.iter().filter(|t| !t.is_trivia()).collect();
            let tx = |i: usize| sig.get(i).map_or("", |t| t.text(text));
            let mut stack: Vec<usize> = Vec::new();
            let mut next_group = m.groups.values().flatten().max().map_or(0, |g| g + 1);
            for (i, t) in sig.iter().enumerate() {
                if t.kind == TokenKind::Punct && s_is(t.text(text), "[") {
                    stack.push(next_group);
                    next_group += 1;
                } else if t.kind == TokenKind::Punct && s_is(t.text(text), "]") {
                    stack.pop();
                }
                if t.kind == TokenKind::String {
                    let lit = t.text(text).trim_matches('"').to_owned();
                    let g = match stack.last() {
                        Some(g) => *g,
                        None => {
                            next_group += 1;
                            next_group - 1
                        }
                    };
                    m.groups.entry(lit).or_default().insert(g);
                }
                let s = t.text(text);
                match t.kind {
                    TokenKind::Int => {
                        if let Ok(n) = s.parse::<i64>() {
                            let neg = tx(i.wrapping_sub(1)) == "-";
                            m.ints.insert(if neg { -n } else { n });
                        }
                    }
                    TokenKind::String => {
                        let lit = s.trim_matches('"').to_owned();
                        if tx(i.wrapping_sub(1)) == "(" && tx(i.wrapping_sub(2)) == "ip" {
                            m.ips.insert(lit);
                        } else if tx(i.wrapping_sub(1)) == "::" {
                            let ty = tx(i.wrapping_sub(2)).to_owned();
                            m.entities.entry(ty).or_default().insert(lit);
                        } else {
                            m.strings.insert(lit);
                        }
                    }
                    TokenKind::Punct if matches!(s, "+" | "*") => m.arithmetic = true,
                    // A binary minus (after an operand) is arithmetic; a unary one
                    // is a negative literal.
                    TokenKind::Punct
                        if s == "-"
                            && i.checked_sub(1).and_then(|p| sig.get(p)).is_some_and(|p| {
                                matches!(p.kind, TokenKind::Ident | TokenKind::Int)
                                    || p.text(text) == ")"
                            }) =>
                    {
                        m.arithmetic = true;
                    }
                    TokenKind::Ident if s == "context" => {
                        let mut path = String::from("context");
                        let mut j = i + 1;
                        loop {
                            if tx(j) == "."
                                && sig.get(j + 1).is_some_and(|t| t.kind == TokenKind::Ident)
                                && tx(j + 2) != "("
                            {
                                path.push('.');
                                path.push_str(tx(j + 1));
                                j += 2;
                            } else if tx(j) == "has" {
                                path.push('.');
                                path.push_str(tx(j + 1).trim_matches('"'));
                                break;
                            } else {
                                break;
                            }
                        }
                        if matches!(tx(j), "==" | "!=")
                            || matches!(tx(i.wrapping_sub(1)), "==" | "!=")
                        {
                            m.eq_paths.insert(path.clone());
                        }
                        // A bare record (`context.cluster`) reads everything below it.
                        m.paths.insert(path);
                    }
                    _ => {}
                }
            }
        }
        m
    }

    /// One literal per class of literals that appear in the same `[...]` lists:
    /// without `==`, set operations cannot tell members of a class apart.
    fn representatives(&self, lits: &BTreeSet<String>) -> Vec<String> {
        let mut seen: BTreeSet<Vec<usize>> = BTreeSet::new();
        let mut out = Vec::new();
        for l in lits {
            let sig: Vec<usize> = self
                .groups
                .get(l)
                .map(|g| g.iter().copied().collect())
                .unwrap_or_default();
            if seen.insert(sig) {
                out.push(l.clone());
            }
        }
        out
    }

    fn reads(&self, path: &str) -> bool {
        self.paths
            .iter()
            .any(|p| p == path || path.starts_with(&format!("{p}.")))
    }
}

/// One varying dimension: a context path (or the resource's project) and its values.
#[derive(Debug)]
struct Dim {
    path: Vec<String>,
    values: Vec<Option<Value>>,
}

/// Builds the request space of `action` for bodies that mention `m`.
pub fn build_space(
    ns: &NamespaceSchema,
    catalog: &Catalog,
    action: &ActionInfo,
    m: &Mentions,
    cap: usize,
) -> Space {
    let mut limits = Vec::new();
    let mut dims = Vec::new();
    let mut base = Map::new();
    collect(
        ns,
        catalog,
        m,
        &["context".to_owned()],
        &action.context,
        &mut base,
        &mut dims,
        &mut limits,
    );
    // Resource: the default project and every 24-hex literal (`resource in Project::"…"`).
    let mut projects: Vec<Option<Value>> = vec![Some(Value::String(DEFAULT_PROJECT_ID.to_owned()))];
    for ids in m.entities.get("Project").into_iter().flatten() {
        projects.push(Some(Value::String(ids.clone())));
    }
    let resource_dim = projects.len() > 1;
    if resource_dim {
        dims.push(Dim {
            path: vec!["resource".to_owned(), "project".to_owned()],
            values: projects,
        });
    }
    let total: u128 = dims.iter().map(|d| d.values.len().max(1) as u128).product();
    let sampled = total > cap as u128;
    if sampled {
        limits.push(format!("{total} combinations, {cap} sampled"));
    }
    let count = if sampled { cap } else { total as usize };
    let mut probes = Vec::with_capacity(count);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for k in 0..count {
        let mut ctx = Value::Object(base.clone());
        let mut shown = Map::new();
        let mut resource = ResourceSpec::default();
        let mut rest = k as u128;
        for d in &dims {
            let n = d.values.len().max(1);
            let idx = if sampled {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % n as u64) as usize
            } else {
                let i = (rest % n as u128) as usize;
                rest /= n as u128;
                i
            };
            let v = d.values.get(idx).cloned().flatten();
            let key = d.path.join(".");
            if d.path.first().is_some_and(|p| p == "resource") {
                if let Some(Value::String(p)) = &v {
                    if ns
                        .actions
                        .get(&action.name)
                        .is_some_and(|a| a.resource_types.iter().any(|t| t == "Project"))
                    {
                        resource.ty = Some("Project".to_owned());
                        resource.id = Some(p.clone());
                    } else {
                        resource.project = Some(p.clone());
                    }
                    shown.insert(key, Value::String(p.clone()));
                }
                continue;
            }
            shown.insert(
                key,
                v.clone().unwrap_or(Value::String("(absent)".to_owned())),
            );
            set_path(&mut ctx, d.path.get(1..).unwrap_or(&[]), v);
        }
        let spec = RequestSpec {
            action: action.name.clone(),
            resource,
            context: ctx,
        };
        match build_request_fast(ns, catalog, &spec) {
            Ok(built) => probes.push(Probe {
                spec,
                built,
                shown: Value::Object(shown),
            }),
            Err(e) => {
                limits.push(format!("a request could not be built: {}", e.join("; ")));
                break;
            }
        }
    }
    Space {
        action: action.name.clone(),
        probes,
        complete: limits.is_empty(),
        limits,
    }
}

fn set_path(ctx: &mut Value, path: &[String], v: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = ctx;
    for p in parents {
        let Value::Object(o) = cur else { return };
        cur = o
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(o) = cur {
        match v {
            Some(v) => {
                o.insert(last.clone(), v);
            }
            None => {
                o.remove(last);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn collect(
    ns: &NamespaceSchema,
    catalog: &Catalog,
    m: &Mentions,
    path: &[String],
    attrs: &BTreeMap<String, Attribute>,
    base: &mut Map<String, Value>,
    dims: &mut Vec<Dim>,
    limits: &mut Vec<String>,
) {
    for (name, a) in attrs {
        let mut p = path.to_vec();
        p.push(name.clone());
        let key = p.join(".");
        if let AttrType::Record(inner) = &a.ty {
            if m.reads(&key) && !m.paths.iter().any(|x| x.starts_with(&format!("{key}."))) {
                // The whole record is compared: vary nothing below, but say so.
                limits.push(format!("{key} is used as a whole record"));
            }
            let mut sub = Map::new();
            collect(ns, catalog, m, &p, inner, &mut sub, dims, limits);
            if a.required {
                base.insert(name.clone(), Value::Object(sub));
            } else if m.reads(&key) {
                dims.push(Dim {
                    path: p.clone(),
                    values: vec![None, Some(Value::Object(sub))],
                });
            }
            continue;
        }
        if !m.reads(&key) {
            if a.required {
                base.insert(name.clone(), neutral(ns, catalog, &a.ty));
            }
            continue;
        }
        let merge = !m.eq_paths.contains(&key);
        let (mut values, complete, why) = domain(catalog, m, &a.ty, &ns.name, merge);
        if !complete {
            limits.push(format!("{key}: {why}"));
        }
        if a.required {
            if let Some(Some(first)) = values.first() {
                base.insert(name.clone(), first.clone());
            }
        } else {
            values.insert(0, None);
        }
        dims.push(Dim { path: p, values });
    }
}

fn neutral(ns: &NamespaceSchema, catalog: &Catalog, ty: &AttrType) -> Value {
    match ty {
        AttrType::Bool => Value::Bool(false),
        AttrType::Long => Value::from(0),
        AttrType::String => Value::String(String::new()),
        AttrType::Entity(n) => Value::String(
            entity_ids(catalog, &ns.name, n)
                .into_iter()
                .next()
                .unwrap_or_else(|| DEFAULT_PROJECT_ID.to_owned()),
        ),
        AttrType::Extension(_) => Value::String("10.0.0.0/8".to_owned()),
        AttrType::Set(_) => Value::Array(Vec::new()),
        AttrType::Record(attrs) => {
            let mut o = Map::new();
            for (k, a) in attrs {
                if a.required {
                    o.insert(k.clone(), neutral(ns, catalog, &a.ty));
                }
            }
            Value::Object(o)
        }
        AttrType::Unknown(_) => Value::Null,
    }
}

fn entity_ids(catalog: &Catalog, ns: &str, ty: &str) -> Vec<String> {
    let current = catalog.current_type_name(ns, ty);
    if let Some(ids) = catalog.ids(current) {
        return ids.keys().cloned().collect();
    }
    if OBJECT_ID_TYPES.contains(&current) {
        return vec![DEFAULT_PROJECT_ID.to_owned()];
    }
    Vec::new()
}

/// Values covering an element type; whether that is every behaviour.
fn scalar_values(
    catalog: &Catalog,
    m: &Mentions,
    ty: &AttrType,
    ns: &str,
) -> (Vec<Value>, bool, String) {
    match ty {
        AttrType::Bool => (
            vec![Value::Bool(false), Value::Bool(true)],
            true,
            String::new(),
        ),
        AttrType::Long => {
            let mut set = BTreeSet::new();
            set.insert(0i64);
            for n in &m.ints {
                for d in [-1i64, 0, 1] {
                    if let Some(v) = n.checked_add(d) {
                        set.insert(v);
                    }
                }
            }
            let complete = !m.arithmetic;
            (
                set.into_iter().map(Value::from).collect(),
                complete,
                "integer arithmetic".to_owned(),
            )
        }
        AttrType::String => {
            let mut v: Vec<Value> = m.strings.iter().cloned().map(Value::String).collect();
            v.push(Value::String("atlas-cedar:other".to_owned()));
            (v, true, String::new())
        }
        AttrType::Entity(n) => {
            let ids = entity_ids(catalog, ns, n);
            let mut ids: Vec<String> = ids;
            for lit in m.entities.get(n).into_iter().flatten() {
                if !ids.contains(lit) {
                    ids.push(lit.clone());
                }
            }
            (
                ids.into_iter().map(Value::String).collect(),
                true,
                String::new(),
            )
        }
        AttrType::Extension(_) => {
            let mut v: Vec<Value> = m.ips.iter().cloned().map(Value::String).collect();
            v.push(Value::String("192.0.2.1/32".to_owned()));
            (v, true, String::new())
        }
        other => (Vec::new(), false, format!("type {other} is not enumerated")),
    }
}

fn domain(
    catalog: &Catalog,
    m: &Mentions,
    ty: &AttrType,
    ns: &str,
    merge: bool,
) -> (Vec<Option<Value>>, bool, String) {
    match ty {
        AttrType::Set(elem) => {
            let (all, complete, why) = scalar_values(catalog, m, elem, ns);
            // Relevant elements: literals of that type, plus one value none names.
            let relevant: Vec<Value> = match elem.as_ref() {
                AttrType::Entity(n) => {
                    let lits = m.entities.get(n.as_str()).cloned().unwrap_or_default();
                    let chosen: Vec<String> = if merge {
                        m.representatives(&lits)
                    } else {
                        lits.iter().cloned().collect()
                    };
                    let mut v: Vec<Value> = chosen.into_iter().map(Value::String).collect();
                    if let Some(other) = all
                        .iter()
                        .find(|x| x.as_str().is_some_and(|s| !lits.contains(s)))
                    {
                        v.push(other.clone());
                    }
                    v
                }
                AttrType::String if merge => {
                    let mut v: Vec<Value> = m
                        .representatives(&m.strings)
                        .into_iter()
                        .map(Value::String)
                        .collect();
                    v.push(Value::String("atlas-cedar:other".to_owned()));
                    v
                }
                _ => all,
            };
            let n = relevant.len();
            let mut out = Vec::new();
            if n <= MAX_FULL_SET {
                for mask in 0u32..(1u32 << n) {
                    let subset: Vec<Value> = relevant
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, v)| v.clone())
                        .collect();
                    out.push(Some(Value::Array(subset)));
                }
                (out, complete, why)
            } else {
                out.push(Some(Value::Array(Vec::new())));
                for (i, a) in relevant.iter().enumerate() {
                    out.push(Some(Value::Array(vec![a.clone()])));
                    for b in relevant.iter().skip(i + 1) {
                        out.push(Some(Value::Array(vec![a.clone(), b.clone()])));
                    }
                }
                out.push(Some(Value::Array(relevant.clone())));
                (
                    out,
                    false,
                    format!("{n} relevant values: sets of at most 2 and the full set only"),
                )
            }
        }
        other => {
            let (v, complete, why) = scalar_values(catalog, m, other, ns);
            (v.into_iter().map(Some).collect(), complete, why)
        }
    }
}

fn s_is(a: &str, b: &str) -> bool {
    a == b
}
