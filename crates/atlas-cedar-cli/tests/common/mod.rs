//! What the end-to-end suites share: the real `atlas-cedar` binary run in a
//! temporary home against an in-process emulator, and small output helpers.
//! Each suite uses part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use atlas_cedar_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, DEFAULT_ORG_ID, DEFAULT_PRIVATE_KEY,
    DEFAULT_PUBLIC_KEY,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_atlas-cedar");

/// A temporary home (config, cache, token cache) and a work folder; every run
/// starts from an empty environment plus the emulator's credentials.
pub struct Env {
    pub home: tempfile::TempDir,
    extra: Vec<(String, String)>,
}

impl Env {
    pub fn new() -> Self {
        Env {
            home: tempfile::tempdir().unwrap(),
            extra: Vec::new(),
        }
    }

    /// One more environment variable for every run.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The folder commands run in (created on first use).
    pub fn work(&self) -> PathBuf {
        let p = self.home.path().join("work");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// The binary with the home, no colour, and no network settings.
    pub fn offline(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("NO_COLOR", "1")
            .current_dir(self.work())
            .stdin(Stdio::null());
        for (k, v) in &self.extra {
            c.env(k, v);
        }
        c
    }

    /// The binary pointed at `emu` with its owner API key.
    pub fn cmd(&self, emu: &EmulatorHandle) -> Command {
        let mut c = self.offline();
        c.env(
            "ATLAS_CEDAR_TOKEN_CACHE_DIR",
            self.home.path().join("tokens"),
        )
        .env("MONGODB_ATLAS_OPS_MANAGER_URL", emu.base_url())
        .env("MONGODB_ATLAS_ORG_ID", DEFAULT_ORG_ID)
        .env("MONGODB_ATLAS_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MONGODB_ATLAS_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY);
        c
    }

    pub fn run(&self, emu: &EmulatorHandle, args: &[&str]) -> Output {
        self.cmd(emu).args(args).output().unwrap()
    }

    pub fn run_offline(&self, args: &[&str]) -> Output {
        self.offline().args(args).output().unwrap()
    }
}

/// An emulator with the default configuration on a free port.
pub fn emulator() -> EmulatorHandle {
    Emulator::start(EmulatorConfig::default()).unwrap()
}

/// Exit status, stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes `dir/name`, creating folders.
pub fn write(dir: &Path, name: &str, content: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, content).unwrap();
}

/// The `would METHOD PATH` lines of a dry run, each with the JSON body printed
/// under it (`Value::Null` without one), sorted by method and path.
pub fn dry_run_requests(stdout: &str) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    let mut rest = stdout;
    // Only lines that start with `would ` (a plan line may say "--prune would delete").
    while let Some(at) = rest
        .starts_with("would ")
        .then_some(0)
        .or_else(|| rest.find("\nwould ").map(|n| n + 1))
    {
        let line_end = rest[at..].find('\n').map_or(rest.len(), |n| at + n);
        let mut words = rest[at + "would ".len()..line_end].split_whitespace();
        let (method, path) = (words.next().unwrap(), words.next().unwrap());
        rest = &rest[line_end..];
        let trimmed = rest.trim_start();
        let body = if trimmed.starts_with('{') {
            let mut values =
                serde_json::Deserializer::from_str(trimmed).into_iter::<serde_json::Value>();
            let v = values.next().unwrap().unwrap();
            rest = &trimmed[values.byte_offset()..];
            v
        } else {
            serde_json::Value::Null
        };
        out.push((method.to_owned(), path.to_owned(), body));
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

/// The writes of a request log (not the 401 of a digest handshake) as
/// (method, path, JSON body), sorted like [`dry_run_requests`].
pub fn sent_writes(
    log: &[atlas_cedar_emulator::LoggedRequest],
) -> Vec<(String, String, serde_json::Value)> {
    let mut sent: Vec<(String, String, serde_json::Value)> = log
        .iter()
        .filter(|r| r.is_write() && r.status != 401)
        .map(|r| {
            let body = if r.body.trim().is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_str(&r.body).unwrap()
            };
            (r.method.clone(), r.path.clone(), body)
        })
        .collect();
    sent.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    sent
}

/// For snapshots of the binary's output: what differs between two runs of the
/// same test, and only that, replaced:
///
/// - the emulator's base URL (its port) → `<emulator>`;
/// - the temporary home and work folders → `<home>`, `<work>`;
/// - 24-hex ids, other hex runs of 16 digits or more, and UUIDs the emulator
///   generated (any the case files do not spell out) → `<id-N>`, `<hex-N>`,
///   `<uuid-N>`, numbered by first appearance, so the same id is the same
///   placeholder everywhere in the text;
/// - the sections of "Atlas afterwards" sorted by their (normalised) key, as
///   a key may hold a generated id;
/// - ISO 8601 timestamps → `<timestamp>`;
/// - durations the CLI prints (`in 0.12 s`, `after 1.3 s`, `12 ms`) → `<duration>`.
pub fn normalise(text: &str, base_url: &str, home: &Path, known: &str) -> String {
    let work = home.join("work");
    let text = text
        .replace(base_url, "<emulator>")
        .replace(&work.display().to_string(), "<work>")
        .replace(&home.display().to_string(), "<home>");
    let known_tokens: std::collections::HashSet<&str> = known
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .flat_map(|t| t.split('-').chain(std::iter::once(t)))
        .collect();
    let mut ids: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut uuids: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphanumeric() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
                i += 1;
            }
            let run = &text[start..i];
            out.push_str(&normalise_run(run, &known_tokens, &mut ids, &mut uuids));
        } else {
            out.push(char::from(c));
            if !c.is_ascii() {
                // Copy the rest of a multi-byte character unchanged.
                let ch = text[i..].chars().next().unwrap();
                out.pop();
                out.push(ch);
                i += ch.len_utf8();
                continue;
            }
            i += 1;
        }
    }
    sort_state_sections(&normalise_times(&out))
}

