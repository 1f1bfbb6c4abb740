//! Seeded fuzzing of the engine: the lexer and splitter, the whole lint pipeline on
//! `.cedar` text and JSON payloads, and `fmt`'s properties. Runs as a plain test
//! with a small case count; `ATLAS_CEDAR_FUZZ_CASES` / `ATLAS_CEDAR_FUZZ_SEED` for
//! longer runs (`bench/fuzz.sh`). See `tests/fuzzgen/mod.rs` for the mutations.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/fuzzgen/mod.rs"]
mod fuzzgen;

use std::panic::AssertUnwindSafe;

use atlas_cedar_core::atlas::response_for;
use atlas_cedar_core::check::with_stack;
use atlas_cedar_core::format::{format_cedar_with, FormatOptions};
use atlas_cedar_core::lexer::{lex, TokenKind};
use atlas_cedar_core::split::split_text;
use atlas_cedar_core::{Engine, FileReport, InputKind};

/// A case slower than this fails (inputs are at most a few hundred KB; the
/// slowest takes well under a second in a debug build).
const SLOW: std::time::Duration = std::time::Duration::from_secs(10);
/// A case still running after this is taken for a hang.
const HANG: std::time::Duration = std::time::Duration::from_secs(60);

fn check(engine: &Engine, name: &str, text: &str, kind: InputKind) -> FileReport {
    let mut reports = [engine.check_text(name, text, kind)];
    atlas_cedar_core::check::mark_duplicates(engine, &mut reports);
    let [r] = reports;
    r
}

/// Lexer and splitter invariants.
fn lexer_props(text: &str) {
    let toks = lex(text);
    let mut pos = 0;
    for t in &toks {
        assert_eq!(t.span.start, pos, "tokens must be contiguous");
        assert!(t.span.end > t.span.start, "empty token");
        assert!(
            text.is_char_boundary(t.span.end),
            "token ends inside a char"
        );
        pos = t.span.end;
    }
    assert_eq!(pos, text.len(), "tokens must cover the input");
    let mut last = 0;
    for s in split_text(text) {
        assert!(
            s.start >= last && s.end >= s.start && s.end <= text.len(),
            "{s:?}"
        );
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        last = s.end;
    }
}

/// What every renderer relies on: spans inside the text, on char boundaries.
fn report_props(r: &FileReport) {
    for d in &r.diagnostics {
        let spans = std::iter::once(&d.span)
            .chain(d.fix.iter().flat_map(|f| f.edits.iter().map(|e| &e.span)));
        for s in spans {
            assert!(
                s.start <= s.end && s.end <= r.text.len(),
                "{} {s:?}",
                d.rule.code
            );
            assert!(
                r.text.is_char_boundary(s.start) && r.text.is_char_boundary(s.end),
                "{} {s:?}",
                d.rule.code
            );
        }
    }
}

fn codes(r: &FileReport) -> Vec<&'static str> {
    let mut c: Vec<&str> = r.diagnostics.iter().map(|d| d.rule.code).collect();
    c.sort_unstable();
    c
}

fn comments(text: &str) -> Vec<String> {
    let mut c: Vec<String> = lex(text)
        .iter()
        .filter(|t| t.kind == TokenKind::Comment)
        .map(|t| t.text(text).trim_end().to_owned())
        .collect();
    c.sort();
    c
}

/// `fmt`'s properties: never panics; idempotent; every comment kept; the verdict and
/// the findings' codes identical before and after; a file it refuses is untouched.
fn fmt_props(engine: &Engine, text: &str) {
    let options = FormatOptions {
        max_body_size: engine.settings.max_body_size,
    };
    let Ok(once) = format_cedar_with(text, &options) else {
        return;
    };
    let twice = format_cedar_with(&once.text, &options).expect("formatted text must format");
    assert_eq!(twice.text, once.text, "fmt must be idempotent");
    assert_eq!(
        comments(text),
        comments(&once.text),
        "fmt must keep every comment"
    );
    let before = check(engine, "x.cedar", text, InputKind::Cedar);
    let after = check(engine, "x.cedar", &once.text, InputKind::Cedar);
    assert_eq!(
        codes(&before),
        codes(&after),
        "fmt must not change the findings"
    );
    assert_eq!(
        response_for(&before).map(|e| e.error_type),
        response_for(&after).map(|e| e.error_type),
        "fmt must not change the verdict"
    );
}

