//! The checks: one body at a time, the way Atlas does them, then the file-level ones.
//!
//! This module is the pipeline (the [`Engine`], inputs by kind, batches parsed by
//! one Cedar call, the body cache, the large-stack workers); the rules live in
//! rooms of their own:
//!
//! - `structure`: a body's shape as Atlas requires it (principal, scopes, one
//!   policy, no template), legacy names, pasted escapes, shard counts;
//! - `entities`: entity literals, their types and id formats;
//! - `validation`: Cedar's validation against the schema, with did-you-means;
//! - `warnings`: bodies Atlas accepts that probably do not mean what they say;
//! - `duplicates`: the file-level pass (duplicate bodies, suppressions).

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Range;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cedar_policy::{
    ActionConstraint, Effect, PolicyId, PolicySet, ResourceConstraint, ValidationMode,
};
use miette::Diagnostic as _;
use rayon::prelude::*;

use crate::catalog::{did_you_mean, Catalog, LEGACY_NAMESPACE, OBJECT_ID_TYPES};
use crate::diagnostic::{Diagnostic, Edit};
use crate::lexer::{lex, Token, TokenKind};
use crate::rules::{self, Rule, Severity};
use crate::schema::{AttrType, Attribute, NamespaceSchema, SchemaSet};
use crate::split::split_policies;

mod duplicates;
mod entities;
mod structure;
mod validation;
mod warnings;

use self::{entities::*, structure::*, validation::*, warnings::*};
pub use duplicates::mark_duplicates;
pub use entities::{entity_refs, EntityRef};

/// Deepest bracket/prefix-operator nesting parsed. Cedar recurses per level; with the
/// stack [`STACK_SIZE`] gives, this is far from overflowing even in debug builds.
pub const MAX_NESTING: usize = 64;
/// Most binary operators and member accesses in one body (left-deep trees recurse too).
pub const MAX_OPERATORS: usize = 4000;
/// The stack size checks must run with (see [`with_stack`]).
pub const STACK_SIZE: usize = 64 * 1024 * 1024;
/// The assumed maximum body size in bytes (Atlas does not publish one).
pub const DEFAULT_MAX_BODY_SIZE: usize = 10 * 1024;

/// Runs `f` on a thread with [`STACK_SIZE`] of stack: Cedar's parser, validator and
/// formatter are recursive. Falls back to the current thread if none can be spawned.
pub fn with_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let cell = std::sync::Mutex::new(Some(f));
    let outcome = std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn_scoped(s, || {
                let f = cell.lock().ok()?.take()?;
                Some(f())
            })
            .ok()?;
        Some(handle.join())
    });
    match outcome {
        Some(Ok(Some(v))) => v,
        Some(Err(panic)) => std::panic::resume_unwind(panic),
        // No thread could be spawned: run here.
        _ => match cell.into_inner().ok().flatten() {
            Some(f) => f(),
            None => std::process::abort(),
        },
    }
}

/// The worker pool checks run on: threads with [`STACK_SIZE`] of stack, one per core
/// (`RAYON_NUM_THREADS` overrides). `None` when no thread can be spawned. The CLI
/// checks its files on it too, so a large file's bodies and many small files share
/// the same workers.
pub fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(STACK_SIZE)
            .thread_name(|i| format!("atlas-cedar-check-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Bodies parsed by one Cedar call: enough to amortize the parser's setup, small
/// enough that a large file is shared out between the workers.
const BATCH: usize = 64;

/// Results of the bodies already checked in one run. A body's result depends only on
/// its text and the engine, so identical bodies (in one file or across files) are
/// checked once and each occurrence gets the same findings. Keyed by two hashes of
/// the text with keys chosen at random per cache (128 bits: no practical collision,
/// and none that input can be crafted for), so the texts themselves are not kept.
///
/// A cache may also live across runs of one engine (the language server keeps one
/// per open document, so an edit re-checks only the bodies it changed): calling
/// [`BodyCache::evict_unused`] after each run keeps only the bodies that run used,
/// so the cache never outgrows the latest text.
#[derive(Debug, Default)]
pub struct BodyCache {
    hashers: (RandomState, RandomState),
    map: Mutex<HashMap<(u64, u64), CacheEntry>>,
    checked: AtomicUsize,
    batched: AtomicUsize,
}

/// A cached result, and whether a run used it since the last eviction.
#[derive(Debug)]
struct CacheEntry {
    check: Arc<BodyCheck>,
    used: bool,
}

impl BodyCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bodies were actually checked (the others came from the cache).
    pub fn checked(&self) -> usize {
        self.checked.load(Ordering::Relaxed)
    }

    /// How many of those Cedar parsed in a batch (one call for many bodies).
    pub fn batched(&self) -> usize {
        self.batched.load(Ordering::Relaxed)
    }

    fn key(&self, body: &str) -> (u64, u64) {
        (self.hashers.0.hash_one(body), self.hashers.1.hash_one(body))
    }

    /// How many distinct bodies the cache holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Drops the results no check used since the previous call (or since the cache
    /// was made) and returns how many were dropped. For a cache that lives across
    /// runs: call it after each run, and the cache holds only that run's bodies.
    pub fn evict_unused(&self) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, e| std::mem::replace(&mut e.used, false));
        before - map.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u64, u64), CacheEntry>> {
        match self.map.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Settings that change what is reported.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_body_size: usize,
    /// Per-rule severity; `None` turns the rule off.
    pub severities: Vec<(&'static Rule, Option<Severity>)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            severities: Vec::new(),
        }
    }
}

