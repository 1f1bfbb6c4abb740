//! Organization API keys (`/orgs/{orgId}/apiKeys`, version 2023-01-01).
//! Atlas returns a key's private part once, in the answer to the POST that
//! creates it; this module never reads nor keeps one.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::rest::{check_id, Raw};
use crate::{Client, Operation};

const VERSION: &str = "2023-01-01";
const READ: &str = "Organization Member";
const OWNER: &str = "Organization Owner";

/// Keys per page when listing (Atlas's largest page).
const PAGE: u32 = crate::rest::MAX_ITEMS_PER_PAGE;

const LIST: Operation = Operation {
    name: "list organization API keys",
    version: VERSION,
    role: READ,
    idempotent: true,
};
const GET: Operation = Operation {
    name: "get organization API key",
    version: VERSION,
    role: READ,
    idempotent: true,
};
const DELETE: Operation = Operation {
    name: "delete organization API key",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};

/// One role of an API key (in the organization or in one of its projects).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRole {
    #[serde(default)]
    pub role_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

/// An organization API key as listed (without any private key: a
/// `privateKey` field in the answer is dropped when decoding).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    #[serde(default)]
    pub id: String,
    /// The description (`desc` in Atlas).
    #[serde(default)]
    pub desc: String,
    #[serde(default)]
    pub public_key: String,
    #[serde(default)]
    pub roles: Vec<ApiKeyRole>,
}

impl ApiKey {
    /// `ORG_OWNER, GROUP_READ_ONLY@<project>` for plans and tables.
    pub fn roles_text(&self) -> String {
        if self.roles.is_empty() {
            return "(none)".to_owned();
        }
        self.roles
            .iter()
            .map(|r| match &r.group_id {
                Some(g) => format!("{}@{g}", r.role_name),
                None => r.role_name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The key as Atlas sent it, without its `privateKey`.
fn without_private_key(mut key: Raw<ApiKey>) -> Raw<ApiKey> {
    if let Some(o) = key.json.as_object_mut() {
        o.remove("privateKey");
    }
    key
}

fn base(org: &str) -> Result<String, Error> {
    check_id("organization id", org)?;
    Ok(format!("/orgs/{org}/apiKeys"))
}

fn one(org: &str, id: &str) -> Result<String, Error> {
    check_id("API key id", id)?;
    Ok(format!("{}/{id}", base(org)?))
}

impl Client {
    /// Every API key of the organization (all pages).
    pub async fn list_api_keys(&self, org: &str) -> Result<Vec<ApiKey>, Error> {
        self.list_all(LIST, &base(org)?, PAGE).await
    }

    /// [`Client::list_api_keys`], each key also as Atlas sent it, except a
    /// `privateKey` (masked or not), which is removed.
    pub async fn list_api_keys_raw(&self, org: &str) -> Result<Vec<Raw<ApiKey>>, Error> {
        let list: Vec<Raw<ApiKey>> = self.list_all(LIST, &base(org)?, PAGE).await?;
        Ok(list.into_iter().map(without_private_key).collect())
    }

    /// One API key by id ([`Error::WrongObject`] when the answer is another
    /// key).
    pub async fn get_api_key(&self, org: &str, id: &str) -> Result<ApiKey, Error> {
        let key: ApiKey = self.get_json(GET, &one(org, id)?).await?;
        let answered = key.id.clone();
        crate::rest::same_id(GET, "API key", id, &answered, key)
    }

    /// Deletes an API key; Atlas also removes it from every project.
    pub async fn delete_api_key(&self, org: &str, id: &str) -> Result<(), Error> {
        self.delete_idempotent(DELETE, &one(org, id)?).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_private_key_in_an_answer_is_dropped() {
        let k: ApiKey = serde_json::from_str(
            r#"{"id":"5f0000000000000000000001","desc":"ci","publicKey":"abcdefgh",
                "privateKey":"********-****-****-c4e26334754f",
                "roles":[{"roleName":"ORG_OWNER","orgId":"5f0000000000000000000000"},
                         {"roleName":"GROUP_READ_ONLY","groupId":"5f00000000000000000000aa"}]}"#,
        )
        .unwrap();
        let text = serde_json::to_string(&k).unwrap();
        assert!(
            !text.contains("privateKey") && !text.contains("c4e2"),
            "{text}"
        );
        assert!(!format!("{k:?}").contains("c4e2"));
        assert_eq!(
            k.roles_text(),
            "ORG_OWNER, GROUP_READ_ONLY@5f00000000000000000000aa"
        );
    }
}
