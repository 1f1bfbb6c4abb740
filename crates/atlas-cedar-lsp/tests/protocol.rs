//! The language server through the real protocol, in process: initialize, open,
//! change, requests, shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::TestClient;
use serde_json::{json, Value};

const BAD_REGION: &str = "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nwhen {\n  context.cluster.regions.contains(ResourcePolicy::Region::\"US_EAST_1\")\n};\n";

async fn started(utf8: bool) -> TestClient {
    let mut c = TestClient::in_process();
    c.initialize(utf8, json!({"debounceMs": 10})).await;
    c
}

fn codes(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn pos(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

/// The position of the `n`th occurrence of `needle` (+ `plus` chars) in UTF-16.
fn find_pos(text: &str, needle: &str, plus: usize) -> Value {
    let at = text.find(needle).unwrap() + plus;
    let before = &text[..at];
    let line = before.matches('\n').count();
    let col = before.rsplit('\n').next().unwrap().encode_utf16().count();
    pos(line as u32, col as u32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_negotiates_the_position_encoding() {
    let mut c = TestClient::in_process();
    let r = c.initialize(true, json!({})).await;
    assert_eq!(r["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(r["capabilities"]["textDocumentSync"]["change"], 2);
    c.shutdown().await;
    let mut c = TestClient::in_process();
    let r = c.initialize(false, json!({})).await;
    assert_eq!(r["capabilities"]["positionEncoding"], "utf-16");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_on_open_and_change_with_code_link_and_error_type() {
    let mut c = started(false).await;
    let uri = "file:///nonexistent/dir/a.cedar";
    c.open(uri, BAD_REGION).await;
    let diags = c.diagnostics(uri, 1).await;
    assert_eq!(codes(&diags), ["AC300"]);
    let d = &diags[0];
    assert_eq!(d["source"], "atlas-cedar");
    assert_eq!(d["severity"], 1);
    assert_eq!(
        d["codeDescription"]["href"],
        "https://github.com/atlas-cedar/atlas-cedar/blob/main/docs/rules.md#ac300"
    );
    assert_eq!(d["data"]["errorType"], "POLICY_HAS_UNEXPECTED_ENTITIES");
    assert_eq!(d["data"]["rule"], "unknown-entity-id");
    assert_eq!(
        d["range"]["start"],
        find_pos(BAD_REGION, "\"US_EAST_1\"", 0)
    );
    assert!(d["message"].as_str().unwrap().contains("did you mean"));
    // Fix it with an incremental edit.
    let start = find_pos(BAD_REGION, "US_EAST_1", 0);
    let end = find_pos(BAD_REGION, "US_EAST_1", 9);
    c.change(
        uri,
        2,
        json!([{"range": {"start": start, "end": end}, "text": "aws:us-east-1"}]),
    )
    .await;
    assert!(c.diagnostics(uri, 2).await.is_empty());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_syntax_error_does_not_hide_the_other_policies() {
    let mut c = started(false).await;
    let uri = "file:///x/two.cedar";
    let text = format!("forbid (principal, action resource);\n{BAD_REGION}");
    c.open(uri, &text).await;
    let diags = c.diagnostics(uri, 1).await;
    assert_eq!(codes(&diags), ["AC101", "AC300"]);
    assert_eq!(diags[0]["data"]["errorType"], "POLICY_PARSING_ERROR");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multibyte_text_gives_right_columns_in_utf16_and_utf8() {
    let text = "// 注释 😀 emoji and CJK: 東京\nforbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\"aws\") && \"😀東京\" != \"x\" && context.cluster.regions.contains(ResourcePolicy::Region::\"东京\") };\n";
    let err_at = text.find("\"东京\"").unwrap();
    let line_start = text[..err_at].rfind('\n').unwrap() + 1;
    let prefix = &text[line_start..err_at];
    let len = "\"东京\"";
    for (utf8, col, width) in [
        (
            false,
            prefix.encode_utf16().count(),
            len.encode_utf16().count(),
        ),
        (true, prefix.len(), len.len()),
    ] {
        let mut c = started(utf8).await;
        let uri = "file:///x/multibyte.cedar";
        c.open(uri, text).await;
        let diags = c.diagnostics(uri, 1).await;
        assert_eq!(codes(&diags), ["AC300"], "{diags:?}");
        let r = &diags[0]["range"];
        assert_eq!(r["start"], pos(2, col as u32), "utf8={utf8}");
        assert_eq!(r["end"], pos(2, (col + width) as u32), "utf8={utf8}");
        // Edits are read in the same encoding: replace the bad id by a good one.
        c.change(
            uri,
            2,
            json!([{"range": {"start": r["start"], "end": r["end"]}, "text": "\"aws:us-east-1\""}]),
        )
        .await;
        assert!(c.diagnostics(uri, 2).await.is_empty(), "utf8={utf8}");
        c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_changes_apply_in_order() {
    let mut c = started(false).await;
    let uri = "file:///x/inc.cedar";
    c.open(uri, "").await;
    assert_eq!(codes(&c.diagnostics(uri, 1).await), ["AC100"]);
    // Type the bad-region policy one character per notification, then two changes in
    // one notification.
    let mut line = 0;
    let mut col = 0;
    for (i, ch) in BAD_REGION.chars().enumerate() {
        c.change(
            uri,
            2 + i as i64,
            json!([{"range": {"start": pos(line, col), "end": pos(line, col)}, "text": ch.to_string()}]),
        )
        .await;
        if ch == '\n' {
            line += 1;
            col = 0;
        } else {
            col += ch.len_utf16() as u32;
        }
    }
    let v = 2 + BAD_REGION.chars().count() as i64;
    let diags = c.diagnostics(uri, v - 1).await;
    assert_eq!(codes(&diags), ["AC300"]);
    assert_eq!(
        diags[0]["range"]["start"],
        find_pos(BAD_REGION, "\"US_EAST_1\"", 0)
    );
    let start = find_pos(BAD_REGION, "US_EAST_1", 0);
    let end = find_pos(BAD_REGION, "US_EAST_1", 9);
    c.change(
        uri,
        v,
        json!([
            {"range": {"start": start, "end": end}, "text": "aws:us-east-1"},
            {"range": {"start": pos(0, 0), "end": pos(0, 6)}, "text": "permit"}
        ]),
    )
    .await;
    assert_eq!(codes(&c.diagnostics(uri, v).await), ["AC201"]);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_out_of_range_is_reported_and_the_server_keeps_serving() {
    let mut c = started(false).await;
    let uri = "file:///x/range.cedar";
    c.open(uri, BAD_REGION).await;
    c.diagnostics(uri, 1).await;
    c.change(
        uri,
        2,
        json!([{"range": {"start": pos(99, 0), "end": pos(99, 1)}, "text": "x"}]),
    )
    .await;
    let msg = c.notification("window/showMessage", |_| true).await;
    assert_eq!(msg["type"], 1);
    let diags = c.diagnostics(uri, 2).await;
    assert_eq!(codes(&diags), ["AC900"]);
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .contains("out of sync"));
    // Requests on it are errors; the server answers others.
    let r = c
        .request_raw(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": pos(0, 0)}),
        )
        .await;
    assert!(r.get("error").is_some(), "{r}");
    let r = c
        .request_raw(
            "textDocument/hover",
            json!({"textDocument": {"uri": "file:///x/never-opened.cedar"}, "position": pos(0, 0)}),
        )
        .await;
    assert!(r.get("error").is_some(), "{r}");
    // A full-text change brings it back.
    c.change(uri, 3, json!([{"text": BAD_REGION}])).await;
    assert_eq!(codes(&c.diagnostics(uri, 3).await), ["AC300"]);
    // A position past the end of the document in a request is an error, not a crash.
    let r = c
        .request_raw(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": pos(500, 3)}),
        )
        .await;
    assert!(r.get("error").is_some(), "{r}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_fixes_come_from_the_diagnostics() {
    let mut c = started(false).await;
    let uri = "file:///x/fix.cedar";
    let text = BAD_REGION.replacen("forbid", "permit", 1);
    c.open(uri, &text).await;
    let diags = c.diagnostics(uri, 1).await;
    assert_eq!(codes(&diags), ["AC201", "AC300"]);
    let whole = json!({"start": pos(0, 0), "end": pos(20, 0)});
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": whole, "context": {"diagnostics": diags}}),
        )
        .await;
    let actions = actions.as_array().unwrap();
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "replace `permit` with `forbid`",
            "replace with `aws:us-east-1`"
        ]
    );
    for a in actions {
        assert_eq!(a["kind"], "quickfix");
        assert_eq!(a["isPreferred"], true);
        assert_eq!(a["diagnostics"].as_array().unwrap().len(), 1);
    }
    let edit = &actions[1]["edit"]["changes"][uri][0];
    assert_eq!(edit["newText"], "\"aws:us-east-1\"");
    assert_eq!(edit["range"]["start"], find_pos(&text, "\"US_EAST_1\"", 0));
    // Only the fixes overlapping the requested range.
    let first_line = json!({"start": pos(0, 0), "end": pos(0, 3)});
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": first_line, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(actions.as_array().unwrap().len(), 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formatting_uses_the_cedar_formatter() {
    let mut c = started(false).await;
    let uri = "file:///x/fmt.cedar";
    let text = "// keep\nforbid(principal,action==ResourcePolicy::Action::\"cluster.modify\",resource)when{context.cluster.isConvertingToSharded};\n";
    c.open(uri, text).await;
    let edits = c
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    let edits = edits.as_array().unwrap();
    assert_eq!(edits.len(), 1);
    let expected = atlas_cedar_core::format::format_cedar(text).unwrap();
    assert_eq!(edits[0]["newText"], expected.as_str());
    assert_eq!(edits[0]["range"]["start"], pos(0, 0));
    assert_eq!(edits[0]["range"]["end"], pos(2, 0));
    // Formatted text: no edits. Broken text: no answer, no crash.
    c.change(uri, 2, json!([{"text": expected}])).await;
    let edits = c
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert_eq!(edits, json!([]));
    c.change(uri, 3, json!([{"text": "forbid ("}])).await;
    let edits = c
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert_eq!(edits, Value::Null);
    c.shutdown().await;
}

async fn complete(c: &mut TestClient, uri: &str, text: &str, version: i64) -> Vec<Value> {
    // The cursor is at the end of `text`.
    c.change(uri, version, json!([{"text": text}])).await;
    let lines: Vec<&str> = text.split('\n').collect();
    let line = lines.len() - 1;
    let col = lines[line].encode_utf16().count();
    let r = c
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": pos(line as u32, col as u32)}),
        )
        .await;
    r.as_array().cloned().unwrap_or_default()
}

fn labels(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_knows_atlas() {
    let mut c = started(false).await;
    let uri = "file:///x/complete.cedar";
    c.open(uri, "").await;
    let scope = "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nwhen {\n  ";

    // Snippets for a whole policy in an empty document.
    let items = complete(&mut c, uri, "", 2).await;
    assert!(labels(&items).contains(&"forbid regions".to_owned()));
    let snippet = items
        .iter()
        .find(|i| i["label"] == "forbid regions")
        .unwrap();
    assert_eq!(snippet["insertTextFormat"], 2);

    // Actions after `action ==` and `action in [`, with the namespace as typed.
    let items = complete(&mut c, uri, "forbid (principal, action == ", 3).await;
    assert!(labels(&items).contains(&"ResourcePolicy::Action::\"cluster.modify\"".to_owned()));
    let items = complete(
        &mut c,
        uri,
        "forbid (principal, action in [ResourcePolicy::Action::\"cluster.modify\", ",
        4,
    )
    .await;
    assert!(labels(&items)
        .contains(&"ResourcePolicy::Action::\"project.ipAccessList.modify\"".to_owned()));
    let items = complete(&mut c, uri, "forbid (principal, action == cloud::", 5).await;
    let l = labels(&items);
    assert!(
        l.contains(&"cloud::Action::\"cluster.createEdit\"".to_owned()),
        "{l:?}"
    );
    assert!(!l.iter().any(|x| x.starts_with("ResourcePolicy")));
    // The edit replaces what was typed of the path.
    assert_eq!(items[0]["textEdit"]["range"]["start"], pos(0, 29));

    // Action names inside the quotes.
    let items = complete(
        &mut c,
        uri,
        "forbid (principal, action == ResourcePolicy::Action::\"clu",
        6,
    )
    .await;
    assert!(labels(&items).contains(&"cluster.modify".to_owned()));

    // Entity types after `ResourcePolicy::`.
    let items = complete(
        &mut c,
        uri,
        &format!("{scope}context.cluster.regions.contains(ResourcePolicy::"),
        7,
    )
    .await;
    let l = labels(&items);
    for t in ["Region", "CloudProvider", "TLSVersion", "Project"] {
        assert!(l.contains(&t.to_owned()), "{l:?}");
    }

    // Region ids inside quotes, with their location.
    let items = complete(
        &mut c,
        uri,
        &format!("{scope}context.cluster.regions.contains(ResourcePolicy::Region::\"aws:"),
        8,
    )
    .await;
    let us_east = items
        .iter()
        .find(|i| i["label"] == "aws:us-east-1")
        .expect("aws:us-east-1");
    assert!(
        us_east["detail"].as_str().unwrap().contains("Virginia"),
        "{us_east}"
    );
    assert_eq!(us_east["textEdit"]["newText"], "aws:us-east-1\"");

    // Providers and TLS versions.
    let items = complete(
        &mut c,
        uri,
        &format!(
            "{scope}context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\""
        ),
        9,
    )
    .await;
    assert_eq!(labels(&items), ["aws", "azure", "gcp"]);
    let items = complete(
        &mut c,
        uri,
        &format!("{scope}context.cluster.minTLSVersion == ResourcePolicy::TLSVersion::\""),
        10,
    )
    .await;
    assert!(labels(&items).contains(&"tls1_2".to_owned()));

    // `context.` attributes for the actions in scope.
    let items = complete(&mut c, uri, &format!("{scope}context."), 11).await;
    assert_eq!(labels(&items), ["cluster", "project", "search"]);
    let items = complete(&mut c, uri, &format!("{scope}context.cluster."), 12).await;
    let disk = items
        .iter()
        .find(|i| i["label"] == "diskSizeGB")
        .expect("diskSizeGB");
    assert_eq!(disk["detail"], "Long (optional)");
    assert!(labels(&items).contains(&"regions".to_owned()));
    // Another action's context.
    let ip_scope = scope.replace("cluster.modify", "project.ipAccessList.modify");
    let items = complete(&mut c, uri, &format!("{ip_scope}context.project."), 13).await;
    assert_eq!(labels(&items), ["ipAccessList"]);

    // Set methods.
    let items = complete(&mut c, uri, &format!("{scope}context.cluster.regions."), 14).await;
    assert_eq!(
        labels(&items),
        ["contains", "containsAll", "containsAny", "isEmpty"]
    );
    // Entity literals where the schema says which type goes.
    let items = complete(
        &mut c,
        uri,
        &format!("{scope}context.cluster.regions.contains("),
        16,
    )
    .await;
    let region = items
        .iter()
        .find(|i| i["label"] == "ResourcePolicy::Region::\"aws:us-east-1\"")
        .expect("region literal");
    assert!(
        region["detail"].as_str().unwrap().contains("Virginia"),
        "{region}"
    );
    let items = complete(
        &mut c,
        uri,
        &format!("{scope}context.cluster.minTLSVersion == "),
        17,
    )
    .await;
    assert!(labels(&items).contains(&"ResourcePolicy::TLSVersion::\"tls1_2\"".to_owned()));
    let items = complete(
        &mut c,
        uri,
        &format!("{scope}context.cluster.cloudProviders.containsAny([ResourcePolicy::CloudProvider::\"aws\", "),
        18,
    )
    .await;
    assert!(labels(&items).contains(&"ResourcePolicy::CloudProvider::\"gcp\"".to_owned()));
    // After `has`.
    let items = complete(&mut c, uri, &format!("{scope}context.cluster has "), 15).await;
    assert!(labels(&items).contains(&"diskSizeGB".to_owned()));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_explains_actions_attributes_and_regions() {
    let mut c = started(false).await;
    let uri = "file:///x/hover.cedar";
    let text = "forbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nwhen {\n  context.cluster has diskSizeGB && context.cluster.diskSizeGB > 100 && context.cluster.regions.contains(ResourcePolicy::Region::\"aws:eu-west-1\")\n};\n";
    c.open(uri, text).await;
    let hover = |p: Value| json!({"textDocument": {"uri": uri}, "position": p});
    let h = c
        .request(
            "textDocument/hover",
            hover(find_pos(text, "cluster.modify", 2)),
        )
        .await;
    let v = h["contents"]["value"].as_str().unwrap();
    assert!(v.contains("Governs creating or changing a cluster"), "{v}");
    assert!(v.contains("`cluster.regions`: Set<Region>"), "{v}");
    let h = c
        .request(
            "textDocument/hover",
            hover(find_pos(text, "diskSizeGB >", 1)),
        )
        .await;
    let v = h["contents"]["value"].as_str().unwrap();
    assert!(
        v.contains("`Long`") && v.contains("needs a `has` guard"),
        "{v}"
    );
    let h = c
        .request("textDocument/hover", hover(find_pos(text, "regions.", 1)))
        .await;
    let v = h["contents"]["value"].as_str().unwrap();
    assert!(v.contains("Always present"), "{v}");
    let h = c
        .request(
            "textDocument/hover",
            hover(find_pos(text, "aws:eu-west-1", 1)),
        )
        .await;
    let v = h["contents"]["value"].as_str().unwrap();
    assert!(v.contains("Ireland"), "{v}");
    let h = c.request("textDocument/hover", hover(pos(1, 0))).await;
    assert_eq!(h, Value::Null);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbols_folding_and_definition() {
    let mut c = started(false).await;
    let uri = "file:///x/outline.cedar";
    let text = format!("// a\n// b\n@id(\"regions\")\n{BAD_REGION}\nforbid (principal, action, resource) when {{ context has cluster }};\n");
    c.open(uri, &text).await;
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let symbols = symbols.as_array().unwrap();
    assert_eq!(symbols.len(), 2);
    assert_eq!(symbols[0]["name"], "regions");
    assert_eq!(symbols[0]["detail"], "forbid cluster.modify");
    assert_eq!(symbols[0]["range"]["start"], pos(2, 0));
    assert_eq!(symbols[1]["name"], "forbid (every action)");
    let folds = c
        .request(
            "textDocument/foldingRange",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let folds = folds.as_array().unwrap();
    assert!(folds
        .iter()
        .any(|f| f["kind"] == "comment" && f["startLine"] == 0 && f["endLine"] == 1));
    assert!(folds
        .iter()
        .any(|f| f["kind"] == "region" && f["startLine"] == 2 && f["endLine"] == 10));
    let def = c
        .request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": find_pos(&text, "cluster.modify", 3)}),
        )
        .await;
    let target = def["uri"].as_str().unwrap();
    assert!(
        target.starts_with("file://") && target.ends_with("/resource-policy.cedarschema"),
        "{def}"
    );
    let path = target.trim_start_matches("file://");
    let schema = std::fs::read_to_string(path).unwrap();
    let line = schema
        .lines()
        .nth(def["range"]["start"]["line"].as_u64().unwrap() as usize)
        .unwrap();
    assert!(line.contains("action \"cluster.modify\""), "{line}");
    let def = c
        .request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri}, "position": find_pos(&text, "Region::", 2)}),
        )
        .await;
    let line = schema
        .lines()
        .nth(def["range"]["start"]["line"].as_u64().unwrap() as usize)
        .unwrap();
    assert!(line.contains("entity Region;"), "{line}");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_is_honoured_and_a_broken_one_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("atlas-cedar.toml"),
        "[lint.rules]\nAC300 = \"warning\"\n[lint.entities]\nRegion = [\"aws:moon-1\"]\n",
    )
    .unwrap();
    let sub = dir.path().join("policies");
    std::fs::create_dir(&sub).unwrap();
    let file = sub.join("a.cedar");
    let uri = format!("file://{}", file.display());
    let text = format!(
        "{BAD_REGION}{}",
        BAD_REGION.replace("US_EAST_1", "aws:moon-1")
    );
    let mut c = started(false).await;
    c.open(&uri, &text).await;
    let diags = c.diagnostics(&uri, 1).await;
    assert_eq!(codes(&diags), ["AC300"]);
    assert_eq!(diags[0]["severity"], 2);
    // Edit the config and save: every open document is checked again with it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        dir.path().join("atlas-cedar.toml"),
        "[lint.rules]\nAC300 = \"off\"\n",
    )
    .unwrap();
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    )
    .await;
    let diags = c.diagnostics(&uri, 1).await;
    assert!(diags.is_empty(), "AC300 is off now: {diags:?}");
    // A config that is not UTF-8: reported, built-in engine used, still serving.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("atlas-cedar.toml"), b"[lint]\xff\xfe\n").unwrap();
    let uri2 = format!("file://{}/b.cedar", other.path().display());
    c.open(&uri2, BAD_REGION).await;
    let diags = c.diagnostics(&uri2, 1).await;
    assert_eq!(codes(&diags), ["AC903", "AC300"]);
    assert!(
        diags[0]["message"].as_str().unwrap().contains("not UTF-8"),
        "{diags:?}"
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_documents_are_checked_too() {
    let mut c = started(false).await;
    let uri = "file:///x/payload.json";
    let body = serde_json::to_string(BAD_REGION).unwrap();
    let text = format!("{{\"name\": \"p\", \"policies\": [{{\"body\": {body}}}]}}");
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "json", "version": 1, "text": text}}),
    )
    .await;
    assert_eq!(codes(&c.diagnostics(uri, 1).await), ["AC300"]);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_nesting_and_huge_documents_do_not_crash() {
    let mut c = started(false).await;
    let uri = "file:///x/deep.cedar";
    let nest = |n: usize| {
        format!(
            "forbid (principal, action, resource) when {{ {}true{} }};\n",
            "(".repeat(n),
            ")".repeat(n)
        )
    };
    // Over the nesting limit, and far over the size limit too.
    let deep = format!("{}{}", nest(100), nest(200_000));
    c.open(uri, &deep).await;
    assert_eq!(codes(&c.diagnostics(uri, 1).await), ["AC102", "AC103"]);
    let r = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": pos(0, 100_000)}),
        )
        .await;
    assert_eq!(r, Value::Null);
    let r = c
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert_eq!(r, Value::Null);

    // 50 MB: not checked live (a warning says so), everything else still answers.
    let big_uri = "file:///x/big.cedar";
    let mut big = String::with_capacity(51 << 20);
    while big.len() < 50 << 20 {
        big.push_str(BAD_REGION);
    }
    c.open(big_uri, &big).await;
    let diags = c.diagnostics(big_uri, 1).await;
    assert_eq!(codes(&diags), ["AC900"]);
    assert_eq!(diags[0]["severity"], 2);
    let lines = big.matches('\n').count() as u32;
    let r = c
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": big_uri}, "position": pos(lines - 3, 10)}),
        )
        .await;
    assert!(r.as_array().is_some_and(|a| !a.is_empty()));
    c.change(
        big_uri,
        2,
        json!([{"range": {"start": pos(0, 0), "end": pos(0, 6)}, "text": "permit"}]),
    )
    .await;
    c.diagnostics(big_uri, 2).await;
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": big_uri}}),
    )
    .await;
    // Still serving.
    let r = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(r.as_array().unwrap().len(), 2);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_debounced_and_stale_versions_never_published() {
    let mut c = TestClient::in_process();
    c.initialize(false, json!({})).await; // the default 150 ms debounce
    let uri = "file:///x/debounce.cedar";
    c.open(uri, BAD_REGION).await;
    assert_eq!(codes(&c.diagnostics(uri, 1).await), ["AC300"]);
    for v in 2..=6 {
        let text = if v % 2 == 0 { "forbid (" } else { BAD_REGION };
        c.change(uri, v, json!([{"text": text}])).await;
    }
    let started = std::time::Instant::now();
    assert_eq!(codes(&c.diagnostics(uri, 6).await), ["AC101"]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(100));
    let stale: Vec<&Value> = c
        .pending()
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
        .collect();
    assert!(stale.is_empty(), "{stale:?}");
    // Positions inside a surrogate pair or past a line's end are clamped, not errors.
    c.change(
        uri,
        7,
        json!([{"text": "// 😀\nforbid (principal, action, resource);\n"}]),
    )
    .await;
    c.diagnostics(uri, 7).await;
    for p in [pos(0, 4), pos(0, 400), pos(1, 3), pos(2, 0)] {
        c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": p}),
        )
        .await;
        c.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": p}),
        )
        .await;
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_files_get_diagnostics_in_policy_bodies_only() {
    let mut c = started(false).await;
    let uri = "file:///nonexistent/main.tf";
    let text = "variable \"x\" {}\n\nresource \"mongodbatlas_resource_policy\" \"r\" {\n  org_id = var.org_id\n  name   = \"r\"\n  policies = [\n    {\n      body = <<-EOF\n        forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\n        when { context.cluster.regions.contains(ResourcePolicy::Region::\"US_EAST_1\") };\n      EOF\n    },\n  ]\n}\n";
    c.open(uri, text).await;
    let diags = c.diagnostics(uri, 1).await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "AC300");
    // Line 10 of the .tf file (0-based 9), at the region's opening quote.
    let col = text.lines().nth(9).unwrap().find("\"US_EAST_1\"").unwrap();
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 9, "character": col})
    );
    // Formatting never rewrites a Terraform file as Cedar.
    let edits = c
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert!(edits.is_null(), "{edits}");
    // A .tf file without resource policies gets no findings, syntax errors included.
    let other = "file:///nonexistent/vars.tf";
    c.open(other, "variable \"x\" {\n").await;
    assert!(c.diagnostics(other, 1).await.is_empty());
    // The language id decides too: `terraform` (VS Code's HashiCorp extension,
    // Neovim) on a .tf file, and on a document without a file name at all.
    for uri in ["file:///nonexistent/lang.tf", "untitled:Untitled-1"] {
        c.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "terraform", "version": 1, "text": text}}),
        )
        .await;
        let diags = c.diagnostics(uri, 1).await;
        assert_eq!(codes(&diags), ["AC300"], "{uri}");
        assert_eq!(
            diags[0]["range"]["start"],
            json!({"line": 9, "character": col}),
            "{uri}"
        );
        let edits = c
            .request(
                "textDocument/formatting",
                json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
            )
            .await;
        assert!(edits.is_null(), "{uri}: {edits}");
    }
    c.shutdown().await;
}