/// Schema, catalog and settings, built once and shared by every check.
#[derive(Debug)]
pub struct Engine {
    pub schemas: SchemaSet,
    pub catalog: Catalog,
    pub settings: Settings,
}

/// One body of a checked file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The body text when it is not the file's own text at `span` (a decoded JSON,
    /// Terraform or YAML string); `None` for a `.cedar` policy, whose text is the
    /// file's at `span`, so that a large file is not held twice. Read it with
    /// [`Body::text`] or [`FileReport::body_text`].
    pub decoded: Option<String>,
    /// Where it is in the file (for JSON, the string literal's contents).
    pub span: Range<usize>,
    /// Whitespace- and comment-insensitive fingerprint, when the body parses.
    pub fingerprint: Option<u64>,
}

impl Body {
    /// The body text as Atlas would receive it; `file` is the text of the file it
    /// was found in ([`FileReport::text`]).
    pub fn text<'a>(&'a self, file: &'a str) -> &'a str {
        match &self.decoded {
            Some(t) => t,
            None => file.get(self.span.clone()).unwrap_or(""),
        }
    }
}

/// What kind of input a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Cedar text: each policy is one body.
    Cedar,
    /// An Atlas request payload in JSON.
    Payload,
    /// A Terraform file: the bodies of its `mongodbatlas_resource_policy` resources.
    Terraform,
    /// A CloudFormation template (JSON or YAML): the bodies of its
    /// `MongoDB::Atlas::ResourcePolicy` resources.
    CloudFormation,
    /// The whole file is one body (a `.cedar` file read by Terraform's `file()`).
    Body,
}

impl InputKind {
    /// `.json` files are payloads (or CloudFormation templates, told by their text),
    /// `.tf` files Terraform, `.yaml`/`.yml`/`.template` CloudFormation templates;
    /// everything else is Cedar text.
    pub fn from_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            InputKind::Payload
        } else if lower.ends_with(".tf") {
            InputKind::Terraform
        } else if lower.ends_with(".yaml")
            || lower.ends_with(".yml")
            || lower.ends_with(".template")
        {
            InputKind::CloudFormation
        } else {
            InputKind::Cedar
        }
    }

    /// Whether the file's bodies are embedded in another language (Terraform,
    /// CloudFormation): fixes are only offered where they need no escaping.
    pub fn is_embedded(self) -> bool {
        matches!(self, InputKind::Terraform | InputKind::CloudFormation)
    }

    /// The kind of `text` read as `self`: a JSON "payload" that is a
    /// CloudFormation template is CloudFormation.
    pub fn of_text(self, text: &str) -> InputKind {
        if self == InputKind::Payload && crate::iac::looks_like_cloudformation(text) {
            InputKind::CloudFormation
        } else {
            self
        }
    }

    /// Whether a file of this kind may hold Atlas resource policies: a
    /// Terraform file must name `mongodbatlas_resource_policy`, a template
    /// must look like CloudFormation (a cheap test before parsing).
    pub fn may_hold_policies(self, text: &str) -> bool {
        match self {
            InputKind::Terraform => text.contains(crate::iac::TF_TYPE),
            InputKind::CloudFormation => crate::iac::looks_like_cloudformation(text),
            _ => true,
        }
    }
}

/// Everything found in one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub name: String,
    /// The file's text (lossily decoded when it was not UTF-8).
    pub text: String,
    pub kind: InputKind,
    pub bodies: Vec<Body>,
    /// File-relative spans, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The file's suppression comments (`.cedar` only).
    pub suppressions: Vec<crate::suppress::Suppression>,
    /// Terraform: the files bodies are read from (`body = file("…")`), which
    /// `lint` checks as one body each.
    pub file_refs: Vec<crate::iac::FileRef>,
}

impl FileReport {
    /// A report with no body and no finding yet.
    pub fn new(name: &str, text: String, kind: InputKind) -> Self {
        FileReport {
            name: name.to_owned(),
            text,
            kind,
            bodies: Vec::new(),
            diagnostics: Vec::new(),
            suppressions: Vec::new(),
            file_refs: Vec::new(),
        }
    }

