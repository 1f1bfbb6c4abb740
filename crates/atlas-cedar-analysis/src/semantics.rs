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

use atlas_cedar_core::schema::NamespaceSchema;
use atlas_cedar_core::Engine;
use cedar_policy::{ActionConstraint, PolicySet};
use serde::Serialize;
use serde_json::Value;

use crate::policies::{atlas_policy_set, evaluate, LoadedPolicy};
use crate::prove::{Answer, Prover, Question};
use crate::space::{build_space, Mentions, Probe, Space};

/// How an answer was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every behaviour of the bodies was enumerated and evaluated.
    Exhaustive,
    /// Part of the space was evaluated (sampled, truncated, or out of time).
    Bounded,
    /// Proved by the solver (cedar-policy-symcc and cvc5) for every well-formed
    /// request of the action.
    Proved,
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
    /// When a solver was asked and did not settle the question: what it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solver: Option<String>,
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
        solver: None,
    }
}

/// One body evaluated over its own request space for one action: computed once and
/// reused by every question about that body (vacuous, lockout, redundancy).
struct Evaluated<'a> {
    policy: &'a LoadedPolicy,
    set: Option<PolicySet>,
    space: Option<Space>,
    /// Forbidden, per probe of `space`.
    bits: Vec<bool>,
    errs: Vec<usize>,
    reads: Mentions,
}

impl Evaluated<'_> {
    fn forbids(&self, probe: &Probe) -> bool {
        self.set
            .as_ref()
            .is_some_and(|s| evaluate(s, &probe.built.request, &probe.built.entities).forbidden())
    }

    fn forbids_any(&self) -> bool {
        self.bits.iter().any(|b| *b)
    }

    /// A request of either body's own space that this body forbids and `other`
    /// allows: a real request showing this body is not implied by `other`. Only the
    /// missing side is evaluated (this body's forbidden probes, the other's allowed
    /// ones): an allow-list is told apart from another by the other's own literals.
    fn escapes(&self, other: &Evaluated<'_>) -> bool {
        let own = self.space.as_ref().is_some_and(|s| {
            s.probes
                .iter()
                .zip(&self.bits)
                .any(|(p, b)| *b && !other.forbids(p))
        });
        own || other.space.as_ref().is_some_and(|s| {
            s.probes
                .iter()
                .zip(&other.bits)
                .any(|(p, b)| !*b && self.forbids(p))
        })
    }
}

/// Per body, one bit per probe: forbidden; plus the probes with errors.
fn outcomes(p: &LoadedPolicy, probes: &[Probe]) -> (Vec<bool>, Vec<usize>) {
    outcomes_with(atlas_policy_set([p]).ok().as_ref(), probes)
}

fn outcomes_with(set: Option<&PolicySet>, probes: &[Probe]) -> (Vec<bool>, Vec<usize>) {
    let Some(set) = set else {
        return (vec![false; probes.len()], Vec::new());
    };
    let mut bits = Vec::with_capacity(probes.len());
    let mut errs = Vec::new();
    for (i, pr) in probes.iter().enumerate() {
        let v = evaluate(set, &pr.built.request, &pr.built.entities);
        if !v.errors.is_empty() {
            errs.push(i);
        }
        bits.push(v.forbidden());
    }
    (bits, errs)
}

/// An example taken from a solver model (already evaluated by the prover).
fn model_example(action: &str, model: &cedar_policy_symcc::Env) -> Example {
    Example {
        action: action.to_owned(),
        values: Value::from(crate::prove::show_model(model)),
    }
}

/// Analyzes bodies per body and per action by evaluation only (see
/// [`analyze_with`]).
pub fn analyze(
    engine: &Engine,
    policies: &[LoadedPolicy],
    cap: usize,
    budget: Duration,
) -> AnalyzeReport {
    analyze_with(engine, policies, cap, budget, None)
}

