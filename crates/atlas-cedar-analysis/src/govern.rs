//! Would Atlas's resource policies refuse a planned change?
//!
//! `plan` and the emulator ask this before a private endpoint or a search index is
//! created or changed: the change becomes the request Atlas evaluates (action,
//! resource, context), and the organization's resource policies are evaluated with
//! Cedar's authorizer under Atlas semantics (allowed unless a `forbid` body holds).
//!
//! Some facts of the context may be unknown to the caller (the cloud providers of a
//! cluster, whether it has dedicated search nodes). The caller then passes every
//! context it cannot tell apart; the answer is [`Outcome::Refused`] only when every
//! one of them is forbidden, [`Outcome::Allowed`] only when none is, and
//! [`Outcome::CannotTell`] otherwise, naming the unknown facts. A request that cannot
//! be built (a user schema without the action, say) is also "cannot tell", with the
//! reason: never a guess.

use std::collections::BTreeSet;

use atlas_cedar_core::Engine;
use serde_json::Value;

use crate::policies::{atlas_policy_set, evaluate, load_policies, LoadedPolicy};
use crate::request::{build_request, RequestSpec, ResourceSpec};

/// A resource policy by name with its bodies, as pushed.
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    pub name: String,
    pub bodies: Vec<String>,
}

/// The verdict on a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No policy forbids the change.
    Allowed,
    /// Atlas will refuse the change.
    Refused,
    /// Depends on facts the caller does not have (or the request could not be built).
    CannotTell,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Governed {
    pub outcome: Outcome,
    /// Resource policies that forbid the change (in every context for `Refused`,
    /// in some context for `CannotTell`), sorted, each once.
    pub policies: Vec<String>,
    /// Why the answer is `CannotTell`: the unknown facts or the build error.
    pub reason: Option<String>,
}

impl Governed {
    fn allowed() -> Self {
        Governed {
            outcome: Outcome::Allowed,
            policies: Vec::new(),
            reason: None,
        }
    }

    /// One line for a plan: `None` when allowed.
    pub fn describe(&self, action: &str) -> Option<String> {
        let names = self
            .policies
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        match self.outcome {
            Outcome::Allowed => None,
            Outcome::Refused => Some(format!(
                "Atlas will refuse this: resource policy {names} forbids `{action}` for it"
            )),
            Outcome::CannotTell => Some(match (&self.reason, names.is_empty()) {
                (Some(r), true) => format!("cannot tell whether resource policies allow `{action}`: {r}"),
                (Some(r), false) => format!(
                    "cannot tell whether Atlas allows this: resource policy {names} forbids `{action}` when {r}"
                ),
                (None, _) => format!("cannot tell whether resource policies allow `{action}`"),
            }),
        }
    }
}

/// Evaluates `action` on `resource` in each of `contexts` (plain JSON as in test
/// files: strings for entity ids and IP ranges) against `policies`. `unknown` names
/// the facts that differ between the contexts, for the message.
pub fn govern(
    engine: &Engine,
    policies: &[NamedPolicy],
    action: &str,
    resource: &ResourceSpec,
    contexts: &[Value],
    unknown: &[&str],
) -> Governed {
    let mut loaded: Vec<(String, LoadedPolicy)> = Vec::new();
    for p in policies {
        for (i, body) in p.bodies.iter().enumerate() {
            let file = format!("{}#{}", p.name, i + 1);
            // A body that does not load is lint's business; it forbids nothing here.
            if let Ok(found) = load_policies(engine, &file, body) {
                for mut l in found {
                    l.rename(&format!("{}#{}", p.name, i + 1));
                    loaded.push((p.name.clone(), l));
                }
            }
        }
    }
    if loaded.is_empty() || contexts.is_empty() {
        return Governed::allowed();
    }
    let namespaces: BTreeSet<String> = loaded.iter().map(|(_, l)| l.namespace.clone()).collect();
    let mut forbidden_in = 0usize;
    let mut forbidders = BTreeSet::new();
    let mut build_error = None;
    for ctx in contexts {
        let mut forbidden_here = false;
        for ns_name in &namespaces {
            let Some(ns) = engine.schemas.get(ns_name) else {
                continue;
            };
            if !ns.actions.contains_key(action) {
                continue;
            }
            let spec = RequestSpec {
                action: action.to_owned(),
                resource: resource.clone(),
                context: ctx.clone(),
            };
            let built = match atlas_cedar_core::check::with_stack(|| {
                build_request(ns, &engine.catalog, &spec)
            }) {
                Ok(b) => b,
                Err(errors) => {
                    build_error = Some(errors.join("; "));
                    continue;
                }
            };
            let members: Vec<&LoadedPolicy> = loaded
                .iter()
                .filter(|(_, l)| &l.namespace == ns_name)
                .map(|(_, l)| l)
                .collect();
            let Ok(set) = atlas_policy_set(members) else {
                continue;
            };
            let verdict = evaluate(&set, &built.request, &built.entities);
            for id in &verdict.forbidden_by {
                if let Some((name, _)) = loaded.iter().find(|(_, l)| &l.id == id) {
                    forbidders.insert(name.clone());
                    forbidden_here = true;
                }
            }
        }
        if forbidden_here {
            forbidden_in += 1;
        }
    }
    let policies: Vec<String> = forbidders.into_iter().collect();
    if let Some(e) = build_error {
        return Governed {
            outcome: Outcome::CannotTell,
            policies,
            reason: Some(format!("the request could not be built: {e}")),
        };
    }
    if forbidden_in == 0 {
        Governed::allowed()
    } else if forbidden_in == contexts.len() {
        Governed {
            outcome: Outcome::Refused,
            policies,
            reason: None,
        }
    } else {
        Governed {
            outcome: Outcome::CannotTell,
            policies,
            reason: Some(format!(
                "{} (not known to atlas-cedar)",
                if unknown.is_empty() {
                    "some facts".to_owned()
                } else {
                    unknown.join(", ")
                }
            )),
        }
    }
}

