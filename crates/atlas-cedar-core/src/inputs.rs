//! Turning command-line paths into the list of inputs to check: files, directories
//! (recursively, `.cedar` only), globs, and `-` for standard input.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

pub use crate::fs::{io_reason, read_file};

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    Stdin,
    /// A path that could not be walked or does not exist, with the reason.
    Error(PathBuf, String),
}

impl Input {
    /// The name shown in diagnostics.
    pub fn display_name(&self, stdin_name: Option<&str>) -> String {
        match self {
            Input::File(p) | Input::Error(p, _) => display_path(p),
            Input::Stdin => stdin_name.unwrap_or("<stdin>").to_owned(),
        }
    }
}

/// A path as shown to users: relative paths stay as given, without a leading `./`.
pub fn display_path(p: &Path) -> String {
    let s = p.display().to_string();
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Exclusion globs from the config, relative to `root`.
#[derive(Debug)]
pub struct Excludes {
    root: PathBuf,
    set: GlobSet,
}

impl Excludes {
    pub fn new(root: &Path, patterns: &[String]) -> Result<Self, String> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            let glob = Glob::new(p).map_err(|e| format!("invalid exclude pattern `{p}`: {e}"))?;
            b.add(glob);
            // `dir` and `dir/` exclude everything below the directory too.
            let below = format!("{}/**", p.trim_end_matches('/'));
            if let Ok(g) = Glob::new(&below) {
                b.add(g);
            }
        }
        Ok(Excludes {
            root: root.to_path_buf(),
            set: b.build().map_err(|e| e.to_string())?,
        })
    }

    pub fn none() -> Self {
        Excludes {
            root: PathBuf::new(),
            set: GlobSet::empty(),
        }
    }

    pub fn is_excluded(&self, path: &Path) -> bool {
        if self.set.is_empty() {
            return false;
        }
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(path)
        };
        let rel = abs.strip_prefix(&self.root).unwrap_or(path);
        let rel = rel.strip_prefix("./").unwrap_or(rel);
        self.set.is_match(rel) || self.set.is_match(path)
    }
}

/// Which files besides `.cedar` a directory search picks up (`[lint]` `terraform`
/// and `cloudformation`; off by default, so `lint .` in a repository full of
/// infrastructure code checks only policy files unless asked).
#[derive(Debug, Clone, Copy, Default)]
pub struct Include {
    pub terraform: bool,
    pub cloudformation: bool,
}

impl Include {
    fn wants(self, p: &Path) -> bool {
        let ext = p
            .extension()
            .map(|x| x.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "cedar" => true,
            "tf" => self.terraform,
            // Read like every input (regular files within the size cap: a FIFO is
            // not waited on), and searched as bytes, not copied into a string.
            "yaml" | "yml" | "json" | "template" if self.cloudformation => {
                let needle = crate::iac::CFN_TYPE.as_bytes();
                crate::fs::read_file(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            }
            _ => false,
        }
    }
}

/// Expands the command-line paths. Order is stable: arguments in order, files within
/// a directory sorted.
pub fn collect(args: &[String], excludes: &Excludes) -> Vec<Input> {
    collect_including(args, excludes, Include::default())
}

/// [`collect`], directories also searched for the files `include` asks for.
pub fn collect_including(args: &[String], excludes: &Excludes, include: Include) -> Vec<Input> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let path = PathBuf::from(arg);
        if path.is_dir() {
            walk(&path, None, excludes, include, &mut out);
        } else if path.exists() || !has_glob_chars(arg) {
            // A named file is checked whatever its extension (JSON payloads included),
            // and a missing one is reported when it is read.
            if !excludes.is_excluded(&path) {
                out.push(Input::File(path));
            }
        } else {
            match Glob::new(arg) {
                Ok(glob) => {
                    let matcher = glob.compile_matcher();
                    let base = glob_base(arg);
                    let before = out.len();
                    if base.is_dir() {
                        walk(&base, Some(&matcher), excludes, include, &mut out);
                    }
                    if out.len() == before {
                        out.push(Input::Error(
                            path,
                            "no file matches this pattern".to_owned(),
                        ));
                    }
                }
                Err(e) => out.push(Input::Error(path, format!("invalid glob: {e}"))),
            }
        }
    }
    out
}

/// The directory a glob's literal prefix names (`policies/**/*.cedar` → `policies`).
fn glob_base(pattern: &str) -> PathBuf {
    let mut base = PathBuf::new();
    for comp in Path::new(pattern).components() {
        let s = comp.as_os_str().to_string_lossy();
        if has_glob_chars(&s) {
            break;
        }
        base.push(comp);
    }
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    }
}

fn walk(
    dir: &Path,
    matcher: Option<&globset::GlobMatcher>,
    excludes: &Excludes,
    include: Include,
    out: &mut Vec<Input>,
) {
    let walker = ignore::WalkBuilder::new(dir)
        .follow_links(true)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        match entry {
            Ok(e) => {
                let p = e.path();
                if e.file_type().is_some_and(|t| t.is_dir()) {
                    continue;
                }
                let wanted = match matcher {
                    Some(m) => m.is_match(p) || m.is_match(p.strip_prefix("./").unwrap_or(p)),
                    None => include.wants(p),
                };
                if wanted && !excludes.is_excluded(p) {
                    out.push(Input::File(p.to_path_buf()));
                }
            }
            Err(err) => {
                let (path, msg) = describe_walk_error(&err, dir);
                out.push(Input::Error(path, msg));
            }
        }
    }
}

fn describe_walk_error(err: &ignore::Error, dir: &Path) -> (PathBuf, String) {
    match err {
        ignore::Error::WithPath { path, err } => {
            let (_, msg) = describe_walk_error(err, dir);
            (path.clone(), msg)
        }
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            describe_walk_error(err, dir)
        }
        ignore::Error::Loop { ancestor, child } => (
            child.clone(),
            format!(
                "symbolic link loop: `{}` points back to `{}`; skipped",
                display_path(child),
                display_path(ancestor)
            ),
        ),
        ignore::Error::Io(e) => (
            dir.to_path_buf(),
            match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "cannot read: no such file (a dangling symbolic link?)".to_owned()
                }
                std::io::ErrorKind::PermissionDenied => "cannot read: permission denied".to_owned(),
                _ => format!("cannot read: {e}"),
            },
        ),
        other => (dir.to_path_buf(), other.to_string()),
    }
}
