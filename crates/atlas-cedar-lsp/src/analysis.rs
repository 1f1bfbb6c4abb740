//! Checking documents: the engine for a document's config file, the checker thread
//! (Cedar's parser is recursive: checks never run on a small tokio stack), and the
//! per-body cache that makes a re-check after an edit cost in proportion to the
//! policies that changed.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::SystemTime;

use atlas_cedar_core::check::{BodyCache, STACK_SIZE};
use atlas_cedar_core::config::{find_config, Config};
use atlas_cedar_core::fs::RealFs;
use atlas_cedar_core::rules;
use atlas_cedar_core::{Diagnostic, Engine, FileReport, InputKind};

/// Above this size a document is not checked live (every other feature still works).
pub const MAX_LIVE_CHECK_BYTES: usize = 8 * 1024 * 1024;

type Job = Box<dyn FnOnce() + Send>;

/// A thread with [`STACK_SIZE`] of stack that runs checks and formatting one at a
/// time. A job that panics is dropped (its caller sees `None`); the thread lives on.
#[derive(Debug)]
pub struct Checker {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Checker {
    pub fn start() -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("atlas-cedar-check".into())
            .stack_size(STACK_SIZE)
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            });
        Checker {
            tx: Mutex::new(spawned.ok().map(|_| tx)),
        }
    }

    /// Runs `f` on the checker thread (or, if it could not be started, on a blocking
    /// thread with a large stack). `None` if the job panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let sent = match self.tx.lock() {
            Ok(guard) => match guard.as_ref() {
                Some(sender) => sender.send(job).map_err(|e| e.0),
                None => Err(job),
            },
            Err(_) => Err(job),
        };
        if let Err(job) = sent {
            drop(tokio::task::spawn_blocking(move || {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    atlas_cedar_core::check::with_stack(job);
                }));
            }));
        }
        rx.await.ok()
    }
}

/// The engine a document is checked with, and what went wrong loading its config.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub engine: Arc<Engine>,
    /// The config file used, if any.
    pub config: Option<PathBuf>,
    /// Schema files the config adds (for go to definition).
    pub schema_files: Vec<PathBuf>,
    /// `location: message` of a config or schema problem (the built-in engine is used).
    pub error: Option<String>,
}

#[derive(Debug)]
struct EngineEntry {
    resolved: Resolved,
    /// The config file and the schema files it names: their times make the stamp.
    watched: Vec<PathBuf>,
    stamp: Vec<Option<SystemTime>>,
}

/// One engine per config file, rebuilt when the config or its schema files change.
#[derive(Debug, Default)]
pub struct Engines {
    entries: Mutex<HashMap<Option<PathBuf>, EngineEntry>>,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl Engines {
    /// The engine for a document at `path` (the nearest `atlas-cedar.toml` upward from
    /// it), or the built-in one. Builds engines: call it on the checker thread.
    pub fn resolve(&self, path: Option<&Path>) -> Result<Resolved, String> {
        let fs = RealFs;
        let config = path
            .and_then(Path::parent)
            .and_then(|dir| find_config(&fs, dir));
        let mut entries = self.entries.lock().map_err(|_| "engine cache poisoned")?;
        // Unchanged files: the cached engine, without reading the config again.
        if let Some(e) = entries.get(&config) {
            if e.watched
                .iter()
                .map(|p| mtime(p))
                .eq(e.stamp.iter().copied())
            {
                return Ok(e.resolved.clone());
            }
        }
        let loaded = config.as_ref().map(|p| Config::load(&fs, p));
        let schema_files: Vec<PathBuf> = match &loaded {
            Some(Ok(cfg)) => cfg.lint.schema.iter().map(|s| cfg.root.join(s)).collect(),
            _ => Vec::new(),
        };
        let watched: Vec<PathBuf> = config.iter().chain(schema_files.iter()).cloned().collect();
        let stamp: Vec<Option<SystemTime>> = watched.iter().map(|p| mtime(p)).collect();
        let built = match loaded {
            Some(Ok(cfg)) => cfg.engine(&fs, &[], None).map_err(|e| e.to_string()),
            Some(Err(e)) => Err(e.to_string()),
            None => Engine::builtin().map_err(|e| e.to_string()),
        };
        let resolved = match built {
            Ok(engine) => Resolved {
                engine: Arc::new(engine),
                config: config.clone(),
                schema_files,
                error: None,
            },
            Err(error) => Resolved {
                engine: Arc::new(Engine::builtin().map_err(|e| e.to_string())?),
                config: config.clone(),
                schema_files: Vec::new(),
                error: Some(error),
            },
        };
        entries.insert(
            config,
            EngineEntry {
                resolved: resolved.clone(),
                watched,
                stamp,
            },
        );
        Ok(resolved)
    }
}

/// A document's cache: the core's [`BodyCache`], kept across edits for one engine,
/// holding only the bodies of the last analysis.
#[derive(Debug, Default)]
pub struct DocumentCache {
    /// Held so that the address cannot be reused by another engine.
    engine: Option<Arc<Engine>>,
    bodies: BodyCache,
    /// How many bodies the last analysis had to check (for tests and the benchmark).
    pub last_checked: usize,
}

impl DocumentCache {
    /// How many distinct bodies are cached (at most those of the last analysis).
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }
}

/// Checks a document the way `lint` checks a file ([`Engine::check_alone`]), reusing
/// the results of bodies whose text has not changed.
pub fn analyze(
    engine: &Arc<Engine>,
    name: &str,
    text: String,
    kind: InputKind,
    cache: &Mutex<DocumentCache>,
) -> FileReport {
    if text.len() > MAX_LIVE_CHECK_BYTES {
        let first_line = text.find('\n').unwrap_or(text.len()).min(200);
        let mut d = Diagnostic::new(
            &rules::IO_ERROR,
            0..first_line,
            format!(
                "the document is {} MB; live checking stops at {} MB (run `atlas-cedar lint` on it)",
                text.len() / (1024 * 1024),
                MAX_LIVE_CHECK_BYTES / (1024 * 1024)
            ),
        );
        d.severity = atlas_cedar_core::Severity::Warning;
        return FileReport {
            diagnostics: vec![d],
            ..FileReport::new(name, text, kind)
        };
    }
    // Terraform and CloudFormation: only the policy bodies' ranges get findings. A
    // file with no Atlas resource policy is not ours, and its syntax errors are the
    // host language server's to report.
    if kind.is_embedded() && !kind.of_text(&text).may_hold_policies(&text) {
        return FileReport::new(name, text, kind);
    }
    let mut guard = match cache.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    if !guard
        .engine
        .as_ref()
        .is_some_and(|e| Arc::ptr_eq(e, engine))
    {
        *guard = DocumentCache {
            engine: Some(Arc::clone(engine)),
            ..DocumentCache::default()
        };
    }
    let before = guard.bodies.checked();
    let mut report = engine.check_alone(name, text, kind, &guard.bodies);
    guard.last_checked = guard.bodies.checked() - before;
    guard.bodies.evict_unused();
    drop(guard);
    if kind.is_embedded() {
        report
            .diagnostics
            .retain(|d| !std::ptr::eq(d.rule, &rules::INVALID_IAC));
    }
    report
}
