//! Atlas Search and Vector Search indexes
//! (`/groups/{groupId}/clusters/{clusterName}/search/indexes`, version 2024-05-30).
//!
//! The list is a plain JSON array (no pages). An index is addressed by its id
//! or by `{databaseName}/{collectionName}/{indexName}` (each segment
//! percent-encoded). A create is asynchronous: the index goes `PENDING`,
//! `BUILDING`, then `READY` (or `FAILED`, with the reason in
//! `statusDetail[].mainIndex.message` / `stagedIndex.message`).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::rest::{check_id, encode_segment, Raw};
use crate::{Client, Operation};

const VERSION: &str = "2024-05-30";
/// The reference page of the GET names this role.
const READER: &str = "Project Data Access Read Write";
const EDITOR: &str = "Project Search Index Editor";

const LIST: Operation = Operation {
    name: "list search indexes",
    version: VERSION,
    role: READER,
    idempotent: true,
};
const GET: Operation = Operation {
    name: "get search index",
    version: VERSION,
    role: READER,
    idempotent: true,
};
const CREATE: Operation = Operation {
    name: "create search index",
    version: VERSION,
    role: EDITOR,
    idempotent: false,
};
// The same definition sent twice leaves the index as the first one did.
const UPDATE: Operation = Operation {
    name: "update search index",
    version: VERSION,
    role: EDITOR,
    idempotent: true,
};
const DELETE: Operation = Operation {
    name: "delete search index",
    version: VERSION,
    role: EDITOR,
    idempotent: true,
};

/// Error codes Atlas uses for a second index of the same name on a
/// collection (`ATLAS_FTS_DUPLICATE_INDEX` is in MongoDB's published list of
/// Admin API error codes; the other is reported for the newer endpoints).
pub const DUPLICATE_INDEX_CODES: &[&str] =
    &["ATLAS_FTS_DUPLICATE_INDEX", "ATLAS_SEARCH_DUPLICATE_INDEX"];

/// Statuses of an index (`status`, and per host in `statusDetail`).
pub mod status {
    pub const PENDING: &str = "PENDING";
    pub const BUILDING: &str = "BUILDING";
    pub const READY: &str = "READY";
    pub const STALE: &str = "STALE";
    pub const FAILED: &str = "FAILED";
    pub const DELETING: &str = "DELETING";
    pub const DOES_NOT_EXIST: &str = "DOES_NOT_EXIST";
}

/// A search or vector search index as Atlas returns it. Fields this type
/// does not name are kept in `extra`, so `-o json` shows all of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchIndex {
    #[serde(default)]
    pub collection_name: String,
    #[serde(default)]
    pub database: String,
    #[serde(rename = "indexID", default)]
    pub index_id: String,
    #[serde(default)]
    pub name: String,
    /// `search` or `vectorSearch` (Atlas's default is `search`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub index_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queryable: Option<bool>,
    /// The definition as Atlas holds it (with the defaults it fills in).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub latest_definition: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_definition_version: Option<Value>,
    /// One entry per search host (`mainIndex`, `stagedIndex`, `message`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_detail: Vec<Value>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl SearchIndex {
    /// `search` unless Atlas says otherwise.
    pub fn kind(&self) -> &str {
        self.index_type.as_deref().unwrap_or("search")
    }

    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("")
    }

    /// `latestDefinitionVersion.version`.
    pub fn definition_version(&self) -> Option<u64> {
        self.latest_definition_version
            .as_ref()?
            .get("version")?
            .as_u64()
    }

    /// Every host serves definition version `version` or later (`true`
    /// when Atlas gives no per-host detail or no versions).
    pub fn serves_version(&self, version: u64) -> bool {
        self.status_detail.iter().all(|h| {
            h.get("mainIndex")
                .and_then(|m| m.get("definitionVersion"))
                .and_then(|v| v.get("version"))
                .and_then(Value::as_u64)
                .is_none_or(|v| v >= version)
        })
    }

    /// Some host still builds a changed definition in the background.
    pub fn has_staged_build(&self) -> bool {
        self.status_detail.iter().any(|h| {
            h.get("stagedIndex")
                .and_then(|s| s.get("status"))
                .and_then(Value::as_str)
                .is_some_and(|s| s != status::READY)
        })
    }

    /// The messages Atlas gives per host (staged build first), each once.
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |v: Option<&Value>| {
            if let Some(m) = v.and_then(Value::as_str).map(str::trim) {
                if !m.is_empty() && !out.iter().any(|o| o == m) {
                    out.push(m.to_owned());
                }
            }
        };
        push(self.extra.get("message"));
        for h in &self.status_detail {
            push(h.get("stagedIndex").and_then(|s| s.get("message")));
            push(h.get("mainIndex").and_then(|s| s.get("message")));
            push(h.get("message"));
        }
        out
    }
}