    /// The text of body `i` as Atlas would receive it.
    pub fn body_text(&self, i: usize) -> Option<&str> {
        self.bodies.get(i).map(|b| b.text(&self.text))
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// A report for a file that could not be read.
    pub fn io_error(name: &str, message: impl Into<String>) -> Self {
        FileReport {
            diagnostics: vec![Diagnostic::new(&rules::IO_ERROR, 0..0, message)],
            ..FileReport::new(name, String::new(), InputKind::from_path(name))
        }
    }
}

impl Engine {
    /// The built-in Atlas schema and catalog with default settings.
    pub fn builtin() -> Result<Self, crate::schema::SchemaLoadError> {
        Ok(Engine {
            schemas: SchemaSet::builtin()?,
            catalog: Catalog::builtin(),
            settings: Settings::default(),
        })
    }

    /// Checks raw bytes (reports invalid UTF-8 at the first bad byte).
    pub fn check_bytes(&self, name: &str, bytes: Vec<u8>, kind: InputKind) -> FileReport {
        self.check_bytes_cached(name, bytes, kind, &BodyCache::new())
    }

    /// [`Engine::check_bytes`] sharing `cache` with the other files of a run.
    pub fn check_bytes_cached(
        &self,
        name: &str,
        bytes: Vec<u8>,
        kind: InputKind,
        cache: &BodyCache,
    ) -> FileReport {
        match String::from_utf8(bytes) {
            Ok(text) => self.check_source_cached(name, text, kind, cache),
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let d = Diagnostic::new(
                    &rules::INVALID_UTF8,
                    valid..(valid + 1).min(text.len()),
                    format!("invalid UTF-8 at byte {valid}"),
                )
                .with_help("save the file as UTF-8");
                FileReport {
                    diagnostics: vec![d],
                    ..FileReport::new(name, text, kind)
                }
            }
        }
    }

    /// Checks a file's text.
    pub fn check_text(&self, name: &str, text: &str, kind: InputKind) -> FileReport {
        self.check_source(name, text.to_owned(), kind)
    }

    /// Checks a file's text, taking ownership (no copy of large files).
    pub fn check_source(&self, name: &str, text: String, kind: InputKind) -> FileReport {
        self.check_source_cached(name, text, kind, &BodyCache::new())
    }

    /// [`Engine::check_source`] sharing `cache` with the other files of a run.
    pub fn check_source_cached(
        &self,
        name: &str,
        text: String,
        kind: InputKind,
        cache: &BodyCache,
    ) -> FileReport {
        let kind = kind.of_text(&text);
        let mut report = FileReport::new(name, String::new(), kind);
        match kind {
            InputKind::Cedar => self.check_cedar(&text, &mut report, cache),
            InputKind::Payload => self.check_payload(&text, &mut report, cache),
            InputKind::Terraform => {
                self.check_embedded(&text, crate::iac::terraform(&text), &mut report, cache);
            }
            InputKind::CloudFormation => {
                self.check_embedded(&text, crate::iac::cloudformation(&text), &mut report, cache);
            }
            InputKind::Body => self.check_whole(&text, &mut report),
        }
        report.text = text;
        self.apply_settings(&mut report.diagnostics);
        crate::suppress::apply(&mut report.suppressions, &mut report.diagnostics);
        report
            .diagnostics
            .sort_by_key(|d| (d.span.start, d.span.end));
        report
    }

    /// A file checked on its own, as `lint` checks a run of that one file: the checks
    /// of [`Engine::check_source_cached`], then the file-level pass of
    /// [`mark_duplicates`] (duplicate bodies, suppression bookkeeping). The language
    /// server checks its documents with this, each with a [`BodyCache`] of its own.
    pub fn check_alone(
        &self,
        name: &str,
        text: String,
        kind: InputKind,
        cache: &BodyCache,
    ) -> FileReport {
        let mut reports = [self.check_source_cached(name, text, kind, cache)];
        mark_duplicates(self, &mut reports);
        let [report] = reports;
        report
    }

    fn check_cedar(&self, text: &str, report: &mut FileReport, cache: &BodyCache) {
        // Stream the file's tokens: a 50 MB file would otherwise hold ~10 M tokens.
        let (spans, comments) = crate::split::split_text_with_comments(text);
        let mut diagnostics = Vec::new();
        let mut bodies = Vec::new();
        if spans.is_empty() {
            diagnostics.push(
                Diagnostic::new(&rules::EMPTY_BODY, 0..0, "the file holds no policy")
                    .with_detail("body must not be empty")
                    .with_help("write a `forbid (principal, action, resource) when { … };` policy"),
            );
        }
        let texts: Vec<&str> = spans
            .iter()
            .map(|span| text.get(span.clone()).unwrap_or(""))
            .collect();
        let checks = self.check_bodies(&texts, cache);
        bodies.reserve(spans.len());
        for (i, ((span, body), checked)) in spans.into_iter().zip(texts).zip(checks).enumerate() {
            for d in &checked.diagnostics {
                let mut d = d.clone();
                d.shift(span.start);
                d.body = Some(i);
                diagnostics.push(d);
            }
            debug_assert!(text.get(span.clone()) == Some(body));
            bodies.push(Body {
                decoded: None,
                span,
                fingerprint: checked.fingerprint,
            });
        }
        report.suppressions = crate::suppress::parse(
            text,
            &comments,
            &bodies.iter().map(|b| b.span.clone()).collect::<Vec<_>>(),
            &mut diagnostics,
        );
        report.bodies = bodies;
        report.diagnostics = diagnostics;
    }

