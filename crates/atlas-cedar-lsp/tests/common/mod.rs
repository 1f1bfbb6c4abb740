//! A small LSP test client over any pair of byte streams: in-process (duplex streams
//! into `atlas_cedar_lsp::serve`) or a spawned `atlas-cedar lsp` over stdio. Shared
//! with the top-level `tests/lsp.rs`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub struct TestClient {
    write: Box<dyn AsyncWrite + Unpin + Send>,
    rx: mpsc::UnboundedReceiver<Value>,
    pending: VecDeque<Value>,
    next_id: i64,
}

async fn read_frames(read: impl AsyncRead + Unpin, tx: mpsc::UnboundedSender<Value>) {
    let mut reader = BufReader::new(read);
    loop {
        let mut len = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length:") {
                len = v.trim().parse::<usize>().ok();
            }
        }
        let Some(len) = len else { return };
        let mut buf = vec![0; len];
        if reader.read_exact(&mut buf).await.is_err() {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&buf) else {
            return;
        };
        if tx.send(v).is_err() {
            return;
        }
    }
}

impl TestClient {
    pub fn new(
        read: impl AsyncRead + Unpin + Send + 'static,
        write: impl AsyncWrite + Unpin + Send + 'static,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(read_frames(read, tx));
        TestClient {
            write: Box::new(write),
            rx,
            pending: VecDeque::new(),
            next_id: 1,
        }
    }

    /// A server in this process, on duplex streams.
    pub fn in_process() -> Self {
        let (client_end, server_end) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_end);
        tokio::spawn(atlas_cedar_lsp::serve(server_read, server_write));
        let (read, write) = tokio::io::split(client_end);
        TestClient::new(read, write)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let header = format!("Content-Length: {}\r\n\r\n", bytes.len());
        self.write.write_all(header.as_bytes()).await.unwrap();
        self.write.write_all(bytes).await.unwrap();
        self.write.flush().await.unwrap();
    }

    async fn send(&mut self, v: &Value) {
        let body = serde_json::to_vec(v).unwrap();
        self.send_raw(&body).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    async fn next(&mut self) -> Value {
        tokio::time::timeout(TIMEOUT, self.rx.recv())
            .await
            .expect("timed out waiting for the server")
            .expect("server closed the stream")
    }

    /// Sends a request; returns the whole response (`result` or `error`).
    pub async fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let v = self.next().await;
            if v.get("id") == Some(&json!(id)) && v.get("method").is_none() {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// Sends a request; returns its `result` (panics on an error response).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let v = self.request_raw(method, params).await;
        assert!(v.get("error").is_none(), "{method} failed: {v}");
        v["result"].clone()
    }

    /// Waits for a notification matching `pred` (earlier unmatched ones are kept).
    pub async fn notification(&mut self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self
            .pending
            .iter()
            .position(|v| v["method"] == method && pred(&v["params"]))
        {
            return self.pending.remove(i).unwrap()["params"].clone();
        }
        loop {
            let v = self.next().await;
            if v["method"] == method && pred(&v["params"]) {
                return v["params"].clone();
            }
            self.pending.push_back(v);
        }
    }

    /// Waits for the response to request `id` (sent with [`TestClient::send_raw`]).
    pub async fn response(&mut self, id: Value) -> Value {
        if let Some(i) = self
            .pending
            .iter()
            .position(|v| v.get("id") == Some(&id) && v.get("method").is_none())
        {
            return self.pending.remove(i).unwrap();
        }
        loop {
            let v = self.next().await;
            if v.get("id") == Some(&id) && v.get("method").is_none() {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// Messages received and not consumed yet.
    pub fn pending(&self) -> &VecDeque<Value> {
        &self.pending
    }

    /// The diagnostics published for `uri` at `version`.
    pub async fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let p = self
            .notification("textDocument/publishDiagnostics", |p| {
                p["uri"] == uri && p["version"] == version
            })
            .await;
        p["diagnostics"].as_array().cloned().unwrap_or_default()
    }

    pub async fn initialize(&mut self, utf8: bool, options: Value) -> Value {
        let encodings = if utf8 {
            json!(["utf-8", "utf-16"])
        } else {
            json!(["utf-16"])
        };
        let r = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": null,
                    "capabilities": {
                        "general": {"positionEncodings": encodings},
                        "textDocument": {"completion": {"completionItem": {"snippetSupport": true}}}
                    },
                    "initializationOptions": options
                }),
            )
            .await;
        self.notify("initialized", json!({})).await;
        r
    }

    pub async fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "cedar", "version": 1, "text": text}}),
        )
        .await;
    }

    pub async fn change(&mut self, uri: &str, version: i64, changes: Value) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
        )
        .await;
    }

    pub async fn shutdown(&mut self) {
        let r = self.request_raw("shutdown", json!(null)).await;
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", json!(null)).await;
    }
}
