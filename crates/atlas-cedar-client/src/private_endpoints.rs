//! Private endpoint services and their endpoints
//! (`/groups/{groupId}/privateEndpoint/…`, version 2023-01-01).
//!
//! A service belongs to one provider (AWS, Azure, GCP) and region of a
//! project; its endpoints are the customer's interface endpoints (AWS
//! `vpce-…` ids), Azure private endpoints (resource ids, which hold `/` and
//! are percent-encoded in paths) or GCP endpoint groups.

use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::rest::{check_id, encode_segment, Raw};
use crate::{Client, Operation};

const VERSION: &str = "2023-01-01";
const READER: &str = "Project Read Only";
const OWNER: &str = "Project Owner";

const LIST_SERVICES: Operation = Operation {
    name: "list private endpoint services",
    version: VERSION,
    role: READER,
    idempotent: true,
};
const GET_SERVICE: Operation = Operation {
    name: "get private endpoint service",
    version: VERSION,
    role: READER,
    idempotent: true,
};
const CREATE_SERVICE: Operation = Operation {
    name: "create private endpoint service",
    version: VERSION,
    role: OWNER,
    idempotent: false,
};
const DELETE_SERVICE: Operation = Operation {
    name: "delete private endpoint service",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};
const GET_ENDPOINT: Operation = Operation {
    name: "get private endpoint",
    version: VERSION,
    role: READER,
    idempotent: true,
};
const CREATE_ENDPOINT: Operation = Operation {
    name: "create private endpoint",
    version: VERSION,
    role: OWNER,
    idempotent: false,
};
const DELETE_ENDPOINT: Operation = Operation {
    name: "delete private endpoint",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};

/// The cloud provider of a private endpoint service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Provider {
    #[serde(rename = "AWS")]
    Aws,
    #[serde(rename = "AZURE")]
    Azure,
    #[serde(rename = "GCP")]
    Gcp,
}

impl Provider {
    /// Every provider, in Atlas's order.
    pub const ALL: [Provider; 3] = [Provider::Aws, Provider::Azure, Provider::Gcp];

    /// `AWS`, `AZURE` or `GCP`, as in paths and bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "AWS",
            Provider::Azure => "AZURE",
            Provider::Gcp => "GCP",
        }
    }

    /// `aws`, `azure` or `gcp`: the prefix of an endpoint in the
    /// `project.privateEndpoints` set of resource policies.
    pub fn lower(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Gcp => "gcp",
        }
    }

    /// Parses `AWS`, `azure`, `Gcp`, … (case ignored).
    pub fn parse(s: &str) -> Option<Provider> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The key of the service's answer that lists its endpoints.
    fn endpoints_key(self) -> &'static str {
        match self {
            Provider::Aws => "interfaceEndpoints",
            Provider::Azure => "privateEndpoints",
            Provider::Gcp => "endpointGroupNames",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Body of the service creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEndpointService {
    pub provider_name: Provider,
    pub region: String,
}

/// A private endpoint service as Atlas returns it. The provider's own
/// fields (`endpointServiceName`, `privateLinkServiceName`,
/// `serviceAttachmentNames`, the endpoint lists) stay in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointService {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_name: Option<String>,
    /// `INITIATING`, `AVAILABLE`, `WAITING_FOR_USER`, `FAILED`, `DELETING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EndpointService {
    /// The ids of its endpoints: AWS `interfaceEndpoints`, Azure
    /// `privateEndpoints` (resource ids), GCP `endpointGroupNames`.
    pub fn endpoint_ids(&self, provider: Provider) -> Vec<String> {
        self.extra
            .get(provider.endpoints_key())
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The status, or `""`.
    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("")
    }
}

/// One endpoint of a GCP endpoint group, in a creation body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcpEndpointInput {
    pub endpoint_name: String,
    pub ip_address: String,
}

/// Body of an endpoint creation, per provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NewPrivateEndpoint {
    /// GCP `{ endpointGroupName, gcpProjectId, endpoints }`.
    #[serde(rename_all = "camelCase")]
    Gcp {
        endpoint_group_name: String,
        gcp_project_id: String,
        endpoints: Vec<GcpEndpointInput>,
    },
    /// Azure `{ id, privateEndpointIPAddress }`.
    Azure {
        id: String,
        #[serde(rename = "privateEndpointIPAddress")]
        private_endpoint_ip_address: String,
    },
    /// AWS `{ id }` (the `vpce-…` id).
    Aws { id: String },
}

