//! Writing a user's file safely, for the commands that create or rewrite files
//! (`import`, `fmt`): never through a symbolic link planted at its name, never a
//! half-written file, never over a file unless asked, never over a file that
//! changed since it was read.
//!
//! The text goes to a temporary file with a random name, created exclusively
//! (never through an existing file or link) in the destination's directory,
//! and is then renamed into place. A new file is linked into place only if
//! nothing appeared at its name meanwhile; a replaced file keeps its
//! permissions.

use std::io::Write as _;
use std::path::Path;

use crate::fs::{io_reason, read_file};

/// Why [`write_file`] wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// [`Existing::ReplaceIfUnchanged`]: the file no longer holds the bytes
    /// read before (edited meanwhile); it is left alone.
    Changed,
    /// Any other reason, for `PATH: REASON`.
    Other(String),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Changed => f.write_str(
                "changed while it was being written; left unchanged (run the command again)",
            ),
            Self::Other(why) => f.write_str(why),
        }
    }
}

impl From<String> for WriteError {
    fn from(why: String) -> Self {
        Self::Other(why)
    }
}

/// What may be at the destination already.
#[derive(Debug, Clone, Copy)]
pub enum Existing<'a> {
    /// Nothing: an existing file (or link, or anything else) is an error.
    Refuse,
    /// A regular file, replaced (it keeps its permissions).
    Replace,
    /// A regular file that still holds these bytes, replaced; one that
    /// changed meanwhile is left alone (an error).
    ReplaceIfUnchanged(&'a [u8]),
}

/// Why the destination cannot be written, if it is a symbolic link or not a
/// regular file, or exists when it must not; `Ok(true)` when a regular file
/// is there, `Ok(false)` when nothing is.
pub fn check_destination(path: &Path, may_exist: bool) -> Result<bool, String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(
            "is a symbolic link; it is neither followed nor replaced (remove it, or write elsewhere)"
                .to_owned(),
        ),
        Ok(meta) if !meta.is_file() => Err("exists and is not a regular file".to_owned()),
        Ok(_) if !may_exist => Err("already exists; not overwritten".to_owned()),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot write: {}", io_reason(&e))),
    }
}

/// Writes `contents` to `path` as described in the module documentation.
pub fn write_file(path: &Path, contents: &[u8], existing: Existing<'_>) -> Result<(), WriteError> {
    write_file_with(path, contents, existing, &|| {})
}

/// [`write_file`], calling `before_replace` once the new text is in the
/// temporary file, just before the destination is looked at a last time and
/// replaced (a test can change the destination at exactly this point).
pub fn write_file_with(
    path: &Path,
    contents: &[u8],
    existing: Existing<'_>,
    before_replace: &dyn Fn(),
) -> Result<(), WriteError> {
    let may_exist = !matches!(existing, Existing::Refuse);
    let exists = check_destination(path, may_exist)?;
    if let (Existing::ReplaceIfUnchanged(_), false) = (existing, exists) {
        return Err(WriteError::Other(
            "was removed while it was being written; nothing written".to_owned(),
        ));
    }
    let perms = if exists {
        Some(
            std::fs::symlink_metadata(path)
                .map_err(|e| format!("cannot write: {}", io_reason(&e)))?
                .permissions(),
        )
    } else {
        None
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".atlas-cedar.tmp")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write: cannot create a temporary file: {e}"))?;
    tmp.write_all(contents)
        .and_then(|()| match &perms {
            Some(p) => tmp.as_file().set_permissions(p.clone()),
            None => new_file_permissions(tmp.as_file()),
        })
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| format!("cannot write: {e}"))?;
    if !exists {
        // Fails if anything (a link included) appeared at the name meanwhile.
        before_replace();
        return tmp.persist_noclobber(path).map(|_| ()).map_err(|e| {
            WriteError::Other(if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                "appeared while it was being written; not overwritten".to_owned()
            } else {
                format!("cannot write: {}", e.error)
            })
        });
    }
    before_replace();
    // Looked at again just before the rename (which replaces a link rather
    // than writing through it anyway).
    check_destination(path, true)?;
    if let Existing::ReplaceIfUnchanged(before) = existing {
        let now = read_file(path).map_err(|e| format!("cannot write: {e}"))?;
        if now != before {
            return Err(WriteError::Changed);
        }
    }
    tmp.persist(path)
        .map(|_| ())
        .map_err(|e| WriteError::Other(format!("cannot write: {}", e.error)))
}

/// A new file is readable by everyone and writable by its owner (the
/// temporary file starts private).
#[cfg(unix)]
fn new_file_permissions(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn new_file_permissions(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn new_files_replace_and_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.cedar");
        write_file(&p, b"one", Existing::Refuse).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        assert!(write_file(&p, b"two", Existing::Refuse)
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        write_file(&p, b"two", Existing::Replace).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            write_file(&p, b"three", Existing::ReplaceIfUnchanged(b"one")),
            Err(WriteError::Changed)
        );
        write_file(&p, b"three", Existing::ReplaceIfUnchanged(b"two")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("a.cedar");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for how in [Existing::Refuse, Existing::Replace] {
            let e = write_file(&link, b"x", how).unwrap_err().to_string();
            assert!(e.contains("symbolic link"), "{e}");
        }
        // Dangling: would create the target if followed.
        let missing = dir.path().join("missing");
        let dangling = dir.path().join("b.cedar");
        std::os::unix::fs::symlink(&missing, &dangling).unwrap();
        assert!(write_file(&dangling, b"x", Existing::Refuse).is_err());
        assert!(!missing.exists());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
