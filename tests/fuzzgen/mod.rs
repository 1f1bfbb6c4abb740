//! The input generator shared by the fuzz harnesses (`crates/atlas-cedar-core/tests/fuzz.rs`,
//! `tests/fuzz_cli.rs`, the language-server fuzz test in `tests/lsp.rs`).
//!
//! A seeded mutational fuzzer on the stable toolchain: seeds are the policy library
//! (`policies/`) and the fixture corpus (`tests/fixtures/`); mutations are the classes
//! that have broken linters before (byte flips, token deletion and duplication, deep
//! nesting of every recursive construct, long lines and strings, wide characters,
//! CRLF/BOM, truncation, splices, JSON payloads with wrong types and lone surrogates).
//!
//! `ATLAS_CEDAR_FUZZ_CASES` sets the number of cases (each harness has a small
//! default so that `cargo test` stays quick), `ATLAS_CEDAR_FUZZ_SEED` the seed (a
//! fixed default: a failure reproduces with the same command). A failing input is
//! written to `target/fuzz-failures/` and its case number is in the panic message.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Cases and seed of a run.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub cases: usize,
    pub seed: u64,
}

/// Reads `ATLAS_CEDAR_FUZZ_CASES` (or `default_cases`) and `ATLAS_CEDAR_FUZZ_SEED`.
pub fn run(default_cases: usize) -> Run {
    let cases = std::env::var("ATLAS_CEDAR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let seed = std::env::var("ATLAS_CEDAR_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00a7_1a5c_eda2);
    Run { cases, seed }
}

/// The repository's top directory.
pub fn root() -> PathBuf {
    let mut p = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !p.join("policies").is_dir() {
        if !p.pop() {
            break;
        }
    }
    p
}

/// One seed input: its file name and text.
#[derive(Debug, Clone)]
pub struct Seed {
    pub name: String,
    pub text: String,
}

impl Seed {
    pub fn is_json(&self) -> bool {
        self.name.ends_with(".json")
    }
}

fn collect(dir: &Path, out: &mut Vec<Seed>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "cedar" || e == "json") {
            if let Ok(text) = std::fs::read_to_string(&p) {
                out.push(Seed {
                    name: p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    text,
                });
            }
        }
    }
}

/// Every `.cedar` and `.json` file of `policies/` and `tests/fixtures/`, plus a few
/// hand-written ones for constructs the corpus lacks.
pub fn seeds() -> Vec<Seed> {
    let root = root();
    let mut out = Vec::new();
    collect(&root.join("policies"), &mut out);
    collect(&root.join("tests/fixtures"), &mut out);
    for (name, text) in [
        ("if.cedar", "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { if context.cluster has regions then context.cluster.regions.contains(ResourcePolicy::Region::\"aws:us-east-1\") else false };\n"),
        ("record.cedar", "// header\n@id(\"r\")\nforbid (principal, action, resource in ResourcePolicy::Project::\"6217f7ff37e17d6fc7c4d0b3\")\nwhen { {a: 1, b: [1, 2, -3]}.a == 1 && !(context.project.clustersInProject > 2) }\nunless { context has cluster && context.cluster.minShardCount < 3 }; // trailing\n"),
        ("payload.json", "{\"name\": \"p\", \"policies\": [{\"body\": \"forbid (principal, action, resource) when { context.project.clustersInProject > 2 };\"}, {\"body\": \"forbid (principal, action, resource)\\nwhen { context.cluster.regions.contains(ResourcePolicy::Region::\\\"aws:eu-west-1\\\") };\"}]}\n"),
    ] {
        out.push(Seed {
            name: name.to_owned(),
            text: text.to_owned(),
        });
    }
    out
}

const PUNCT: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ";",
    ",",
    ".",
    "\"",
    "\\",
    "!",
    "-",
    "&&",
    "||",
    "==",
    "<",
    ">=",
    "::",
    "@",
    "//",
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "if",
    "then",
    "else",
    "has",
    "like",
    "in",
    "is",
    "forbid",
    "permit",
    "when",
    "unless",
    "context",
    "principal",
    "action",
    "resource",
    "true",
    "0",
    "-9223372036854775808",
    "\\u{1F600}",
    "\\q",
    "*",
];
const WIDE: &[&str] = &[
    "é",
    "你好",
    "😀",
    "\u{202e}",
    "\u{feff}",
    "\u{0}",
    "\u{301}",
    "ｗｉｄｅ",
    "\u{1F468}\u{200D}\u{1F469}",
];

