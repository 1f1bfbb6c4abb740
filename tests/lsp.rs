//! `atlas-cedar lsp`, the real binary, over stdio.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../crates/atlas-cedar-lsp/tests/common/mod.rs"]
mod common;

use std::process::Stdio;

use common::TestClient;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_lsp_over_stdio() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_atlas-cedar"))
        .args(["lsp", "--stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut c = TestClient::new(stdout, stdin);
    let init = c.initialize(false, json!({})).await;
    assert_eq!(init["serverInfo"]["name"], "atlas-cedar");
    let uri = "file:///nonexistent/bad-region.cedar";
    let text = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.cluster.regions.contains(ResourcePolicy::Region::\"US_EAST_1\") };\n";
    c.open(uri, text).await;
    let diags = c.diagnostics(uri, 1).await;
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0]["code"], "AC300");
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 1, "character": 64})
    );
    // A frame that is not UTF-8 / not JSON: answered with an error, the server lives on.
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"x\xff\xfe\"}")
        .await;
    let hover = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 67}}),
        )
        .await;
    let hover = hover["contents"]["value"].as_str().unwrap();
    assert!(hover.contains("not a known Region id"), "{hover}");
    c.shutdown().await;
    let status = tokio::time::timeout(common::TIMEOUT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}
