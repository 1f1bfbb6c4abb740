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

#[path = "fuzzgen/mod.rs"]
mod fuzzgen;

fn spawn_server() -> (tokio::process::Child, TestClient) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_atlas-cedar"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    (child, TestClient::new(stdout, stdin))
}

async fn ends_cleanly(mut child: tokio::process::Child, mut c: TestClient) {
    c.shutdown().await;
    let status = tokio::time::timeout(common::TIMEOUT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

/// Regression: `textDocument/formatting` on a deeply nested `if … then … else`
/// overflowed the checker thread's stack and aborted the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_formatting_a_deeply_nested_document() {
    let (child, mut c) = spawn_server();
    c.initialize(false, json!({})).await;
    // 500 levels fit the default body size: the guard refuses it (no edit, and
    // AC102 published); 3,000 levels (60 KB) are over it: kept as they are.
    for (n, version) in [(500, 1), (3_000, 1)] {
        let uri = format!("file:///nonexistent/deep{n}.cedar");
        let text = format!(
            "forbid (principal, action, resource) when {{ {}1{} }};\n",
            "if true then ".repeat(n),
            " else 2".repeat(n)
        );
        c.open(&uri, &text).await;
        let r = c
            .request_raw(
                "textDocument/formatting",
                json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
            )
            .await;
        assert!(
            r["result"].is_null() || r["result"] == json!([]),
            "not formatted: {r}"
        );
        let diags = c.diagnostics(&uri, version).await;
        let want = if n == 500 { "AC102" } else { "AC103" };
        assert_eq!(diags[0]["code"], want, "{diags:?}");
    }
    let uri = "file:///nonexistent/deep500.cedar";
    // Still serving.
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert!(symbols.is_array());
    ends_cleanly(child, c).await;
}

/// Regression: a `method` of `null`, a message without `jsonrpc`, a top-level JSON
/// string (and other malformed frames) made the server exit. Requests with a usable
/// id get a JSON-RPC error; the rest are ignored; the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_answered_or_ignored() {
    let (child, mut c) = spawn_server();
    c.initialize(false, json!({})).await;
    let answered: [(&[u8], i64); 4] = [
        (br#"{"jsonrpc":"2.0","id":501,"method":null}"#, 501),
        (
            br#"{"id":502,"method":"textDocument/hover","params":{}}"#,
            502,
        ),
        (br#"{"jsonrpc":"1.0","id":503,"method":"shutdown"}"#, 503),
        (
            br#"{"jsonrpc":"2.0","id":504,"method":"textDocument/hover","params":"x"}"#,
            504,
        ),
    ];
    for (frame, id) in answered {
        c.send_raw(frame).await;
        let r = c.response(json!(id)).await;
        assert!(
            r["error"]["code"].is_i64(),
            "{}: {r}",
            String::from_utf8_lossy(frame)
        );
    }
    for frame in [
        &b"\"hello\""[..],
        b"42",
        b"[]",
        b"null",
        br#"{"jsonrpc":"2.0","id":{"a":1},"method":"shutdown"}"#,
        br#"{"jsonrpc":"2.0","method":null}"#,
        br#"{"jsonrpc":"2.0"}"#,
        br#"{"jsonrpc":"2.0","id":7,"result":{}}"#,
        b"{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"textDocument\":{\"uri\":\"file:///x.cedar\",\"version\":2},\"contentChanges\":[{\"range\":{\"start\":{\"line\":99,\"character\":99},\"end\":{\"line\":0,\"character\":0}},\"text\":\"x\"}]}}",
    ] {
        c.send_raw(frame).await;
    }
    let uri = "file:///nonexistent/ok.cedar";
    c.open(
        uri,
        "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource) when { context.cluster.minShardCount < 3 };\n",
    )
    .await;
    assert!(c.diagnostics(uri, 1).await.is_empty());
    ends_cleanly(child, c).await;
}

/// UTF-16 (or UTF-8) position of byte `offset` in `text`.
fn lsp_pos(text: &str, offset: usize, utf8: bool) -> serde_json::Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = if utf8 {
        before.len() - start
    } else {
        before[start..].encode_utf16().count()
    };
    json!({"line": line, "character": col})
}

fn char_floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Seeded fuzzing of the language server through the real protocol: random
/// incremental edits (UTF-16 and UTF-8 sessions), requests at random positions,
/// formatting, and malformed frames; the server must answer every request and end
/// cleanly. `ATLAS_CEDAR_FUZZ_CASES` sets the number of edits per session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_the_language_server() {
    let run = fuzzgen::run(60);
    let seeds: Vec<fuzzgen::Seed> = fuzzgen::seeds()
        .into_iter()
        .filter(|s| !s.is_json())
        .collect();
    let mut rng = fastrand::Rng::with_seed(run.seed ^ 0x15);
    for utf8 in [false, true] {
        let (child, mut c) = spawn_server();
        let init = c.initialize(utf8, json!({})).await;
        let encoding = if utf8 { "utf-8" } else { "utf-16" };
        assert_eq!(
            init["capabilities"]["positionEncoding"]
                .as_str()
                .unwrap_or("utf-16"),
            encoding,
            "{init}"
        );
        let uri = format!("file:///nonexistent/fuzz-{utf8}.cedar");
        let mut text = seeds[rng.usize(..seeds.len())].text.clone();
        c.open(&uri, &text).await;
        let mut version = 1;
        for step in 0..run.cases {
            // An edit: replace a random range with a mutation's piece.
            let a = char_floor(&text, rng.usize(..=text.len()));
            let b = char_floor(&text, (a + rng.usize(..40)).min(text.len()));
            let piece = fuzzgen::mutate(&mut rng, &text[a..b], &seeds);
            let piece: String = piece.chars().take(3000).collect();
            let range = json!({"start": lsp_pos(&text, a, utf8), "end": lsp_pos(&text, b, utf8)});
            version += 1;
            c.change(&uri, version, json!([{"range": range, "text": piece}]))
                .await;
            text.replace_range(a..b, &piece);
            if text.len() > 200_000 {
                version += 1;
                text = seeds[rng.usize(..seeds.len())].text.clone();
                c.change(&uri, version, json!([{"text": text}])).await;
            }
            // A request at a random position (sometimes past the end).
            let at = char_floor(&text, rng.usize(..=text.len()));
            let mut pos = lsp_pos(&text, at, utf8);
            if rng.u8(..10) == 0 {
                pos = json!({"line": rng.u32(..1000), "character": rng.u32(..100_000)});
            }
            let td = json!({"uri": uri});
            let (method, params) = match rng.u8(..8) {
                0 => (
                    "textDocument/hover",
                    json!({"textDocument": td, "position": pos}),
                ),
                1 => (
                    "textDocument/completion",
                    json!({"textDocument": td, "position": pos}),
                ),
                2 => (
                    "textDocument/definition",
                    json!({"textDocument": td, "position": pos}),
                ),
                3 => ("textDocument/documentSymbol", json!({"textDocument": td})),
                4 => ("textDocument/foldingRange", json!({"textDocument": td})),
                5 => (
                    "textDocument/codeAction",
                    json!({"textDocument": td, "range": {"start": pos, "end": pos}, "context": {"diagnostics": []}}),
                ),
                _ => (
                    "textDocument/formatting",
                    json!({"textDocument": td, "options": {"tabSize": 2, "insertSpaces": true}}),
                ),
            };
            let r = c.request_raw(method, params).await;
            assert!(
                r.get("result").is_some() || r.get("error").is_some(),
                "step {step} {method}: {r}"
            );
            if rng.u8(..15) == 0 {
                c.send_raw(br#"{"jsonrpc":"2.0","id":"m","method":null}"#)
                    .await;
                c.response(json!("m")).await;
            }
        }
        // The server's copy matches ours: a document opened fresh with the text we
        // think it holds gets the same symbols and the same formatting answer as
        // the one edited step by step (both depend on the text alone).
        let fresh = format!("file:///nonexistent/fresh-{utf8}.cedar");
        c.open(&fresh, &text).await;
        for (method, extra) in [
            ("textDocument/documentSymbol", json!({})),
            (
                "textDocument/formatting",
                json!({"options": {"tabSize": 2, "insertSpaces": true}}),
            ),
        ] {
            let ask = |u: &str| {
                let mut p = extra.clone();
                p["textDocument"] = json!({"uri": u});
                p
            };
            let edited = c.request_raw(method, ask(&uri)).await;
            let opened = c.request_raw(method, ask(&fresh)).await;
            let edited = edited["result"].to_string().replace(&uri, "URI");
            let opened = opened["result"].to_string().replace(&fresh, "URI");
            assert_eq!(
                edited, opened,
                "{method}: the server's text differs from ours"
            );
        }
        ends_cleanly(child, c).await;
    }
    eprintln!(
        "fuzz_the_language_server: {} edits and requests in each of 2 sessions (UTF-16, UTF-8), seed {}, 0 failures",
        run.cases, run.seed
    );
}

/// A Terraform file through the real binary: diagnostics at the `.tf` line and
/// column of the heredoc body, completion and hover only inside the body, symbols of
/// the body's policy only, and no formatting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_documents_are_served_inside_policy_bodies_only() {
    let (child, mut c) = spawn_server();
    c.initialize(false, json!({"debounceMs": 10})).await;
    let uri = "file:///nonexistent/main.tf";
    let text = "variable \"org_id\" {}\n\nresource \"mongodbatlas_resource_policy\" \"regions\" {\n  org_id = var.org_id\n  name   = \"regions\"\n  policies = [\n    {\n      body = <<-EOF\n        forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\n        when { context.cluster.regions.contains(ResourcePolicy::Region::\"US_EAST_1\") };\n      EOF\n    },\n  ]\n}\n";
    let pos = |needle: &str, plus: usize| {
        let at = text.find(needle).unwrap() + plus;
        lsp_pos(text, at, false)
    };
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "terraform", "version": 1, "text": text}}),
    )
    .await;
    let diags = c.diagnostics(uri, 1).await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "AC300");
    // Line 10 (0-based 9), at the region's quote: the .tf column, indentation kept.
    assert_eq!(diags[0]["range"]["start"], pos("\"US_EAST_1\"", 0));
    assert_eq!(diags[0]["range"]["start"]["line"], 9);
    let at = |p: serde_json::Value| json!({"textDocument": {"uri": uri}, "position": p});

    // Outside the body: null.
    for (needle, plus) in [
        ("resource \"mongodb", 3),
        ("org_id = ", 2),
        ("var.org_id", 4),
        ("<<-EOF", 4),
    ] {
        for method in ["textDocument/completion", "textDocument/hover"] {
            let r = c.request(method, at(pos(needle, plus))).await;
            assert!(r.is_null(), "{method} on {needle:?}: {r}");
        }
    }
    // Inside: answers, at .tf positions.
    let h = c
        .request("textDocument/hover", at(pos("US_EAST_1", 2)))
        .await;
    let v = h["contents"]["value"].as_str().unwrap();
    assert!(v.contains("not a known Region id"), "{v}");
    assert_eq!(h["range"]["start"], pos("\"US_EAST_1\"", 0));
    let items = c
        .request("textDocument/completion", at(pos("regions.", 8)))
        .await;
    let items = items.as_array().unwrap();
    assert!(items.iter().any(|i| i["label"] == "contains"), "{items:?}");
    assert_eq!(
        items[0]["textEdit"]["range"]["start"]["line"], 9,
        "{items:?}"
    );
    // Symbols: the body's one policy, at its .tf range.
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let symbols = symbols.as_array().unwrap();
    assert_eq!(symbols.len(), 1, "{symbols:?}");
    assert_eq!(symbols[0]["name"], "forbid cluster.modify");
    assert_eq!(symbols[0]["range"]["start"], pos("forbid", 0));
    // Formatting never touches a .tf file.
    let r = c
        .request_raw(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert!(r.get("error").is_none(), "{r}");
    assert!(
        r["result"].is_null() || r["result"] == json!([]),
        "formatted a .tf file: {r}"
    );
    ends_cleanly(child, c).await;
}
