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
