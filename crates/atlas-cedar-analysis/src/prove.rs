//! Proofs with `cedar-policy-symcc` (Cedar's verified symbolic compiler) and the
//! cvc5 SMT solver. Atlas allows unless a `forbid` holds, Cedar denies by default:
//! both sides get the permit-all policy before the solver is asked, otherwise every
//! forbid-only set would be trivially "equivalent" (everything denied).
//!
//! The solver is found from the `CVC5` environment variable or `PATH`; its version is
//! checked, and a missing solver is a clear message, never a wrong answer. Each query
//! has a time limit; a timeout or solver error is `unknown`.

use std::time::{Duration, Instant};

use atlas_cedar_core::schema::NamespaceSchema;
use cedar_policy::RequestEnv;
use cedar_policy_symcc::solver::LocalSolver;
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicy, CompiledPolicySet};
use serde::Serialize;

use crate::policies::{atlas_policy_set, error_chain, evaluate, LoadedPolicy};
use crate::request::uid;

/// The oldest cvc5 known to answer these queries correctly (Debian 12's package).
pub const MIN_CVC5: (u32, u32) = (1, 0);

/// The solver's path and version, or what to install.
pub fn cvc5() -> Result<(String, String), String> {
    let path = std::env::var("CVC5").unwrap_or_else(|_| "cvc5".to_owned());
    let out = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| {
            format!(
                "the cvc5 solver was not found (`{path}`: {e}); install it (Debian/Ubuntu: `apt-get install -y cvc5`) or set CVC5 to its path"
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or("")
        .to_owned();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if v < MIN_CVC5 {
        return Err(format!(
            "`{path}` reports cvc5 version `{version}`; version {}.{} or newer is needed (`apt-get install -y cvc5`)",
            MIN_CVC5.0, MIN_CVC5.1
        ));
    }
    Ok((path, version))
}

/// The answer of one equivalence query.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub action: String,
    pub resource_type: String,
    /// `equivalent`, `different` or `unknown`.
    pub result: String,
    /// For `different`: the solver's counterexample, checked by evaluating it.
    pub example: Option<String>,
    /// For `different`: whether the example is forbidden by the new set (else by
    /// the old one); from evaluation.
    pub now_forbidden: Option<bool>,
    pub detail: Option<String>,
    pub millis: u128,
}

/// For each action of `actions` (and each of its resource types): are the old and
/// new sets (each with the permit-all) equivalent under Atlas semantics?
pub fn prove_equivalence(
    ns: &NamespaceSchema,
    old: &[LoadedPolicy],
    new: &[LoadedPolicy],
    actions: &[String],
    timeout: Duration,
) -> Result<Vec<Proof>, String> {
    cvc5()?;
    let old_set = atlas_policy_set(old.iter())?;
    let new_set = atlas_policy_set(new.iter())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    // The solver process is spawned with tokio: inside the runtime.
    let _guard = rt.enter();
    let mut out = Vec::new();
    for action in actions {
        let Some(info) = ns.actions.get(action) else {
            continue;
        };
        let principal = info.principal_types.first().cloned().unwrap_or_default();
        for rty in &info.resource_types {
            let start = Instant::now();
            let mut proof = Proof {
                action: action.clone(),
                resource_type: rty.clone(),
                result: "unknown".to_owned(),
                example: None,
                now_forbidden: None,
                detail: None,
                millis: 0,
            };
            let answer = (|| -> Result<Option<cedar_policy_symcc::Env>, String> {
                let env = RequestEnv::new(
                    type_name(&ns.name, &principal)?,
                    uid(&ns.name, "Action", action)?,
                    type_name(&ns.name, rty)?,
                );
                let c_old = CompiledPolicySet::compile(&old_set, &env, &ns.schema)
                    .map_err(|e| error_chain(&e))?;
                let c_new = CompiledPolicySet::compile(&new_set, &env, &ns.schema)
                    .map_err(|e| error_chain(&e))?;
                let solver = LocalSolver::cvc5().map_err(|e| error_chain(&e))?;
                let mut symcc = CedarSymCompiler::new(solver).map_err(|e| error_chain(&e))?;
                rt.block_on(async {
                    tokio::time::timeout(
                        timeout,
                        symcc.check_equivalent_with_counterexample_opt(&c_old, &c_new),
                    )
                    .await
                })
                .map_err(|_| format!("solver time limit ({} ms) reached", timeout.as_millis()))?
                .map_err(|e| error_chain(&e))
            })();
            match answer {
                Ok(None) => proof.result = "equivalent".to_owned(),
                Ok(Some(env)) => {
                    // Check the counterexample by evaluating it on both sets.
                    let a = evaluate(&old_set, &env.request, &env.entities).forbidden();
                    let b = evaluate(&new_set, &env.request, &env.entities).forbidden();
                    if a == b {
                        proof.detail = Some(
                            "the solver's counterexample evaluates the same on both sides"
                                .to_owned(),
                        );
                    } else {
                        proof.result = "different".to_owned();
                        proof.now_forbidden = Some(b);
                        proof.example = Some(
                            env.request
                                .context()
                                .map(|c| format!("{c}"))
                                .unwrap_or_else(|| env.to_string()),
                        );
                    }
                }
                Err(e) => proof.detail = Some(e),
            }
            proof.millis = start.elapsed().as_millis();
            out.push(proof);
        }
    }
    Ok(out)
}

fn type_name(ns: &str, ty: &str) -> Result<cedar_policy::EntityTypeName, String> {
    let name = if ns.is_empty() {
        ty.to_owned()
    } else {
        format!("{ns}::{ty}")
    };
    name.parse()
        .map_err(|e: cedar_policy::ParseErrors| format!("bad type `{name}`: {e}"))
}

/// What the solver answered to one `analyze` question.
#[derive(Debug)]
pub enum Answer {
    /// Proved for every well-formed request of the action (all its resource types).
    Holds,
    /// Refuted: the solver's request, evaluated with Cedar's authorizer, shows it.
    Refuted(Box<cedar_policy_symcc::Env>),
    /// No answer: time limit, solver error, or a model that does not evaluate as
    /// the solver claims. The text says which.
    Unknown(String),
}

/// The questions `analyze` asks, each under Atlas semantics (the body's set includes
/// the permit-all, so "allowed" means "no forbid holds").
#[derive(Debug, Clone, Copy)]
pub enum Question<'a> {
    /// The body forbids no request of the action (vacuous).
    ForbidsNothing(&'a LoadedPolicy),
    /// The body forbids every request of the action (lockout).
    ForbidsEverything(&'a LoadedPolicy),
    /// Every request the first body forbids, the second forbids too (the first is
    /// redundant).
    ImpliedBy(&'a LoadedPolicy, &'a LoadedPolicy),
    /// Evaluating the body never raises an error (an error makes Cedar skip it).
    RaisesNoError(&'a LoadedPolicy),
}

/// A solver session for `analyze`: one runtime and one cvc5 process reused across
/// queries (restarted after a time limit or an error), and the compiled policy sets
/// cached per body and request environment.
pub struct Prover {
    rt: tokio::runtime::Runtime,
    symcc: Option<CedarSymCompiler<LocalSolver>>,
    timeout: Duration,
    /// cvc5's version, for the report.
    pub version: String,
    compiled: std::collections::HashMap<(String, String, String), CompiledPolicySet>,
    /// Queries sent, and how long they took in total.
    pub queries: usize,
    pub solver_time: Duration,
}

impl std::fmt::Debug for Prover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover")
            .field("version", &self.version)
            .field("timeout", &self.timeout)
            .field("queries", &self.queries)
            .finish_non_exhaustive()
    }
}

impl Prover {
    /// Finds cvc5 (`CVC5` or `PATH`) and checks its version; `timeout` is the time
    /// limit of each query.
    pub fn new(timeout: Duration) -> Result<Prover, String> {
        let (_, version) = cvc5()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        Ok(Prover {
            rt,
            symcc: None,
            timeout,
            version,
            compiled: Default::default(),
            queries: 0,
            solver_time: Duration::ZERO,
        })
    }

    fn compiled(
        &mut self,
        ns: &NamespaceSchema,
        p: &LoadedPolicy,
        env: &RequestEnv,
        key: (String, String),
    ) -> Result<CompiledPolicySet, String> {
        // Ids need not be unique across files (two `x.cedar` in two folders): the
        // body's place and text name it.
        let k = (
            format!("{}\u{0}{}\u{0}{}\u{0}{}", p.file, p.index, p.id, p.text),
            key.0,
            key.1,
        );
        if let Some(c) = self.compiled.get(&k) {
            return Ok(c.clone());
        }
        let set = atlas_policy_set([p])?;
        let c = CompiledPolicySet::compile(&set, env, &ns.schema).map_err(|e| error_chain(&e))?;
        self.compiled.insert(k, c.clone());
        Ok(c)
    }

    /// Asks `question` about `action` of namespace `ns`, for each resource type of
    /// the action: it holds only if it holds for all of them.
    pub fn ask(&mut self, ns: &NamespaceSchema, action: &str, question: Question<'_>) -> Answer {
        let Some(info) = ns.actions.get(action) else {
            return Answer::Unknown(format!("`{action}` is not in the schema"));
        };
        let principal = info.principal_types.first().cloned().unwrap_or_default();
        for rty in &info.resource_types {
            match self.ask_env(ns, action, &principal, rty, question) {
                Answer::Holds => {}
                other => return other,
            }
        }
        Answer::Holds
    }

    fn ask_env(
        &mut self,
        ns: &NamespaceSchema,
        action: &str,
        principal: &str,
        rty: &str,
        question: Question<'_>,
    ) -> Answer {
        let env = match (|| -> Result<RequestEnv, String> {
            Ok(RequestEnv::new(
                type_name(&ns.name, principal)?,
                uid(&ns.name, "Action", action)?,
                type_name(&ns.name, rty)?,
            ))
        })() {
            Ok(e) => e,
            Err(e) => return Answer::Unknown(e),
        };
        let key = (action.to_owned(), rty.to_owned());
        let sets = match question {
            Question::ForbidsNothing(p)
            | Question::ForbidsEverything(p)
            | Question::RaisesNoError(p) => self.compiled(ns, p, &env, key).map(|c| (c.clone(), c)),
            Question::ImpliedBy(a, b) => self
                .compiled(ns, a, &env, key.clone())
                .and_then(|ca| Ok((ca, self.compiled(ns, b, &env, key)?))),
        };
        let (first, second) = match sets {
            Ok(s) => s,
            Err(e) => return Answer::Unknown(format!("symcc: {e}")),
        };
        // `RaisesNoError` is a question about the policy itself, not the set.
        let single = match question {
            Question::RaisesNoError(p) => {
                match CompiledPolicy::compile(&p.policy, &env, &ns.schema) {
                    Ok(c) => Some(c),
                    Err(e) => return Answer::Unknown(format!("symcc: {}", error_chain(&e))),
                }
            }
            _ => None,
        };
        // The solver process is spawned with tokio: inside the runtime.
        let _guard = self.rt.enter();
        let symcc = match self.symcc.take() {
            Some(s) => s,
            None => match LocalSolver::cvc5_with_args([format!(
                "--tlimit-per={}",
                self.timeout.as_millis()
            )])
            .map_err(|e| error_chain(&e))
            .and_then(|s| CedarSymCompiler::new(s).map_err(|e| error_chain(&e)))
            {
                Ok(s) => s,
                Err(e) => return Answer::Unknown(format!("cannot start cvc5: {e}")),
            },
        };
        let mut symcc = symcc;
        let limit = self.timeout + Duration::from_millis(500);
        let start = Instant::now();
        self.queries += 1;
        let result = self.rt.block_on(async {
            tokio::time::timeout(limit, async {
                match question {
                    // Allowed everywhere: no request is forbidden.
                    Question::ForbidsNothing(_) => {
                        symcc
                            .check_always_allows_with_counterexample_opt(&first)
                            .await
                    }
                    // Denied everywhere: every request is forbidden.
                    Question::ForbidsEverything(_) => {
                        symcc
                            .check_always_denies_with_counterexample_opt(&first)
                            .await
                    }
                    // Allowed by B's set ⇒ allowed by A's set: A forbids only what
                    // B forbids.
                    Question::ImpliedBy(..) => {
                        symcc
                            .check_implies_with_counterexample_opt(&second, &first)
                            .await
                    }
                    Question::RaisesNoError(_) => match &single {
                        Some(c) => symcc.check_never_errors_with_counterexample_opt(c).await,
                        // Compiled above for this question; never a silent "holds".
                        None => Err(cedar_policy_symcc::err::Error::SolverUnknown),
                    },
                }
            })
            .await
        });
        self.solver_time += start.elapsed();
        let answer = match result {
            Err(_) => {
                // The process may be mid-query: drop it, start a new one next time.
                return Answer::Unknown(format!(
                    "solver time limit ({} ms) reached",
                    self.timeout.as_millis()
                ));
            }
            Ok(Err(e)) => {
                let msg = error_chain(&e);
                return Answer::Unknown(if msg.to_lowercase().contains("unknown") {
                    format!(
                        "the solver answered unknown (time limit {} ms)",
                        self.timeout.as_millis()
                    )
                } else if msg.starts_with("solver error") {
                    msg
                } else {
                    format!("solver error: {msg}")
                });
            }
            Ok(Ok(a)) => a,
        };
        self.symcc = Some(symcc);
        let Some(model) = answer else {
            return Answer::Holds;
        };
        // Check the model with the authorizer before believing it.
        let verdict = |p: &LoadedPolicy| {
            atlas_policy_set([p])
                .map(|s| evaluate(&s, &model.request, &model.entities).forbidden())
                .ok()
        };
        let confirmed = match question {
            Question::RaisesNoError(p) => atlas_policy_set([p]).is_ok_and(|s| {
                !evaluate(&s, &model.request, &model.entities)
                    .errors
                    .is_empty()
            }),
            Question::ForbidsNothing(p) => verdict(p) == Some(true),
            Question::ForbidsEverything(p) => verdict(p) == Some(false),
            Question::ImpliedBy(a, b) => verdict(a) == Some(true) && verdict(b) == Some(false),
        };
        if confirmed {
            Answer::Refuted(Box::new(model))
        } else {
            Answer::Unknown("the solver's counterexample does not evaluate as claimed".to_owned())
        }
    }
}

/// A solver request shown as the context it carries (and the resource).
pub fn show_model(env: &cedar_policy_symcc::Env) -> String {
    let resource = env
        .request
        .resource()
        .map(|r| format!("resource {r}, "))
        .unwrap_or_default();
    let context = env
        .request
        .context()
        .map(|c| format!("context {c}"))
        .unwrap_or_else(|| env.to_string());
    format!("{resource}{context}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::policies::load_policies;
    use atlas_cedar_core::Engine;

    const PEERING: &str = "forbid (principal, action == ResourcePolicy::Action::\"project.vpcPeering.modify\", resource)\nwhen { COND };";

    #[test]
    fn counterexamples_are_evaluated_and_proofs_hold() {
        let Ok(mut prover) = Prover::new(Duration::from_secs(10)) else {
            eprintln!("cvc5 not installed: skipping (apt-get install -y cvc5)");
            return;
        };
        let engine = Engine::builtin().unwrap();
        let load = |cond: &str| {
            load_policies(&engine, "p.cedar", &PEERING.replace("COND", cond))
                .unwrap()
                .remove(0)
        };
        let ns = engine.schemas.get("ResourcePolicy").unwrap();
        let action = "project.vpcPeering.modify";
        let a = load("context.project.peeringConnections.contains(\"a\")");
        let mut any = load("context.project.peeringConnections.containsAny([\"a\", \"b\"])");
        any.rename("any");
        // Not vacuous: the solver's request is forbidden when evaluated.
        match prover.ask(ns, action, Question::ForbidsNothing(&a)) {
            Answer::Refuted(model) => {
                let set = atlas_policy_set([&a]).unwrap();
                assert!(evaluate(&set, &model.request, &model.entities).forbidden());
                assert!(
                    show_model(&model).contains("\"a\""),
                    "{}",
                    show_model(&model)
                );
            }
            other => panic!("{other:?}"),
        }
        // Not a lockout: the solver's request is allowed.
        assert!(matches!(
            prover.ask(ns, action, Question::ForbidsEverything(&a)),
            Answer::Refuted(_)
        ));
        // contains("a") is implied by containsAny(["a", "b"]), not the converse.
        assert!(matches!(
            prover.ask(ns, action, Question::ImpliedBy(&a, &any)),
            Answer::Holds
        ));
        match prover.ask(ns, action, Question::ImpliedBy(&any, &a)) {
            Answer::Refuted(model) => {
                let forbidden = |p: &LoadedPolicy| {
                    let set = atlas_policy_set([p]).unwrap();
                    evaluate(&set, &model.request, &model.entities).forbidden()
                };
                assert!(forbidden(&any) && !forbidden(&a));
            }
            other => panic!("{other:?}"),
        }
        assert!(prover.queries >= 4);
        // Two bodies with the same id (same file stem in two folders) are not
        // confused: one is vacuous, the other is not.
        let mut never = load("context.project.peeringConnections.contains(\"a\") && context.project.peeringConnections.isEmpty()");
        never.file = "other/p.cedar".to_owned();
        assert_eq!(never.id, a.id);
        assert!(matches!(
            prover.ask(ns, action, Question::ForbidsNothing(&never)),
            Answer::Holds
        ));
        assert!(matches!(
            prover.ask(ns, action, Question::ForbidsNothing(&a)),
            Answer::Refuted(_)
        ));
    }
}
