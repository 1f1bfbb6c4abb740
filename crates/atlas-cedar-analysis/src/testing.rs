//! `*.test.toml`: tests for policies, run under Atlas semantics.
//!
//! # Format
//!
//! A test file sits beside the policies, e.g. `policies/allowed-regions.test.toml`
//! for `policies/allowed-regions.cedar`:
//!
//! ```toml
//! # Optional: the policy files this file tests, relative to it. Default: the
//! # `.cedar` file with the same stem (allowed-regions.test.toml → allowed-regions.cedar).
//! policies = ["allowed-regions.cedar"]
//!
//! # Optional: ids Atlas may know that the built-in catalog does not (as in
//! # atlas-cedar.toml's [lint.entities]); contexts in this file may use them.
//! ids = { Geography = ["us"] }
//!
//! # Optional: a base context per action, merged under every test's context
//! # (tables merge, other values are replaced by the test's).
//! [context."cluster.modify"]
//! cluster = { cloudProviders = ["aws"], regions = ["aws:eu-west-1"], minTLSVersion = "tls1_2" }
//!
//! [[test]]
//! name = "eu_cluster_is_allowed"
//! action = "cluster.modify"
//! resource = { type = "Cluster", id = "5f0000000000000000000001", project = "5f0000000000000000000000" }
//! context = { cluster = { regions = ["aws:eu-west-1"] } }
//! expect = "allowed"                      # or "forbidden" (or "error")
//! # forbidden_by = "allowed-regions"      # file, file stem, stem#N or @id; a list is fine
//! ```
//!
//! Entity ids are plain strings (`"aws:eu-west-1"`, `"tls1_2"`), converted with the
//! schema's attribute types; IP ranges are `"0.0.0.0/0"` or `"ip(\"0.0.0.0/0\")"`.
//! `resource` is optional (the action's resource type with fixed default ids).
//! The context must match the action's context in the schema exactly: an unknown
//! or missing attribute, a wrong type or an id Atlas does not know fails the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use atlas_cedar_core::fs::FileSystem;
use atlas_cedar_core::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::policies::{atlas_policy_set, evaluate, load_policies, LoadedPolicy, Verdict};
use crate::request::{build_request, merge, RequestSpec, ResourceSpec};

/// The suffix of test files.
pub const TEST_SUFFIX: &str = ".test.toml";

/// The expected outcome of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Some body forbids the request (Atlas answers 403).
    Forbidden,
    /// No body forbids it.
    Allowed,
    /// Some body raises an evaluation error.
    Error,
}