const TF_TWO_BODIES: &str = "resource \"mongodbatlas_resource_policy\" \"r\" {\n  org_id = var.org_id\n  name   = \"r\"\n  policies = [\n    {\n      body = <<-EOF\n        // regions\n        // only\n        @id(\"regions\")\n        forbid (\n          principal,\n          action == ResourcePolicy::Action::\"cluster.modify\",\n          resource\n        )\n        when { context.cluster.regions.contains(ResourcePolicy::Region::\"US_EAST_1\") };\n      EOF\n    },\n    { body = \"forbid (principal, action == ResourcePolicy::Action::\\\"project.ipAccessList.modify\\\", resource)\\nwhen { context.project.ipAccessList.contains(ip(\\\"0.0.0.0/0\\\")) };\" },\n  ]\n}\n";

/// Every request on a Terraform document answers inside policy bodies only, with
/// positions in the .tf file; elsewhere it answers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_requests_answer_only_inside_policy_bodies() {
    let mut c = started(false).await;
    let uri = "file:///nonexistent/two.tf";
    let text = TF_TWO_BODIES;
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "terraform", "version": 1, "text": text}}),
    )
    .await;
    let diags = c.diagnostics(uri, 1).await;
    assert_eq!(codes(&diags), ["AC300"], "{diags:?}");
    let at = |p: Value| json!({"textDocument": {"uri": uri}, "position": p});

    // Outside the bodies: nothing, on HCL words and on the `EOF` marker.
    for (needle, plus) in [
        ("resource", 2),
        ("org_id", 1),
        ("var.org_id", 5),
        ("policies", 3),
        ("<<-EOF", 3),
        ("body = \"", 1),
    ] {
        let p = find_pos(text, needle, plus);
        for method in [
            "textDocument/completion",
            "textDocument/hover",
            "textDocument/definition",
        ] {
            let r = c.request(method, at(p.clone())).await;
            assert!(r.is_null(), "{method} at {needle}: {r}");
        }
    }

    // Inside the heredoc: hover on the action, at its .tf range.
    let h = c
        .request(
            "textDocument/hover",
            at(find_pos(text, "cluster.modify", 2)),
        )
        .await;
    let v = h["contents"]["value"].as_str().unwrap();
    assert!(v.contains("Governs creating or changing a cluster"), "{v}");
    assert_eq!(h["range"]["start"], find_pos(text, "\"cluster.modify\"", 0));
    // Completion after `regions.`: the set methods, replacing at the .tf position.
    let items = c
        .request("textDocument/completion", at(find_pos(text, "regions.", 8)))
        .await;
    let items = items.as_array().unwrap();
    assert!(labels(items).contains(&"contains".to_owned()), "{items:?}");
    // Definition into the schema.
    let def = c
        .request("textDocument/definition", at(find_pos(text, "Region::", 2)))
        .await;
    assert!(
        def["uri"].as_str().unwrap().ends_with(".cedarschema"),
        "{def}"
    );

    // Inside the quoted body: hover through the `\"` escapes, and completion
    // inserts escaped text.
    let h = c
        .request(
            "textDocument/hover",
            at(find_pos(text, "project.ipAccessList.modify", 3)),
        )
        .await;
    assert!(
        h["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("IP access list"),
        "{h}"
    );
    let items = c
        .request(
            "textDocument/completion",
            at(find_pos(text, "ResourcePolicy::Action::\\\"project", 0)),
        )
        .await;
    let items = items.as_array().unwrap();
    let modify = items
        .iter()
        .find(|i| i["label"] == "ResourcePolicy::Action::\"cluster.modify\"")
        .unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(
        modify["textEdit"]["newText"],
        "ResourcePolicy::Action::\\\"cluster.modify\\\""
    );
    assert_eq!(modify["insertTextFormat"], 1);

    // Symbols: the bodies' policies only, at their .tf ranges.
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let symbols = symbols.as_array().unwrap();
    assert_eq!(symbols.len(), 2, "{symbols:?}");
    assert_eq!(symbols[0]["name"], "regions");
    assert_eq!(symbols[0]["range"]["start"], find_pos(text, "@id", 0));
    assert_eq!(symbols[1]["name"], "forbid project.ipAccessList.modify");
    assert_eq!(
        symbols[1]["range"]["start"],
        find_pos(
            text,
            "forbid (principal, action == ResourcePolicy::Action::\\",
            0
        )
    );
    // Folding: the heredoc's comment run and policy, in .tf lines.
    let folds = c
        .request(
            "textDocument/foldingRange",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let folds = folds.as_array().unwrap();
    assert!(
        folds
            .iter()
            .any(|f| f["kind"] == "comment" && f["startLine"] == 6 && f["endLine"] == 7),
        "{folds:?}"
    );
    assert!(
        folds
            .iter()
            .any(|f| f["kind"] == "region" && f["startLine"] == 8 && f["endLine"] == 14),
        "{folds:?}"
    );
    // The region's quick fix, at the .tf position; none on the HCL around it.
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": pos(0, 0), "end": pos(30, 0)}, "context": {"diagnostics": diags}}),
        )
        .await;
    let edit = &actions[0]["edit"]["changes"][uri][0];
    assert_eq!(edit["newText"], "\"aws:us-east-1\"");
    assert_eq!(edit["range"]["start"], find_pos(text, "\"US_EAST_1\"", 0));
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": pos(1, 0), "end": pos(2, 0)}, "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(actions, json!([]));
    // Never formatted.
    let edits = c
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert!(edits.is_null(), "{edits}");

    // After an edit the bodies are found again: a new line above moves them down.
    c.change(
        uri,
        2,
        json!([{"range": {"start": pos(0, 0), "end": pos(0, 0)}, "text": "# policies\n"}]),
    )
    .await;
    let diags = c.diagnostics(uri, 2).await;
    assert_eq!(diags[0]["range"]["start"]["line"], 15);
    let h = c.request("textDocument/hover", at(pos(1, 2))).await;
    assert!(h.is_null(), "{h}");
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(symbols[0]["range"]["start"]["line"], 9);

    // A Terraform file with no resource policy: nothing anywhere.
    let vars = "file:///nonexistent/variables.tf";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": vars, "languageId": "terraform", "version": 1, "text": "variable \"org_id\" {\n  type = string\n}\n"}}),
    )
    .await;
    c.diagnostics(vars, 1).await;
    let vat = |p: Value| json!({"textDocument": {"uri": vars}, "position": p});
    assert!(c
        .request("textDocument/completion", vat(pos(1, 4)))
        .await
        .is_null());
    assert!(c
        .request("textDocument/hover", vat(pos(0, 2)))
        .await
        .is_null());
    assert_eq!(
        c.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": vars}})
        )
        .await,
        json!([])
    );
    assert_eq!(
        c.request(
            "textDocument/foldingRange",
            json!({"textDocument": {"uri": vars}})
        )
        .await,
        json!([])
    );
    c.shutdown().await;
}

