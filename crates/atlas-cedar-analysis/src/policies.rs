//! Policy files as Atlas sees them (one body per policy) and evaluation under Atlas
//! semantics: allowed unless some `forbid` body is satisfied.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use atlas_cedar_core::lexer::{lex, Token};
use atlas_cedar_core::split::split_policies;
use atlas_cedar_core::Engine;
use cedar_policy::{Authorizer, Decision, Effect, Entities, Policy, PolicyId, PolicySet, Request};

/// The id of the `permit (principal, action, resource);` that turns Cedar's
/// deny-by-default into Atlas's allow-unless-forbidden.
pub const PERMIT_ALL_ID: &str = "atlas-permit-all";

const PERMIT_ALL: &str = "permit (principal, action, resource);";

/// One body of a policy file.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// A stable id: the `@id("…")` annotation, else the file stem, with `#N`
    /// (1-based) when the file holds several bodies.
    pub id: String,
    /// The file as given (for messages).
    pub file: String,
    /// The file name without `.cedar`.
    pub stem: String,
    /// The `@id` annotation, when present.
    pub annotation_id: Option<String>,
    /// 1-based position of the body in its file.
    pub index: usize,
    /// 1-based line of the body's first token.
    pub line: usize,
    /// The body text, as Atlas would receive it.
    pub text: String,
    /// The namespace the body uses (`ResourcePolicy` or legacy `cloud`).
    pub namespace: String,
    pub policy: Policy,
}

impl LoadedPolicy {
    /// Whether `key` names this body: its id, `@id`, file path, file name, stem, or
    /// `stem#N`.
    pub fn matches(&self, key: &str) -> bool {
        let key = key.trim();
        let file_name = self.file.rsplit(['/', '\\']).next().unwrap_or(&self.file);
        key == self.id
            || self.annotation_id.as_deref() == Some(key)
            || key == self.file
            || key == file_name
            || key == self.stem
            || key == format!("{}#{}", self.stem, self.index)
    }

    /// Gives the body another id (to pair bodies of two files in order).
    pub fn rename(&mut self, id: &str) {
        self.id = id.to_owned();
        self.policy = self.policy.new_id(PolicyId::new(id));
    }

    /// `file:line` of the body.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The stem of a policy file name (`policies/a.cedar` → `a`).
pub fn file_stem(file: &str) -> String {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    name.strip_suffix(".cedar").unwrap_or(name).to_owned()
}

/// Cuts a `.cedar` file into bodies and parses each one. A body that does not parse,
/// or is not a `forbid`, is an error naming its line: `atlas-cedar lint` explains it.
pub fn load_policies(engine: &Engine, file: &str, text: &str) -> Result<Vec<LoadedPolicy>, String> {
    atlas_cedar_core::check::with_stack(|| load_inner(engine, file, text))
}

fn load_inner(engine: &Engine, file: &str, text: &str) -> Result<Vec<LoadedPolicy>, String> {
    let tokens = lex(text);
    let ranges = split_policies(text, &tokens);
    let stem = file_stem(file);
    let several = ranges.len() > 1;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, range) in ranges.iter().enumerate() {
        let index = i + 1;
        let body = text.get(range.clone()).unwrap_or("");
        let line = text
            .get(..range.start)
            .map_or(1, |t| t.matches('\n').count() + 1);
        let fallback = if several {
            format!("{stem}#{index}")
        } else {
            stem.clone()
        };
        let body_tokens = lex(body);
        if let Err(g) = atlas_cedar_core::lexer::guard(
            body,
            &body_tokens,
            atlas_cedar_core::check::MAX_NESTING,
            atlas_cedar_core::check::MAX_OPERATORS,
        ) {
            errors.push(format!(
                "{file}:{line}: policy {index} {} and is not parsed; `atlas-cedar lint {file}` explains it",
                g.what
            ));
            continue;
        }
        let parsed = match Policy::parse(Some(PolicyId::new(&fallback)), body) {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!(
                    "{file}:{line}: policy {index} does not parse ({}); `atlas-cedar lint {file}` explains it",
                    error_chain(&e)
                ));
                continue;
            }
        };
        if parsed.effect() != Effect::Forbid {
            errors.push(format!(
                "{file}:{line}: policy {index} is a `permit`; Atlas accepts only `forbid` bodies"
            ));
            continue;
        }
        let annotation_id = parsed.annotation("id").map(str::to_owned);
        let id = annotation_id.clone().unwrap_or(fallback);
        let policy = parsed.new_id(PolicyId::new(&id));
        let sig: Vec<&Token> = body_tokens.iter().filter(|t| !t.is_trivia()).collect();
        let namespace = engine
            .namespace_of(body, &sig)
            .map(|n| n.name.clone())
            .unwrap_or_default();
        out.push(LoadedPolicy {
            id,
            file: file.to_owned(),
            stem: stem.clone(),
            annotation_id,
            index,
            line,
            text: body.to_owned(),
            namespace,
            policy,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("\n"))
    }
}