/// "Atlas afterwards" lists the emulator's keys in their order, which for a
/// key holding a generated id (`privateEndpoint/{group}/endpoints/{id}`) is
/// the order of random ids: sorted again once the ids are placeholders.
fn sort_state_sections(text: &str) -> String {
    const HEAD: &str = "## Atlas afterwards\n";
    let Some(at) = text.find(HEAD) else {
        return text.to_owned();
    };
    let (before, state) = text.split_at(at + HEAD.len());
    let mut sections: Vec<&str> = state
        .split_inclusive('\n')
        .fold(Vec::<(usize, usize)>::new(), |mut v, line| {
            let start = v.last().map_or(0, |l| l.1);
            if line.starts_with("--- ") || v.is_empty() {
                v.push((start, start + line.len()));
            } else if let Some(last) = v.last_mut() {
                last.1 += line.len();
            }
            v
        })
        .into_iter()
        .map(|(a, b)| &state[a..b])
        .collect();
    sections.sort_by_key(|s| (!s.starts_with("--- resource policies"), s.lines().next()));
    format!("{before}{}", sections.concat())
}

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| is_hex(p))
}

/// One run of letters, digits and dashes: a UUID as a whole, else each
/// dash-separated part that is a 24-hex id.
fn normalise_run(
    run: &str,
    known: &std::collections::HashSet<&str>,
    ids: &mut std::collections::HashMap<String, String>,
    uuids: &mut std::collections::HashMap<String, String>,
) -> String {
    // A UUID may be followed or preceded by other dash-joined words.
    let parts: Vec<&str> = run.split('-').collect();
    let mut out: Vec<String> = Vec::new();
    let mut k = 0;
    while k < parts.len() {
        if k + 5 <= parts.len() {
            let candidate = parts[k..k + 5].join("-");
            if is_uuid(&candidate) && !known.contains(candidate.as_str()) {
                let n = uuids.len() + 1;
                let p = uuids
                    .entry(candidate)
                    .or_insert_with(|| format!("<uuid-{n}>"))
                    .clone();
                out.push(p);
                k += 5;
                continue;
            }
        }
        let part = parts[k];
        if part.len() >= 16 && is_hex(part) && !known.contains(part) {
            // 24 digits: an ObjectId; other long hex runs are generated
            // names (`vpce-svc-…`, a GCP project `p-…`).
            let n = ids.len() + 1;
            let kind = if part.len() == 24 { "id" } else { "hex" };
            out.push(
                ids.entry(part.to_owned())
                    .or_insert_with(|| format!("<{kind}-{n}>"))
                    .clone(),
            );
        } else {
            out.push(part.to_owned());
        }
        k += 1;
    }
    out.join("-")
}

/// Timestamps (`2026-12-07T07:38:29Z`, with or without fractions) and
/// printed durations.
fn normalise_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let at = |i: usize, pat: &str| -> bool {
        pat.chars().enumerate().all(|(k, p)| {
            chars.get(i + k).is_some_and(|&c| match p {
                'd' => c.is_ascii_digit(),
                other => c == other,
            })
        })
    };
    while i < chars.len() {
        if at(i, "dddd-dd-ddTdd:dd:dd") {
            let mut j = i + 19;
            if chars.get(j) == Some(&'.') {
                j += 1;
                while chars.get(j).is_some_and(char::is_ascii_digit) {
                    j += 1;
                }
            }
            if chars.get(j) == Some(&'Z') {
                j += 1;
            }
            out.push_str("<timestamp>");
            i = j;
            continue;
        }
        // A number directly followed by ` s`, `s` or ` ms` (a duration),
        // where the number starts a word.
        let starts_word = i == 0 || !chars[i - 1].is_ascii_alphanumeric() && chars[i - 1] != '.';
        if starts_word && chars[i].is_ascii_digit() {
            let mut j = i;
            while chars
                .get(j)
                .is_some_and(|c| c.is_ascii_digit() || *c == '.')
            {
                j += 1;
            }
            let number: String = chars[i..j].iter().collect();
            let rest: String = chars[j..chars.len().min(j + 4)].iter().collect();
            let unit = ["ms", " ms", " s", "s", "µs", " µs"]
                .into_iter()
                .filter(|u| rest.starts_with(u))
                .find(|u| {
                    let after = chars.get(j + u.chars().count());
                    after.is_none_or(|c| !c.is_alphanumeric())
                });
            if let Some(u) = unit {
                if number.contains('.') || u.contains("ms") || u.contains('µ') {
                    out.push_str("<duration>");
                    i = j + u.chars().count();
                    continue;
                }
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Every file under `dir`, as text: what a test wrote, whose ids
/// [`normalise`] keeps.
pub fn files_text(dir: &Path) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.push_str(&files_text(&p));
        } else {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

/// `text(o)` of a run against `emu`, normalised for a snapshot (see
/// [`normalise`]): ids that the work folder's files, the default
/// organization or `known` (ids a test seeded) do not spell out become
/// `<id-N>`, the emulator's URL `<emulator>`, durations `<duration>`, …
pub fn snapshot_text(o: &Output, emu: &EmulatorHandle, env: &Env, known: &str) -> String {
    let known = format!(
        "{}\n{}\n{known}",
        files_text(&env.work()),
        atlas_cedar_emulator::DEFAULT_ORG_ID
    );
    normalise(&text(o), &emu.base_url(), env.home.path(), &known)
}
