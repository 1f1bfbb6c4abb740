//! `[[absent_api_key]]`: organization API keys that must not exist, named by
//! `id` or by `description` (Atlas's `desc`, matched exactly). The plan shows
//! each matching key as a delete with its id, description and roles; push
//! deletes them (after confirmation, or `--yes`). A key the manifest does not
//! name is never deleted: `--prune` does not apply to API keys. Private keys
//! are never read nor printed.
//!
//! Direct command: `atlas-cedar api-keys delete`.

use atlas_cedar_client::api_keys::ApiKey;
use atlas_cedar_client::rest::check_id;
use serde::Deserialize;

use super::kind::{Kind, Listed, Owner, Section};
use super::{Action, Apply, BoxFuture, Ctx, Manifest, Phase, PlanError, Step, StepError};

const KIND: &str = "API key";
const SECTION: &str = "absent_api_key";

/// One `[[absent_api_key]]` entry: exactly one of `id`, `description`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: Option<String>,
    description: Option<String>,
}

/// How an entry names keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Name {
    Id(String),
    Description(String),
}

impl Name {
    fn matches(&self, k: &ApiKey) -> bool {
        match self {
            Name::Id(id) => k.id == *id,
            Name::Description(d) => k.desc == *d,
        }
    }

    fn show(&self) -> String {
        match self {
            Name::Id(id) => format!("id {id}"),
            Name::Description(d) => format!("description {d:?}"),
        }
    }
}

fn check(manifest: &Manifest, entries: Vec<Entry>) -> Result<Vec<Name>, PlanError> {
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let at = |msg: String| manifest.entry_error(SECTION, i, msg);
        let name = match (e.id, e.description) {
            (Some(id), None) => {
                check_id("API key id", &id).map_err(|e| at(e.to_string()))?;
                Name::Id(id)
            }
            (None, Some(d)) if !d.is_empty() => Name::Description(d),
            (None, Some(_)) => return Err(at("description is empty".to_owned())),
            _ => {
                return Err(at(
                    "give exactly one of id = \"<24-hex key id>\" or description = \"<the key's description>\""
                        .to_owned(),
                ))
            }
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

fn describe(k: &ApiKey) -> Vec<String> {
    vec![
        format!("id: {}", k.id),
        format!("description: {:?}", k.desc),
        format!("public key: {}", k.public_key),
        format!("roles: {}", k.roles_text()),
    ]
}

/// `[[absent_api_key]]`: one list of the organization's keys; a delete per
/// existing key an entry names (one entry may name several keys by
/// description). `--prune` does not apply.
pub(crate) struct Keys;

impl Kind for Keys {
    type Desired = Name;
    type Remote = ApiKey;
    type Scope = ();

    fn scope(&self, _: &Name) {}

    async fn list(&mut self, ctx: &Ctx, _: &(), _prune: bool) -> Result<Vec<ApiKey>, PlanError> {
        ctx.client
            .list_api_keys(&ctx.org)
            .await
            .map_err(|e| PlanError::atlas(format!("API keys of organization {}", ctx.org), e))
    }

    fn is(&self, name: &Name, k: &ApiKey) -> bool {
        name.matches(k)
    }

    async fn steps(
        &mut self,
        ctx: &Ctx,
        _: &(),
        name: &Name,
        _natural: Option<&ApiKey>,
        listed: &mut Listed<'_, ApiKey>,
    ) -> Result<Vec<Step>, PlanError> {
        let matching: Vec<usize> = (0..listed.items().len())
            .filter(|i| listed.items().get(*i).is_some_and(|k| name.matches(k)))
            .collect();
        if matching.is_empty() {
            return Ok(vec![Step::new(
                KIND,
                format!("{} (absent)", name.show()),
                Action::Unchanged,
                Phase::Other,
            )]);
        }
        let n = matching.len();
        let mut steps = Vec::new();
        for i in matching {
            if listed.owner(i) == Owner::Other {
                continue; // named twice (by id and by description)
            }
            listed.claim(i);
            let Some(k) = listed.items().get(i) else {
                continue;
            };
            let mut s = Step::new(
                KIND,
                format!("{} ({:?})", k.id, k.desc),
                Action::Delete,
                Phase::Other,
            );
            s.reason = format!("{} in [[{SECTION}]]", name.show());
            s.details = describe(k);
            s.details
                .push("Atlas also removes it from every project".to_owned());
            if n > 1 {
                s.warnings.push(format!(
                    "{} matches {n} keys: all {n} are deleted",
                    name.show()
                ));
            }
            s.requests = vec![crate::Request::new(
                "DELETE",
                format!("/api/atlas/v2/orgs/{}/apiKeys/{}", ctx.org, k.id),
            )];
            s.op = Some(Box::new(Delete { id: k.id.clone() }));
            steps.push(s);
        }
        Ok(steps)
    }

    /// A key the manifest does not name is never deleted.
    fn delete(&mut self, _: &Ctx, _: &(), _: &ApiKey, _: &[Step]) -> Option<Step> {
        None
    }
}

impl Section for Keys {
    fn desired(&mut self, manifest: &Manifest) -> Result<Vec<Name>, PlanError> {
        check(manifest, manifest.section(SECTION)?)
    }
}

#[derive(Debug)]
struct Delete {
    id: String,
}

impl Apply for Delete {
    fn apply<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<String, StepError>> {
        Box::pin(async move {
            ctx.client.delete_api_key(&ctx.org, &self.id).await?;
            Ok("deleted".to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::Path;

    #[test]
    fn exactly_one_of_id_and_description() {
        let m = |text: &'static str| {
            Manifest::parse(Path::new("atlas-cedar.toml"), text.to_owned()).unwrap()
        };
        let both =
            m("[[absent_api_key]]\nid = \"5f0c0ffee0123456789abcde\"\ndescription = \"x\"\n");
        let e = check(&both, both.section(SECTION).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("atlas-cedar.toml:1: [[absent_api_key]] number 1: give exactly one"),
            "{e}"
        );
        let bad = m("\n[[absent_api_key]]\nid = \"nope\"\n");
        let e = check(&bad, bad.section(SECTION).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("atlas-cedar.toml:2:") && e.contains("24-hex"),
            "{e}"
        );
        let ok = m(
            "[[absent_api_key]]\ndescription = \"ci\"\n[[absent_api_key]]\ndescription = \"ci\"\n",
        );
        assert_eq!(
            check(&ok, ok.section(SECTION).unwrap()).unwrap(),
            vec![Name::Description("ci".to_owned())]
        );
    }
}