impl NewPrivateEndpoint {
    /// The id the endpoint is known by: the AWS or Azure id, the GCP group name.
    pub fn key(&self) -> &str {
        match self {
            NewPrivateEndpoint::Aws { id } | NewPrivateEndpoint::Azure { id, .. } => id,
            NewPrivateEndpoint::Gcp {
                endpoint_group_name,
                ..
            } => endpoint_group_name,
        }
    }
}

/// One endpoint of a GCP endpoint group, as Atlas returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcpEndpoint {
    #[serde(default)]
    pub endpoint_name: String,
    #[serde(default)]
    pub ip_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A private endpoint as Atlas returns it (AWS, Azure and GCP fields; the
/// provider's own are set).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_requested: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// AWS: `PENDING_ACCEPTANCE`, `PENDING`, `AVAILABLE`, `REJECTED`, `DELETING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_status: Option<String>,
    /// AWS: the `vpce-…` id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_endpoint_id: Option<String>,
    /// Azure and GCP: `INITIATING`, `AVAILABLE`, `FAILED`, `DELETING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Azure: the private endpoint's resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_endpoint_resource_id: Option<String>,
    #[serde(
        default,
        rename = "privateEndpointIPAddress",
        skip_serializing_if = "Option::is_none"
    )]
    pub private_endpoint_ip_address: Option<String>,
    /// GCP: the endpoint group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<GcpEndpoint>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PrivateEndpoint {
    /// `connectionStatus` (AWS) or `status` (Azure, GCP), or `""`.
    pub fn state(&self) -> &str {
        self.connection_status
            .as_deref()
            .or(self.status.as_deref())
            .unwrap_or("")
    }

    /// `true` while Atlas (or the customer) has not finished the connection.
    pub fn is_pending(&self) -> bool {
        matches!(
            self.state(),
            "PENDING_ACCEPTANCE" | "PENDING" | "INITIATING"
        )
    }
}

fn services_path(group: &str, provider: Provider) -> String {
    format!("/groups/{group}/privateEndpoint/{provider}/endpointService")
}

fn service_path(group: &str, provider: Provider, service: &str) -> String {
    format!("{}/{service}", services_path(group, provider))
}

/// The path of one endpoint (`endpoint_id` percent-encoded).
pub fn endpoint_path(group: &str, provider: Provider, service: &str, endpoint_id: &str) -> String {
    format!(
        "{}/endpoint/{}",
        service_path(group, provider, service),
        encode_segment(endpoint_id)
    )
}

/// The path endpoints are created at.
pub fn endpoints_path(group: &str, provider: Provider, service: &str) -> String {
    format!("{}/endpoint", service_path(group, provider, service))
}

/// The path services are created at.
pub fn create_service_path(group: &str) -> String {
    format!("/groups/{group}/privateEndpoint/endpointService")
}

fn check_endpoint_id(id: &str) -> Result<(), Error> {
    if id.trim().is_empty() {
        return Err(Error::Config("the private endpoint id is empty".to_owned()));
    }
    Ok(())
}

impl Client {
    /// The project's private endpoint services of `provider` (a plain array).
    pub async fn list_endpoint_services(
        &self,
        group: &str,
        provider: Provider,
    ) -> Result<Vec<EndpointService>, Error> {
        check_id("project id", group)?;
        self.get_json(LIST_SERVICES, &services_path(group, provider))
            .await
    }

    /// [`Client::list_endpoint_services`], each service also as Atlas sent it.
    pub async fn list_endpoint_services_raw(
        &self,
        group: &str,
        provider: Provider,
    ) -> Result<Vec<Raw<EndpointService>>, Error> {
        check_id("project id", group)?;
        self.get_json(LIST_SERVICES, &services_path(group, provider))
            .await
    }

    /// One private endpoint service.
    pub async fn get_endpoint_service(
        &self,
        group: &str,
        provider: Provider,
        service: &str,
    ) -> Result<EndpointService, Error> {
        self.get_endpoint_service_raw(group, provider, service)
            .await
            .map(Raw::into_value)
    }