/// Body of the create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchIndexCreate {
    pub collection_name: String,
    pub database: String,
    pub name: String,
    /// `search` or `vectorSearch`.
    #[serde(rename = "type")]
    pub index_type: String,
    pub definition: Value,
}

/// Body of the PATCH: only the definition can change in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchIndexUpdate {
    pub definition: Value,
}

/// `Ok` for a cluster name Atlas accepts (`^[a-zA-Z0-9][a-zA-Z0-9-]*$`).
pub fn check_cluster_name(name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "cluster name {name:?} is not valid: letters, digits and '-', starting with a letter or digit"
        )))
    }
}

fn base(group_id: &str, cluster: &str) -> Result<String, Error> {
    check_id("project id", group_id)?;
    check_cluster_name(cluster)?;
    Ok(format!(
        "/groups/{group_id}/clusters/{cluster}/search/indexes"
    ))
}

/// The path of one index by id.
pub fn index_path(group_id: &str, cluster: &str, index_id: &str) -> Result<String, Error> {
    check_id("search index id", index_id)?;
    Ok(format!("{}/{index_id}", base(group_id, cluster)?))
}

/// The path of one index by database, collection and name (percent-encoded).
pub fn index_path_by_name(
    group_id: &str,
    cluster: &str,
    database: &str,
    collection: &str,
    name: &str,
) -> Result<String, Error> {
    Ok(format!(
        "{}/{}/{}/{}",
        base(group_id, cluster)?,
        encode_segment(database),
        encode_segment(collection),
        encode_segment(name)
    ))
}

/// The path of the list and of the create.
pub fn indexes_path(group_id: &str, cluster: &str) -> Result<String, Error> {
    base(group_id, cluster)
}

impl Client {
    /// Every search index of a cluster (one request: the list has no pages).
    pub async fn list_search_indexes(
        &self,
        group_id: &str,
        cluster: &str,
    ) -> Result<Vec<SearchIndex>, Error> {
        let list = self.list_search_indexes_raw(group_id, cluster).await?;
        Ok(list.into_iter().map(Raw::into_value).collect())
    }

    /// [`Client::list_search_indexes`], each index also as Atlas sent it.
    pub async fn list_search_indexes_raw(
        &self,
        group_id: &str,
        cluster: &str,
    ) -> Result<Vec<Raw<SearchIndex>>, Error> {
        self.get_json(LIST, &base(group_id, cluster)?).await
    }

    pub async fn get_search_index(
        &self,
        group_id: &str,
        cluster: &str,
        index_id: &str,
    ) -> Result<SearchIndex, Error> {
        self.get_search_index_raw(group_id, cluster, index_id)
            .await
            .map(Raw::into_value)
    }

    /// [`Client::get_search_index`], also as Atlas sent it.
    pub async fn get_search_index_raw(
        &self,
        group_id: &str,
        cluster: &str,
        index_id: &str,
    ) -> Result<Raw<SearchIndex>, Error> {
        let i: Raw<SearchIndex> = self
            .get_json(GET, &index_path(group_id, cluster, index_id)?)
            .await?;
        let answered = i.value.index_id.clone();
        crate::rest::same_id(GET, "search index", index_id, &answered, i)
    }

    pub async fn get_search_index_by_name(
        &self,
        group_id: &str,
        cluster: &str,
        database: &str,
        collection: &str,
        name: &str,
    ) -> Result<SearchIndex, Error> {
        let path = index_path_by_name(group_id, cluster, database, collection, name)?;
        self.get_json(GET, &path).await
    }

