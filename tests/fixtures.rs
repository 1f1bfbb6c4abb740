//! The fixture corpus: every file under `tests/fixtures/lint/` is checked by the core
//! and must produce exactly the findings its header announces, and the Atlas verdict
//! it announces. A snapshot of the full findings (position, code, errorType, detail)
//! guards everything else.
//!
//! Header lines (`.cedar`): `// expect: CODE [exact Atlas detail]`, one per finding
//! (warnings included), `// expect: clean`, and `// atlas: ERROR_TYPE|accepted`.
//! JSON payloads carry the same in `"_expect": [...]` and `"_atlas": "..."`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use atlas_cedar_core::atlas::response_for;
use atlas_cedar_core::check::with_stack;
use atlas_cedar_core::text::{ColumnUnit, LineIndex};
use atlas_cedar_core::{Engine, FileReport, InputKind};

struct Expectations {
    findings: Vec<(String, Option<String>)>,
    atlas: String,
}

fn expectations(path: &Path, text: &str) -> Expectations {
    if path.extension().is_some_and(|e| e == "json") {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let findings = v["_expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_owned())
            .collect::<Vec<_>>();
        return Expectations {
            findings: parse_findings(&findings),
            atlas: v["_atlas"].as_str().unwrap().to_owned(),
        };
    }
    let expects: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("// expect: "))
        .map(str::to_owned)
        .collect();
    let atlas = text
        .lines()
        .find_map(|l| l.strip_prefix("// atlas: "))
        .unwrap_or_else(|| panic!("{} has no `// atlas:` line", path.display()))
        .to_owned();
    Expectations {
        findings: parse_findings(&expects),
        atlas,
    }
}

fn parse_findings(lines: &[String]) -> Vec<(String, Option<String>)> {
    lines
        .iter()
        .filter(|l| l.as_str() != "clean")
        .map(|l| match l.split_once(' ') {
            Some((code, detail)) => (code.to_owned(), Some(detail.to_owned())),
            None => (l.clone(), None),
        })
        .collect()
}

fn check(engine: &Engine, path: &Path) -> FileReport {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let kind = InputKind::from_path(&name);
    with_stack(|| {
        let mut reports = vec![engine.check_bytes(&name, bytes, kind)];
        atlas_cedar_core::check::mark_duplicates(engine, &mut reports);
        reports.remove(0)
    })
}

fn render(report: &FileReport) -> String {
    let idx = LineIndex::new(&report.text);
    let mut out = String::new();
    for d in &report.diagnostics {
        let lc = idx.line_col(&report.text, d.span.start, ColumnUnit::Char);
        out.push_str(&format!(
            "{}:{} {} {} [{}] {}\n    detail: {}\n",
            lc.line + 1,
            lc.col + 1,
            d.severity.as_str(),
            d.rule.code,
            d.error_type().map_or("-", |e| e.as_str()),
            d.message,
            d.atlas_detail(),
        ));
        if let Some(h) = &d.help {
            out.push_str(&format!("    help: {h}\n"));
        }
    }
    out
}

#[test]
fn fixture_corpus() {
    let engine = Engine::builtin().unwrap();
    insta::glob!("fixtures/lint/*", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let exp = expectations(path, &text);
        let report = check(&engine, path);
        let name = path.display();

        let mut got: Vec<&str> = report.diagnostics.iter().map(|d| d.rule.code).collect();
        let mut want: Vec<&str> = exp.findings.iter().map(|(c, _)| c.as_str()).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{name}: codes differ\n{}", render(&report));
        for (code, detail) in &exp.findings {
            if let Some(detail) = detail {
                assert!(
                    report
                        .diagnostics
                        .iter()
                        .any(|d| d.rule.code == code && d.atlas_detail() == detail),
                    "{name}: no {code} with detail `{detail}`\n{}",
                    render(&report)
                );
            }
        }
        let verdict = response_for(&report)
            .map_or("accepted".to_owned(), |r| r.error_type.as_str().to_owned());
        assert_eq!(verdict, exp.atlas, "{name}: Atlas verdict");
        insta::assert_snapshot!(render(&report));
    });
}