    /// [`Client::get_endpoint_service`], also as Atlas sent it.
    pub async fn get_endpoint_service_raw(
        &self,
        group: &str,
        provider: Provider,
        service: &str,
    ) -> Result<Raw<EndpointService>, Error> {
        check_id("project id", group)?;
        check_id("endpoint service id", service)?;
        let s: Raw<EndpointService> = self
            .get_json(GET_SERVICE, &service_path(group, provider, service))
            .await?;
        let answered = s.value.id.clone();
        crate::rest::same_id(
            GET_SERVICE,
            "private endpoint service",
            service,
            &answered,
            s,
        )
    }

    /// Creates a private endpoint service under the one create policy
    /// ([`Client::create_or_adopt`]): when the outcome of the POST is
    /// unknown, the provider's services are listed and the one in
    /// `atlas_region` (Atlas's name of the region, `US_EAST_1`: a project
    /// has at most one per provider and region) is adopted, else the POST is
    /// sent again after a backoff. The flag says whether it was adopted.
    pub async fn create_endpoint_service_or_adopt(
        &self,
        group: &str,
        body: &NewEndpointService,
        atlas_region: &str,
    ) -> Result<(EndpointService, bool), Error> {
        let (s, adopted) = self
            .create_endpoint_service_or_adopt_raw(group, body, atlas_region)
            .await?;
        Ok((s.value, adopted))
    }

    /// [`Client::create_endpoint_service_or_adopt`], the service also as
    /// Atlas sent it (in the answer to the create, or in the list it was
    /// found in).
    pub async fn create_endpoint_service_or_adopt_raw(
        &self,
        group: &str,
        body: &NewEndpointService,
        atlas_region: &str,
    ) -> Result<(Raw<EndpointService>, bool), Error> {
        self.create_or_adopt(
            CREATE_SERVICE,
            || async {
                check_id("project id", group)?;
                self.send_json(
                    CREATE_SERVICE,
                    Method::POST,
                    &create_service_path(group),
                    body,
                )
                .await
            },
            || async {
                let services = self
                    .list_endpoint_services_raw(group, body.provider_name)
                    .await?;
                Ok(services.into_iter().find(|s| {
                    s.value
                        .region_name
                        .as_deref()
                        .is_some_and(|r| r.eq_ignore_ascii_case(atlas_region))
                }))
            },
        )
        .await
    }

    /// Deletes a private endpoint service (it must have no endpoints left).
    pub async fn delete_endpoint_service(
        &self,
        group: &str,
        provider: Provider,
        service: &str,
    ) -> Result<(), Error> {
        check_id("project id", group)?;
        check_id("endpoint service id", service)?;
        self.delete_idempotent(DELETE_SERVICE, &service_path(group, provider, service))
            .await
    }

    /// One endpoint of a service; `endpoint_id` is the AWS or Azure id or
    /// the GCP group name (percent-encoded here).
    pub async fn get_private_endpoint(
        &self,
        group: &str,
        provider: Provider,
        service: &str,
        endpoint_id: &str,
    ) -> Result<PrivateEndpoint, Error> {
        self.get_private_endpoint_raw(group, provider, service, endpoint_id)
            .await
            .map(Raw::into_value)
    }

    /// [`Client::get_private_endpoint`], also as Atlas sent it.
    pub async fn get_private_endpoint_raw(
        &self,
        group: &str,
        provider: Provider,
        service: &str,
        endpoint_id: &str,
    ) -> Result<Raw<PrivateEndpoint>, Error> {
        check_id("project id", group)?;
        check_id("endpoint service id", service)?;
        check_endpoint_id(endpoint_id)?;
        self.get_json(
            GET_ENDPOINT,
            &endpoint_path(group, provider, service, endpoint_id),
        )
        .await
    }

    /// Registers an endpoint with a service.
    pub async fn create_private_endpoint(
        &self,
        group: &str,
        provider: Provider,
        service: &str,
        body: &NewPrivateEndpoint,
    ) -> Result<PrivateEndpoint, Error> {
        check_id("project id", group)?;
        check_id("endpoint service id", service)?;
        check_endpoint_id(body.key())?;
        self.send_json(
            CREATE_ENDPOINT,
            Method::POST,
            &endpoints_path(group, provider, service),
            body,
        )
        .await
    }

