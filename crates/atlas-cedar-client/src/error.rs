//! Typed errors for both Atlas error shapes.

use serde::{Deserialize, Serialize};

use crate::auth::CredentialKind;

/// The generic Atlas error body (`application/json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AtlasError {
    #[serde(default)]
    pub error: u16,
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub parameters: Vec<serde_json::Value>,
    #[serde(default)]
    pub bad_request_detail: Option<BadRequestDetail>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRequestDetail {
    #[serde(default)]
    pub fields: Vec<FieldError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub description: String,
}

impl std::fmt::Display for AtlasError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}",
            if self.error_code.is_empty() {
                "ERROR"
            } else {
                &self.error_code
            }
        )?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        if let Some(b) = &self.bad_request_detail {
            for field in &b.fields {
                write!(f, " [{}: {}]", field.field, field.description)?;
            }
        }
        Ok(())
    }
}

/// The resource-policy 400 envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyErrorEnvelope {
    pub error_type: String,
    #[serde(default)]
    pub invalid_policies: Vec<InvalidPolicy>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidPolicy {
    pub body: String,
    #[serde(default)]
    pub errors: Vec<PolicyErrorDetail>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyErrorDetail {
    pub detail: String,
}

impl std::fmt::Display for PolicyErrorEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error_type)?;
        for p in &self.invalid_policies {
            let first_line = p.body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            for e in &p.errors {
                write!(f, "; `{}`: {}", first_line.trim(), e.detail)?;
            }
        }
        Ok(())
    }
}

/// Everything a client call can fail with. No variant ever holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{operation}: authentication with the {kind} failed (HTTP 401): {detail}")]
    Unauthorized {
        operation: &'static str,
        kind: CredentialKind,
        detail: String,
    },

    #[error("{operation}: forbidden (HTTP 403): this operation needs the {role} role ({error})")]
    Forbidden {
        operation: &'static str,
        role: &'static str,
        error: Box<AtlasError>,
    },

    #[error("{operation}: Atlas rejected the policy bodies: {envelope}")]
    InvalidPolicies {
        operation: &'static str,
        envelope: PolicyErrorEnvelope,
    },

    #[error("{operation}: API version {version} is gone (HTTP 410), upgrade atlas-cedar: {error}")]
    VersionGone {
        operation: &'static str,
        version: &'static str,
        error: Box<AtlasError>,
    },

    #[error("{operation}: Atlas does not accept API version {version} (HTTP 406): {error}")]
    NotAcceptable {
        operation: &'static str,
        version: &'static str,
        error: Box<AtlasError>,
    },

    #[error("{operation}: HTTP {status}: {error}")]
    Api {
        operation: &'static str,
        status: u16,
        error: Box<AtlasError>,
    },

    #[error("{operation}: still rate limited (HTTP 429) after {attempts} attempts and {waited_ms} ms of waiting: {error}")]
    RateLimited {
        operation: &'static str,
        attempts: u32,
        waited_ms: u128,
        /// What Atlas answered last (`errorCode`, `detail`).
        error: Box<AtlasError>,
    },

    #[error("{operation}: {message}")]
    Transport {
        operation: &'static str,
        message: String,
        /// The request may have reached Atlas and been applied.
        maybe_applied: bool,
    },

    #[error(
        "{operation}: asked for {what} {asked}, Atlas answered with {what} {answered:?}: \
         refusing to act on an object that is not the one named (check the id and the base URL)"
    )]
    WrongObject {
        operation: &'static str,
        what: &'static str,
        asked: String,
        answered: String,
    },

    #[error("service account token: {0}")]
    OAuth(String),

    #[error("configuration: {0}")]
    Config(String),

    #[error("token cache {path}: {message}")]
    TokenCache { path: String, message: String },

    #[error("{operation}: unexpected answer: {message}")]
    Decode {
        operation: &'static str,
        message: String,
    },
}

impl Error {
    /// HTTP status, when the error is an HTTP answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::InvalidPolicies { .. } => Some(400),
            Error::VersionGone { .. } => Some(410),
            Error::NotAcceptable { .. } => Some(406),
            Error::Api { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The Atlas error code, if any.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Forbidden { error, .. }
            | Error::VersionGone { error, .. }
            | Error::NotAcceptable { error, .. }
            | Error::RateLimited { error, .. }
            | Error::Api { error, .. } => Some(&error.error_code),
            Error::InvalidPolicies { envelope, .. } => Some(&envelope.error_type),
            _ => None,
        }
    }

    /// True when the request may have been applied although no success was
    /// seen (lost answer, 5xx on a write).
    pub fn maybe_applied(&self) -> bool {
        match self {
            Error::Transport { maybe_applied, .. } => *maybe_applied,
            Error::Api { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