    fn check_payload(&self, text: &str, report: &mut FileReport, cache: &BodyCache) {
        let found = match crate::payload::parse_payload(text) {
            Ok(found) => found,
            Err(e) => {
                report
                    .diagnostics
                    .push(Diagnostic::new(&rules::INVALID_JSON, e.span, e.message));
                return;
            }
        };
        self.check_decoded(found, None, report, cache);
    }

    /// Decoded bodies (a payload's strings, or a template's literals): checked
    /// through `check_bodies` (so through the cache and in batches), their findings
    /// mapped back to the file through each body's offset map. `host` is the text
    /// of a Terraform or CloudFormation file, whose fixes are kept only where they
    /// need no escaping there.
    fn check_decoded(
        &self,
        found: Vec<crate::payload::PayloadBody>,
        host: Option<&str>,
        report: &mut FileReport,
        cache: &BodyCache,
    ) {
        let checks = {
            let texts: Vec<&str> = found.iter().map(|b| b.text.as_str()).collect();
            self.check_bodies(&texts, cache)
        };
        for (i, (b, checked)) in found.into_iter().zip(checks).enumerate() {
            for d in &checked.diagnostics {
                let mut d = d.clone();
                d.map_spans(&|o| b.map_offset(o));
                if let Some(host) = host {
                    keep_fix_if_literal(&mut d, host);
                }
                d.body = Some(i);
                report.diagnostics.push(d);
            }
            report.bodies.push(Body {
                decoded: Some(b.text),
                span: b.raw_span,
                fingerprint: checked.fingerprint,
            });
        }
    }