/// Analyzes bodies per body and per action. Each body is evaluated once over its own
/// request space; a candidate finding (forbids nothing, forbids everything, implied
/// by another body) is then, when `prover` is given, put to the solver: `proved` when
/// it holds for every well-formed request, dropped when the solver's counterexample
/// (checked by evaluation) refutes a bounded guess, and answered by evaluation with
/// the solver's reason when it has no answer (time limit, error).
///
/// Redundancy is checked only between bodies of the same action that read an
/// overlapping attribute. A pair is first refuted cheaply: a request of one body's own
/// space that it forbids and the other allows. Only pairs that survive get a space of
/// their own (both bodies' attributes) and, with a prover, a proof.
pub fn analyze_with(
    engine: &Engine,
    policies: &[LoadedPolicy],
    cap: usize,
    budget: Duration,
    mut prover: Option<&mut Prover>,
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
    for ((ns_name, action), bodies) in &by_action {
        let ns = engine.schemas.get(ns_name);
        let mut evaluated: Vec<Evaluated<'_>> = Vec::with_capacity(bodies.len());
        for p in bodies {
            let reads = Mentions::scan([p.text.as_str()]);
            let set = atlas_policy_set([*p]).ok();
            if start.elapsed() > budget {
                report
                    .findings
                    .push(unknown(p, action, "not analysed: time limit reached"));
                evaluated.push(Evaluated {
                    policy: p,
                    set,
                    space: None,
                    bits: Vec::new(),
                    errs: Vec::new(),
                    reads,
                });
                continue;
            }
            let space = space_for(engine, ns_name, action, &[p], cap);
            let (bits, errs) = space
                .as_ref()
                .map(|s| outcomes_with(set.as_ref(), &s.probes))
                .unwrap_or_default();
            let ev = Evaluated {
                policy: p,
                set,
                space,
                bits,
                errs,
                reads,
            };
            if let (Some(space), Some(ns)) = (&ev.space, ns) {
                body_findings(
                    &mut report,
                    &ev,
                    space,
                    action,
                    prover.as_deref_mut().map(|pr| (pr, ns)),
                );
            }
            evaluated.push(ev);
        }
        // Redundancy between bodies that read an overlapping attribute. Bodies
        // reading disjoint attributes cannot imply each other unless one forbids
        // nothing or everything (reported above).
        for (i, a) in evaluated.iter().enumerate() {
            for b in evaluated.iter().skip(i + 1) {
                if start.elapsed() > budget {
                    break;
                }
                let shared = a.reads.paths.iter().any(|x| {
                    b.reads
                        .paths
                        .iter()
                        .any(|y| x.starts_with(y.as_str()) || y.starts_with(x.as_str()))
                });
                if !shared || !a.forbids_any() || !b.forbids_any() {
                    continue;
                }
                // Cheap refutation on each body's own space (real requests).
                let a_out = a.escapes(b);
                let b_out = b.escapes(a);
                if a_out && b_out {
                    continue;
                }
                pair_findings(
                    &mut report,
                    engine,
                    (ns_name, action),
                    (a, b),
                    (!a_out, !b_out),
                    cap,
                    prover.as_deref_mut().and_then(|pr| ns.map(|ns| (pr, ns))),
                );
            }
        }
    }
    report.millis = start.elapsed().as_millis();
    report
}

fn finding(
    p: &LoadedPolicy,
    action: &str,
    kind: &str,
    message: String,
    example: Option<Example>,
    method: Method,
) -> Finding {
    Finding {
        kind: kind.to_owned(),
        policy: p.id.clone(),
        file: p.file.clone(),
        line: p.line,
        action: action.to_owned(),
        message,
        method,
        example,
        solver: None,
    }
}

/// Behaviour, evaluation errors, vacuous and lockout findings of one body.
fn body_findings(
    report: &mut AnalyzeReport,
    ev: &Evaluated<'_>,
    space: &Space,
    action: &str,
    prover: Option<(&mut Prover, &NamespaceSchema)>,
) {
    let p = ev.policy;
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
    let forbidden = ev.bits.iter().filter(|b| **b).count();
    let pick = |want: bool| {
        ev.bits
            .iter()
            .position(|b| *b == want)
            .and_then(|i| space.probes.get(i))
            .map(Example::of)
    };
    let (fex, aex) = (pick(true), pick(false));
    let mut behaviour = Behaviour {
        policy: p.id.clone(),
        file: p.file.clone(),
        line: p.line,
        action: action.to_owned(),
        forbidden,
        requests: n,
        method,
        forbids_example: fex.clone(),
        allows_example: aex.clone(),
    };
    let mut prover = prover;
    if ev.errs.is_empty() && method != Method::Exhaustive {
        // The bounded search may have missed an error: ask the solver for one.
        if let Some((prover, ns)) = prover.as_mut() {
            if let Answer::Refuted(model) = prover.ask(ns, action, Question::RaisesNoError(p)) {
                report.findings.push(finding(
                    p,
                    action,
                    "evaluation-error",
                    "raises an evaluation error on some requests (Cedar then skips the body); the bounded search missed it, the solver found one".to_owned(),
                    Some(model_example(action, &model)),
                    Method::Proved,
                ));
            }
        }
    }
    if let Some(i) = ev.errs.first() {
        report.findings.push(finding(
            p,
            action,
            "evaluation-error",
            format!(
                "raises an evaluation error on {} of {n} requests (Cedar then skips the body)",
                ev.errs.len()
            ),
            space.probes.get(*i).map(Example::of),
            Method::Exhaustive,
        ));
    }
    let candidate = if n == 0 {
        None
    } else if forbidden == 0 {
        Some(true)
    } else if forbidden == n {
        Some(false)
    } else {
        None
    };
    if let Some(vacuous) = candidate {
        let (kind, msg, example) = if vacuous {
            match method {
                Method::Exhaustive => ("vacuous", format!("forbids nothing: no `{action}` request is refused ({n} requests cover every behaviour)"), aex.clone()),
                _ => ("unknown", format!("unknown whether it forbids anything: none of {n} requests tried is refused"), aex.clone()),
            }
        } else {
            match method {
                Method::Exhaustive => ("lockout", format!("lockout: forbids every `{action}` request, so nothing of that kind can be created or changed"), fex.clone()),
                _ => ("unknown", format!("possible lockout: forbids all {n} `{action}` requests tried"), fex.clone()),
            }
        };
        let mut f = finding(p, action, kind, msg, example, method);
        let mut keep = true;
        if let Some((prover, ns)) = prover {
            let q = if vacuous {
                Question::ForbidsNothing(p)
            } else {
                Question::ForbidsEverything(p)
            };
            match prover.ask(ns, action, q) {
                Answer::Holds => {
                    f.kind = if vacuous { "vacuous" } else { "lockout" }.to_owned();
                    f.method = Method::Proved;
                    f.message = if vacuous {
                        format!("forbids nothing: proved that no `{action}` request is refused")
                    } else {
                        format!("lockout: proved that every `{action}` request is refused, so nothing of that kind can be created or changed")
                    };
                }
                Answer::Refuted(model) => {
                    let ex = model_example(action, &model);
                    let what = if vacuous { "forbidden" } else { "allowed" };
                    if method == Method::Exhaustive {
                        // True for the ids Atlas knows (the catalog); the solver's
                        // request uses values outside it.
                        f.message.push_str(" — for the ids in the catalog only");
                        f.solver = Some(format!(
                            "refuted with values outside the catalog: {} is {what}",
                            crate::prove::show_model(&model)
                        ));
                    } else {
                        keep = false;
                    }
                    if vacuous {
                        behaviour.forbids_example = Some(ex);
                    } else {
                        behaviour.allows_example = Some(ex);
                    }
                }
                Answer::Unknown(why) => {
                    f.solver = Some(format!("unknown ({why}); answered by evaluation"));
                }
            }
        }
        if keep {
            report.findings.push(f);
        }
    }
    report.behaviours.push(behaviour);
}

