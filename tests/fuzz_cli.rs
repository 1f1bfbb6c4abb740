//! The real binary under fuzzed input: every renderer and `fmt` (seeded, see
//! `tests/fuzzgen/mod.rs`), and the regressions for the crash and hang classes of
//! issue 11 (each failed before its fix).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "fuzzgen/mod.rs"]
mod fuzzgen;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const FORMATS: [&str; 6] = ["human", "json", "sarif", "github", "gitlab", "atlas"];

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_atlas-cedar"));
    c.env("NO_COLOR", "1");
    c
}

/// A run that takes longer than this is a hang (issue 11 saw > 10 s on inputs
/// that now take milliseconds); the process is killed and the case fails.
const HANG: std::time::Duration = std::time::Duration::from_secs(60);

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = bin();
    c.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_owned();
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
    let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hang: atlas-cedar {args:?} ran past {HANG:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The process ended by itself (no signal, no panic) with a documented status.
fn sane(out: &Output, allowed: &[i32]) -> Result<(), String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(c) if allowed.contains(&c) && !stderr.contains("panicked") => Ok(()),
        _ => Err(format!(
            "status {:?}; stderr: {}",
            out.status,
            stderr.chars().take(2000).collect::<String>()
        )),
    }
}

/// Lints `dir` in every format and checks it with `fmt --check`.
fn exercise(dir: &Path) -> Result<(), String> {
    let d = dir.to_str().unwrap();
    for f in FORMATS {
        let out = run(&["lint", "--no-config", "--format", f, d], None);
        sane(&out, &[0, 1]).map_err(|e| format!("lint --format {f}: {e}"))?;
    }
    let out = run(&["fmt", "--no-config", "--check", d], None);
    sane(&out, &[0, 1, 2]).map_err(|e| format!("fmt --check: {e}"))
}