    /// A Terraform or CloudFormation file: each literal body is checked like a
    /// payload's, positions mapped back through escapes and indentation; bodies only
    /// known at deploy time get a [`rules::BODY_NOT_CHECKED`] note, `file(…)` calls a
    /// [`rules::BODY_FROM_FILE`] note (the caller checks that file, see
    /// [`Engine::check_referenced`]).
    fn check_embedded(
        &self,
        text: &str,
        found: Result<crate::iac::Extracted, crate::iac::IacError>,
        report: &mut FileReport,
        cache: &BodyCache,
    ) {
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                report
                    .diagnostics
                    .push(Diagnostic::new(&rules::INVALID_IAC, e.span, e.message));
                return;
            }
        };
        let bodies = found.bodies.into_iter().map(|e| e.body).collect();
        self.check_decoded(bodies, Some(text), report, cache);
        for u in found.unchecked {
            report.diagnostics.push(
                Diagnostic::new(&rules::BODY_NOT_CHECKED, u.span, u.reason)
                    .with_help("see `atlas-cedar explain AC507`"),
            );
        }
        for f in &found.files {
            report.diagnostics.push(Diagnostic::new(
                &rules::BODY_FROM_FILE,
                f.span.clone(),
                format!(
                    "the body of `{}` is the file `{}`, checked as one body",
                    f.resource, f.path
                ),
            ));
        }
        report.file_refs = found.files;
    }

    /// The whole text is one body, byte for byte (Terraform's `file()`).
    fn check_whole(&self, text: &str, report: &mut FileReport) {
        let checked = self.check_body(text);
        for mut d in checked.diagnostics {
            d.body = Some(0);
            report.diagnostics.push(d);
        }
        report.bodies.push(Body {
            decoded: None,
            span: 0..text.len(),
            fingerprint: checked.fingerprint,
        });
    }

    /// Checks a file that a Terraform file reads with `file(…)` as the one body it
    /// is, noting at its start which resources use it (`users`: resource and
    /// `file:line` of the `file(…)` call).
    pub fn check_referenced(&self, name: &str, bytes: Vec<u8>, users: &[String]) -> FileReport {
        let mut report = self.check_bytes(name, bytes, InputKind::Body);
        for u in users {
            report.diagnostics.insert(
                0,
                Diagnostic::new(
                    &rules::BODY_FROM_FILE,
                    0..0,
                    format!("this file is the body of {u}"),
                ),
            );
        }
        self.apply_settings(&mut report.diagnostics);
        report
    }

    /// Applies `[lint.rules]`: drops findings of rules turned off and sets the
    /// configured severity of the others. `check_*` already do this; callers that
    /// build diagnostics piecemeal (the language server's body cache) use it directly.
    pub fn apply_settings(&self, diags: &mut Vec<Diagnostic>) {
        if self.settings.severities.is_empty() {
            return;
        }
        diags.retain_mut(|d| {
            match self
                .settings
                .severities
                .iter()
                .rev()
                .find(|(r, _)| std::ptr::eq(*r, d.rule))
            {
                Some((_, None)) => false,
                Some((_, Some(sev))) => {
                    d.severity = *sev;
                    true
                }
                None => true,
            }
        });
    }

    /// Checks many bodies, as [`Engine::check_body`] checks each: identical bodies once
    /// (through `cache`), the others in batches that Cedar parses in one call, the
    /// batches on the workers of [`pool`] when there are several.
    pub fn check_bodies(&self, bodies: &[&str], cache: &BodyCache) -> Vec<Arc<BodyCheck>> {
        let batch = |chunk: &[&str]| self.check_batch(chunk, cache);
        let batches: Vec<Vec<Arc<BodyCheck>>> = match pool() {
            Some(pool) if bodies.len() > BATCH => {
                pool.install(|| bodies.par_chunks(BATCH).map(batch).collect())
            }
            _ => bodies.chunks(BATCH).map(batch).collect(),
        };
        batches.into_iter().flatten().collect()
    }

    fn check_batch(&self, bodies: &[&str], cache: &BodyCache) -> Vec<Arc<BodyCheck>> {
        let keys: Vec<(u64, u64)> = bodies.iter().map(|b| cache.key(b)).collect();
        let mut out: Vec<Option<Arc<BodyCheck>>> = {
            let mut map = cache.lock();
            keys.iter()
                .map(|k| {
                    map.get_mut(k).map(|e| {
                        e.used = true;
                        Arc::clone(&e.check)
                    })
                })
                .collect()
        };
        // The first occurrence in this batch of each body not in the cache; later
        // ones take its result.
        let mut first: HashMap<(u64, u64), usize> = HashMap::new();
        let mut copies: Vec<(usize, usize)> = Vec::new();
        let mut pending: Vec<(usize, Vec<Token>)> = Vec::new();
        let mut fresh: Vec<usize> = Vec::new();
        for (i, (body, key)) in bodies.iter().zip(&keys).enumerate() {
            if out.get(i).is_some_and(Option::is_some) {
                continue;
            }
            if let Some(&j) = first.get(key) {
                copies.push((i, j));
                continue;
            }
            first.insert(*key, i);
            fresh.push(i);
            let mut tokens = Vec::new();
            let pre = self.pre_check(body, &mut tokens);
            if pre.diagnostics.is_empty() {
                pending.push((i, tokens));
            } else if let Some(slot) = out.get_mut(i) {
                *slot = Some(Arc::new(pre));
            }
        }
        let parsed = parse_batch(bodies, &pending);
        if parsed.is_some() {
            cache.batched.fetch_add(pending.len(), Ordering::Relaxed);
        }
        for (k, (i, tokens)) in pending.iter().enumerate() {
            let body = bodies.get(*i).copied().unwrap_or("");
            let checked = match parsed.as_ref().and_then(|p| p.get(k)) {
                Some((pset, shift)) => {
                    self.check_parsed(body, tokens, pset, *shift, BodyCheck::default())
                }
                None => self.parse_and_check(body, tokens),
            };
            if let Some(slot) = out.get_mut(*i) {
                *slot = Some(Arc::new(checked));
            }
        }
        cache.checked.fetch_add(fresh.len(), Ordering::Relaxed);
        if !fresh.is_empty() {
            let mut map = cache.lock();
            for i in fresh {
                if let (Some(key), Some(Some(c))) = (keys.get(i), out.get(i)) {
                    map.insert(
                        *key,
                        CacheEntry {
                            check: Arc::clone(c),
                            used: true,
                        },
                    );
                }
            }
        }
        for (i, j) in copies {
            let c = out.get(j).cloned().flatten();
            if let Some(slot) = out.get_mut(i) {
                *slot = c;
            }
        }
        out.into_iter().map(|c| c.unwrap_or_default()).collect()
    }

    /// Checks one body. Spans in the result are relative to `body`.
    pub fn check_body(&self, body: &str) -> BodyCheck {
        let mut tokens = Vec::new();
        let out = self.pre_check(body, &mut tokens);
        if !out.diagnostics.is_empty() {
            return out;
        }
        self.parse_and_check(body, &tokens)
    }

    /// The checks before Cedar parses a body (size, emptiness, the nesting guard).
    /// Each failure is a diagnostic: with none, the body may be parsed, and its tokens
    /// are left in `tokens_out`.
    fn pre_check(&self, body: &str, tokens_out: &mut Vec<Token>) -> BodyCheck {
        let mut out = BodyCheck::default();
        if body.len() > self.settings.max_body_size {
            let first_line = body.find('\n').unwrap_or(body.len());
            out.diagnostics.push(
                Diagnostic::new(
                    &rules::BODY_TOO_LARGE,
                    0..first_line,
                    format!(
                        "the body is {} bytes, more than the maximum of {} bytes",
                        body.len(),
                        self.settings.max_body_size
                    ),
                )
                .with_detail(format!(
                    "policy body exceeds the maximum size of {} bytes",
                    self.settings.max_body_size
                ))
                .with_help(
                    "split it into several policies; the limit is an assumption, set `max-body-size` in atlas-cedar.toml",
                ),
            );
            return out;
        }
        let tokens = lex(body);
        let sig: Vec<&Token> = tokens.iter().filter(|t| !t.is_trivia()).collect();
        if sig.is_empty() {
            out.diagnostics.push(
                Diagnostic::new(&rules::EMPTY_BODY, 0..body.len(), "the body is empty")
                    .with_detail("body must not be empty")
                    .with_help("write a `forbid (principal, action, resource) when { … };` policy"),
            );
            return out;
        }
        if let Err(g) = crate::lexer::guard(body, &tokens, MAX_NESTING, MAX_OPERATORS) {
            out.diagnostics.push(
                Diagnostic::new(
                    &rules::TOO_DEEPLY_NESTED,
                    g.offset..(g.offset + 1).min(body.len()),
                    format!("the body {} and is not parsed", g.what),
                )
                .with_help("flatten the expression; no guardrail needs this much nesting"),
            );
            return out;
        }
        *tokens_out = tokens;
        out
    }

    /// Parses one body on its own with Cedar, then checks it.
    fn parse_and_check(&self, body: &str, tokens: &[Token]) -> BodyCheck {
        let mut out = BodyCheck::default();
        let pset = match PolicySet::from_str(body) {
            Ok(p) => p,
            Err(errs) => {
                for e in errs.iter() {
                    let span = first_label(e).unwrap_or(0..0);
                    let msg = e.to_string();
                    out.diagnostics.push(
                        Diagnostic::new(&rules::SYNTAX_ERROR, span, msg.clone())
                            .with_detail(msg)
                            .with_help_opt(e.help().map(|h| h.to_string())),
                    );
                }
                self.check_escaped_quotes(body, &mut out.diagnostics);
                return out;
            }
        };
        self.check_parsed(body, tokens, &pset, 0, out)
    }

    /// The checks of a body Cedar parsed into `pset` (its one policy named `policy0`).
    /// `shift` is where the body starts in the text Cedar parsed (source locations in
    /// Cedar's errors are relative to that text).
    fn check_parsed(
        &self,
        body: &str,
        tokens: &[Token],
        pset: &PolicySet,
        shift: usize,
        mut out: BodyCheck,
    ) -> BodyCheck {
        let sig: Vec<&Token> = tokens.iter().filter(|t| !t.is_trivia()).collect();
        out.fingerprint = Some(fingerprint(body, &sig));
        let chunks = split_policies(body, tokens);
        if pset.num_of_policies() + pset.num_of_templates() > 1 {
            let span = chunks.get(1).cloned().unwrap_or(0..body.len());
            out.diagnostics.push(
                Diagnostic::new(
                    &rules::MULTIPLE_POLICIES,
                    span,
                    format!(
                        "the body holds {} policies; Atlas takes exactly one per body",
                        pset.num_of_policies() + pset.num_of_templates()
                    ),
                )
                .with_help("give each policy its own `{ \"body\": … }` entry"),
            );
        }
        for chunk in &chunks {
            self.check_structure(body, &sig, chunk, &mut out.diagnostics);
        }
        let ns = self.namespace_of(body, &sig);
        let refs = entity_refs(body, &sig);
        self.check_entities(&refs, &mut out.diagnostics);
        if let Some(ns) = ns {
            self.validate(body, &sig, ns, pset, shift, &mut out.diagnostics);
            check_has_unknown(body, &sig, ns, &mut out.diagnostics);
            if ns.name == LEGACY_NAMESPACE {
                self.legacy_dialect(body, &sig, &refs, &mut out.diagnostics);
            }
        }
        check_shard_counts(body, &sig, &mut out.diagnostics);
        check_lockout(body, &sig, pset, &chunks, &mut out.diagnostics);
        out
    }

    /// The schema for the namespace a body uses: the first known namespace among its
    /// entity references, else the default one.
    pub fn namespace_of(&self, body: &str, sig: &[&Token]) -> Option<&NamespaceSchema> {
        for (i, t) in sig.iter().enumerate() {
            if t.kind == TokenKind::Ident
                && sig.get(i + 1).is_some_and(|n| n.text(body) == "::")
                && i.checked_sub(1)
                    .and_then(|p| sig.get(p))
                    .is_none_or(|p| p.text(body) != "::")
            {
                if let Some(ns) = self.schemas.get(t.text(body)) {
                    return Some(ns);
                }
            }
        }
        self.schemas.default_namespace()
    }
}

