//! Stream processors (`/groups/{groupId}/streams/{tenantName}/processor…`,
//! version 2024-05-30).
//!
//! A processor is named, not numbered: every path carries the stream
//! instance (`tenantName`) and the processor name, both percent-encoded.
//! Atlas refuses to modify a running processor: callers stop it first
//! ([`Client::stop_stream_processor`]), PATCH, then start it again.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::rest::{check_id, encode, encode_segment, Raw, MAX_ITEMS_PER_PAGE};
use crate::{Client, Operation};

const VERSION: &str = "2024-05-30";
const READER: &str = "Project Read Only";
const OWNER: &str = "Project Owner or Project Stream Processing Owner";

const LIST: Operation = Operation {
    name: "list stream processors",
    version: VERSION,
    role: READER,
    idempotent: true,
};
const GET: Operation = Operation {
    name: "get stream processor",
    version: VERSION,
    role: READER,
    idempotent: true,
};
const CREATE: Operation = Operation {
    name: "create stream processor",
    version: VERSION,
    role: OWNER,
    idempotent: false,
};
const UPDATE: Operation = Operation {
    name: "update stream processor",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};
const DELETE: Operation = Operation {
    name: "delete stream processor",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};
// Starting a started processor (or stopping a stopped one) changes nothing.
const START: Operation = Operation {
    name: "start stream processor",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};
const STOP: Operation = Operation {
    name: "stop stream processor",
    version: VERSION,
    role: OWNER,
    idempotent: true,
};

/// The run states Atlas names; others may appear (compare with these).
pub mod state {
    pub const CREATED: &str = "CREATED";
    pub const STARTED: &str = "STARTED";
    pub const STOPPED: &str = "STOPPED";
    pub const FAILED: &str = "FAILED";
}

/// Dead letter queue: where a processor writes the documents it cannot process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dlq {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coll: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
}

impl Dlq {
    /// `true` when no field is set (Atlas: `{}` removes the queue).
    pub fn is_empty(&self) -> bool {
        self.coll.is_none() && self.connection_name.is_none() && self.db.is_none()
    }
}

/// `options` of a processor as Atlas returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessorOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq: Option<Dlq>,
    /// Anything else Atlas returns (`links`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A stream processor as Atlas returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamProcessor {
    #[serde(rename = "_id", default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub pipeline: Vec<Value>,
    /// `CREATED`, `STARTED`, `STOPPED`, `FAILED` (see [`state`]).
    #[serde(default)]
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<ProcessorOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Value>,
    /// Anything else Atlas returns (`links`, `errorMsg`, …), kept for `-o json`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StreamProcessor {
    /// The dead letter queue, `None` when unset or empty.
    pub fn dlq(&self) -> Option<&Dlq> {
        self.options
            .as_ref()
            .and_then(|o| o.dlq.as_ref())
            .filter(|d| !d.is_empty())
    }

    /// Why the processor failed, when Atlas says (`errorMsg`).
    pub fn error_message(&self) -> Option<&str> {
        self.extra
            .get("errorMsg")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// `options` of a create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq: Option<Dlq>,
}

/// Body of a create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamProcessorInput {
    pub name: String,
    pub pipeline: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<CreateOptions>,
}

/// `options` of a PATCH.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchOptions {
    /// `Some(empty)` removes the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlq: Option<Dlq>,
    /// `false`: the modified processor starts from the beginning instead of
    /// its last checkpoint (Atlas's default is `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_from_checkpoint: Option<bool>,
}

/// Body of a PATCH: every field optional; `pipeline` replaces the whole
/// pipeline; `name` renames.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamProcessorPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<PatchOptions>,
}

/// `/groups/{group}/streams/{tenant}`, checked and encoded.
fn base(group: &str, tenant: &str) -> Result<String, Error> {
    check_id("project id", group)?;
    if tenant.is_empty() {
        return Err(Error::Config("stream instance name is empty".to_owned()));
    }
    Ok(format!(
        "/groups/{group}/streams/{}",
        encode_segment(tenant)
    ))
}

fn processor_path(group: &str, tenant: &str, name: &str) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::Config("stream processor name is empty".to_owned()));
    }
    Ok(format!(
        "{}/processor/{}",
        base(group, tenant)?,
        encode_segment(name)
    ))
}

impl Client {
    /// Every processor of a stream instance (all pages).
    pub async fn list_stream_processors(
        &self,
        group: &str,
        tenant: &str,
    ) -> Result<Vec<StreamProcessor>, Error> {
        let path = format!("{}/processors", base(group, tenant)?);
        self.list_all(LIST, &path, MAX_ITEMS_PER_PAGE).await
    }

    /// [`Client::list_stream_processors`], each also as Atlas sent it.
    pub async fn list_stream_processors_raw(
        &self,
        group: &str,
        tenant: &str,
    ) -> Result<Vec<Raw<StreamProcessor>>, Error> {
        let path = format!("{}/processors", base(group, tenant)?);
        self.list_all(LIST, &path, MAX_ITEMS_PER_PAGE).await
    }

