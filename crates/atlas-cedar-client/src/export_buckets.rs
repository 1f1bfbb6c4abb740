//! Snapshot export buckets (`/groups/{groupId}/backup/exportBuckets`):
//! version 2024-05-30, except DELETE which is pinned to 2023-01-01 (Atlas
//! versions each operation on its own).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::rest::{check_id, Raw};
use crate::{Client, Operation};

const VERSION: &str = "2024-05-30";
const DELETE_VERSION: &str = "2023-01-01";
const READ: &str = "Project Read Only";
const WRITE: &str = "Project Owner";

/// Export buckets per page when listing (Atlas's largest page).
const PAGE: u32 = crate::rest::MAX_ITEMS_PER_PAGE;

const LIST: Operation = Operation {
    name: "list export buckets",
    version: VERSION,
    role: READ,
    idempotent: true,
};
const GET: Operation = Operation {
    name: "get export bucket",
    version: VERSION,
    role: READ,
    idempotent: true,
};
const CREATE: Operation = Operation {
    name: "create export bucket",
    version: VERSION,
    role: WRITE,
    idempotent: false,
};
const UPDATE: Operation = Operation {
    name: "update export bucket",
    version: VERSION,
    role: WRITE,
    idempotent: true,
};
const DELETE: Operation = Operation {
    name: "delete export bucket",
    version: DELETE_VERSION,
    role: WRITE,
    idempotent: true,
};

/// An export bucket as Atlas returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportBucket {
    #[serde(rename = "_id", default)]
    pub id: String,
    #[serde(default)]
    pub bucket_name: String,
    /// `AWS`, `AZURE` or `GCP`.
    #[serde(default)]
    pub cloud_provider: String,
    /// AWS: the unified AWS access role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_role_id: Option<String>,
    /// Azure and GCP: the cloud provider access role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// Azure: the storage container's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_url: Option<String>,
    /// Absent means `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_private_networking: Option<bool>,
    /// Everything else Atlas returns (`tenantId`, `links`, …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The body of a create: one of AWS `{cloudProvider, bucketName, iamRoleId}`,
/// Azure `{cloudProvider, bucketName, roleId, serviceUrl}`, GCP
/// `{cloudProvider, bucketName, roleId}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportBucketInput {
    pub cloud_provider: String,
    pub bucket_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_role_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_url: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Patch {
    require_private_networking: bool,
}

fn base(group: &str) -> Result<String, Error> {
    check_id("project id", group)?;
    Ok(format!("/groups/{group}/backup/exportBuckets"))
}

fn one(group: &str, id: &str) -> Result<String, Error> {
    check_id("export bucket id", id)?;
    Ok(format!("{}/{id}", base(group)?))
}

impl Client {
    /// Every export bucket of the project (all pages).
    pub async fn list_export_buckets(&self, group: &str) -> Result<Vec<ExportBucket>, Error> {
        self.list_all(LIST, &base(group)?, PAGE).await
    }

    /// [`Client::list_export_buckets`], each bucket also as Atlas sent it.
    pub async fn list_export_buckets_raw(
        &self,
        group: &str,
    ) -> Result<Vec<Raw<ExportBucket>>, Error> {
        self.list_all(LIST, &base(group)?, PAGE).await
    }

    /// One export bucket by id.
    pub async fn get_export_bucket(&self, group: &str, id: &str) -> Result<ExportBucket, Error> {
        let b: ExportBucket = self.get_json(GET, &one(group, id)?).await?;
        let answered = b.id.clone();
        crate::rest::same_id(GET, "export bucket", id, &answered, b)
    }

    /// Creates an export bucket; when the answer is lost (a dropped
    /// connection, a 5xx) lists the project's buckets and adopts the one the
    /// POST made (same provider, name and role), else sends the POST again
    /// after a backoff ([`Client::create_or_adopt`]). The flag says whether
    /// the bucket was adopted.
    pub async fn create_export_bucket_or_adopt(
        &self,
        group: &str,
        input: &ExportBucketInput,
    ) -> Result<(ExportBucket, bool), Error> {
        let (b, adopted) = self.create_export_bucket_or_adopt_raw(group, input).await?;
        Ok((b.value, adopted))
    }

    /// [`Client::create_export_bucket_or_adopt`], the bucket also as Atlas
    /// sent it (in the answer to the create, or in the list it was found in).
    pub async fn create_export_bucket_or_adopt_raw(
        &self,
        group: &str,
        input: &ExportBucketInput,
    ) -> Result<(Raw<ExportBucket>, bool), Error> {
        self.create_or_adopt(
            CREATE,
            || async {
                self.send_json(CREATE, Method::POST, &base(group)?, input)
                    .await
            },
            || async {
                let existing = self.list_export_buckets_raw(group).await?;
                Ok(existing.into_iter().find(|b| made_by(&b.value, input)))
            },
        )
        .await
    }

    /// Sets `requirePrivateNetworking` (the only field Atlas changes in place).
    pub async fn update_export_bucket(
        &self,
        group: &str,
        id: &str,
        require_private_networking: bool,
    ) -> Result<ExportBucket, Error> {
        let body = Patch {
            require_private_networking,
        };
        self.send_json(UPDATE, Method::PATCH, &one(group, id)?, &body)
            .await
    }

    /// Deletes an export bucket (a 404 after a retry counts as done).
    pub async fn delete_export_bucket(&self, group: &str, id: &str) -> Result<(), Error> {
        self.delete_idempotent(DELETE, &one(group, id)?).await
    }
}

/// Whether `b` is what creating `input` makes.
pub fn made_by(b: &ExportBucket, input: &ExportBucketInput) -> bool {
    b.cloud_provider == input.cloud_provider
        && b.bucket_name == input.bucket_name
        && b.iam_role_id == input.iam_role_id
        && b.role_id == input.role_id
        && b.service_url == input.service_url
}

/// The JSON body of a create, as `push --dry-run` prints it.
pub fn create_body(input: &ExportBucketInput) -> String {
    serde_json::to_string_pretty(input).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decodes_atlas_examples_and_keeps_extra_fields() {
        let azure: ExportBucket = serde_json::from_str(
            r#"{"_id":"32b6e34b3d91647abb20e7b8","links":[{"rel":"self","href":"https://cloud.mongodb.com/api/atlas"}],
               "roleId":"668c5f0ed436263134491592","tenantId":"4297fc77-1592-4de8-a6d5-a8c32401df87",
               "bucketName":"examplecontainer","serviceUrl":"https://examplestorageaccount.blob.core.windows.net/examplecontainer",
               "cloudProvider":"AZURE"}"#,
        )
        .unwrap();
        assert_eq!(azure.id, "32b6e34b3d91647abb20e7b8");
        assert_eq!(azure.role_id.as_deref(), Some("668c5f0ed436263134491592"));
        assert_eq!(azure.require_private_networking, None);
        assert!(azure.extra.contains_key("tenantId"));
        let back = serde_json::to_value(&azure).unwrap();
        assert_eq!(back["_id"], "32b6e34b3d91647abb20e7b8");
        assert!(back.get("iamRoleId").is_none());
    }

    #[test]
    fn bodies_carry_only_the_provider_fields() {
        let aws = ExportBucketInput {
            cloud_provider: "AWS".to_owned(),
            bucket_name: "export-bucket".to_owned(),
            iam_role_id: Some("668c5f0ed436263134491592".to_owned()),
            ..ExportBucketInput::default()
        };
        let v: serde_json::Value = serde_json::from_str(&create_body(&aws)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"cloudProvider":"AWS","bucketName":"export-bucket","iamRoleId":"668c5f0ed436263134491592"})
        );
    }
}