/// The result of checking one body.
#[derive(Debug, Default, Clone)]
pub struct BodyCheck {
    pub diagnostics: Vec<Diagnostic>,
    pub fingerprint: Option<u64>,
}

/// Parses the `pending` bodies (which passed the nesting guard) with one Cedar call,
/// each on its own line. Each body gets its policy, renamed `policy0` as if parsed
/// alone, and its offset in the parsed text. `None` unless every body is exactly one
/// policy whose text is the body's (then each is parsed alone, with its own errors).
fn parse_batch(
    bodies: &[&str],
    pending: &[(usize, Vec<Token>)],
) -> Option<Vec<(PolicySet, usize)>> {
    use std::fmt::Write as _;
    if pending.len() < 2 {
        return None;
    }
    let texts: Vec<&str> = pending
        .iter()
        .map(|(i, _)| bodies.get(*i).copied())
        .collect::<Option<_>>()?;
    let mut text = String::with_capacity(texts.iter().map(|t| t.len() + 1).sum());
    let mut offsets = Vec::with_capacity(texts.len());
    for t in &texts {
        offsets.push(text.len());
        text.push_str(t);
        text.push('\n');
    }
    let pset = PolicySet::from_str(&text).ok()?;
    if pset.num_of_templates() != 0 || pset.num_of_policies() != texts.len() {
        return None;
    }
    let alone = PolicyId::new("policy0");
    let mut shown = String::new();
    let mut out = Vec::with_capacity(texts.len());
    for (k, (t, offset)) in texts.iter().zip(offsets).enumerate() {
        let p = pset.policy(&PolicyId::new(format!("policy{k}")))?;
        shown.clear();
        write!(shown, "{p}").ok()?;
        if shown != *t {
            return None;
        }
        out.push((
            PolicySet::from_policies([p.new_id(alone.clone())]).ok()?,
            offset,
        ));
    }
    Some(out)
}

