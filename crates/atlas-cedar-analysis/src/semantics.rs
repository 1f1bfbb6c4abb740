//! `analyze` and `diff` answered by evaluation over the request space
//! ([`crate::space`]): vacuous bodies (forbid nothing), lockouts (forbid every
//! request of an action), redundant bodies (implied by or equivalent to another),
//! bodies that raise evaluation errors, and for a change, whether it is cosmetic or
//! changes what is forbidden. Every example request shown was evaluated with Cedar.
//! Each answer says which method produced it: `exhaustive` (the space covers every
//! behaviour, so "none" is a proof under the schema and catalog) or `bounded`
//! (sampled or truncated sets: an example is real, "none found" is not a proof and is
//! reported as unknown).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use atlas_cedar_core::Engine;
use cedar_policy::ActionConstraint;
use serde::Serialize;
use serde_json::Value;

use crate::policies::{atlas_policy_set, evaluate, LoadedPolicy};
use crate::space::{build_space, Mentions, Probe, Space};

/// How an answer was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every behaviour of the bodies was enumerated and evaluated.
    Exhaustive,
    /// Part of the space was evaluated (sampled, truncated, or out of time).
    Bounded,
}

/// A request shown as an example: the action, the resource and the attributes that
/// matter.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub action: String,
    pub values: Value,
}

impl Example {
    fn of(p: &Probe) -> Self {
        Example {
            action: p.spec.action.clone(),
            values: p.shown.clone(),
        }
    }
}

/// One finding of `analyze`.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `vacuous`, `lockout`, `redundant`, `equivalent`, `evaluation-error`, `unknown`.
    pub kind: String,
    pub policy: String,
    pub file: String,
    pub line: usize,
    pub action: String,
    pub message: String,
    pub method: Method,
    pub example: Option<Example>,
}

/// The behaviour of one body on one action.
#[derive(Debug, Clone, Serialize)]
pub struct Behaviour {
    pub policy: String,
    pub file: String,
    pub line: usize,
    pub action: String,
    pub forbidden: usize,
    pub requests: usize,
    pub method: Method,
    pub forbids_example: Option<Example>,
    pub allows_example: Option<Example>,
}

/// Everything `analyze` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnalyzeReport {
    pub behaviours: Vec<Behaviour>,
    pub findings: Vec<Finding>,
    /// Per-action notes on the space (why an answer is bounded).
    pub limits: BTreeMap<String, Vec<String>>,
    pub millis: u128,
}

/// The actions a body applies to (by name, in its namespace).
pub fn actions_of(engine: &Engine, p: &LoadedPolicy) -> Vec<String> {
    let Some(ns) = engine.schemas.get(&p.namespace) else {
        return Vec::new();
    };
    match p.policy.action_constraint() {
        ActionConstraint::Any => ns.actions.keys().cloned().collect(),
        ActionConstraint::Eq(uid) => vec![uid.id().unescaped().to_owned()],
        ActionConstraint::In(list) => list.iter().map(|u| u.id().unescaped().to_owned()).collect(),
    }
    .into_iter()
    .filter(|a| ns.actions.contains_key(a))
    .collect()
}

/// Per body, one bit per probe: forbidden; plus the probes with errors.
fn outcomes(p: &LoadedPolicy, probes: &[Probe]) -> (Vec<bool>, Vec<usize>) {
    let Ok(set) = atlas_policy_set([p]) else {
        return (vec![false; probes.len()], Vec::new());
    };
    let mut bits = Vec::with_capacity(probes.len());
    let mut errs = Vec::new();
    for (i, pr) in probes.iter().enumerate() {
        let v = evaluate(&set, &pr.built.request, &pr.built.entities);
        if !v.errors.is_empty() {
            errs.push(i);
        }
        bits.push(v.forbidden());
    }
    (bits, errs)
}

fn space_for(
    engine: &Engine,
    ns_name: &str,
    action: &str,
    bodies: &[&LoadedPolicy],
    cap: usize,
) -> Option<Space> {
    let ns = engine.schemas.get(ns_name)?;
    let info = ns.actions.get(action)?;
    let m = Mentions::scan(bodies.iter().map(|p| p.text.as_str()));
    Some(build_space(ns, &engine.catalog, info, &m, cap))
}