/// Redundancy of a pair not refuted on the bodies' own spaces: decided over the
/// space of both bodies' attributes, then proved when a prover is given. `maybe` says
/// which directions (a implied by b, b implied by a) are still possible.
fn pair_findings(
    report: &mut AnalyzeReport,
    engine: &Engine,
    (ns_name, action): (&str, &str),
    (a, b): (&Evaluated<'_>, &Evaluated<'_>),
    maybe: (bool, bool),
    cap: usize,
    prover: Option<(&mut Prover, &NamespaceSchema)>,
) {
    let Some(space) = space_for(engine, ns_name, action, &[a.policy, b.policy], cap) else {
        return;
    };
    let method = if space.complete {
        Method::Exhaustive
    } else {
        Method::Bounded
    };
    let (abits, _) = outcomes_with(a.set.as_ref(), &space.probes);
    let (bbits, _) = outcomes_with(b.set.as_ref(), &space.probes);
    if !abits.iter().any(|x| *x) || !bbits.iter().any(|x| *x) {
        return;
    }
    let a_in_b = maybe.0 && abits.iter().zip(&bbits).all(|(x, y)| !*x || *y);
    let b_in_a = maybe.1 && abits.iter().zip(&bbits).all(|(x, y)| *x || !*y);
    if !a_in_b && !b_in_a {
        return;
    }
    let pick = |bits: &[bool]| {
        bits.iter()
            .position(|x| *x)
            .and_then(|k| space.probes.get(k))
            .map(Example::of)
    };
    // (redundant, other, kind, example)
    let (redundant, other, kind, example) = if a_in_b && b_in_a {
        (b.policy, a.policy, "equivalent", pick(&abits))
    } else if a_in_b {
        (a.policy, b.policy, "redundant", pick(&abits))
    } else {
        (b.policy, a.policy, "redundant", pick(&bbits))
    };
    let message = if kind == "equivalent" {
        format!(
            "forbids exactly the same `{action}` requests as {} ({})",
            other.id,
            other.location()
        )
    } else {
        format!(
            "every `{action}` request it forbids is also forbidden by {} ({}): it adds nothing there",
            other.id,
            other.location()
        )
    };
    let mut f = finding(redundant, action, kind, message.clone(), example, method);
    if method != Method::Exhaustive {
        f.kind = "unknown".to_owned();
        f.message = format!("possibly: {message} (not proved: bounded search)");
    }
    if let Some((prover, ns)) = prover {
        let mut questions = vec![Question::ImpliedBy(redundant, other)];
        if kind == "equivalent" {
            questions.push(Question::ImpliedBy(other, redundant));
        }
        let mut outcome = Answer::Holds;
        for q in questions {
            match prover.ask(ns, action, q) {
                Answer::Holds => {}
                other => {
                    outcome = other;
                    break;
                }
            }
        }
        match outcome {
            Answer::Holds => {
                f.kind = kind.to_owned();
                f.method = Method::Proved;
                f.message = format!("{message} (proved for every request)");
            }
            Answer::Refuted(model) => {
                if method == Method::Exhaustive {
                    f.message.push_str(" — for the ids in the catalog only");
                    f.solver = Some(format!(
                        "refuted with values outside the catalog: {} tells them apart",
                        crate::prove::show_model(&model)
                    ));
                } else {
                    return;
                }
            }
            Answer::Unknown(why) => {
                f.solver = Some(format!("unknown ({why}); answered by evaluation"));
            }
        }
    }
    report.findings.push(f);
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