/// Hover, completion and definition at every position of a Terraform file, in UTF-16
/// and UTF-8 (a multi-byte comment in the heredoc): never an error, nothing on the
/// lines that are HCL only, and every range answered lies inside a body's lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_position_of_a_terraform_file_is_answered_or_null() {
    let text = TF_TWO_BODIES.replacen("// only", "// only régions 😀 ok", 1);
    // Lines (0-based) holding policy text: the heredoc's 6..=14 and the quoted 17.
    let body_lines = |l: u64| (6..=14).contains(&l) || l == 17;
    for utf8 in [false, true] {
        let mut c = started(utf8).await;
        let uri = "file:///nonexistent/every.tf";
        c.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "terraform", "version": 1, "text": text}}),
        )
        .await;
        c.diagnostics(uri, 1).await;
        let mut answered = 0;
        for (at, _) in text.char_indices() {
            let before = &text[..at];
            let line = before.matches('\n').count() as u64;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            let col = if utf8 {
                before.len() - start
            } else {
                before[start..].encode_utf16().count()
            };
            let p =
                json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col}});
            for method in [
                "textDocument/hover",
                "textDocument/completion",
                "textDocument/definition",
            ] {
                let r = c.request_raw(method, p.clone()).await;
                assert!(r.get("error").is_none(), "{method} at {line}:{col}: {r}");
                let r = &r["result"];
                if !body_lines(line) {
                    assert!(r.is_null(), "{method} at HCL {line}:{col}: {r}");
                    continue;
                }
                if r.is_null() {
                    continue;
                }
                answered += 1;
                let ranges: Vec<&Value> = match method {
                    "textDocument/hover" => vec![&r["range"]],
                    "textDocument/completion" => r
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| &i["textEdit"]["range"])
                        .collect(),
                    _ => Vec::new(),
                };
                for range in ranges {
                    for end in ["start", "end"] {
                        let l = range[end]["line"].as_u64().unwrap();
                        assert!(body_lines(l), "{method} at {line}:{col}: {range}");
                    }
                }
            }
        }
        assert!(answered > 100, "{answered}");
        c.shutdown().await;
    }
}

