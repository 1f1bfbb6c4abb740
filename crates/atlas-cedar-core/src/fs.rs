//! File access behind a trait, so the same core runs on disk files, on an editor's
//! unsaved buffers and in tests.

use std::path::Path;

/// What the core needs from a file system.
pub trait FileSystem: Send + Sync {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    fn is_file(&self, path: &Path) -> bool;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl FileSystem for RealFs {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// The largest file `lint` and `fmt` read (README, "Limits"). A larger one is refused
/// before anything is read: policy files are kilobytes, and a 50 MB file already holds
/// about 190,000 policies.
pub const MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// Reads a named input file: a regular file (after following symbolic links) of at
/// most [`MAX_FILE_SIZE`] bytes. Its type and size are checked before reading and
/// again on the opened file, which is opened without blocking, so a FIFO or a device
/// named `x.cedar` is refused instead of waited on. The error is the reason, for
/// `cannot read `NAME`: REASON`.
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    check_file_kind(&meta)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| io_reason(&e))?;
    // The path may have been replaced between the two looks: trust the open file.
    let meta = file.metadata().map_err(|e| io_reason(&e))?;
    check_file_kind(&meta)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn check_file_kind(meta: &std::fs::Metadata) -> Result<(), String> {
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = if ft.is_dir() {
            "a directory"
        } else {
            file_kind_name(&ft)
        };
        return Err(format!(
            "not a regular file ({what}); only regular files are read"
        ));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(too_large(meta.len()));
    }
    Ok(())
}

#[cfg(unix)]
fn file_kind_name(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a named pipe"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn file_kind_name(_: &std::fs::FileType) -> &'static str {
    "not a file"
}

fn too_large(len: u64) -> String {
    format!(
        "the file is {} MB, more than the {} MB limit for one file; nothing was read (split it into several files)",
        len.div_ceil(1024 * 1024),
        MAX_FILE_SIZE / (1024 * 1024)
    )
}

/// A short reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}