impl Expect {
    fn as_str(self) -> &'static str {
        match self {
            Expect::Forbidden => "forbidden",
            Expect::Allowed => "allowed",
            Expect::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn list(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFileToml {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    policies: Option<Vec<String>>,
    #[serde(default)]
    context: BTreeMap<String, toml::Value>,
    #[serde(default)]
    ids: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    test: Vec<TestCaseToml>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestCaseToml {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    action: String,
    #[serde(default)]
    resource: ResourceSpec,
    #[serde(default)]
    context: Option<toml::Value>,
    expect: Expect,
    #[serde(default)]
    forbidden_by: Option<OneOrMany>,
}

/// The outcome of one test.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    /// `<file stem>::<test name>`.
    pub name: String,
    /// The test file.
    pub file: String,
    pub passed: bool,
    pub expect: Option<Expect>,
    /// What Atlas would answer: `forbidden`, `allowed`, or `invalid` when the test
    /// itself is wrong (bad context, unknown action, unreadable file …).
    pub actual: String,
    pub verdict: Option<Verdict>,
    /// Why it failed (empty when it passed).
    pub messages: Vec<String>,
}

/// A policy no test exercises.
#[derive(Debug, Clone, Serialize)]
pub struct Untested {
    pub policy: String,
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// A whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SuiteReport {
    pub tests: Vec<TestOutcome>,
    pub passed: usize,
    pub failed: usize,
    pub untested: Vec<Untested>,
}

impl SuiteReport {
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// Whether a path is a test file.
pub fn is_test_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(TEST_SUFFIX))
}

fn display(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

fn normalize(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// Runs test files against their policies; `policy_files` are the policies the run
/// is about (for the report of untested policies).
pub fn run_suite(
    engine: &Engine,
    fs: &dyn FileSystem,
    test_files: &[PathBuf],
    policy_files: &[PathBuf],
) -> SuiteReport {
    let mut cache: BTreeMap<PathBuf, Result<Vec<LoadedPolicy>, String>> = BTreeMap::new();
    let mut load = |path: &Path| -> Result<Vec<LoadedPolicy>, String> {
        let key = normalize(path);
        cache
            .entry(key.clone())
            .or_insert_with(|| {
                let name = display(&key);
                let bytes = fs
                    .read(&key)
                    .map_err(|e| format!("{name}: cannot read: {e}"))?;
                let text =
                    String::from_utf8(bytes).map_err(|_| format!("{name}: not valid UTF-8"))?;
                load_policies(engine, &name, &text)
            })
            .clone()
    };
    let mut report = SuiteReport::default();
    // policy id@file → (covered by a test file, times it forbade)
    let mut coverage: BTreeMap<(String, String), (bool, usize)> = BTreeMap::new();
    for p in policy_files {
        if let Ok(list) = load(p) {
            for pol in list {
                coverage
                    .entry((pol.file.clone(), pol.id.clone()))
                    .or_insert((false, 0));
            }
        }
    }
    let mut locations: BTreeMap<(String, String), usize> = BTreeMap::new();
    for tf in test_files {
        run_file(
            engine,
            fs,
            tf,
            &mut load,
            &mut report,
            &mut coverage,
            &mut locations,
        );
    }
    for ((file, id), (covered, forbade)) in &coverage {
        let line = locations.get(&(file.clone(), id.clone())).copied();
        let (line, reason) = match (covered, forbade, line) {
            (false, _, _) => (line.unwrap_or(1), "no test file covers it".to_owned()),
            (true, 0, l) => (
                l.unwrap_or(1),
                "it forbids nothing in any test: add a test where it forbids".to_owned(),
            ),
            _ => continue,
        };
        report.untested.push(Untested {
            policy: id.clone(),
            file: file.clone(),
            line,
            reason,
        });
    }
    // Lines for policies only listed (never covered).
    for u in &mut report.untested {
        if let Some(Ok(list)) = cache_lookup(&u.file, policy_files, engine, fs) {
            if let Some(p) = list.iter().find(|p| p.id == u.policy) {
                u.line = p.line;
            }
        }
    }
    report.passed = report.tests.iter().filter(|t| t.passed).count();
    report.failed = report.tests.len() - report.passed;
    report
}

fn cache_lookup(
    file: &str,
    policy_files: &[PathBuf],
    engine: &Engine,
    fs: &dyn FileSystem,
) -> Option<Result<Vec<LoadedPolicy>, String>> {
    let p = policy_files
        .iter()
        .find(|p| display(&normalize(p)) == file)?;
    let bytes = fs.read(&normalize(p)).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(load_policies(engine, file, &text))
}

fn invalid(name: String, file: &str, expect: Option<Expect>, messages: Vec<String>) -> TestOutcome {
    TestOutcome {
        name,
        file: file.to_owned(),
        passed: false,
        expect,
        actual: "invalid".to_owned(),
        verdict: None,
        messages,
    }
}

#[allow(clippy::too_many_arguments)]
fn run_file(
    engine: &Engine,
    fs: &dyn FileSystem,
    path: &Path,
    load: &mut dyn FnMut(&Path) -> Result<Vec<LoadedPolicy>, String>,
    report: &mut SuiteReport,
    coverage: &mut BTreeMap<(String, String), (bool, usize)>,
    locations: &mut BTreeMap<(String, String), usize>,
) {
    let file = display(path);
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.strip_suffix(TEST_SUFFIX).unwrap_or(n).to_owned())
        .unwrap_or_else(|| file.clone());
    let text = match fs.read(path).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(_)) => {
            report.tests.push(invalid(
                stem,
                &file,
                None,
                vec![format!("{file}: not valid UTF-8")],
            ));
            return;
        }
        Err(e) => {
            report.tests.push(invalid(
                stem,
                &file,
                None,
                vec![format!("{file}: cannot read: {e}")],
            ));
            return;
        }
    };
    let parsed: TestFileToml = match toml::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            let loc = e
                .span()
                .map(|s| {
                    let line = text.get(..s.start).map_or(0, |t| t.matches('\n').count()) + 1;
                    format!("{file}:{line}")
                })
                .unwrap_or_else(|| file.clone());
            report.tests.push(invalid(
                stem,
                &file,
                None,
                vec![format!("{loc}: {}", e.message())],
            ));
            return;
        }
    };
    if parsed.test.is_empty() {
        report.tests.push(invalid(
            stem,
            &file,
            None,
            vec![format!("{file}: no [[test]] in the file")],
        ));
        return;
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    let policy_paths: Vec<PathBuf> = match &parsed.policies {
        Some(list) => list.iter().map(|p| dir.join(p)).collect(),
        None => vec![dir.join(format!("{stem}.cedar"))],
    };
    let mut policies = Vec::new();
    let mut load_errors = Vec::new();
    for p in &policy_paths {
        match load(p) {
            Ok(list) => policies.extend(list),
            Err(e) => load_errors.push(e),
        }
    }
    for p in &policies {
        let key = (p.file.clone(), p.id.clone());
        coverage.entry(key.clone()).or_insert((false, 0)).0 = true;
        locations.insert(key, p.line);
    }
    let set = if load_errors.is_empty() {
        atlas_policy_set(policies.iter()).map_err(|e| vec![e])
    } else {
        Err(load_errors)
    };
    let ns_name = parsed
        .namespace
        .clone()
        .or_else(|| policies.first().map(|p| p.namespace.clone()));
    let ns = match &ns_name {
        Some(n) => engine.schemas.get(n),
        None => engine.schemas.default_namespace(),
    };
    let mut catalog = engine.catalog.clone();
    for (ty, ids) in &parsed.ids {
        catalog.add_ids(ty, ids.iter().cloned());
    }
    let mut seen = std::collections::BTreeSet::new();
    for case in &parsed.test {
        let name = format!("{stem}::{}", case.name);
        if !seen.insert(case.name.clone()) {
            report.tests.push(invalid(
                name,
                &file,
                Some(case.expect),
                vec![format!("{file}: two tests are named `{}`", case.name)],
            ));
            continue;
        }
        let set = match &set {
            Ok(s) => s,
            Err(errs) => {
                report
                    .tests
                    .push(invalid(name, &file, Some(case.expect), errs.clone()));
                continue;
            }
        };
        let Some(ns) = ns else {
            report.tests.push(invalid(
                name,
                &file,
                Some(case.expect),
                vec![format!(
                    "unknown namespace `{}`",
                    ns_name.clone().unwrap_or_default()
                )],
            ));
            continue;
        };
        let mut context = parsed
            .context
            .get(&case.action)
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or(Value::Object(serde_json::Map::new()));
        if let Some(c) = &case.context {
            match serde_json::to_value(c) {
                Ok(v) => merge(&mut context, &v),
                Err(e) => {
                    report.tests.push(invalid(
                        name,
                        &file,
                        Some(case.expect),
                        vec![format!("context: {e}")],
                    ));
                    continue;
                }
            }
        }
        let spec = RequestSpec {
            action: case.action.clone(),
            resource: case.resource.clone(),
            context,
        };
        let built = match atlas_cedar_core::check::with_stack(|| build_request(ns, &catalog, &spec))
        {
            Ok(b) => b,
            Err(errs) => {
                let mut messages = vec![format!(
                    "the test's request is not valid for `{}` (a typo in the test?):",
                    case.action
                )];
                messages.extend(errs.into_iter().map(|e| format!("  {e}")));
                report
                    .tests
                    .push(invalid(name, &file, Some(case.expect), messages));
                continue;
            }
        };
        let verdict = evaluate(set, &built.request, &built.entities);
        for id in &verdict.forbidden_by {
            if let Some(p) = policies.iter().find(|p| &p.id == id) {
                coverage
                    .entry((p.file.clone(), p.id.clone()))
                    .or_insert((true, 0))
                    .1 += 1;
            }
        }
        let messages = judge(case, &verdict, &policies);
        let actual = if verdict.forbidden() {
            "forbidden"
        } else if !verdict.errors.is_empty() {
            "error"
        } else {
            "allowed"
        };
        report.tests.push(TestOutcome {
            name,
            file: file.clone(),
            passed: messages.is_empty(),
            expect: Some(case.expect),
            actual: actual.to_owned(),
            verdict: Some(verdict),
            messages,
        });
    }
}