    /// [`Client::get_stream_processor`], also as Atlas sent it.
    pub async fn get_stream_processor_raw(
        &self,
        group: &str,
        tenant: &str,
        name: &str,
    ) -> Result<Raw<StreamProcessor>, Error> {
        self.get_json(GET, &processor_path(group, tenant, name)?)
            .await
    }

    /// One processor by name.
    pub async fn get_stream_processor(
        &self,
        group: &str,
        tenant: &str,
        name: &str,
    ) -> Result<StreamProcessor, Error> {
        self.get_json(GET, &processor_path(group, tenant, name)?)
            .await
    }

    /// POST once (never retried: check whether it exists after an error
    /// that [`Error::maybe_applied`]). The processor is `CREATED`, not running.
    pub async fn create_stream_processor(
        &self,
        group: &str,
        tenant: &str,
        input: &StreamProcessorInput,
    ) -> Result<StreamProcessor, Error> {
        let path = format!("{}/processor", base(group, tenant)?);
        self.send_json(CREATE, Method::POST, &path, input).await
    }

    /// Creates a processor under the one create policy
    /// ([`Client::create_or_adopt`]): when the outcome of the POST is
    /// unknown, the processor is read by name and adopted when there, else
    /// the POST is sent again after a backoff. The flag says whether it was
    /// adopted.
    pub async fn create_stream_processor_or_adopt(
        &self,
        group: &str,
        tenant: &str,
        input: &StreamProcessorInput,
    ) -> Result<(StreamProcessor, bool), Error> {
        self.create_or_adopt(
            CREATE,
            || self.create_stream_processor(group, tenant, input),
            || async {
                crate::rest::found(self.get_stream_processor(group, tenant, &input.name).await)
            },
        )
        .await
    }

    /// PATCH a stopped processor (Atlas refuses a running one).
    pub async fn update_stream_processor(
        &self,
        group: &str,
        tenant: &str,
        name: &str,
        patch: &StreamProcessorPatch,
    ) -> Result<StreamProcessor, Error> {
        let path = processor_path(group, tenant, name)?;
        self.send_json(UPDATE, Method::PATCH, &path, patch).await
    }

    /// DELETE; a 404 after a retry counts as done.
    pub async fn delete_stream_processor(
        &self,
        group: &str,
        tenant: &str,
        name: &str,
    ) -> Result<(), Error> {
        let path = processor_path(group, tenant, name)?;
        self.delete_idempotent(DELETE, &path).await
    }

    /// `:start`. Starting is asynchronous: read the processor until `STARTED`.
    pub async fn start_stream_processor(
        &self,
        group: &str,
        tenant: &str,
        name: &str,
    ) -> Result<(), Error> {
        let path = format!("{}:start", processor_path(group, tenant, name)?);
        self.send_no_answer(START, Method::POST, &path, None).await
    }

    /// `:stop`. Read the processor until `STOPPED` before modifying it.
    pub async fn stop_stream_processor(
        &self,
        group: &str,
        tenant: &str,
        name: &str,
    ) -> Result<(), Error> {
        let path = format!("{}:stop", processor_path(group, tenant, name)?);
        self.send_no_answer(STOP, Method::POST, &path, None).await
    }
}

/// The body a PATCH would send, as JSON (for dry runs).
pub fn patch_json(patch: &StreamProcessorPatch) -> Result<String, Error> {
    encode(UPDATE, patch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_encode_names() {
        assert_eq!(
            processor_path("5f0000000000000000000000", "my tenant", "a:b/c").unwrap(),
            "/groups/5f0000000000000000000000/streams/my%20tenant/processor/a%3Ab%2Fc"
        );
        assert!(processor_path("nope", "t", "p").is_err());
        assert!(processor_path("5f0000000000000000000000", "t", "").is_err());
    }

    #[test]
    fn atlas_shape_decodes_and_keeps_extra_fields() {
        let v = json!({
            "_id": "32b6e34b3d91647abb20e7b8",
            "links": [{"href": "https://cloud.mongodb.com/api/atlas", "rel": "self"}],
            "name": "string",
            "options": {"dlq": {"coll": "c", "connectionName": "n", "db": "d", "links": []}, "links": []},
            "pipeline": [{"additionalProperty1": {}}],
            "state": "STARTED",
            "stats": {}
        });
        let p: StreamProcessor = serde_json::from_value(v).unwrap();
        assert_eq!(p.id, "32b6e34b3d91647abb20e7b8");
        assert_eq!(p.dlq().and_then(|d| d.db.as_deref()), Some("d"));
        assert!(p.extra.contains_key("links"));
        let patch = StreamProcessorPatch {
            options: Some(PatchOptions {
                dlq: Some(Dlq::default()),
                resume_from_checkpoint: Some(false),
            }),
            ..StreamProcessorPatch::default()
        };
        assert_eq!(
            patch_json(&patch).unwrap(),
            r#"{"options":{"dlq":{},"resumeFromCheckpoint":false}}"#
        );
    }
}