/// Every example body published in the reference (copied into docs/reference) is
/// accepted: no error, only the legacy-dialect warning on the `cloud::` example.
#[test]
fn published_examples_are_accepted() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/reference/atlas-resource-policies.md"),
    )
    .unwrap();
    let start = doc.find("## Published example bodies").unwrap();
    let block = &doc[start..];
    let code = block
        .split("```cedar\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let engine = Engine::builtin().unwrap();
    let report = with_stack(|| engine.check_text("examples.cedar", code, InputKind::Cedar));
    assert_eq!(report.bodies.len(), 10, "the reference lists ten examples");
    let codes: Vec<&str> = report.diagnostics.iter().map(|d| d.rule.code).collect();
    assert_eq!(codes, vec!["AC500"], "{}", render(&report));
}

/// A body over the size limit is rejected before it is parsed, and the limit is
/// configurable.
#[test]
fn body_size_limit() {
    let mut engine = Engine::builtin().unwrap();
    let ids: Vec<String> = (0..400)
        .map(|i| format!("ResourcePolicy::Project::\"{:024x}\"", i))
        .collect();
    let body = format!(
        "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource) when {{ [{}].contains(resource) }};",
        ids.join(", ")
    );
    assert!(body.len() > 10 * 1024);
    let r = with_stack(|| engine.check_text("big.cedar", &body, InputKind::Cedar));
    let codes: Vec<&str> = r.diagnostics.iter().map(|d| d.rule.code).collect();
    assert_eq!(codes, vec!["AC103"]);
    assert_eq!(
        response_for(&r).map(|r| r.error_type.as_str()),
        Some("POLICY_HAS_BODY_EXCEEDING_MAX_SIZE")
    );
    engine.settings.max_body_size = 64 * 1024;
    let r = with_stack(|| engine.check_text("big.cedar", &body, InputKind::Cedar));
    assert!(
        r.diagnostics.iter().all(|d| d.rule.code != "AC103"),
        "{}",
        render(&r)
    );
}

/// 100,000 nested parentheses and 100,000 chained operators give a diagnostic, not a
/// stack overflow, and the other policies of the file are still checked.
#[test]
fn pathological_nesting_is_refused_before_parsing() {
    let mut engine = Engine::builtin().unwrap();
    engine.settings.max_body_size = usize::MAX;
    let n = 100_000;
    let deep = format!(
        "forbid (principal, action, resource) when {{ {}1{} > 0 }};\nforbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource) when {{ context.cluster.regions.contains(ResourcePolicy::Region::\"aws:moon-1\") }};\n",
        "(".repeat(n),
        ")".repeat(n)
    );
    let chain = format!(
        "forbid (principal, action, resource) when {{ {} }};",
        vec!["true"; n].join(" && ")
    );
    let unary = format!(
        "forbid (principal, action, resource) when {{ {}true }};",
        "!".repeat(n)
    );
    for (text, expect) in [
        (deep.as_str(), vec!["AC102", "AC300"]),
        (chain.as_str(), vec!["AC102"]),
        (unary.as_str(), vec!["AC102"]),
    ] {
        let r = with_stack(|| engine.check_text("deep.cedar", text, InputKind::Cedar));
        let codes: Vec<&str> = r.diagnostics.iter().map(|d| d.rule.code).collect();
        assert_eq!(codes, expect);
    }
    // Right at the limit still parses and validates (on the checker's stack).
    let at_limit = format!(
        "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource) when {{ {}context.project.clustersInProject{} > 2 }};",
        "(".repeat(60),
        ")".repeat(60)
    );
    let r = with_stack(|| engine.check_text("ok.cedar", &at_limit, InputKind::Cedar));
    assert!(r.diagnostics.is_empty(), "{}", render(&r));
}
