//! The request shapes every resource kind shares: JSON in and out, empty
//! answers, and paginated lists read through every page.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::Error;
use crate::{Client, Operation};

/// Largest page Atlas serves.
pub const MAX_ITEMS_PER_PAGE: u32 = 500;

/// One page of a paginated list: `{ results, totalCount, links }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// An answer decoded as `T` and kept exactly as Atlas sent it (`json`: every
/// field, unknown ones and `null`s included), for `-o json`: the typed
/// structs drop what they do not name and skip `None` when serialized.
/// Serializes as `json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Raw<T> {
    pub value: T,
    pub json: Value,
}

impl<T> Raw<T> {
    /// The typed answer.
    pub fn into_value(self) -> T {
        self.value
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Raw<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Value::deserialize(d)?;
        let value = T::deserialize(&json).map_err(serde::de::Error::custom)?;
        Ok(Raw { value, json })
    }
}

impl<T> Serialize for Raw<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

/// The answers of a list as Atlas sent them, one JSON value each.
pub fn raw_json<T>(list: &[Raw<T>]) -> Value {
    Value::Array(list.iter().map(|r| r.json.clone()).collect())
}

pub(crate) fn decode<T: DeserializeOwned>(op: Operation, text: &str) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| Error::Decode {
        operation: op.name,
        message: e.to_string(),
    })
}

pub(crate) fn encode<T: Serialize>(op: Operation, v: &T) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| Error::Decode {
        operation: op.name,
        message: e.to_string(),
    })
}

/// `Ok` for a 24-hex id, else a config error naming `what`.
pub fn check_id(what: &str, id: &str) -> Result<(), Error> {
    if id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{what} {id:?} is not a 24-hex-digit id"
        )))
    }
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters stay).
/// Azure endpoint ids hold `/`, which must not split the path.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `Ok(v)` when the object read by id carries that id (`answered`), else
/// [`Error::WrongObject`]: a destructive command must only ever act on what
/// the user named.
pub(crate) fn same_id<T>(
    op: Operation,
    what: &'static str,
    asked: &str,
    answered: &str,
    v: T,
) -> Result<T, Error> {
    if answered == asked {
        Ok(v)
    } else {
        Err(Error::WrongObject {
            operation: op.name,
            what,
            asked: asked.to_owned(),
            answered: answered.to_owned(),
        })
    }
}