    /// POST once (never retried). When the answer is lost, or Atlas says the
    /// name is taken right after such a loss, look the index up by name with
    /// [`Client::get_search_index_by_name`] before trying again.
    pub async fn create_search_index(
        &self,
        group_id: &str,
        cluster: &str,
        body: &SearchIndexCreate,
    ) -> Result<SearchIndex, Error> {
        self.send_json(CREATE, Method::POST, &base(group_id, cluster)?, body)
            .await
    }

    /// Creates an index under the one create policy
    /// ([`Client::create_or_adopt`]): when the outcome of the POST is
    /// unknown, the index is looked up by name and adopted when there, else
    /// the POST is sent again after a backoff. The flag says whether the
    /// index was adopted.
    pub async fn create_search_index_or_adopt(
        &self,
        group_id: &str,
        cluster: &str,
        body: &SearchIndexCreate,
    ) -> Result<(SearchIndex, bool), Error> {
        self.create_or_adopt(
            CREATE,
            || self.create_search_index(group_id, cluster, body),
            || async {
                let found = self
                    .get_search_index_by_name(
                        group_id,
                        cluster,
                        &body.database,
                        &body.collection_name,
                        &body.name,
                    )
                    .await;
                crate::rest::found(found)
            },
        )
        .await
    }

    /// PATCH the definition; the index builds it in the background.
    pub async fn update_search_index(
        &self,
        group_id: &str,
        cluster: &str,
        index_id: &str,
        definition: &Value,
    ) -> Result<SearchIndex, Error> {
        let body = SearchIndexUpdate {
            definition: definition.clone(),
        };
        self.send_json(
            UPDATE,
            Method::PATCH,
            &index_path(group_id, cluster, index_id)?,
            &body,
        )
        .await
    }

    /// DELETE by id; a 404 after a retried attempt counts as done.
    pub async fn delete_search_index(
        &self,
        group_id: &str,
        cluster: &str,
        index_id: &str,
    ) -> Result<(), Error> {
        self.delete_idempotent(DELETE, &index_path(group_id, cluster, index_id)?)
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_check_ids_and_encode_names() {
        let g = "5f0000000000000000000000";
        assert_eq!(
            index_path_by_name(g, "Cluster0", "db", "a b/c", "default").unwrap(),
            format!("/groups/{g}/clusters/Cluster0/search/indexes/db/a%20b%2Fc/default")
        );
        assert!(index_path(g, "Cluster0", "nope").is_err());
        assert!(indexes_path(g, "-bad").is_err());
        assert!(indexes_path(g, "bad/../x").is_err());
        assert!(indexes_path("x", "Cluster0").is_err());
    }

    #[test]
    fn the_reference_example_decodes_and_keeps_unknown_fields() {
        let v = json!({
            "collectionName": "movies", "database": "mflix",
            "indexID": "32b6e34b3d91647abb20e7b8",
            "latestDefinition": {"mappings": {"dynamic": true}},
            "latestDefinitionVersion": {"createdAt": "2025-05-04T09:42:00Z", "version": 42},
            "name": "default", "queryable": true, "status": "FAILED",
            "statusDetail": [{"hostname": "h", "mainIndex": {"status": "FAILED", "message": "bad analyzer"},
                              "stagedIndex": {"status": "FAILED", "message": "bad analyzer"}}],
            "type": "search", "synonymMappingStatus": "READY"
        });
        let i: SearchIndex = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(i.index_id, "32b6e34b3d91647abb20e7b8");
        assert_eq!(i.messages(), vec!["bad analyzer".to_owned()]);
        assert!(i.has_staged_build());
        assert_eq!(i.definition_version(), Some(42));
        assert!(i.serves_version(0));
        // Right after a PATCH to version 2, a host still on version 1 is not done.
        let old: SearchIndex = serde_json::from_value(json!({
            "status": "READY",
            "statusDetail": [{"mainIndex": {"status": "READY", "definitionVersion": {"version": 1}}}]
        }))
        .unwrap();
        assert!(!old.serves_version(2));
        assert!(old.serves_version(1));
        assert_eq!(serde_json::to_value(&i).unwrap(), v);
    }
}
