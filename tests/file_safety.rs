//! End-to-end tests of how `fmt` writes and how `lint` and `fmt` read a user's files
//! (issue 16, item 5): symbolic links, the temporary file, modes, read-only files,
//! edits made while `fmt` runs, FIFOs and oversized files. The real binary.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

const UGLY: &str = "// keep me\nforbid(principal,action==ResourcePolicy::Action::\"cluster.modify\",resource)when{context.project.clustersInProject>2};\n";
const FORMATTED_START: &str = "// keep me\nforbid (\n  principal,\n";

fn bin() -> Command {
    let mut c = Command::cargo_bin("atlas-cedar").unwrap();
    c.env("NO_COLOR", "1")
        .env_remove("CI")
        // A safety net against a hang, not a measure: every run here takes milliseconds.
        .timeout(Duration::from_secs(120));
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn fmt_formats_a_symlinks_target_and_keeps_the_link() {
    let d = tempfile::tempdir().unwrap();
    let target = write(d.path(), "real/u.cedar", UGLY);
    symlink("real/u.cedar", d.path().join("link.cedar")).unwrap();
    let o = run(d.path(), &["fmt", "link.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let link = std::fs::symlink_metadata(d.path().join("link.cedar")).unwrap();
    assert!(link.file_type().is_symlink(), "the link stays a link");
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .starts_with(FORMATTED_START));
    assert_eq!(
        names(&d.path().join("real")),
        ["u.cedar"],
        "no temporary file left"
    );
}

#[test]
fn fmt_never_writes_through_a_link_planted_at_a_temporary_name() {
    let d = tempfile::tempdir().unwrap();
    let victim = write(d.path(), "victim.txt", "precious\n");
    let p = write(d.path(), "u.cedar", UGLY);
    // The name the temporary file used to have, always the same.
    symlink("victim.txt", d.path().join(".u.cedar.atlas-cedar-fmt.tmp")).unwrap();
    let o = run(d.path(), &["fmt", "u.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(std::fs::read_to_string(&p)
        .unwrap()
        .starts_with(FORMATTED_START));
    assert_eq!(
        names(d.path()),
        [".u.cedar.atlas-cedar-fmt.tmp", "u.cedar", "victim.txt"],
        "the planted link untouched, no temporary file left"
    );
}

#[test]
fn fmt_keeps_the_files_mode() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "u.cedar", UGLY);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = run(d.path(), &["fmt", "u.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&p)
        .unwrap()
        .starts_with(FORMATTED_START));
    assert_eq!(mode(&p), 0o640);
}

#[test]
fn fmt_refuses_a_read_only_file_unless_allowed() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "u.cedar", UGLY);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
    let o = run(d.path(), &["fmt", "u.cedar"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "error: u.cedar: the file is read-only; left unchanged (pass --allow-read-only to format it anyway)"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), UGLY);
    let o = run(d.path(), &["fmt", "--allow-read-only", "u.cedar"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&p)
        .unwrap()
        .starts_with(FORMATTED_START));
    assert_eq!(mode(&p), 0o444, "still read-only");
}

#[test]
fn fmt_does_not_overwrite_a_file_edited_while_it_ran() {
    let d = tempfile::tempdir().unwrap();
    let sync = tempfile::tempdir().unwrap();
    let p = write(d.path(), "u.cedar", UGLY);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("atlas-cedar"))
        .current_dir(d.path())
        .args(["fmt", "u.cedar"])
        .env("NO_COLOR", "1")
        .env("ATLAS_CEDAR_TEST_FMT_PAUSE", sync.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until fmt has read the file and prepared the new text.
    let mut ready = false;
    for _ in 0..12_000 {
        if sync.path().join("ready").exists() {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ready, "fmt never reached the write");
    let edited = format!("{UGLY}// an edit made meanwhile\n");
    std::fs::write(&p, &edited).unwrap();
    std::fs::write(sync.path().join("go"), "").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "error: u.cedar: the file changed while it was being formatted; left unchanged (run fmt again)"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        edited,
        "the edit is kept"
    );
    assert_eq!(names(d.path()), ["u.cedar"], "no temporary file left");
}

fn mkfifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo failed");
}

#[test]
fn lint_and_fmt_refuse_a_fifo_instead_of_waiting_on_it() {
    let d = tempfile::tempdir().unwrap();
    mkfifo(&d.path().join("x.cedar"));
    write(
        d.path(),
        "good.cedar",
        "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };\n",
    );
    let o = run(d.path(), &["lint", "x.cedar", "good.cedar"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "cannot read `x.cedar`: not a regular file (a named pipe); only regular files are read"
        ),
        "{err}"
    );
    assert!(err.contains("checked 1 policy in 2 files"), "{err}");
    // Found by walking a directory, too.
    let o = run(d.path(), &["lint", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a regular file (a named pipe)"));
    let o = run(d.path(), &["fmt", "x.cedar"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("error: x.cedar: cannot read: not a regular file (a named pipe)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn lint_and_fmt_refuse_a_file_over_the_size_limit_before_reading_it() {
    let d = tempfile::tempdir().unwrap();
    // 2 GB, sparse: reading it whole would take 2 GB of memory.
    let f = std::fs::File::create(d.path().join("big.cedar")).unwrap();
    f.set_len(2 * 1024 * 1024 * 1024).unwrap();
    drop(f);
    let o = run(d.path(), &["lint", "--format", "json", "big.cedar"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(
            "cannot read `big.cedar`: the file is 2048 MB, more than the 256 MB limit for one file; nothing was read (split it into several files)"
        ),
        "{}",
        stderr(&o)
    );
    let o = run(d.path(), &["fmt", "big.cedar"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("error: big.cedar: cannot read: the file is 2048 MB"));
}