/// Every non-empty subset of the cloud providers, for a cluster whose providers
/// are unknown.
pub fn provider_sets() -> Vec<Vec<&'static str>> {
    let all = ["aws", "azure", "gcp"];
    (1u8..8)
        .map(|mask| {
            all.iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, p)| *p)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn engine() -> Engine {
        Engine::builtin().unwrap()
    }

    fn endpoint_policy() -> NamedPolicy {
        NamedPolicy {
            name: "no-endpoints".to_owned(),
            bodies: vec![r#"forbid (principal, action == ResourcePolicy::Action::"project.privateEndpoint.modify", resource)
when { context.project.privateEndpoints.contains("aws:vpce-bad") };"#
                .to_owned()],
        }
    }

    fn project() -> ResourceSpec {
        ResourceSpec {
            ty: Some("Project".to_owned()),
            id: Some("5f0000000000000000000000".to_owned()),
            project: None,
        }
    }

    #[test]
    fn refused_and_allowed() {
        let e = engine();
        let p = [endpoint_policy()];
        let bad = json!({"project": {"privateEndpoints": ["aws:vpce-bad"]}});
        let good = json!({"project": {"privateEndpoints": ["aws:vpce-good"]}});
        let g = govern(
            &e,
            &p,
            "project.privateEndpoint.modify",
            &project(),
            std::slice::from_ref(&bad),
            &[],
        );
        assert_eq!(g.outcome, Outcome::Refused);
        assert_eq!(g.policies, vec!["no-endpoints".to_owned()]);
        assert!(g
            .describe("project.privateEndpoint.modify")
            .unwrap()
            .contains("no-endpoints"));
        let g = govern(
            &e,
            &p,
            "project.privateEndpoint.modify",
            &project(),
            std::slice::from_ref(&good),
            &[],
        );
        assert_eq!(g.outcome, Outcome::Allowed);
        let g = govern(
            &e,
            &p,
            "project.privateEndpoint.modify",
            &project(),
            &[good, bad],
            &["project.privateEndpoints"],
        );
        assert_eq!(g.outcome, Outcome::CannotTell);
        assert!(g.reason.unwrap().contains("project.privateEndpoints"));
    }

    #[test]
    fn unknown_providers_cannot_tell() {
        let e = engine();
        let p = [NamedPolicy {
            name: "aws-only-search".to_owned(),
            bodies: vec![r#"forbid (principal, action == ResourcePolicy::Action::"search.index.modify", resource)
unless { context.cluster.cloudProviders == [ResourcePolicy::CloudProvider::"aws"] };"#
                .to_owned()],
        }];
        let contexts: Vec<Value> = provider_sets()
            .into_iter()
            .map(|s| json!({"cluster": {"cloudProviders": s}, "search": {"hasDedicatedNodes": false, "index": {"isAutoEmbed": false}}}))
            .collect();
        let cluster = ResourceSpec::default();
        let g = govern(
            &e,
            &p,
            "search.index.modify",
            &cluster,
            &contexts,
            &["cluster.cloudProviders"],
        );
        assert_eq!(g.outcome, Outcome::CannotTell, "{g:?}");
        let g = govern(
            &e,
            &p,
            "search.index.modify",
            &cluster,
            &contexts[1..2],
            &[],
        );
        // provider_sets()[1] is ["azure"]: forbidden.
        assert_eq!(g.outcome, Outcome::Refused, "{g:?}");
    }

    #[test]
    fn bad_context_is_cannot_tell_not_allowed() {
        let e = engine();
        let g = govern(
            &e,
            &[endpoint_policy()],
            "project.privateEndpoint.modify",
            &project(),
            &[json!({"project": {"privateEndpointz": []}})],
            &[],
        );
        assert_eq!(g.outcome, Outcome::CannotTell);
        assert!(g.reason.unwrap().contains("could not be built"));
    }
}