fn judge(case: &TestCaseToml, verdict: &Verdict, policies: &[LoadedPolicy]) -> Vec<String> {
    let mut out = Vec::new();
    let by = verdict.forbidden_by.join(", ");
    match case.expect {
        Expect::Forbidden if !verdict.forbidden() => {
            out.push("expected forbidden, but no policy forbids the request (allowed)".to_owned());
        }
        Expect::Allowed if verdict.forbidden() => {
            out.push(format!("expected allowed, but it is forbidden by {by}"));
        }
        Expect::Error if verdict.errors.is_empty() => {
            out.push(format!(
                "expected an evaluation error, but evaluation succeeded ({})",
                if verdict.forbidden() {
                    "forbidden"
                } else {
                    "allowed"
                }
            ));
        }
        _ => {}
    }
    if case.expect != Expect::Error {
        for (id, msg) in &verdict.errors {
            out.push(format!(
                "policy {id} raised an evaluation error (Cedar skips it; Atlas may refuse the request): {msg}"
            ));
        }
    }
    if let Some(want) = &case.forbidden_by {
        for key in want.list() {
            let known: Vec<&LoadedPolicy> = policies.iter().filter(|p| p.matches(&key)).collect();
            if known.is_empty() {
                out.push(format!(
                    "forbidden_by = \"{key}\" names no policy of this test file (policies: {})",
                    policies
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            } else if case.expect == Expect::Forbidden
                && verdict.forbidden()
                && !known.iter().any(|p| verdict.forbidden_by.contains(&p.id))
            {
                out.push(format!(
                    "expected to be forbidden by {key}, but it is forbidden by {by}"
                ));
            }
        }
        if case.expect != Expect::Forbidden {
            out.push(format!(
                "forbidden_by is set but expect = \"{}\"",
                case.expect.as_str()
            ));
        }
    }
    out
}