/// CloudFormation templates and payloads: the same, inside `Body` / `body` only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_and_payloads_answer_only_inside_policy_bodies() {
    let mut c = started(false).await;
    let yaml = "Resources:\n  Regions:\n    Type: MongoDB::Atlas::ResourcePolicy\n    Properties:\n      Name: regions\n      Policies:\n        - Body: |\n            forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\n            when { context.cluster.regions.contains(ResourcePolicy::Region::\"US_EAST_1\") };\n";
    let uri = "file:///nonexistent/stack.yaml";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": yaml}}),
    )
    .await;
    let diags = c.diagnostics(uri, 1).await;
    assert_eq!(codes(&diags), ["AC300"]);
    assert_eq!(
        diags[0]["range"]["start"],
        find_pos(yaml, "\"US_EAST_1\"", 0)
    );
    let at = |p: Value| json!({"textDocument": {"uri": uri}, "position": p});
    for (needle, plus) in [
        ("Resources", 2),
        ("Type", 1),
        ("MongoDB::Atlas", 3),
        ("Body", 1),
    ] {
        let p = find_pos(yaml, needle, plus);
        assert!(
            c.request("textDocument/hover", at(p.clone()))
                .await
                .is_null(),
            "{needle}"
        );
        assert!(
            c.request("textDocument/completion", at(p)).await.is_null(),
            "{needle}"
        );
    }
    let h = c
        .request(
            "textDocument/hover",
            at(find_pos(yaml, "cluster.modify", 2)),
        )
        .await;
    assert_eq!(h["range"]["start"], find_pos(yaml, "\"cluster.modify\"", 0));
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(symbols.as_array().unwrap().len(), 1);
    assert_eq!(symbols[0]["range"]["start"], find_pos(yaml, "forbid", 0));
    let edits = c
        .request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        )
        .await;
    assert!(edits.is_null(), "{edits}");

    let uri = "file:///nonexistent/payload.json";
    let body = serde_json::to_string(BAD_REGION).unwrap();
    let text = format!("{{\"name\": \"p\", \"policies\": [{{\"body\": {body}}}]}}");
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "json", "version": 1, "text": text}}),
    )
    .await;
    assert_eq!(codes(&c.diagnostics(uri, 1).await), ["AC300"]);
    let at = |p: Value| json!({"textDocument": {"uri": uri}, "position": p});
    assert!(c
        .request("textDocument/hover", at(find_pos(&text, "name", 1)))
        .await
        .is_null());
    let h = c
        .request(
            "textDocument/hover",
            at(find_pos(&text, "cluster.modify", 2)),
        )
        .await;
    assert!(
        h["contents"]["value"].as_str().unwrap().contains("cluster"),
        "{h}"
    );
    c.shutdown().await;
}