fn unknown(p: &LoadedPolicy, action: &str, message: &str) -> Finding {
    Finding {
        kind: "unknown".to_owned(),
        policy: p.id.clone(),
        file: p.file.clone(),
        line: p.line,
        action: action.to_owned(),
        message: message.to_owned(),
        method: Method::Bounded,
        example: None,
    }
}

/// Analyzes bodies: per body and per action.
pub fn analyze(
    engine: &Engine,
    policies: &[LoadedPolicy],
    cap: usize,
    budget: Duration,
) -> AnalyzeReport {
    let start = Instant::now();
    let mut report = AnalyzeReport::default();
    // (namespace, action) → bodies
    let mut by_action: BTreeMap<(String, String), Vec<&LoadedPolicy>> = BTreeMap::new();
    for p in policies {
        for a in actions_of(engine, p) {
            by_action
                .entry((p.namespace.clone(), a))
                .or_default()
                .push(p);
        }
    }
    for ((ns, action), bodies) in &by_action {
        for p in bodies {
            if start.elapsed() > budget {
                report
                    .findings
                    .push(unknown(p, action, "not analysed: time limit reached"));
                continue;
            }
            let Some(space) = space_for(engine, ns, action, &[p], cap) else {
                continue;
            };
            let method = if space.complete {
                Method::Exhaustive
            } else {
                Method::Bounded
            };
            if !space.limits.is_empty() {
                report
                    .limits
                    .insert(format!("{} [{action}]", p.id), space.limits.clone());
            }
            let n = space.probes.len();
            let (bits, errs) = outcomes(p, &space.probes);
            let forbidden = bits.iter().filter(|b| **b).count();
            let fex = bits
                .iter()
                .position(|b| *b)
                .and_then(|i| space.probes.get(i))
                .map(Example::of);
            let aex = bits
                .iter()
                .position(|b| !*b)
                .and_then(|i| space.probes.get(i))
                .map(Example::of);
            report.behaviours.push(Behaviour {
                policy: p.id.clone(),
                file: p.file.clone(),
                line: p.line,
                action: action.clone(),
                forbidden,
                requests: n,
                method,
                forbids_example: fex.clone(),
                allows_example: aex.clone(),
            });
            let finding =
                |kind: &str, message: String, example: Option<Example>, m: Method| Finding {
                    kind: kind.to_owned(),
                    policy: p.id.clone(),
                    file: p.file.clone(),
                    line: p.line,
                    action: action.clone(),
                    message,
                    method: m,
                    example,
                };
            if let Some(i) = errs.first() {
                report.findings.push(finding(
                    "evaluation-error",
                    format!("raises an evaluation error on {} of {n} requests (Cedar then skips the body)", errs.len()),
                    space.probes.get(*i).map(Example::of),
                    Method::Exhaustive,
                ));
            }
            if forbidden == 0 && n > 0 {
                let msg = match method {
                    Method::Exhaustive => format!("forbids nothing: no `{action}` request is refused ({n} requests cover every behaviour)"),
                    Method::Bounded => format!("unknown whether it forbids anything: none of {n} requests tried is refused"),
                };
                let kind = if method == Method::Exhaustive {
                    "vacuous"
                } else {
                    "unknown"
                };
                report
                    .findings
                    .push(finding(kind, msg, aex.clone(), method));
            } else if forbidden == n && n > 0 {
                let msg = match method {
                    Method::Exhaustive => format!("lockout: forbids every `{action}` request, so nothing of that kind can be created or changed"),
                    Method::Bounded => format!("possible lockout: forbids all {n} `{action}` requests tried"),
                };
                let kind = if method == Method::Exhaustive {
                    "lockout"
                } else {
                    "unknown"
                };
                report
                    .findings
                    .push(finding(kind, msg, fex.clone(), method));
            }
        }
        // Redundancy: A implied by B (every request A forbids, B forbids too), over
        // the space of both bodies' attributes. Bodies reading disjoint attributes
        // cannot imply each other unless one forbids nothing or everything.
        let reads: Vec<Mentions> = bodies
            .iter()
            .map(|p| Mentions::scan([p.text.as_str()]))
            .collect();
        for (i, a) in bodies.iter().enumerate() {
            for (j, b) in bodies.iter().enumerate() {
                if j <= i || start.elapsed() > budget {
                    continue;
                }
                let (Some(ra), Some(rb)) = (reads.get(i), reads.get(j)) else {
                    continue;
                };
                let shared = ra.paths.iter().any(|x| {
                    rb.paths
                        .iter()
                        .any(|y| x.starts_with(y.as_str()) || y.starts_with(x.as_str()))
                });
                if !shared {
                    continue;
                }
                let Some(space) = space_for(engine, ns, action, &[a, b], cap) else {
                    continue;
                };
                let method = if space.complete {
                    Method::Exhaustive
                } else {
                    Method::Bounded
                };
                let (abits, _) = outcomes(a, &space.probes);
                let (bbits, _) = outcomes(b, &space.probes);
                if !abits.iter().any(|x| *x) || !bbits.iter().any(|x| *x) {
                    continue;
                }
                let a_in_b = abits.iter().zip(&bbits).all(|(x, y)| !*x || *y);
                let b_in_a = abits.iter().zip(&bbits).all(|(x, y)| *x || !*y);
                let pick = |bits: &[bool]| {
                    bits.iter()
                        .position(|x| *x)
                        .and_then(|k| space.probes.get(k))
                        .map(Example::of)
                };
                let mut push = |redundant: &LoadedPolicy,
                                other: &LoadedPolicy,
                                kind: &str,
                                example: Option<Example>| {
                    let message = if kind == "equivalent" {
                        format!(
                            "forbids exactly the same `{action}` requests as {} ({})",
                            other.id,
                            other.location()
                        )
                    } else {
                        format!("every `{action}` request it forbids is also forbidden by {} ({}): it adds nothing there", other.id, other.location())
                    };
                    let (kind, message) = if method == Method::Exhaustive {
                        (kind.to_owned(), message)
                    } else {
                        (
                            "unknown".to_owned(),
                            format!("possibly: {message} (not proved: bounded search)"),
                        )
                    };
                    report.findings.push(Finding {
                        kind,
                        policy: redundant.id.clone(),
                        file: redundant.file.clone(),
                        line: redundant.line,
                        action: action.clone(),
                        message,
                        method,
                        example,
                    });
                };
                if a_in_b && b_in_a {
                    push(b, a, "equivalent", pick(&abits));
                } else if a_in_b {
                    push(a, b, "redundant", pick(&abits));
                } else if b_in_a {
                    push(b, a, "redundant", pick(&bbits));
                }
            }
        }
    }
    report.millis = start.elapsed().as_millis();
    report
}