/// Whether `i` is a char boundary of `s` (end included).
fn boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The token spans of `s` (the core lexer's, so that mutations follow Cedar's tokens).
fn tokens(s: &str) -> Vec<std::ops::Range<usize>> {
    atlas_cedar_core::lexer::lex(s)
        .into_iter()
        .filter(|t| !t.is_trivia())
        .map(|t| t.span)
        .collect()
}

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items.get(rng.usize(..items.len())).copied().unwrap_or("")
}

/// Wraps `inner` in `depth` levels of one recursive construct.
pub fn nest(rng: &mut fastrand::Rng, inner: &str, depth: usize) -> String {
    let (open, close) = match rng.u8(..9) {
        0 => ("(", ")"),
        1 => ("[", "]"),
        2 => ("!", ""),
        3 => ("-", ""),
        4 => ("if true then ", " else 0"),
        5 => ("if false then 0 else ", ""),
        6 => ("{a: ", "}"),
        7 => ("[1].contains(", ")"),
        _ => ("(1 + ", ")"),
    };
    let mut s = String::with_capacity((open.len() + close.len()) * depth + inner.len());
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

/// One mutation of `s`.
fn mutate_once(rng: &mut fastrand::Rng, s: &str, seeds: &[Seed]) -> String {
    let toks = tokens(s);
    let tok = |rng: &mut fastrand::Rng| {
        if toks.is_empty() {
            0..0
        } else {
            toks.get(rng.usize(..toks.len())).cloned().unwrap_or(0..0)
        }
    };
    let splice = |at: std::ops::Range<usize>, with: &str| {
        let (a, b) = (boundary(s, at.start), boundary(s, at.end.max(at.start)));
        let mut out = String::with_capacity(s.len() + with.len());
        out.push_str(s.get(..a).unwrap_or(""));
        out.push_str(with);
        out.push_str(s.get(b..).unwrap_or(""));
        out
    };
    match rng.u8(..14) {
        // Byte flip: replace a character with punctuation, a keyword or a wide char.
        0 | 1 => {
            let at = boundary(s, rng.usize(..=s.len()));
            let len = s
                .get(at..)
                .and_then(|r| r.chars().next())
                .map_or(0, char::len_utf8);
            let with = if rng.bool() {
                pick(rng, PUNCT)
            } else {
                pick(rng, WIDE)
            };
            splice(at..at + len, with)
        }
        // Token deletion.
        2 | 3 => splice(tok(rng), ""),
        // Token duplication (a run of tokens, repeated).
        4 | 5 => {
            let a = tok(rng);
            let b = tok(rng);
            let span = a.start.min(b.start)..a.end.max(b.end);
            let piece = s
                .get(boundary(s, span.start)..boundary(s, span.end))
                .unwrap_or("");
            if piece.len() > 2000 {
                return s.to_owned();
            }
            let times = [1, 2, 10, 100][rng.usize(..4)];
            splice(span.end..span.end, &piece.repeat(times))
        }
        // Deep nesting of one construct around a token.
        6 | 7 => {
            let t = tok(rng);
            let inner = s.get(t.clone()).unwrap_or("1").to_owned();
            let depth = [8, 63, 64, 65, 200, 3000][rng.usize(..6)];
            splice(t, &nest(rng, &inner, depth))
        }
        // Long lines and strings.
        8 => {
            if rng.bool() {
                s.replace('\n', " ")
            } else {
                let at = tok(rng).start;
                let n = [100, 5000, 70_000][rng.usize(..3)];
                let fill = if rng.bool() { "a" } else { pick(rng, WIDE) };
                splice(at..at, &format!("\"{}\"", fill.repeat(n)))
            }
        }
        // CRLF, BOM, or a stray CR.
        9 => match rng.u8(..3) {
            0 => s.replace('\n', "\r\n"),
            1 => format!("\u{feff}{s}"),
            _ => s.replace(';', ";\r"),
        },
        // Truncation.
        10 => s
            .get(..boundary(s, rng.usize(..=s.len())))
            .unwrap_or("")
            .to_owned(),
        // Splice a piece of another seed.
        11 => {
            let other = seeds
                .get(rng.usize(..seeds.len().max(1)))
                .map_or("", |x| x.text.as_str());
            let a = boundary(other, rng.usize(..=other.len()));
            let b = boundary(other, (a + rng.usize(..400)).min(other.len()));
            let at = tok(rng).start;
            splice(at..at, other.get(a..b).unwrap_or(""))
        }
        // Repeat whole policies (duplicates, many bodies).
        12 => s.repeat([2, 3, 50][rng.usize(..3)]),
        // Suppression comments in odd places.
        _ => {
            let at = tok(rng).start;
            splice(
                at..at,
                [
                    "// atlas-cedar: allow(AC300) fuzz\n",
                    "// atlas-cedar: allow(unconditional-forbid)\n",
                    "// atlas-cedar: allow(\n",
                ][rng.usize(..3)],
            )
        }
    }
}

/// `s` after one to four mutations, at most ~400 KB.
pub fn mutate(rng: &mut fastrand::Rng, s: &str, seeds: &[Seed]) -> String {
    let mut out = s.to_owned();
    for _ in 0..rng.usize(1..=4) {
        let next = mutate_once(rng, &out, seeds);
        if next.len() <= 400_000 {
            out = next;
        }
    }
    out
}

/// A JSON request payload around `bodies`, sometimes with wrong types, escapes,
/// lone surrogates and odd shapes.
pub fn payload(rng: &mut fastrand::Rng, bodies: &[String]) -> String {
    let mut entries = Vec::new();
    for b in bodies {
        let body = match rng.u8(..12) {
            0 => "42".to_owned(),
            1 => "null".to_owned(),
            2 => "[\"forbid\"]".to_owned(),
            3 => format!("\"{}\\ud800\"", json_escape(b)),
            4 => format!("\"\\udc00{}\"", json_escape(b)),
            5 => format!("\"{}\"", json_escape(b).replace(' ', "\\u0020")),
            _ => format!("\"{}\"", json_escape(b)),
        };
        entries.push(match rng.u8(..10) {
            0 => body,
            1 => format!("{{\"body\": {body}, \"body\": \"x\"}}"),
            _ => format!("{{\"body\": {body}}}"),
        });
    }
    let policies = format!("[{}]", entries.join(","));
    let text = match rng.u8(..8) {
        0 => policies,
        1 => format!("[{{\"name\": \"a\", \"policies\": {policies}}}]"),
        2 => format!("{{\"name\": 7, \"policies\": {policies}}}"),
        3 => "{\"name\": \"n\", \"policies\": {\"body\": \"x\"}}".to_owned(),
        _ => format!("{{\"name\": \"n\", \"policies\": {policies}}}"),
    };
    if rng.u8(..6) == 0 {
        // Break the JSON itself somewhere.
        let at = boundary(&text, rng.usize(..=text.len()));
        let mut t = text;
        t.insert_str(at, pick(rng, PUNCT));
        t
    } else {
        text
    }
}

/// A JSON string's contents for `s`.
pub fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or("")
        .to_owned()
}