/// A read by key as "is it there": a 404 is `None`.
pub(crate) fn found<T>(read: Result<T, Error>) -> Result<Option<T>, Error> {
    match read {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Client {
    /// GET `path` and decode the JSON answer.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        op: Operation,
        path: &str,
    ) -> Result<T, Error> {
        let a = self.send(op, Method::GET, path, None).await?;
        decode(op, &a.body)
    }

    /// Sends `body` as JSON with `method` and decodes the JSON answer.
    pub(crate) async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        op: Operation,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let a = self.send(op, method, path, Some(encode(op, body)?)).await?;
        decode(op, &a.body)
    }

    /// Sends a request whose answer carries nothing we need (DELETE, `:start`).
    pub(crate) async fn send_no_answer(
        &self,
        op: Operation,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(), Error> {
        self.send(op, method, path, body).await.map(|_| ())
    }

    /// DELETE that treats a 404 after a retry as done (the first attempt was
    /// applied but its answer lost).
    pub(crate) async fn delete_idempotent(&self, op: Operation, path: &str) -> Result<(), Error> {
        let before = self.requests_sent();
        match self.send(op, Method::DELETE, path, None).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) && self.requests_sent() > before + 1 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The retry policy of every create (a non-idempotent POST): `create` is
    /// sent; when its outcome is unknown (the answer was lost, or a 5xx came
    /// back: it may have been applied) `find` looks for what it would have
    /// made, which is adopted when there; only when it is absent is the
    /// create sent again, after a jittered exponential backoff, within the
    /// retry policy's attempts and total wait. A create that surely was not
    /// applied (refused connection, 429) is retried inside [`Client::send`];
    /// any other error is final. The flag says whether the object was
    /// adopted.
    pub(crate) async fn create_or_adopt<T, C, CF, F, FF>(
        &self,
        op: Operation,
        create: C,
        find: F,
    ) -> Result<(T, bool), Error>
    where
        C: Fn() -> CF,
        CF: std::future::Future<Output = Result<T, Error>>,
        F: Fn() -> FF,
        FF: std::future::Future<Output = Result<Option<T>, Error>>,
    {
        // One budget for the creates, the lookups and the retries inside them.
        self.within_one_budget(async {
            let mut attempt = 0u32;
            let mut waited = std::time::Duration::ZERO;
            loop {
                attempt += 1;
                let err = match create().await {
                    Ok(made) => return Ok((made, false)),
                    Err(e) => e,
                };
                if !err.maybe_applied() {
                    return Err(err);
                }
                if let Some(found) = find().await? {
                    return Ok((found, true));
                }
                // Absent: the create was not applied and may be sent again.
                let Some(wait) = self.next_wait(attempt, &mut waited, None) else {
                    return Err(err);
                };
                self.warn(format!(
                    "{}: not applied ({err}); sending it again",
                    op.name
                ));
                tokio::time::sleep(wait).await;
            }
        })
        .await
    }

    /// One page (`page_num` from 1). `path` must not carry a query already.
    pub(crate) async fn list_page<T: DeserializeOwned>(
        &self,
        op: Operation,
        path: &str,
        page_num: u32,
        items_per_page: u32,
        include_count: bool,
    ) -> Result<Page<T>, Error> {
        self.list_page_as(op, path, page_num, items_per_page, include_count)
            .await
    }

    /// One page decoded as `P` (a [`Page`], or a [`Raw`] of one).
    pub(crate) async fn list_page_as<P: DeserializeOwned>(
        &self,
        op: Operation,
        path: &str,
        page_num: u32,
        items_per_page: u32,
        include_count: bool,
    ) -> Result<P, Error> {
        let items = items_per_page.clamp(1, MAX_ITEMS_PER_PAGE);
        let page = page_num.max(1);
        let query = |count: bool| {
            format!("{path}?pageNum={page}&itemsPerPage={items}&includeCount={count}")
        };
        match self.get_json::<P>(op, &query(include_count)).await {
            // Atlas: "retry with includeCount=false".
            Err(e) if include_count && e.error_code() == Some("TIMEOUT_WHILE_PAGING") => {
                self.get_json::<P>(op, &query(false)).await
            }
            other => other,
        }
    }

    /// Every item of a paginated list, page after page, until a short or
    /// empty page (counting is off after the first page: Atlas's long loops
    /// with counting on can time out).
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        op: Operation,
        path: &str,
        items_per_page: u32,
    ) -> Result<Vec<T>, Error> {
        let items = items_per_page.clamp(1, MAX_ITEMS_PER_PAGE);
        let mut out = Vec::new();
        let mut page_num = 1u32;
        let mut total: Option<u64> = None;
        loop {
            let page: Page<T> = self
                .list_page(op, path, page_num, items, page_num == 1)
                .await?;
            if page_num == 1 {
                total = page.total_count;
            }
            let n = page.results.len();
            out.extend(page.results);
            let done = n < items as usize
                || n == 0
                || total.is_some_and(|t| out.len() as u64 >= t)
                || page_num >= 10_000;
            if done {
                return Ok(out);
            }
            page_num += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(
            encode_segment("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe 1"),
            "%2Fsubscriptions%2Fx%2FresourceGroups%2Frg%2Fproviders%2FMicrosoft.Network%2FprivateEndpoints%2Fpe%201"
        );
        assert_eq!(encode_segment("vpce-0abc_1.x~"), "vpce-0abc_1.x~");
    }

    #[test]
    #[allow(clippy::unwrap_used, clippy::indexing_slicing)]
    fn raw_answers_keep_every_field_and_null() {
        #[derive(Debug, Deserialize)]
        struct Named {
            name: String,
            #[serde(default)]
            comment: Option<String>,
        }
        let text = r#"{"results":[{"name":"a","comment":null,"links":[{"rel":"self"}]}],"totalCount":7,"links":[]}"#;
        let page: Raw<Page<Named>> = serde_json::from_str(text).unwrap();
        assert_eq!(page.value.total_count, Some(7));
        assert_eq!(page.value.results[0].name, "a");
        assert_eq!(page.value.results[0].comment, None);
        let back = serde_json::to_value(&page).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
        assert!(back["results"][0]["comment"].is_null());
        let bad = serde_json::from_str::<Raw<Named>>(r#"{"comment":"x"}"#);
        assert!(bad.unwrap_err().to_string().contains("name"));
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_id("project id", "5f0000000000000000000000").is_ok());
        assert!(check_id("project id", "5f00").is_err());
    }
}
