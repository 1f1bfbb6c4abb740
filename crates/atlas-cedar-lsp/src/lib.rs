//! `atlas-cedar lsp`: the language server. Live Atlas diagnostics (the `lint` rules,
//! re-checked per changed policy), quick fixes, formatting, completion, hover,
//! document symbols, folding and go to definition into the schema. In Terraform,
//! CloudFormation and payload documents all of it applies inside the policy bodies
//! only, at the host file's positions ([`embedded`]).
//!
//! Threads: the protocol runs on a small tokio runtime; every check and format runs on
//! one checker thread with the core's large stack (Cedar's parser is recursive).
//! Positions are UTF-16 unless the client offers UTF-8.

use std::process::ExitCode;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tower_lsp_server::{LspService, Server};

pub mod analysis;
pub mod complete;
pub mod context;
pub mod convert;
pub mod document;
pub mod embedded;
pub mod hover;
pub mod outline;
pub mod server;

pub use server::Backend;

/// Serves one client over a pair of streams until it exits.
pub async fn serve<I, O>(input: I, output: O)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite,
{
    let (service, socket) = LspService::new(Backend::new);
    let (to_server, server_input) = tokio::io::duplex(1 << 16);
    tokio::spawn(sanitize(input, to_server));
    Server::new(server_input, output, socket)
        .serve(service)
        .await;
}

/// The largest message accepted (a bigger one is skipped).
const MAX_MESSAGE: usize = 512 * 1024 * 1024;
/// What a malformed message is replaced with: a notification servers ignore.
const MALFORMED: &str = r#"{"jsonrpc":"2.0","method":"$/atlasCedar/malformedMessage"}"#;

/// Copies LSP frames from the client to the server, repairing what would stop the
/// transport: invalid UTF-8 is decoded lossily, a body that is not JSON is replaced
/// by an ignored notification (tower-lsp-server ends the session on either).
async fn sanitize<I, O>(input: I, mut out: O)
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        let mut len: Option<usize> = None;
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let header = String::from_utf8_lossy(&line);
            let header = header.trim();
            if header.is_empty() {
                if len.is_some() {
                    break;
                }
                continue;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    len = value.trim().parse().ok();
                }
            }
        }
        let len = len.unwrap_or(0);
        if len > MAX_MESSAGE {
            eprintln!("atlas-cedar lsp: skipping a {len}-byte message");
            let mut rest = (&mut reader).take(len as u64);
            if tokio::io::copy(&mut rest, &mut tokio::io::sink())
                .await
                .is_err()
            {
                return;
            }
            continue;
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let body = match String::from_utf8(body) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("atlas-cedar lsp: a message is not UTF-8; decoding it lossily");
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        let body = match vet(&body) {
            Vetted::Pass => body,
            Vetted::Replace(replacement, why) => {
                eprintln!("atlas-cedar lsp: {why}");
                replacement
            }
        };
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        if out.write_all(header.as_bytes()).await.is_err()
            || out.write_all(body.as_bytes()).await.is_err()
            || out.flush().await.is_err()
        {
            return;
        }
    }
}

/// What to do with one client message.
#[derive(Debug, PartialEq, Eq)]
enum Vetted {
    /// A well-formed JSON-RPC 2.0 message: passed on as it is.
    Pass,
    /// Passed on instead, with what is logged.
    Replace(String, String),
}

/// Checks a message's JSON-RPC envelope: tower-lsp-server ends the session on a body
/// that is not JSON, not an object, has no `"jsonrpc": "2.0"`, or a `method` or `id`
/// of the wrong type. Such a request with a usable id is turned into a request for a
/// method no server has, so the client gets a JSON-RPC error (method not found) for
/// its id; anything else is replaced by an ignored notification.
fn vet(body: &str) -> Vetted {
    let ignore =
        |why: &str| Vetted::Replace(MALFORMED.to_owned(), format!("ignoring a message: {why}"));
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return ignore("it is not JSON");
    };
    let Some(obj) = value.as_object() else {
        return ignore("it is not a JSON-RPC object");
    };
    let id = obj.get("id");
    let id_ok = match id {
        None | Some(serde_json::Value::Null | serde_json::Value::String(_)) => true,
        Some(serde_json::Value::Number(n)) => n.is_i64() || n.is_u64(),
        Some(_) => false,
    };
    let version_ok = obj.get("jsonrpc").and_then(serde_json::Value::as_str) == Some("2.0");
    let method = obj.get("method");
    let method_ok = method.is_none_or(serde_json::Value::is_string);
    let params_ok = obj
        .get("params")
        .is_none_or(|p| p.is_object() || p.is_array() || p.is_null());
    let shape_ok = method.is_some() || obj.contains_key("result") || obj.contains_key("error");
    if id_ok && version_ok && method_ok && params_ok && shape_ok {
        return Vetted::Pass;
    }
    let why = if !version_ok {
        "no \"jsonrpc\": \"2.0\""
    } else if !method_ok {
        "its method is not a string"
    } else if !params_ok {
        "its params are not an object or an array"
    } else if !id_ok {
        "its id is not a number or a string"
    } else {
        "it is neither a request, a notification nor a response"
    };
    match id {
        Some(id @ (serde_json::Value::String(_) | serde_json::Value::Number(_)))
            if id_ok && method.is_some() =>
        {
            let request = serde_json::json!({
                "jsonrpc": "2.0",
                "id": id,
                "method": "atlasCedar/invalidRequest",
            });
            Vetted::Replace(
                request.to_string(),
                format!("answering a request with an error: {why}"),
            )
        }
        _ => ignore(why),
    }
}

/// Serves a client on stdin/stdout (`atlas-cedar lsp`).
pub fn run_stdio() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("atlas-cedar lsp: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout()));
    // The checker thread may be busy: do not wait for it.
    runtime.shutdown_background();
    ExitCode::SUCCESS
}