/// The policy set Atlas evaluates: the bodies plus the permit-all. Ids must be unique.
pub fn atlas_policy_set<'a>(
    policies: impl IntoIterator<Item = &'a LoadedPolicy>,
) -> Result<PolicySet, String> {
    let mut set = PolicySet::new();
    let mut seen = BTreeSet::new();
    for p in policies {
        if !seen.insert(p.id.clone()) {
            return Err(format!(
                "two policies have the id `{}` ({}); give one an @id(\"…\") annotation",
                p.id,
                p.location()
            ));
        }
        set.add(p.policy.clone()).map_err(|e| error_chain(&e))?;
    }
    let permit = Policy::parse(Some(PolicyId::new(PERMIT_ALL_ID)), PERMIT_ALL)
        .map_err(|e| error_chain(&e))?;
    set.add(permit).map_err(|e| error_chain(&e))?;
    Ok(set)
}

/// What Atlas would answer to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// The ids of the satisfied `forbid` bodies (empty: allowed).
    pub forbidden_by: Vec<String>,
    /// Bodies whose evaluation raised an error, with Cedar's message. Cedar skips
    /// them (they forbid nothing); what Atlas does is not documented.
    pub errors: Vec<(String, String)>,
}

impl Verdict {
    pub fn forbidden(&self) -> bool {
        !self.forbidden_by.is_empty()
    }
}

/// Evaluates a request with Cedar's authorizer under Atlas semantics.
pub fn evaluate(set: &PolicySet, request: &Request, entities: &Entities) -> Verdict {
    let response = Authorizer::new().is_authorized(request, set, entities);
    let diagnostics = response.diagnostics();
    let mut forbidden_by: Vec<String> = if response.decision() == Decision::Deny {
        diagnostics
            .reason()
            .map(ToString::to_string)
            .filter(|id| id != PERMIT_ALL_ID)
            .collect()
    } else {
        Vec::new()
    };
    forbidden_by.sort();
    let errors = diagnostics
        .errors()
        .map(|e| match e {
            cedar_policy::AuthorizationError::PolicyEvaluationError(pe) => {
                (pe.policy_id().to_string(), error_chain(pe.inner()))
            }
        })
        .collect();
    Verdict {
        forbidden_by,
        errors,
    }
}

/// An error with its sources, on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let next = s.to_string();
        if !msg.contains(&next) {
            msg.push_str(": ");
            msg.push_str(&next);
        }
        src = s.source();
    }
    msg
}

/// The `.cedar` files under `p` (or `p` itself), in name order.
fn cedar_files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        v.sort();
        for c in v {
            let hidden = c
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') || n == "target");
            if !hidden {
                cedar_files(&c, out);
            }
        }
    } else if p.extension().is_some_and(|e| e == "cedar") {
        out.push(p.to_path_buf());
    }
}

/// Loads the policies of `paths`: files, and directories (recursively, `.cedar`
/// files, hidden entries and `target` skipped, in name order). Every file that
/// cannot be read or parsed is reported, one line each.
pub fn load_paths(engine: &Engine, paths: &[String]) -> Result<Vec<LoadedPolicy>, String> {
    let mut files = Vec::new();
    for p in paths {
        let path = Path::new(p);
        if !path.exists() {
            return Err(format!("{p}: no such file or directory"));
        }
        if path.is_file() {
            files.push(path.to_path_buf());
        } else {
            cedar_files(path, &mut files);
        }
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let shown = f.display().to_string();
        let name = shown.strip_prefix("./").unwrap_or(&shown).to_owned();
        // Regular files only, within the size cap: a FIFO named `x.cedar`
        // is refused rather than waited on.
        let text = atlas_cedar_core::fs::read_file(&f).and_then(|bytes| {
            String::from_utf8(bytes)
                .map_err(|e| format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))
        });
        match text {
            Ok(text) => match load_policies(engine, &name, &text) {
                Ok(list) => out.extend(list),
                Err(e) => errors.push(e),
            },
            Err(reason) => errors.push(format!("{name}: cannot read: {reason}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("\n"))
    }
}
