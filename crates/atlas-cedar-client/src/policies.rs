//! Resource-policy operations (all `application/vnd.atlas.2024-08-05+json`).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::rest::{check_id, decode, encode, Raw};
use crate::{Client, Operation};

const VERSION: &str = "2024-08-05";
const MEMBER: &str = "Organization Member";
const OWNER: &str = "Organization Owner";

const LIST: Operation = Operation {
    name: "list resource policies",
    version: VERSION,
    role: MEMBER,
    idempotent: true,
};
const GET: Operation = Operation {
    name: "get resource policy",
    version: VERSION,
    role: MEMBER,
    idempotent: true,
};
const CREATE: Operation = Operation {
    name: "create resource policy",
    version: VERSION,
    role: OWNER,
    idempotent: false,
};
const UPDATE: Operation = Operation {
    name: "update resource policy",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};
const DELETE: Operation = Operation {
    name: "delete resource policy",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};
// `:validate` saves nothing, so repeating it is harmless.
const VALIDATE: Operation = Operation {
    name: "validate resource policy",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};
const NON_COMPLIANT: Operation = Operation {
    name: "list non-compliant resources",
    version: VERSION,
    role: MEMBER,
    idempotent: true,
};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyBody {
    #[serde(default)]
    pub id: Option<String>,
    pub body: String,
}

/// A resource policy as Atlas returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePolicy {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub org_id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub created_date: Option<String>,
    #[serde(default)]
    pub last_updated_date: Option<String>,
    #[serde(default)]
    pub created_by_user: Option<UserRef>,
    #[serde(default)]
    pub last_updated_by_user: Option<UserRef>,
    #[serde(default)]
    pub policies: Vec<PolicyBody>,
}

impl ResourcePolicy {
    pub fn bodies(&self) -> Vec<&str> {
        self.policies.iter().map(|p| p.body.as_str()).collect()
    }

    /// Same name, description and bodies (byte for byte, same order).
    pub fn matches(&self, input: &ResourcePolicyInput) -> bool {
        self.name == input.name
            && self.description.as_deref().unwrap_or("")
                == input.description.as_deref().unwrap_or("")
            && self.policies.len() == input.policies.len()
            && self
                .policies
                .iter()
                .zip(&input.policies)
                .all(|(a, b)| a.body == b.body)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyBodyInput {
    pub body: String,
}

/// Body of create and `:validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePolicyInput {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub policies: Vec<PolicyBodyInput>,
}

impl ResourcePolicyInput {
    pub fn new(name: &str, description: Option<&str>, bodies: &[&str]) -> Self {
        ResourcePolicyInput {
            name: name.to_owned(),
            description: description.map(str::to_owned),
            policies: bodies
                .iter()
                .map(|b| PolicyBodyInput {
                    body: (*b).to_owned(),
                })
                .collect(),
        }
    }
}

/// Body of PATCH: every field optional; `policies` replaces the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePolicyPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<PolicyBodyInput>>,
}