fn fingerprint(src: &str, sig: &[&Token]) -> u64 {
    let mut h = DefaultHasher::new();
    for t in sig {
        t.text(src).hash(&mut h);
    }
    h.finish()
}

/// Inside a Terraform string or YAML scalar a replacement may need the host
/// language's escaping: a fix is kept only when no edit touches or writes an escape,
/// a line break, `$`/`%` (template syntax) or `'`, and a `"` is written only where
/// the file already has a bare `"` in the replaced text (a heredoc or block scalar,
/// where quotes are not escaped).
fn keep_fix_if_literal(d: &mut Diagnostic, file: &str) {
    let Some(fix) = &d.fix else { return };
    let risky = ['\\', '\n', '\r', '$', '%', '\''];
    let safe = fix.edits.iter().all(|e| {
        let Some(raw) = file.get(e.span.clone()) else {
            return false;
        };
        !raw.contains(risky)
            && !e.replacement.contains(risky)
            && (!e.replacement.contains('"') || raw.contains('"'))
    });
    if !safe {
        d.fix = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Line indexes built by the duplicate pass on this thread.
        pub(super) static LINE_INDEXES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn engine() -> Engine {
        Engine::builtin().unwrap()
    }

    /// Bodies of many shapes: clean, type errors, unknown attributes and actions,
    /// missing `has` guards, unknown ids, the legacy names, `permit`, a constrained
    /// principal, an unconditional forbid, and a syntax error.
    fn varied(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| match i % 10 {
                0 => format!("forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen {{ context.project.clustersInProject > {i} }};"),
                1 => format!("forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen {{ context.cluster.minTLSVersion == {i} }};"),
                2 => format!("forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen {{ context.cluster.diskSizeGBB > {i} }};"),
                3 => format!("forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\n  when {{ context.cluster.diskSizeGB > {i} }};"),
                4 => format!("forbid (principal, action == ResourcePolicy::Action::\"cluster.modfy\", resource)\nwhen {{ context.project.clustersInProject > {i} }};"),
                5 => format!("// {i}\nforbid (principal, action, resource)\nwhen {{ context.cluster.regions.contains(ResourcePolicy::Region::\"aws:us-east-9\") }};"),
                6 => format!("forbid (principal, action == cloud::Action::\"cluster.modify\", resource)\nwhen {{ context.cluster.clusterTier == \"M{i}\" }};"),
                7 => format!("@id(\"p{i}\")\npermit (principal == ResourcePolicy::User::\"u\", action, resource in ResourcePolicy::Project::\"{i:024x}\");"),
                8 => format!("forbid (principal, action, resource in ResourcePolicy::Project::\"{i:024x}\");"),
                _ => format!("forbid (principal, action, resource) when {{ context.cluster.minShardCount > {i} }};"),
            })
            .collect()
    }

    #[test]
    fn a_file_parsed_in_batches_has_the_findings_of_each_body_parsed_alone() {
        let engine = engine();
        let bodies = varied(300);
        let text = bodies.join("\n\n");
        let cache = BodyCache::new();
        let report = engine.check_source_cached("f.cedar", text.clone(), InputKind::Cedar, &cache);
        assert_eq!(report.bodies.len(), 300);
        assert!(cache.batched() >= 200, "batched {}", cache.batched());
        let mut expected = Vec::new();
        for (i, b) in report.bodies.iter().enumerate() {
            let mut c = engine.check_body(b.text(&report.text));
            assert_eq!(c.fingerprint, b.fingerprint, "body {i}");
            for d in &mut c.diagnostics {
                d.shift(b.span.start);
                d.body = Some(i);
            }
            expected.extend(c.diagnostics);
        }
        expected.sort_by_key(|d| (d.span.start, d.span.end));
        assert!(expected.len() > 200);
        assert_eq!(format!("{:?}", report.diagnostics), format!("{expected:?}"));
    }

    #[test]
    fn a_broken_body_sends_its_batch_back_to_parsing_alone() {
        let engine = engine();
        let mut bodies = varied(100);
        if let Some(b) = bodies.get_mut(30) {
            *b = "forbid (principal, action resource);".to_owned();
        }
        let text = bodies.join("\n");
        let report = engine.check_source("f.cedar", text, InputKind::Cedar);
        let syntax: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| std::ptr::eq(d.rule, &rules::SYNTAX_ERROR))
            .collect();
        assert_eq!(syntax.len(), 1);
        assert_eq!(syntax.first().and_then(|d| d.body), Some(30));
        assert!(report
            .diagnostics
            .iter()
            .any(|d| std::ptr::eq(d.rule, &rules::TYPE_MISMATCH) && d.body == Some(31)));
    }

    /// Issue 16: duplicates were found by comparing with every earlier body and each
    /// warning rebuilt the line index of the whole file (20,000 copies: > 10 s).
    #[test]
    fn twenty_thousand_identical_bodies_are_checked_once_and_each_copy_reported() {
        let engine = engine();
        let body = "forbid (principal, action == ResourcePolicy::Action::\\\"cluster.modify\\\", resource) when { context.cluster.minTLSVersion == 1 };";
        let entries = vec![format!("{{ \"body\": \"{body}\" }}"); 20_000];
        let payload = format!(
            "{{ \"name\": \"p\", \"policies\": [{}] }}",
            entries.join(", ")
        );
        let cache = BodyCache::new();
        let mut reports =
            [engine.check_source_cached("p.json", payload, InputKind::Payload, &cache)];
        assert_eq!(cache.checked(), 1);
        LINE_INDEXES.with(|n| n.set(0));
        mark_duplicates(&engine, &mut reports);
        assert_eq!(LINE_INDEXES.with(std::cell::Cell::get), 1);
        let [report] = reports;
        let count = |rule: &Rule| {
            report
                .diagnostics
                .iter()
                .filter(|d| std::ptr::eq(d.rule, rule))
                .count()
        };
        assert_eq!(count(&rules::TYPE_MISMATCH), 20_000);
        assert_eq!(count(&rules::DUPLICATE_BODY), 19_999);
        assert!(report
            .diagnostics
            .iter()
            .filter(|d| std::ptr::eq(d.rule, &rules::DUPLICATE_BODY))
            .all(|d| d.message == "this policy repeats the one at p.json:1"));
        // Sorted by position, each copy's findings with its body.
        assert!(report.diagnostics.windows(2).all(
            |w| matches!(w, [a, b] if (a.span.start, a.span.end) <= (b.span.start, b.span.end))
        ));
    }

    #[test]
    fn a_cache_kept_across_runs_holds_only_the_last_runs_bodies() {
        let engine = engine();
        let cache = BodyCache::new();
        let bodies = varied(200);
        let text = bodies.join("\n");
        let first = engine.check_alone("f.cedar", text.clone(), InputKind::Cedar, &cache);
        assert_eq!(cache.evict_unused(), 0);
        let distinct = cache.len();
        // Each run replaces one body (one not repeated elsewhere) by a new one: the
        // old one is evicted.
        let mut edited = bodies.clone();
        for k in (0..200).step_by(10) {
            if let Some(b) = edited.get_mut(k) {
                *b = format!("forbid (principal, action, resource) when {{ context.cluster.minShardCount > {} }};", 1000 + k);
            }
            let text = edited.join("\n");
            let before = cache.checked();
            let r = engine.check_alone("f.cedar", text.clone(), InputKind::Cedar, &cache);
            assert_eq!(cache.checked() - before, 1, "run {k}");
            cache.evict_unused();
            assert_eq!(cache.len(), distinct, "run {k}");
            let fresh = engine.check_alone("f.cedar", text, InputKind::Cedar, &BodyCache::new());
            assert_eq!(
                format!("{:?}", r.diagnostics),
                format!("{:?}", fresh.diagnostics)
            );
        }
        // Back to the first text: the bodies edited away are checked again.
        let before = cache.checked();
        let again = engine.check_alone("f.cedar", text, InputKind::Cedar, &cache);
        assert_eq!(cache.checked() - before, 20);
        assert_eq!(
            format!("{:?}", again.diagnostics),
            format!("{:?}", first.diagnostics)
        );
    }

    #[test]
    fn identical_bodies_across_files_share_one_check() {
        let engine = engine();
        let cache = BodyCache::new();
        let text = varied(20).join("\n");
        let a = engine.check_source_cached("a.cedar", text.clone(), InputKind::Cedar, &cache);
        let b = engine.check_source_cached("b.cedar", text, InputKind::Cedar, &cache);
        let distinct: std::collections::HashSet<&str> =
            a.bodies.iter().map(|b| b.text(&a.text)).collect();
        // Bodies 5 and 15 differ only in the comment before them, which is no body's.
        assert_eq!(distinct.len(), 19);
        assert_eq!(cache.checked(), 19);
        assert_eq!(
            format!("{:?}", a.diagnostics),
            format!("{:?}", b.diagnostics)
        );
        assert!(!a.diagnostics.is_empty());
    }
}
