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
