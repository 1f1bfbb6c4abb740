//! Data-federation / online-archive private endpoints
//! (`/groups/{groupId}/privateNetworkSettings/endpointIds`, version
//! 2023-01-01). A POST is an upsert: the same `endpointId` replaces the
//! entry, so it is safe to repeat; there is no PATCH.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::rest::{check_id, encode, encode_segment, Page, Raw};
use crate::{Client, Operation};

const VERSION: &str = "2023-01-01";
const READ: &str = "Project Read Only or Project Charts Admin";
const WRITE: &str = "Project Owner";

/// Endpoints per page when reading the whole list (Atlas's largest page).
const PAGE: u32 = crate::rest::MAX_ITEMS_PER_PAGE;

const LIST: Operation = Operation {
    name: "list data federation private endpoints",
    version: VERSION,
    role: READ,
    idempotent: true,
};
const GET: Operation = Operation {
    name: "get data federation private endpoint",
    version: VERSION,
    role: READ,
    idempotent: true,
};
// An upsert keyed by endpointId: repeating it is harmless.
const UPSERT: Operation = Operation {
    name: "create data federation private endpoint",
    version: VERSION,
    role: WRITE,
    idempotent: true,
};
const DELETE: Operation = Operation {
    name: "delete data federation private endpoint",
    version: VERSION,
    role: WRITE,
    idempotent: true,
};

/// A data-federation private endpoint as Atlas returns it (and as an upsert
/// sends it: fields left `None` are not sent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederationEndpoint {
    /// `vpce-…` for AWS; the Azure private endpoint's resource id for Azure.
    #[serde(default)]
    pub endpoint_id: String,
    /// `AWS` (Atlas's default) or `AZURE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Always `DATA_LAKE`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Region of the customer's VPC endpoint (goes with the DNS name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(
        default,
        rename = "customerEndpointDNSName",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_endpoint_dns_name: Option<String>,
    #[serde(
        default,
        rename = "customerEndpointIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_endpoint_ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_link_id: Option<String>,
    /// `PENDING`, `OK`, `FAILED`, `DELETING` (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Why the connection failed (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Everything else Atlas returns.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn base(group: &str) -> Result<String, Error> {
    check_id("project id", group)?;
    Ok(format!(
        "/groups/{group}/privateNetworkSettings/endpointIds"
    ))
}

fn one(group: &str, endpoint_id: &str) -> Result<String, Error> {
    if endpoint_id.is_empty() {
        return Err(Error::Config("empty endpoint id".to_owned()));
    }
    Ok(format!("{}/{}", base(group)?, encode_segment(endpoint_id)))
}

impl Client {
    /// Every data-federation private endpoint of the project, page after page.
    pub async fn list_federation_endpoints(
        &self,
        group: &str,
    ) -> Result<Vec<FederationEndpoint>, Error> {
        self.list_all(LIST, &base(group)?, PAGE).await
    }

    /// One page of the list (`page_num` from 1, 1–500 items per page).
    pub async fn list_federation_endpoints_page(
        &self,
        group: &str,
        page_num: u32,
        items_per_page: u32,
    ) -> Result<Page<FederationEndpoint>, Error> {
        self.list_page(LIST, &base(group)?, page_num, items_per_page, true)
            .await
    }

    /// [`Client::list_federation_endpoints`], each endpoint also as Atlas
    /// sent it.
    pub async fn list_federation_endpoints_raw(
        &self,
        group: &str,
    ) -> Result<Vec<Raw<FederationEndpoint>>, Error> {
        self.list_all(LIST, &base(group)?, PAGE).await
    }

    /// [`Client::list_federation_endpoints_page`], the page also as Atlas
    /// sent it (`results`, `totalCount`, `links`).
    pub async fn list_federation_endpoints_page_raw(
        &self,
        group: &str,
        page_num: u32,
        items_per_page: u32,
    ) -> Result<Raw<Page<FederationEndpoint>>, Error> {
        self.list_page_as(LIST, &base(group)?, page_num, items_per_page, true)
            .await
    }

    /// One endpoint (its id is percent-encoded in the path).
    pub async fn get_federation_endpoint(
        &self,
        group: &str,
        endpoint_id: &str,
    ) -> Result<FederationEndpoint, Error> {
        self.get_json(GET, &one(group, endpoint_id)?).await
    }

    /// Creates the endpoint, or replaces the one with the same `endpointId`.
    /// Read-only fields (`status`, `errorMessage`) are not sent.
    pub async fn upsert_federation_endpoint(
        &self,
        group: &str,
        endpoint: &FederationEndpoint,
    ) -> Result<(), Error> {
        let body = encode(UPSERT, &upsert_body(endpoint))?;
        self.send_no_answer(UPSERT, Method::POST, &base(group)?, Some(body))
            .await
    }

    /// Deletes the endpoint (a 404 after a retry counts as done).
    pub async fn delete_federation_endpoint(
        &self,
        group: &str,
        endpoint_id: &str,
    ) -> Result<(), Error> {
        self.delete_idempotent(DELETE, &one(group, endpoint_id)?)
            .await
    }
}

/// What an upsert sends for `endpoint`: its writable fields.
pub fn upsert_body(endpoint: &FederationEndpoint) -> FederationEndpoint {
    FederationEndpoint {
        status: None,
        error_message: None,
        extra: serde_json::Map::new(),
        ..endpoint.clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decodes_the_reference_example() {
        let page: Page<FederationEndpoint> = serde_json::from_str(
            r#"{"links":[{"href":"https://cloud.mongodb.com/api/atlas","rel":"self"}],
                "results":[{"azureLinkId":"string","comment":"string","customerEndpointDNSName":"string",
                "customerEndpointIPAddress":"string","endpointId":"vpce-3bf78b0ddee411ba1","errorMessage":"string",
                "provider":"AWS","region":"US_EAST_1","status":"PENDING","type":"DATA_LAKE"}],"totalCount":42}"#,
        )
        .unwrap();
        assert_eq!(page.total_count, Some(42));
        let e = &page.results[0];
        assert_eq!(e.endpoint_id, "vpce-3bf78b0ddee411ba1");
        assert_eq!(e.kind.as_deref(), Some("DATA_LAKE"));
        assert_eq!(e.customer_endpoint_dns_name.as_deref(), Some("string"));
        let body = serde_json::to_value(upsert_body(e)).unwrap();
        assert!(body.get("status").is_none());
        assert!(body.get("errorMessage").is_none());
        assert_eq!(body["customerEndpointIPAddress"], "string");
    }

    #[test]
    fn azure_ids_are_encoded_in_paths() {
        let p = one(
            "5f0000000000000000000000",
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe",
        )
        .unwrap();
        assert!(p.ends_with("/endpointIds/%2Fsubscriptions%2Fx%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.Network%2FprivateEndpoints%2Fpe"), "{p}");
        assert!(one("5f0000000000000000000000", "").is_err());
    }
}
