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

use super::{Action, Apply, BoxFuture, Ctx, Manifest, Phase, Step, StepError};

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
enum Name {
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

fn check(manifest: &Manifest<'_>, entries: Vec<Entry>) -> Result<Vec<Name>, String> {
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let at = |msg: String| {
            format!(
                "{}:{}: [[{SECTION}]] number {}: {msg}",
                manifest.path.display(),
                manifest.line_of(SECTION, i),
                i + 1
            )
        };
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

/// The steps for `[[absent_api_key]]`: one list of the organization's keys;
/// a delete per existing key the manifest names (`prune` is ignored).
pub async fn plan(ctx: &Ctx, manifest: &Manifest<'_>, _prune: bool) -> Result<Vec<Step>, String> {
    let entries: Vec<Entry> = manifest.section(SECTION)?;
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let names = check(manifest, entries)?;
    let keys = ctx
        .client
        .list_api_keys(&ctx.org)
        .await
        .map_err(|e| format!("API keys of organization {}: {e}", ctx.org))?;
    let mut steps: Vec<Step> = Vec::new();
    for name in &names {
        let matching: Vec<&ApiKey> = keys.iter().filter(|k| name.matches(k)).collect();
        if matching.is_empty() {
            steps.push(Step::new(
                KIND,
                format!("{} (absent)", name.show()),
                Action::Unchanged,
                Phase::Other,
            ));
            continue;
        }
        let n = matching.len();
        for k in matching {
            let key = format!("{} ({:?})", k.id, k.desc);
            if steps.iter().any(|s| s.key == key) {
                continue; // named twice (by id and by description)
            }
            let mut s = Step::new(KIND, key, Action::Delete, Phase::Other);
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
    }
    Ok(steps)
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
            Manifest::new(Path::new("atlas-cedar.toml"), Path::new("."), text).unwrap()
        };
        let both =
            m("[[absent_api_key]]\nid = \"5f0c0ffee0123456789abcde\"\ndescription = \"x\"\n");
        let e = check(&both, both.section(SECTION).unwrap()).unwrap_err();
        assert!(
            e.starts_with("atlas-cedar.toml:1: [[absent_api_key]] number 1: give exactly one"),
            "{e}"
        );
        let bad = m("\n[[absent_api_key]]\nid = \"nope\"\n");
        let e = check(&bad, bad.section(SECTION).unwrap()).unwrap_err();
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