#[test]
fn fuzz_every_renderer_and_fmt() {
    let run_cfg = fuzzgen::run(40);
    let seeds = fuzzgen::seeds();
    let mut rng = fastrand::Rng::with_seed(run_cfg.seed ^ 0x11);
    let tmp = tempfile::tempdir().unwrap();
    // Batches of cases, one process per format per batch; a failing batch is
    // narrowed down to its files.
    let mut failures = Vec::new();
    let mut case = 0;
    while case < run_cfg.cases {
        let batch = tmp.path().join(format!("b{case}"));
        std::fs::create_dir_all(&batch).unwrap();
        let mut files = Vec::new();
        for _ in 0..20.min(run_cfg.cases - case) {
            let (name, text) = fuzzgen::case(&mut rng, &seeds);
            let file = batch.join(format!("{case}-{name}"));
            std::fs::write(&file, &text).unwrap();
            files.push((file, name, text));
            case += 1;
        }
        if exercise(&batch).is_err() {
            for (file, name, text) in &files {
                let one = tmp.path().join("one");
                let _ = std::fs::remove_dir_all(&one);
                std::fs::create_dir_all(&one).unwrap();
                std::fs::write(one.join(name), text).unwrap();
                if let Err(e) = exercise(&one) {
                    let saved = fuzzgen::save_failure(
                        &format!(
                            "cli-{}-{}",
                            run_cfg.seed,
                            file.file_name().unwrap().to_string_lossy()
                        ),
                        text,
                    );
                    failures.push(format!("{}: {e}", saved.display()));
                }
            }
        }
        std::fs::remove_dir_all(&batch).unwrap();
    }
    eprintln!(
        "fuzz_every_renderer_and_fmt: {} cases, seed {}, {} failures",
        run_cfg.cases,
        run_cfg.seed,
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn json_payload(bodies: &[String]) -> String {
    let entries: Vec<String> = bodies
        .iter()
        .map(|b| format!("{{\"body\":\"{}\"}}", fuzzgen::json_escape(b)))
        .collect();
    format!("{{\"name\":\"p\",\"policies\":[{}]}}", entries.join(","))
}

/// Regression: miette panicked ("Formatting argument out of range") rendering a
/// finding in a 1.2 MB line; and every format took quadratic time on it.
#[test]
fn a_finding_in_a_megabyte_line_is_shown_as_an_excerpt() {
    let mut bodies: Vec<String> = (0..12_000)
        .map(|i| {
            format!("forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource) when {{ context.cluster.minShardCount < {i} }};")
        })
        .collect();
    bodies.push(
        "forbid (principal, action, resource) when { context.cluster.regions.contains(ResourcePolicy::Region::\"US_EAST_1\") };"
            .to_owned(),
    );
    let payload = json_payload(&bodies);
    assert!(payload.len() > 1_200_000 && !payload.contains('\n'));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("big.json");
    std::fs::write(&file, &payload).unwrap();
    let out = run(&["lint", "--no-config", file.to_str().unwrap()], None);
    sane(&out, &[1]).unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("AC300"), "{}", &text[..text.len().min(3000)]);
    // The line is shown as an excerpt around the span, with the real position.
    assert!(text.contains("US_EAST_1"));
    assert!(text.contains('…'));
    assert!(text.len() < 20_000, "{} bytes of output", text.len());
    let json = run(
        &["lint", "--no-config", "-f", "json", file.to_str().unwrap()],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "AC300")
        .unwrap()
        .clone();
    assert!(d["column"].as_u64().unwrap() > 1_000_000, "{d}");
    let header = format!("big.json:1:{}]", d["column"]);
    assert!(text.contains(&header), "{header} in {text}");
    // The same from stdin, in every format.
    for f in FORMATS {
        let out = run(
            &[
                "lint",
                "--no-config",
                "--format",
                f,
                "--stdin-filename",
                "big.json",
                "-",
            ],
            Some(&payload),
        );
        sane(&out, &[1]).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

/// Regression: 5,000 identical bodies in a one-line payload took quadratic time in
/// the duplicate pass and the renderers (20,000 in 1 MB: minutes). The test asserts
/// what is found; its cost is in BENCHMARKS.md.
#[test]
fn many_duplicates_in_a_one_line_payload_in_every_format() {
    let body = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource) when { context.cluster.minShardCount < 3 };".to_owned();
    let payload = json_payload(&vec![body; 5_000]);
    let out = run(
        &[
            "lint",
            "--no-config",
            "--format",
            "json",
            "--stdin-filename",
            "dup.json",
            "-",
        ],
        Some(&payload),
    );
    sane(&out, &[0, 1]).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dups = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "duplicate-body")
        .count();
    assert_eq!(dups, 4_999);
    for f in FORMATS {
        let out = run(
            &[
                "lint",
                "--no-config",
                "--format",
                f,
                "--stdin-filename",
                "dup.json",
                "-",
            ],
            Some(&payload),
        );
        sane(&out, &[0, 1]).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

/// Regression: one 10 KB body of invalid escapes gave 205 MB of human output (each
/// of 5,000 findings drew the whole 10 KB line). Now each finding shows an excerpt,
/// and past ten findings of one rule in a policy the rest are counted.
#[test]
fn human_output_is_bounded_per_finding() {
    let body = format!(
        "forbid (principal, action, resource) when {{ context.x == \"{}\" }};\n",
        "\\q".repeat(5_000)
    );
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("esc.cedar");
    std::fs::write(&file, &body).unwrap();
    let out = run(&["lint", "--no-config", file.to_str().unwrap()], None);
    sane(&out, &[1]).unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.len() < 50_000, "{} bytes of output", text.len());
    assert!(
        text.contains("… and 4990 more AC101 findings in policy 1 of"),
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
    // JSON still lists every one.
    let out = run(
        &["lint", "--no-config", "-f", "json", file.to_str().unwrap()],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["errors"], 5_000);
}

fn deep_if(n: usize) -> String {
    format!(
        "forbid (principal, action, resource) when {{ {}\"a\" + 1{} }};\n",
        "if true then ".repeat(n),
        " else 1".repeat(n)
    )
}

/// Regression: a 20,000-deep `if` chain holding a type error was reported clean with
/// `--max-body-size 1000000`; `fmt`, `analyze` and `diff` handed it to Cedar too.
#[test]
fn deep_if_chains_are_refused_by_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("deep.cedar");
    std::fs::write(&file, deep_if(20_000)).unwrap();
    let f = file.to_str().unwrap();
    let out = run(
        &[
            "lint",
            "--no-config",
            "--max-body-size",
            "1000000",
            "-f",
            "json",
            f,
        ],
        None,
    );
    sane(&out, &[1]).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "AC102", "{v}");
    assert!(v["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .contains("levels deep (the limit is 64)"));
    // fmt: a smaller chain (within the size fmt formats) is refused, file untouched.
    let small = tmp.path().join("small.cedar");
    std::fs::write(&small, deep_if(2_000)).unwrap();
    let out = run(
        &[
            "fmt",
            "--no-config",
            "--max-body-size",
            "1000000",
            small.to_str().unwrap(),
        ],
        None,
    );
    sane(&out, &[2]).unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("levels deep (the limit is 64)"));
    assert_eq!(std::fs::read_to_string(&small).unwrap(), deep_if(2_000));
    for args in [
        vec!["analyze", "--no-config", "--max-body-size", "1000000", f],
        vec!["diff", "--no-config", "--max-body-size", "1000000", f, f],
    ] {
        let out = run(&args, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code().is_some() && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
        let all = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr;
        assert!(
            all.contains("levels deep (the limit is 64)"),
            "{args:?}: {all}"
        );
    }
}

/// Regression: formatting grew a body past the maximum body size, so the formatted
/// file was rejected where the original was not. The body is now left as it is.
#[test]
fn fmt_never_grows_a_body_past_the_size_limit() {
    let conds: Vec<String> = (0..40)
        .map(|i| format!("context.project.clustersInProject>{i}"))
        .collect();
    let body = format!(
        "forbid(principal,action,resource)when{{{}}};\n",
        conds.join("&&")
    );
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p.cedar");
    std::fs::write(&file, &body).unwrap();
    let f = file.to_str().unwrap();
    let limit = (body.len() + 200).to_string();
    let lint = |f: &str| {
        run(
            &[
                "lint",
                "--no-config",
                "--max-body-size",
                &limit,
                "-f",
                "json",
                f,
            ],
            None,
        )
    };
    let before: serde_json::Value = serde_json::from_slice(&lint(f).stdout).unwrap();
    let out = run(&["fmt", "--no-config", "--max-body-size", &limit, f], None);
    sane(&out, &[0]).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("p.cedar:1:1: policy left as it is: formatted it would be"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("over the maximum body size of {limit} bytes")),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), body);
    let after: serde_json::Value = serde_json::from_slice(&lint(f).stdout).unwrap();
    assert_eq!(before["summary"], after["summary"]);
    // With the default limit it is formatted.
    let out = run(&["fmt", "--no-config", f], None);
    sane(&out, &[0]).unwrap();
    assert_ne!(std::fs::read_to_string(&file).unwrap(), body);
}

/// Regression: fmt ran out of memory on a few-MB input (Cedar's formatter needs
/// hundreds of bytes per input byte). A body above 64 KiB is now left as it is.
#[test]
fn fmt_leaves_a_multi_megabyte_policy_as_it_is() {
    let list: Vec<String> = (0..700_000).map(|i| i.to_string()).collect();
    let big = format!(
        "forbid (principal, action, resource) when {{ context.project.clustersInProject in [{}] }};\n",
        list.join(",")
    );
    let text = format!("forbid(principal,action,resource);\n{big}");
    assert!(text.len() > 4_700_000);
    let out = run(
        &["fmt", "--no-config", "--max-body-size", "100000000", "-"],
        Some(&text),
    );
    sane(&out, &[0]).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("forbid (principal, action, resource);\n"));
    assert!(stdout.ends_with(&big));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("<stdin>:2:1: policy left as it is: it is"),
        "{stderr}"
    );
    assert!(
        stderr.contains("fmt formats policies of up to 65536 bytes"),
        "{stderr}"
    );
}