impl From<&ResourcePolicyInput> for ResourcePolicyPatch {
    fn from(i: &ResourcePolicyInput) -> Self {
        ResourcePolicyPatch {
            name: Some(i.name.clone()),
            description: i.description.clone(),
            policies: Some(i.policies.clone()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    #[serde(default)]
    pub policy_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePolicyCause {
    #[serde(default)]
    pub resource_policy_id: String,
    #[serde(default)]
    pub resource_policy_name: String,
    #[serde(default)]
    pub policies_causing_non_compliance: Vec<PolicyRef>,
}

/// A resource that breaks a resource policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NonCompliantResource {
    #[serde(default)]
    pub org_id: String,
    #[serde(default)]
    pub resource_id: String,
    #[serde(default)]
    pub resource_name: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub resource_policies_causing_non_compliance: Vec<ResourcePolicyCause>,
}

/// What [`Client::create_policy_or_adopt`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Created by this call.
    Created(ResourcePolicy),
    /// The answer to the create was lost (or the name was taken); a policy
    /// of that name was found and adopted (and patched if it differed).
    Adopted(ResourcePolicy),
}

impl CreateOutcome {
    pub fn policy(&self) -> &ResourcePolicy {
        match self {
            CreateOutcome::Created(p) | CreateOutcome::Adopted(p) => p,
        }
    }
}

impl Client {
    /// GET `/orgs/{orgId}/resourcePolicies` (a plain array, not paginated).
    pub async fn list_policies(&self, org_id: &str) -> Result<Vec<ResourcePolicy>, Error> {
        let list = self.list_policies_raw(org_id).await?;
        Ok(list.into_iter().map(Raw::into_value).collect())
    }

    /// [`Client::list_policies`], each policy also as Atlas sent it.
    pub async fn list_policies_raw(&self, org_id: &str) -> Result<Vec<Raw<ResourcePolicy>>, Error> {
        check_id("organization id", org_id)?;
        let a = self
            .send(
                LIST,
                Method::GET,
                &format!("/orgs/{org_id}/resourcePolicies"),
                None,
            )
            .await?;
        decode(LIST, &a.body)
    }

    pub async fn get_policy(&self, org_id: &str, id: &str) -> Result<ResourcePolicy, Error> {
        self.get_policy_raw(org_id, id).await.map(Raw::into_value)
    }

    /// [`Client::get_policy`], also as Atlas sent it.
    pub async fn get_policy_raw(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Raw<ResourcePolicy>, Error> {
        check_id("organization id", org_id)?;
        check_id("resource policy id", id)?;
        let path = format!("/orgs/{org_id}/resourcePolicies/{id}");
        let a = self.send(GET, Method::GET, &path, None).await?;
        let p: Raw<ResourcePolicy> = decode(GET, &a.body)?;
        let answered = p.value.id.clone();
        crate::rest::same_id(GET, "resource policy", id, &answered, p)
    }

    /// POST once; never retried on 5xx or a lost answer (see
    /// [`Client::create_policy_or_adopt`]).
    pub async fn create_policy(
        &self,
        org_id: &str,
        input: &ResourcePolicyInput,
    ) -> Result<ResourcePolicy, Error> {
        check_id("organization id", org_id)?;
        let path = format!("/orgs/{org_id}/resourcePolicies");
        let a = self
            .send(CREATE, Method::POST, &path, Some(encode(CREATE, input)?))
            .await?;
        decode(CREATE, &a.body)
    }

    /// Creates a policy without ever creating a duplicate: when the answer
    /// to the POST is lost or a 5xx comes back (the write may have been
    /// applied), or the name is already taken, the organization's policies are
    /// listed and one with this name is adopted (patched to `input` if it
    /// differs); only when none exists is the POST sent again.
    pub async fn create_policy_or_adopt(
        &self,
        org_id: &str,
        input: &ResourcePolicyInput,
    ) -> Result<CreateOutcome, Error> {
        // One budget for the creates, the lookups and the retries inside them.
        self.within_one_budget(async {
            let mut tries = 0u32;
            let mut waited = std::time::Duration::ZERO;
            loop {
                tries += 1;
                let err = match self.create_policy(org_id, input).await {
                    Ok(p) => return Ok(CreateOutcome::Created(p)),
                    Err(e) => e,
                };
                let duplicate = err.status() == Some(400)
                    && err
                        .error_code()
                        .is_some_and(|c| c.contains("DUPLICATE") || c.contains("ALREADY_EXISTS"));
                if !(err.maybe_applied() || duplicate) {
                    return Err(err);
                }
                let existing = self.list_policies(org_id).await?;
                if let Some(found) = existing.into_iter().find(|p| p.name == input.name) {
                    if found.matches(input) {
                        return Ok(CreateOutcome::Adopted(found));
                    }
                    let patched = self
                        .update_policy(org_id, &found.id, &ResourcePolicyPatch::from(input))
                        .await?;
                    return Ok(CreateOutcome::Adopted(patched));
                }
                if duplicate {
                    return Err(err);
                }
                // Not applied: sending it again cannot duplicate. Back off, within
                // the same budget as every other create.
                let Some(wait) = self.next_wait(tries, &mut waited, None) else {
                    return Err(err);
                };
                tokio::time::sleep(wait).await;
            }
        })
        .await
    }

    /// PATCH `/orgs/{orgId}/resourcePolicies/{id}`.
    pub async fn update_policy(
        &self,
        org_id: &str,
        id: &str,
        patch: &ResourcePolicyPatch,
    ) -> Result<ResourcePolicy, Error> {
        check_id("organization id", org_id)?;
        check_id("resource policy id", id)?;
        let path = format!("/orgs/{org_id}/resourcePolicies/{id}");
        let a = self
            .send(UPDATE, Method::PATCH, &path, Some(encode(UPDATE, patch)?))
            .await?;
        decode(UPDATE, &a.body)
    }

    /// DELETE; a 404 on a retried delete (the first one was applied but its
    /// answer lost) counts as success.
    pub async fn delete_policy(&self, org_id: &str, id: &str) -> Result<(), Error> {
        check_id("organization id", org_id)?;
        check_id("resource policy id", id)?;
        let path = format!("/orgs/{org_id}/resourcePolicies/{id}");
        self.delete_idempotent(DELETE, &path).await
    }

    /// POST `/orgs/{orgId}/resourcePolicies:validate`: Atlas checks the
    /// bodies and saves nothing. A bad body is
    /// [`Error::InvalidPolicies`].
    pub async fn validate_policy(
        &self,
        org_id: &str,
        input: &ResourcePolicyInput,
    ) -> Result<(), Error> {
        check_id("organization id", org_id)?;
        let path = format!("/orgs/{org_id}/resourcePolicies:validate");
        self.send(
            VALIDATE,
            Method::POST,
            &path,
            Some(encode(VALIDATE, input)?),
        )
        .await?;
        Ok(())
    }

    /// GET `/orgs/{orgId}/nonCompliantResources`.
    pub async fn non_compliant_resources(
        &self,
        org_id: &str,
    ) -> Result<Vec<NonCompliantResource>, Error> {
        let list = self.non_compliant_resources_raw(org_id).await?;
        Ok(list.into_iter().map(Raw::into_value).collect())
    }

    /// [`Client::non_compliant_resources`], each also as Atlas sent it.
    pub async fn non_compliant_resources_raw(
        &self,
        org_id: &str,
    ) -> Result<Vec<Raw<NonCompliantResource>>, Error> {
        check_id("organization id", org_id)?;
        let path = format!("/orgs/{org_id}/nonCompliantResources");
        let a = self.send(NON_COMPLIANT, Method::GET, &path, None).await?;
        decode(NON_COMPLIANT, &a.body)
    }
}