/// One generated case: a file name (its extension says `.cedar` or `.json`) and text.
pub fn case(rng: &mut fastrand::Rng, seeds: &[Seed]) -> (String, String) {
    let seed = seeds.get(rng.usize(..seeds.len().max(1)));
    let text = seed.map_or(String::new(), |s| s.text.clone());
    let name = seed.map_or("x.cedar".to_owned(), |s| s.name.clone());
    if rng.u8(..5) == 0 {
        // A payload of mutated bodies from Cedar seeds.
        let n = [1, 2, 5, 200][rng.usize(..4)];
        let bodies: Vec<String> = (0..n)
            .map(|_| {
                let s = seeds
                    .iter()
                    .filter(|s| !s.is_json())
                    .nth(rng.usize(..20))
                    .map_or("", |s| s.text.as_str());
                if rng.bool() {
                    mutate(rng, s, seeds)
                } else {
                    s.to_owned()
                }
            })
            .collect();
        return ("payload.json".to_owned(), payload(rng, &bodies));
    }
    (name, mutate(rng, &text, seeds))
}

/// Writes a failing input to `target/fuzz-failures/` and returns its path.
/// Aborts the process when a case runs past its limit (a hang cannot be caught
/// with `catch_unwind`), after saving the input that hung and saying where.
#[derive(Debug)]
pub struct Watchdog {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Watchdog {
    pub fn arm(limit: std::time::Duration, name: String, text: String) -> Watchdog {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                if start.elapsed() > limit {
                    let path = save_failure(&name, &text);
                    eprintln!(
                        "hang: a case ran past {limit:?}; its input: {}",
                        path.display()
                    );
                    std::process::abort();
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        Watchdog { done }
    }

    pub fn disarm(self) {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

pub fn save_failure(name: &str, text: &str) -> PathBuf {
    let dir = root().join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    let _ = std::fs::write(&path, text);
    path
}
