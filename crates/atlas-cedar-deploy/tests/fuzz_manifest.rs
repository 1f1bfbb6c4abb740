//! A seeded mutational fuzzer of the manifest: every `atlas-cedar.toml` of the
//! end-to-end cases (`crates/atlas-cedar-cli/tests/cases/*/`), with the files
//! it names, mutated line by line and value by value, then read the way
//! `plan`/`push` read it before any request: `Manifest::parse`, the resource
//! policies (`manifest::desired_of`) and every section
//! (`check_sections`).
//!
//! Properties: nothing panics or hangs; an error names the manifest or a file
//! in the case's folder, and its line is one of the manifest's lines.
//!
//! `ATLAS_CEDAR_FUZZ_CASES` (default 300) and `ATLAS_CEDAR_FUZZ_SEED` as for
//! the other harnesses; a failing input is saved under
//! `target/fuzz-failures/` and its case number is in the message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/fuzzgen/mod.rs"]
mod fuzzgen;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use atlas_cedar_deploy::{check_sections, manifest, Manifest, PlanError};

struct Seed {
    dir: PathBuf,
    text: String,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../atlas-cedar-cli/tests/cases")
}

fn seeds() -> Vec<Seed> {
    let mut out: Vec<Seed> = std::fs::read_dir(cases_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|dir| {
            let mut text = std::fs::read_to_string(dir.join("atlas-cedar.toml")).ok()?;
            // A case may take its project from the environment instead.
            if !text.contains("[project]") {
                text.insert_str(0, "[project]\nid = \"5f00000000000000000000ab\"\n\n");
            }
            Some(Seed { dir, text })
        })
        .collect();
    out.sort_by(|a, b| a.dir.cmp(&b.dir));
    assert!(out.len() >= 10, "the case manifests are the seeds");
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Values that have broken parsers of this kind before.
fn value(rng: &mut fastrand::Rng) -> String {
    let long = "x".repeat(rng.usize(1..20_000));
    let pool: [&str; 30] = [
        "\"\"",
        "\"x\"",
        "0",
        "-1",
        "1e400",
        "true",
        "[]",
        "{}",
        "[[1]]",
        "[{}]",
        "{ a = { b = 1 } }",
        "\"vpce-\"",
        "\"vpce-0123456789abcdef0\"",
        "\"${path.module}\"",
        "\"é漢😀\"",
        "\"/\"",
        "\"a.b/c\"",
        "\"../../etc/passwd\"",
        "\"\\u0000\"",
        "\"5f00000000000000000000aa\"",
        "\"5F00000000000000000000AA\"",
        "\"**/*\"",
        "\"[\"",
        "\"AWS\"",
        "\"azure\"",
        "\"gcp\"",
        "\"us-east-1\"",
        "\"vectorSearch\"",
        "\"started\"",
        "\"search/missing.json\"",
    ];
    if rng.usize(..10) == 0 {
        format!("\"{long}\"")
    } else {
        pool[rng.usize(..pool.len())].to_owned()
    }
}

const SECTIONS: [&str; 10] = [
    "resource_policy",
    "private_endpoint_service",
    "private_endpoint_service.endpoint",
    "federation_endpoint",
    "search_index",
    "export_bucket",
    "stream_processor",
    "absent_api_key",
    "project",
    "org",
];

fn mutate_once(rng: &mut fastrand::Rng, text: &str, seeds: &[Seed]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    let i = rng.usize(..n);
    match rng.usize(..12) {
        // A value replaced.
        0..=2 => {
            if let Some(eq) = lines[i].find('=') {
                let key = lines[i][..eq].to_owned();
                lines[i] = format!("{key}= {}", value(rng));
            }
        }
        // A line deleted, duplicated or moved.
        3 => {
            lines.remove(i);
        }
        4 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        5 => {
            let j = rng.usize(..n);
            lines.swap(i, j);
        }
        // A key misspelt, or a new one.
        6 => {
            if let Some(eq) = lines[i].find('=') {
                let mut key: Vec<char> = lines[i][..eq].trim().chars().collect();
                if !key.is_empty() {
                    key.remove(rng.usize(..key.len()));
                }
                let rest = lines[i][eq..].to_owned();
                lines[i] = format!("{} {rest}", key.into_iter().collect::<String>());
            }
        }
        7 => lines.insert(i, format!("colour = {}", value(rng))),
        // A section header anywhere (tables and arrays of tables mixed).
        8 => {
            let s = SECTIONS[rng.usize(..SECTIONS.len())];
            let h = if rng.bool() {
                format!("[[{s}]]")
            } else {
                format!("[{s}]")
            };
            lines.insert(i, h);
        }
        // A whole entry of another manifest spliced in.
        9 => {
            let other = &seeds[rng.usize(..seeds.len())].text;
            let chunk: Vec<&str> = other.lines().collect();
            let a = rng.usize(..chunk.len().max(1));
            let b = (a + rng.usize(1..12)).min(chunk.len());
            for (k, l) in chunk[a..b].iter().enumerate() {
                lines.insert((i + k).min(lines.len()), (*l).to_owned());
            }
        }
        // Truncated, or a byte flipped.
        10 => {
            let joined = lines.join("\n");
            let mut cut = rng.usize(..=joined.len());
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            return joined[..cut].to_owned();
        }
        _ => {
            let mut bytes = lines.join("\n").into_bytes();
            if !bytes.is_empty() {
                let at = rng.usize(..bytes.len());
                bytes[at] = [b'[', b']', b'"', b'=', b'\n', b'.', b'{', b'}', b'#'][rng.usize(..9)];
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    lines.join("\n") + "\n"
}

/// Reads `text` as the manifest at `dir/atlas-cedar.toml` the way `plan` does
/// before any request; checks the properties of an error.
fn read(dir: &Path, text: &str) -> Result<usize, String> {
    let path = dir.join("atlas-cedar.toml");
    std::fs::write(&path, text).unwrap();
    let lines = text.lines().count().max(1);
    let check = |e: PlanError| -> String {
        let shown = e.to_string();
        assert!(!shown.is_empty());
        if let PlanError::Manifest { file, line, .. } = &e {
            assert!(
                file.starts_with(dir) || file == &path,
                "an error names a file of the case: {shown}"
            );
            if file == &path {
                if let Some(l) = line {
                    assert!((1..=lines + 1).contains(l), "line {l} of {lines}: {shown}");
                }
            }
        }
        shown
    };
    let m = Manifest::load(&path).map_err(check)?;
    let entries = check_sections(&m).map_err(check)?.entries();
    let desired = manifest::desired_of(m).map_err(check)?;
    Ok(entries + desired.policies.len())
}

#[test]
fn fuzz_manifest_never_panics_and_errors_say_where() {
    let fuzzgen::Run { cases, seed } = fuzzgen::run(300);
    let seeds = seeds();
    let mut rng = fastrand::Rng::with_seed(seed);
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (mut ok, mut refused, mut slowest) = (0usize, 0usize, Duration::ZERO);
    // The seeds themselves are valid manifests.
    for (k, s) in seeds.iter().enumerate() {
        let dir = tmp.path().join(format!("seed{k}"));
        copy_dir(&s.dir, &dir);
        read(&dir, &s.text).unwrap_or_else(|e| panic!("seed {}: {e}", s.dir.display()));
    }
    for case in 0..cases {
        let s = &seeds[rng.usize(..seeds.len())];
        let mut text = s.text.clone();
        for _ in 0..rng.usize(1..=4) {
            text = mutate_once(&mut rng, &text, &seeds);
        }
        let dir = tmp.path().join(format!("case{}", case % 8));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        copy_dir(&s.dir, &dir);
        let t = Instant::now();
        // A case still running after a minute is a hang: saved, and the run aborts.
        let watchdog = fuzzgen::Watchdog::arm(
            Duration::from_secs(60),
            format!("manifest-{seed}-{case}.toml"),
            text.clone(),
        );
        let outcome = std::panic::catch_unwind(|| read(&dir, &text));
        watchdog.disarm();
        let took = t.elapsed();
        slowest = slowest.max(took);
        match outcome {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => {
                let saved = save(case, &text);
                panic!(
                    "case {case} (seed {seed}) panicked; input saved to {}",
                    saved.display()
                );
            }
        }
        if took > Duration::from_secs(10) {
            let saved = save(case, &text);
            panic!(
                "case {case} took {took:?}; input saved to {}",
                saved.display()
            );
        }
    }
    eprintln!(
        "fuzz_manifest: {cases} cases (seed {seed}) in {:.1} s: {ok} read, {refused} refused \
         with a located error, 0 panics; slowest {:.1} ms",
        started.elapsed().as_secs_f64(),
        slowest.as_secs_f64() * 1000.0
    );
}

fn save(case: usize, text: &str) -> PathBuf {
    fuzzgen::save_failure(&format!("manifest-{case}.toml"), text)
}
