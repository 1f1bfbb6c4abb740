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
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicySet};
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
