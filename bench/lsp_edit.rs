//! Language-server edit latency: a 2,000-policy document, single-character edits in
//! one policy, time from `didChange` to `publishDiagnostics` (debounce set to 0, so it
//! is excluded), p50/p99; and memory per open document (RSS growth over 10 documents).
//!
//! cargo run --release -p atlas-cedar-lsp --example lsp-bench [-- EDITS]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../crates/atlas-cedar-lsp/tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::TestClient;
use serde_json::json;

const POLICIES: usize = 2000;

fn policy(i: usize) -> String {
    let regions = [
        "aws:us-east-1",
        "aws:eu-west-1",
        "gcp:us-east1",
        "azure:westeurope",
    ];
    match i % 4 {
        0 => format!(
            "@id(\"p{i}\")\nforbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nunless {{\n  [ResourcePolicy::Region::\"{}\"].containsAll(context.cluster.regions)\n}};\n",
            regions[i / 4 % 4]
        ),
        1 => format!(
            "@id(\"p{i}\")\nforbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nwhen {{\n  context.cluster has diskSizeGB && context.cluster.diskSizeGB > {}\n}};\n",
            100 + i
        ),
        2 => format!(
            "@id(\"p{i}\")\nforbid (\n  principal,\n  action == ResourcePolicy::Action::\"project.ipAccessList.modify\",\n  resource in ResourcePolicy::Project::\"{:024x}\"\n)\nwhen {{\n  context.project.ipAccessList.contains(ip(\"0.0.0.0/0\"))\n}};\n",
            i
        ),
        _ => format!(
            "@id(\"p{i}\")\nforbid (\n  principal,\n  action == ResourcePolicy::Action::\"cluster.modify\",\n  resource\n)\nwhen {{\n  context.cluster.minTLSVersion != ResourcePolicy::TLSVersion::\"tls1_2\" && context.cluster.maxShardCount > {}\n}};\n",
            i % 50 + 2
        ),
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let edits: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(400);
    let text: String = (0..POLICIES).map(policy).collect();
    let lines_before: usize = (0..POLICIES / 2)
        .map(|i| policy(i).matches('\n').count())
        .sum();
    let mut c = TestClient::in_process();
    c.initialize(false, json!({"debounceMs": 0})).await;
    let uri = "file:///bench/policies.cedar";
    let t = Instant::now();
    c.open(uri, &text).await;
    let first = c.diagnostics(uri, 1).await;
    let open_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "document: {POLICIES} policies, {} bytes, {} lines; first check {open_ms:.1} ms ({} diagnostics)",
        text.len(),
        text.matches('\n').count(),
        first.len()
    );

    // Policy 1000 (`i % 4 == 0`): its region id is on line 7 of the policy; type and
    // delete one character after the opening quote, alternately.
    let line = (lines_before + 7) as u32;
    let col = "  [ResourcePolicy::Region::\"".len() as u32;
    let mut times = Vec::with_capacity(edits);
    for n in 0..edits {
        let version = 2 + n as i64;
        let change = if n % 2 == 0 {
            json!([{"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}, "text": "x"}])
        } else {
            json!([{"range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + 1}}, "text": ""}])
        };
        let t = Instant::now();
        c.change(uri, version, change).await;
        let diags = c.diagnostics(uri, version).await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        // The edited region id is unknown every other edit.
        assert_eq!(diags.len(), first.len() + usize::from(n % 2 == 0));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "didChange -> publishDiagnostics over {edits} single-character edits: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0)
    );

    // Memory: RSS growth for 10 more open copies (text, line index, per-body cache).
    let before = rss_kib();
    for k in 0..10 {
        let u = format!("file:///bench/copy{k}.cedar");
        c.open(&u, &text).await;
        c.diagnostics(&u, 1).await;
    }
    let after = rss_kib();
    println!(
        "memory: {:.1} MiB RSS per open {POLICIES}-policy document ({} KiB text); RSS {:.1} MiB total",
        (after.saturating_sub(before)) as f64 / 10.0 / 1024.0,
        text.len() / 1024,
        after as f64 / 1024.0
    );
    c.shutdown().await;
}