/// One change found by `diff`.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub policy: String,
    /// `unchanged`, `cosmetic`, `behavioural`, `added`, `removed`, `unknown`.
    pub kind: String,
    pub action: Option<String>,
    pub message: String,
    pub method: Method,
    pub now_forbidden: Option<Example>,
    pub now_allowed: Option<Example>,
}

/// What `diff` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    pub changes: Vec<Change>,
    /// Whether every body forbids the same requests before and after (then so does
    /// the whole set). With method `bounded`, `true` means no difference was found.
    pub same_behaviour: Option<bool>,
    pub method: Option<Method>,
    pub millis: u128,
}

fn normalized(p: &LoadedPolicy) -> String {
    // Cedar's own rendering without annotations: formatting and comments vanish.
    p.policy.to_string()
}

/// Compares two policy sets body by body (matched by id) and as a whole.
pub fn diff(engine: &Engine, old: &[LoadedPolicy], new: &[LoadedPolicy], cap: usize) -> DiffReport {
    let start = Instant::now();
    let mut report = DiffReport::default();
    let ids: BTreeSet<&str> = old.iter().chain(new).map(|p| p.id.as_str()).collect();
    let mut all_exhaustive = true;
    let mut all_same = true;
    for id in ids {
        let o = old.iter().find(|p| p.id == id);
        let n = new.iter().find(|p| p.id == id);
        let mut acts: BTreeSet<String> = BTreeSet::new();
        for p in o.iter().chain(n.iter()) {
            acts.extend(actions_of(engine, p));
        }
        let both: Vec<&LoadedPolicy> = o.into_iter().chain(n).collect();
        let ns_name = both
            .first()
            .map(|p| p.namespace.clone())
            .unwrap_or_default();
        let mut method = Method::Exhaustive;
        let mut diffs = Vec::new();
        for a in &acts {
            let Some(space) = space_for(engine, &ns_name, a, &both, cap) else {
                continue;
            };
            if !space.complete {
                method = Method::Bounded;
                all_exhaustive = false;
            }
            let space = &space;
            let ob = o
                .map(|p| outcomes(p, &space.probes).0)
                .unwrap_or_else(|| vec![false; space.probes.len()]);
            let nb = n
                .map(|p| outcomes(p, &space.probes).0)
                .unwrap_or_else(|| vec![false; space.probes.len()]);
            let nf = ob.iter().zip(&nb).position(|(x, y)| !*x && *y);
            let na = ob.iter().zip(&nb).position(|(x, y)| *x && !*y);
            if nf.is_some() || na.is_some() {
                diffs.push((
                    a.clone(),
                    nf.and_then(|i| space.probes.get(i)).map(Example::of),
                    na.and_then(|i| space.probes.get(i)).map(Example::of),
                    space.complete,
                ));
            }
        }
        match (o, n) {
            (Some(o), Some(n)) if diffs.is_empty() => {
                let kind = if o.text == n.text {
                    "unchanged"
                } else {
                    "cosmetic"
                };
                let message = if kind == "unchanged" {
                    "unchanged".to_owned()
                } else if normalized(o) == normalized(n) {
                    "cosmetic: only formatting or comments changed".to_owned()
                } else if method == Method::Exhaustive {
                    "cosmetic: the text changed but it forbids exactly the same requests".to_owned()
                } else {
                    "probably cosmetic: no request forbidden differently was found (bounded search)"
                        .to_owned()
                };
                let kind = if kind == "cosmetic"
                    && method == Method::Bounded
                    && normalized(o) != normalized(n)
                {
                    "unknown"
                } else {
                    kind
                };
                report.changes.push(Change {
                    policy: id.to_owned(),
                    kind: kind.to_owned(),
                    action: None,
                    message,
                    method,
                    now_forbidden: None,
                    now_allowed: None,
                });
            }
            (o, n) => {
                let base = match (o, n) {
                    (None, Some(_)) => "added",
                    (Some(_), None) => "removed",
                    _ => "behavioural",
                };
                if diffs.is_empty() {
                    report.changes.push(Change {
                        policy: id.to_owned(),
                        kind: base.to_owned(),
                        action: None,
                        message: format!(
                            "{base}; it forbids nothing, so behaviour does not change"
                        ),
                        method,
                        now_forbidden: None,
                        now_allowed: None,
                    });
                }
                for (a, nf, na, _) in diffs {
                    all_same = false;
                    let mut parts = Vec::new();
                    if nf.is_some() {
                        parts.push("some requests are now forbidden");
                    }
                    if na.is_some() {
                        parts.push("some requests are now allowed");
                    }
                    report.changes.push(Change {
                        policy: id.to_owned(),
                        kind: base.to_owned(),
                        action: Some(a.clone()),
                        message: format!("{base}: on `{a}` {}", parts.join(" and ")),
                        method,
                        now_forbidden: nf,
                        now_allowed: na,
                    });
                }
            }
        }
    }
    // Every body forbids the same requests as before ⇒ so does the whole set.
    // A behaviour moved from one body to another is reported per body.
    report.same_behaviour = Some(all_same);
    let method = if all_exhaustive {
        Method::Exhaustive
    } else {
        Method::Bounded
    };
    report.method = Some(method);
    report.millis = start.elapsed().as_millis();
    report
}