#[test]
fn fuzz_lint_and_fmt() {
    let run = fuzzgen::run(150);
    let seeds = fuzzgen::seeds();
    assert!(seeds.len() > 20, "seeds: {}", seeds.len());
    let engine = Engine::builtin().unwrap();
    let mut rng = fastrand::Rng::with_seed(run.seed);
    let mut failures = Vec::new();
    let mut slowest = (std::time::Duration::ZERO, 0);
    for case in 0..run.cases {
        let (name, text) = fuzzgen::case(&mut rng, &seeds);
        let kind = InputKind::from_path(&name);
        // A case still running after HANG is a hang: its input is saved and the
        // process aborts, so CI fails instead of waiting out its own limit.
        let started = std::time::Instant::now();
        let watchdog = fuzzgen::Watchdog::arm(
            HANG,
            format!("core-{}-{case}-{name}", run.seed),
            text.clone(),
        );
        let outcome = with_stack(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                lexer_props(&text);
                let r = check(&engine, &name, &text, kind);
                report_props(&r);
                if kind == InputKind::Cedar {
                    fmt_props(&engine, &text);
                }
            }))
        });
        watchdog.disarm();
        let took = started.elapsed();
        if took > slowest.0 {
            slowest = (took, case);
        }
        if took > SLOW {
            let path = fuzzgen::save_failure(&format!("core-{}-{case}-{name}", run.seed), &text);
            failures.push(format!("case {case} ({}): took {took:?}", path.display()));
        }
        if let Err(e) = outcome {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            let path = fuzzgen::save_failure(&format!("core-{}-{case}-{name}", run.seed), &text);
            failures.push(format!("case {case} ({}): {msg}", path.display()));
        }
    }
    eprintln!(
        "fuzz_lint_and_fmt: {} cases, seed {}, {} failures, slowest case {} took {:?}",
        run.cases,
        run.seed,
        failures.len(),
        slowest.1,
        slowest.0
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Regression: a 20,000-deep `if` chain holding a type error was reported clean with
/// a large `max-body-size` (no guard counted `if` depth, so Cedar's parser was handed
/// the body and failed quietly); the guard now refuses it, like deep brackets.
#[test]
fn deep_if_chains_are_refused_by_lint() {
    let mut engine = Engine::builtin().unwrap();
    engine.settings.max_body_size = 1_000_000;
    for (open, close) in [("if true then ", " else 1"), ("if false then 1 else ", "")] {
        let body = format!(
            "forbid (principal, action, resource) when {{ {}\"a\" + 1{} }};\n",
            open.repeat(20_000),
            close.repeat(20_000)
        );
        let r = with_stack(|| engine.check_text("deep.cedar", &body, InputKind::Cedar));
        assert_eq!(codes(&r), ["AC102"], "{open}");
        assert!(
            r.diagnostics[0]
                .message
                .contains("levels deep (the limit is 64)"),
            "{}",
            r.diagnostics[0].message
        );
    }
}

/// One way a host file spells a body.
#[derive(Debug, Clone, Copy)]
enum Spelling {
    /// `body = chomp(<<EOT … EOT)`: the text as written, nothing escaped but
    /// `${`/`%{`.
    TfHeredoc,
    /// `body = "…"` with HCL escapes.
    TfQuoted,
    /// `Body: |-` block scalar.
    YamlBlock,
    /// `Body: "…"` with JSON-style escapes.
    YamlQuoted,
    /// JSON template.
    Json,
}

/// Whether `body` can be spelt `how` so that the host's parser reads back
/// exactly `body` (the cases the round-trip property is asserted on).
fn spellable(body: &str, how: Spelling) -> bool {
    let printable = !body.chars().any(|c| {
        c.is_control() && c != '\n' && c != '\t'
            || c == '\u{feff}'
            || c == '\u{2028}'
            || c == '\u{2029}'
            || c == '\u{85}'
    });
    match how {
        Spelling::TfHeredoc => {
            !body.is_empty()
                && !body.ends_with(['\n', '\r'])
                && !body.contains('\r')
                && !body.lines().any(|l| l.trim() == "EOT")
                && printable
        }
        Spelling::TfQuoted | Spelling::Json => true,
        Spelling::YamlQuoted => printable,
        Spelling::YamlBlock => {
            printable
                && !body.is_empty()
                && !body.contains('\t')
                && !body.starts_with([' ', '\n'])
                && !body.ends_with([' ', '\n'])
                && !body.contains(" \n")
                && !body.contains("\n\n")
        }
    }
}

/// A Terraform file or CloudFormation template holding `bodies`, spelt `how`;
/// its kind.
fn host(bodies: &[String], how: Spelling) -> (String, InputKind) {
    match how {
        Spelling::TfHeredoc | Spelling::TfQuoted => {
            let mut t = String::from(
                "resource \"mongodbatlas_resource_policy\" \"p\" {\n  org_id = \"o\"\n  name   = \"p\"\n  policies = [\n",
            );
            for b in bodies {
                let v = match how {
                    Spelling::TfHeredoc => format!(
                        "chomp(<<EOT\n{}\nEOT\n      )",
                        atlas_cedar_core::iac::hcl_template_text(b)
                    ),
                    _ => atlas_cedar_core::iac::hcl_quoted(b),
                };
                t.push_str(&format!("    {{\n      body = {v}\n    }},\n"));
            }
            t.push_str("  ]\n}\n");
            (t, InputKind::Terraform)
        }
        Spelling::YamlBlock | Spelling::YamlQuoted => {
            let mut t = String::from(
                "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  P:\n    Type: MongoDB::Atlas::ResourcePolicy\n    Properties:\n      OrgId: o\n      Policies:\n",
            );
            for b in bodies {
                match how {
                    Spelling::YamlBlock => {
                        t.push_str("        - Body: |-\n");
                        for l in b.split('\n') {
                            t.push_str(&format!("            {l}\n"));
                        }
                    }
                    _ => t.push_str(&format!(
                        "        - Body: {}\n",
                        serde_json::to_string(b).unwrap()
                    )),
                }
            }
            (t, InputKind::CloudFormation)
        }
        Spelling::Json => {
            let policies: Vec<serde_json::Value> = bodies
                .iter()
                .map(|b| serde_json::json!({ "Body": b }))
                .collect();
            let v = serde_json::json!({
                "Resources": { "P": {
                    "Type": "MongoDB::Atlas::ResourcePolicy",
                    "Properties": { "OrgId": "o", "Policies": policies }
                }}
            });
            (
                serde_json::to_string_pretty(&v).unwrap(),
                InputKind::CloudFormation,
            )
        }
    }
}

/// Every body's offsets map inside the file, on char boundaries, never
/// backwards; a character of a body spelt without escapes maps onto itself.
fn mapping_props(text: &str, bodies: &[atlas_cedar_core::iac::EmbeddedBody], literal: bool) {
    for e in bodies {
        let b = &e.body;
        let mut last = 0;
        for (i, ch) in b
            .text
            .char_indices()
            .chain(std::iter::once((b.text.len(), ' ')))
        {
            let at = b.map_offset(i);
            assert!(
                at <= text.len() && text.is_char_boundary(at),
                "offset {i} maps to {at}"
            );
            assert!(at >= last, "offset {i} maps backwards: {at} < {last}");
            last = at;
            if literal && i < b.text.len() && !ch.is_whitespace() {
                assert!(
                    text[at..].starts_with(ch),
                    "offset {i} ({ch:?}) maps to {at}: {:?}",
                    &text[at..(at + 12).min(text.len())]
                );
            }
        }
    }
}

#[test]
fn fuzz_terraform_and_cloudformation() {
    let run = fuzzgen::run(150);
    let seeds = fuzzgen::seeds();
    let bodies: Vec<String> = seeds
        .iter()
        .filter(|s| !s.is_json())
        .flat_map(|s| {
            split_text(&s.text)
                .into_iter()
                .filter_map(|r| s.text.get(r).map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(bodies.len() > 20, "bodies: {}", bodies.len());
    let engine = Engine::builtin().unwrap();
    let mut rng = fastrand::Rng::with_seed(run.seed ^ 0x1ac);
    let spellings = [
        Spelling::TfHeredoc,
        Spelling::TfQuoted,
        Spelling::YamlBlock,
        Spelling::YamlQuoted,
        Spelling::Json,
    ];
    let (mut failures, mut exact, mut mutated) = (Vec::new(), 0usize, 0usize);
    for case in 0..run.cases {
        let how = spellings[rng.usize(..spellings.len())];
        let mut chosen: Vec<String> = (0..rng.usize(1..=3))
            .map(|_| bodies[rng.usize(..bodies.len())].clone())
            .collect();
        // Bodies mutated too: the decoders must read back any text.
        for b in &mut chosen {
            if rng.bool() {
                *b = fuzzgen::mutate(&mut rng, b, &seeds);
                let mut cut = 20_000.min(b.len());
                while !b.is_char_boundary(cut) {
                    cut -= 1;
                }
                b.truncate(cut);
            }
        }
        let round_trip = chosen.iter().all(|b| spellable(b, how));
        let (mut text, kind) = host(&chosen, how);
        // Half the cases: the whole file mutated (then only robustness holds).
        let whole = rng.bool();
        if whole {
            text = fuzzgen::mutate(&mut rng, &text, &seeds);
            mutated += 1;
        }
        let name = format!(
            "iac-{}-{case}.{}",
            run.seed,
            match kind {
                InputKind::Terraform => "tf",
                _ if matches!(how, Spelling::Json) => "json",
                _ => "yaml",
            }
        );
        let watchdog = fuzzgen::Watchdog::arm(HANG, name.clone(), text.clone());
        let outcome = with_stack(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                let found = match kind {
                    InputKind::Terraform => atlas_cedar_core::iac::terraform(&text),
                    _ => atlas_cedar_core::iac::cloudformation(&text),
                };
                if let Ok(found) = &found {
                    let literal =
                        !whole && matches!(how, Spelling::TfHeredoc | Spelling::YamlBlock);
                    mapping_props(&text, &found.bodies, literal);
                    if !whole && round_trip {
                        let got: Vec<&str> =
                            found.bodies.iter().map(|e| e.body.text.as_str()).collect();
                        assert_eq!(got, chosen, "{how:?} must read back each body exactly");
                    }
                } else if !whole && round_trip {
                    panic!("{how:?}: a generated file must parse: {:?}", found.err());
                }
                let r = check(&engine, &name, &text, kind);
                report_props(&r);
            }))
        });
        watchdog.disarm();
        match outcome {
            Ok(()) => exact += usize::from(!whole && round_trip),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                let path = fuzzgen::save_failure(&name, &text);
                failures.push(format!("case {case} ({}): {msg}", path.display()));
                if failures.len() > 20 {
                    break;
                }
            }
        }
    }
    eprintln!(
        "fuzz_terraform_and_cloudformation: {} cases, seed {}, {} failures ({exact} read back exactly, {mutated} whole files mutated)",
        run.cases,
        run.seed,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Regression (found by `fuzz_terraform_and_cloudformation`, seeds 2 and 11):
/// where the decoded text and the template's raw text diverged, the end of a
/// body was mapped to its last character's start plus that character's
/// decoded length, inside a wide character of the file (a span a renderer
/// cannot slice). Every offset now maps to a character boundary, in order.
#[test]
fn every_body_offset_of_these_templates_maps_to_a_char_boundary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iac-regressions");
    for name in ["iac-2-230.yaml", "iac-11-4170.yaml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let found = atlas_cedar_core::iac::cloudformation(&text).unwrap();
        assert!(!found.bodies.is_empty(), "{name}");
        mapping_props(&text, &found.bodies, false);
        let engine = Engine::builtin().unwrap();
        report_props(&check(&engine, name, &text, InputKind::CloudFormation));
    }
}