/// `(code, start line, start column, end line, end column)` of a finding, in UTF-16
/// columns, computed here from byte offsets (not by the server's conversion).
fn lint_range(text: &str, d: &atlas_cedar_core::Diagnostic) -> (String, u64, u64, u64, u64) {
    let at = |offset: usize| {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() as u64;
        let col = before.rsplit('\n').next().unwrap().encode_utf16().count() as u64;
        (line, col)
    };
    let (sl, sc) = at(d.span.start);
    let (el, ec) = at(d.span.end);
    (d.rule.code.to_owned(), sl, sc, el, ec)
}

fn lsp_range(d: &Value) -> (String, u64, u64, u64, u64) {
    let r = &d["range"];
    (
        d["code"].as_str().unwrap().to_owned(),
        r["start"]["line"].as_u64().unwrap(),
        r["start"]["character"].as_u64().unwrap(),
        r["end"]["line"].as_u64().unwrap(),
        r["end"]["character"].as_u64().unwrap(),
    )
}

/// What the editor shows for each fixture file equals what `lint` finds in it
/// (codes and ranges): the document opened over the protocol, then edited (so the
/// second check comes from the document's cache), against the core's check of the
/// file alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_shows_what_lint_finds_on_the_fixture_corpus() {
    use atlas_cedar_core::check::{mark_duplicates, with_stack};
    use atlas_cedar_core::{Engine, InputKind};
    let mut c = started(false).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lint");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let (mut n, mut findings) = (0, 0);
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let name = format!("/nonexistent/fixtures/{file}");
        let uri = format!("file://{name}");
        let kind = InputKind::from_path(&name);
        let language = if kind == InputKind::Payload {
            "json"
        } else {
            "cedar"
        };
        let expected = {
            let (name, text) = (name.clone(), text.clone());
            with_stack(move || {
                let engine = Engine::builtin().unwrap();
                let mut reports = [engine.check_source(&name, text.clone(), kind)];
                mark_duplicates(&engine, &mut reports);
                let [r] = reports;
                r.diagnostics
                    .iter()
                    .map(|d| lint_range(&text, d))
                    .collect::<Vec<_>>()
            })
        };
        c.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        )
        .await;
        let shown: Vec<_> = c.diagnostics(&uri, 1).await.iter().map(lsp_range).collect();
        assert_eq!(shown, expected, "{file}");
        // The same text again as a full change: every body from the cache.
        c.change(&uri, 2, json!([{"text": text}])).await;
        let shown: Vec<_> = c.diagnostics(&uri, 2).await.iter().map(lsp_range).collect();
        assert_eq!(shown, expected, "{file} (cached)");
        n += 1;
        findings += expected.len();
    }
    assert!(n > 20, "{n} fixtures");
    assert!(findings > 30, "{findings} findings");
    c.shutdown().await;
}
