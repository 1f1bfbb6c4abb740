//! `atlas-cedar completions`, `atlas-cedar man`, and the examples every
//! subcommand's `--help` shows: the real binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use assert_cmd::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::cargo_bin("atlas-cedar")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The visible subcommands listed under `Commands:` in `--help` output.
fn commands_in(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every visible subcommand path, depth first: `["lint"], ["policies"], ["policies", "list"], …`.
fn all_subcommands() -> Vec<Vec<String>> {
    fn walk(path: &[String], out: &mut Vec<Vec<String>>) {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, help, err) = run(&args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        for name in commands_in(&help) {
            let mut p = path.to_vec();
            p.push(name);
            out.push(p.clone());
            walk(&p, out);
        }
    }
    let mut out = Vec::new();
    walk(&[], &mut out);
    out
}

#[test]
fn top_level_help_lists_the_main_subcommands() {
    let subs: Vec<String> = all_subcommands().into_iter().map(|p| p.join(" ")).collect();
    for expected in [
        "lint",
        "fmt",
        "explain",
        "completions",
        "man",
        "plan",
        "push",
        "policies",
        "policies list",
    ] {
        assert!(
            subs.iter().any(|s| s == expected),
            "{expected} not in {subs:?}"
        );
    }
}

#[test]
fn every_subcommand_help_has_examples() {
    let (_, top, _) = run(&["--help"]);
    assert!(top.contains("Examples:"), "atlas-cedar --help: {top}");
    let mut missing = Vec::new();
    for path in all_subcommands() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, help, _) = run(&args);
        assert_eq!(code, Some(0));
        let examples = help.split_once("Examples:").map(|(_, rest)| rest);
        // At least one example, and it runs this very subcommand.
        let prefix = format!("atlas-cedar {}", path.join(" "));
        match examples {
            Some(rest) if rest.lines().any(|l| l.trim_start().starts_with(&prefix)) => {}
            _ => missing.push(path.join(" ")),
        }
    }
    assert!(
        missing.is_empty(),
        "no `Examples:` (running the subcommand itself) in --help of: {missing:?}"
    );
}

#[test]
fn completions_for_every_shell_mention_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, out, err) = run(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}: {err}");
        assert!(out.len() > 500, "{shell}: {out}");
        for word in [
            "lint",
            "fmt",
            "explain",
            "plan",
            "push",
            "completions",
            "format",
        ] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
        assert!(out.contains("atlas-cedar"), "{shell}: binary name");
    }
    let (_, bash, _) = run(&["completions", "bash"]);
    assert!(
        bash.lines()
            .any(|l| l.trim_start().starts_with("complete -F ") && l.ends_with(" atlas-cedar")),
        "{bash}"
    );
    let (_, zsh, _) = run(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef atlas-cedar"), "{zsh}");
}

#[test]
fn completions_reject_an_unknown_shell() {
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("tcsh"), "{err}");
}

#[test]
fn man_page_is_roff_with_the_subcommands() {
    let (code, out, err) = run(&["man"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(".TH atlas-cedar 1"), "{out}");
    assert!(out.contains(".SH NAME"));
    assert!(out.contains(".SH SUBCOMMANDS"));
    for word in ["lint", "fmt", "explain", "plan", "push", "Examples:"] {
        assert!(out.contains(word), "man page lacks {word}");
    }
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("man1");
    let (code, out, err) = run(&["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.is_empty());
    for page in [
        "atlas-cedar.1",
        "atlas-cedar-lint.1",
        "atlas-cedar-policies-list.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
}

/// `atlas-cedar --version` (and `-V`): "atlas-cedar <version> (<commit> <target>)",
/// the commit being this checkout's HEAD (build.rs re-runs when HEAD moves) and
/// the target the one this test machine runs.
#[test]
fn version_names_the_version_the_commit_and_the_target() {
    let (code, out, err) = run(&["--version"]);
    assert_eq!(code, Some(0), "{err}");
    let (_, short, _) = run(&["-V"]);
    assert_eq!(out, short, "-V and --version agree");

    let rest = out
        .strip_prefix(&format!("atlas-cedar {} (", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("no version prefix: {out:?}"));
    let inner = rest
        .strip_suffix(")\n")
        .unwrap_or_else(|| panic!("no (...) suffix: {out:?}"));
    let (commit, target) = inner.split_once(' ').unwrap();

    let head = std::process::Command::new("git")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned());
    match head {
        Some(head) if std::env::var_os("ATLAS_CEDAR_COMMIT").is_none() => assert_eq!(commit, head),
        _ => assert!(!commit.is_empty()),
    }

    assert!(
        target.starts_with(std::env::consts::ARCH),
        "target {target} is not for {}",
        std::env::consts::ARCH
    );
    let os = match std::env::consts::OS {
        "macos" => "apple-darwin",
        other => other,
    };
    assert!(target.contains(os), "target {target} is not for {os}");
}