    /// Registers an endpoint under the one create policy
    /// ([`Client::create_or_adopt`]): when the outcome of the POST is
    /// unknown, the endpoint is read by its id and adopted when there, else
    /// the POST is sent again after a backoff. The flag says whether it was
    /// adopted.
    pub async fn create_private_endpoint_or_adopt(
        &self,
        group: &str,
        provider: Provider,
        service: &str,
        body: &NewPrivateEndpoint,
    ) -> Result<(PrivateEndpoint, bool), Error> {
        self.create_or_adopt(
            CREATE_ENDPOINT,
            || self.create_private_endpoint(group, provider, service, body),
            || async {
                let found = self
                    .get_private_endpoint(group, provider, service, body.key())
                    .await;
                crate::rest::found(found)
            },
        )
        .await
    }

    /// Removes an endpoint from a service.
    pub async fn delete_private_endpoint(
        &self,
        group: &str,
        provider: Provider,
        service: &str,
        endpoint_id: &str,
    ) -> Result<(), Error> {
        check_id("project id", group)?;
        check_id("endpoint service id", service)?;
        check_endpoint_id(endpoint_id)?;
        self.delete_idempotent(
            DELETE_ENDPOINT,
            &endpoint_path(group, provider, service, endpoint_id),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_per_provider() {
        let aws = NewPrivateEndpoint::Aws {
            id: "vpce-0123456789abcdef0".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(&aws).unwrap(),
            json!({"id": "vpce-0123456789abcdef0"})
        );
        let azure = NewPrivateEndpoint::Azure {
            id: "/subscriptions/x/pe".to_owned(),
            private_endpoint_ip_address: "10.0.0.4".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(&azure).unwrap(),
            json!({"id": "/subscriptions/x/pe", "privateEndpointIPAddress": "10.0.0.4"})
        );
        let gcp = NewPrivateEndpoint::Gcp {
            endpoint_group_name: "g".to_owned(),
            gcp_project_id: "p".to_owned(),
            endpoints: vec![GcpEndpointInput {
                endpoint_name: "e1".to_owned(),
                ip_address: "10.0.0.5".to_owned(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&gcp).unwrap(),
            json!({"endpointGroupName": "g", "gcpProjectId": "p",
                   "endpoints": [{"endpointName": "e1", "ipAddress": "10.0.0.5"}]})
        );
        assert_eq!(gcp.key(), "g");
    }

    #[test]
    fn answers_keep_provider_fields() {
        let s: EndpointService = serde_json::from_value(json!({
            "cloudProvider": "AZURE", "id": "32b6e34b3d91647abb20e7b8", "regionName": "US_EAST_2",
            "status": "AVAILABLE", "privateEndpoints": ["/subscriptions/a/pe"],
            "privateLinkServiceName": "pls"
        }))
        .unwrap();
        assert_eq!(s.endpoint_ids(Provider::Azure), vec!["/subscriptions/a/pe"]);
        assert!(s.endpoint_ids(Provider::Aws).is_empty());
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["privateLinkServiceName"], "pls");
        assert!(back.get("errorMessage").is_none());

        let e: PrivateEndpoint = serde_json::from_value(json!({
            "cloudProvider": "AWS", "connectionStatus": "PENDING_ACCEPTANCE",
            "interfaceEndpointId": "vpce-1", "deleteRequested": false
        }))
        .unwrap();
        assert_eq!(e.state(), "PENDING_ACCEPTANCE");
        assert!(e.is_pending());
    }

    #[test]
    fn azure_ids_are_encoded_in_paths() {
        let p = endpoint_path(
            "5f0000000000000000000000",
            Provider::Azure,
            "32b6e34b3d91647abb20e7b8",
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe",
        );
        assert!(p.ends_with("/endpoint/%2Fsubscriptions%2Fs%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.Network%2FprivateEndpoints%2Fpe"), "{p}");
        assert_eq!(Provider::parse("azure"), Some(Provider::Azure));
        assert_eq!(Provider::parse("oracle"), None);
    }
}
