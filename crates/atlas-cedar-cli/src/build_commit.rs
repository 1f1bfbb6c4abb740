//! The commit `atlas-cedar --version` names. Compiled into build.rs (which
//! sets `ATLAS_CEDAR_COMMIT` for main.rs) and into the CLI's unit tests; not
//! part of the binary.
//!
//! In order: the `ATLAS_CEDAR_COMMIT` environment variable (a build from an
//! exported tree can say which commit it is); `git rev-parse` when the crate is
//! inside a git checkout; the `.cargo_vcs_info.json` that `cargo package` writes
//! into a crates.io tarball (`cargo install atlas-cedar-cli` has no `.git`);
//! else "unknown". The build never fails for want of git.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, PartialEq, Eq)]
pub struct Commit {
    /// 12 hex digits, or "unknown".
    pub id: String,
    /// Files whose change means HEAD moved: build.rs re-runs on them, so the
    /// binary never names a stale commit. Only existing files (Cargo re-runs a
    /// build script on every build when a watched path does not exist).
    pub watch: Vec<PathBuf>,
}

pub fn resolve(dir: &Path, from_env: Option<&str>) -> Commit {
    if let Some(id) = from_env.map(str::trim).filter(|c| !c.is_empty()) {
        return Commit {
            id: id.to_owned(),
            watch: Vec::new(),
        };
    }
    if let Some(commit) = from_git(dir) {
        return commit;
    }
    let vcs_info = dir.join(".cargo_vcs_info.json");
    let watch = if vcs_info.exists() {
        vec![vcs_info.clone()]
    } else {
        Vec::new()
    };
    let id = std::fs::read_to_string(&vcs_info)
        .ok()
        .and_then(|text| sha1_of_vcs_info(&text))
        .unwrap_or_else(|| "unknown".to_owned());
    Commit { id, watch }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn from_git(dir: &Path) -> Option<Commit> {
    let id = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    let mut names = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    names.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    let watch = names
        .iter()
        .filter_map(|name| {
            git(
                dir,
                &["rev-parse", "--path-format=absolute", "--git-path", name],
            )
        })
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect();
    Some(Commit { id, watch })
}

/// `{"git": {"sha1": "<40 hex>"}, "path_in_vcs": ...}` -> the first 12 digits.
fn sha1_of_vcs_info(text: &str) -> Option<String> {
    let key = "\"sha1\"";
    let rest = text.get(text.find(key)? + key.len()..)?;
    let rest = rest.get(rest.find('"')? + 1..)?;
    let sha = rest.get(..rest.find('"')?)?;
    if sha.len() < 12 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    sha.get(..12).map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn git_in(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn the_environment_variable_wins() {
        let dir = tempfile::tempdir().unwrap();
        let commit = resolve(dir.path(), Some(" 0123456789ab\n"));
        assert_eq!(
            commit,
            Commit {
                id: "0123456789ab".to_owned(),
                watch: Vec::new()
            }
        );
        // An empty one is as good as none.
        assert_eq!(resolve(dir.path(), Some("  ")).id, "unknown");
    }

    #[test]
    fn outside_a_git_checkout_the_commit_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve(dir.path(), None),
            Commit {
                id: "unknown".to_owned(),
                watch: Vec::new()
            }
        );
    }

    #[test]
    fn a_crates_io_tarball_names_the_commit_it_was_packaged_from() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join(".cargo_vcs_info.json");
        std::fs::write(
            &info,
            r#"{"git": {"sha1": "8092e43c1d5e0f7a6b2c3d4e5f60718293a4b5c6"}, "path_in_vcs": "crates/atlas-cedar-cli"}"#,
        )
        .unwrap();
        assert_eq!(
            resolve(dir.path(), None),
            Commit {
                id: "8092e43c1d5e".to_owned(),
                watch: vec![info.clone()]
            }
        );
        // A damaged file is no commit, and no build failure.
        std::fs::write(&info, r#"{"git": {"sha1": "not hex"}}"#).unwrap();
        assert_eq!(resolve(dir.path(), None).id, "unknown");
    }

    #[test]
    fn in_a_git_checkout_the_commit_is_head_and_head_is_watched() {
        let dir = tempfile::tempdir().unwrap();
        git_in(dir.path(), &["init", "--quiet"]);
        git_in(
            dir.path(),
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "commit.gpgsign=false",
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                "one",
            ],
        );
        let head = git_in(dir.path(), &["rev-parse", "--short=12", "HEAD"]);
        let commit = resolve(dir.path(), None);
        assert_eq!(commit.id, head);
        assert_eq!(commit.id.len(), 12);
        assert!(
            commit.watch.iter().any(|p| p.ends_with("HEAD")),
            "{:?}",
            commit.watch
        );
        assert!(commit.watch.iter().all(|p| p.exists()));
    }
}
