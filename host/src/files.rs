//! Files that hold secrets or the audit trail: created owner-only (directories 0700, files 0600)
//! and checked on start, so that no other local user can read a signing key, a token hash or an
//! audit event.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;
/// The mode of a private directory.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and its parents) owner-only when it is missing. An existing directory is left
/// as it is: it may be shared (`/tmp`, `/var/lib`), and narrowing it could break the machine. When
/// others can read or enter it, a warning says so; the files inside are owner-only either way.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
        return Ok(());
    }
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %dir.display(),
            mode = format!("{mode:o}"),
            "the data directory is open to other users; its files are 0600, but a directory of its own with mode 700 is safer"
        );
    }
    Ok(())
}

/// Narrows an existing file or directory to `mode` when group or others have any access to it.
fn narrow(path: &Path, mode: u32) -> io::Result<()> {
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{current:o}"),
            "a private file was readable by others; narrowing it to {mode:o}"
        );
        std::fs::set_permissions(path, Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Makes an existing private file owner-only (0600); a missing file is fine.
pub fn restrict_file(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(_) => narrow(path, FILE_MODE),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates an empty private file when it is missing, so that whoever opens it later (SQLite)
/// finds it 0600 rather than creating it under the process's umask.
pub fn touch_private(path: &Path) -> io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    restrict_file(path)
}

/// Opens a file for appending, creating it 0600 (an existing one is narrowed to 0600).
pub fn open_private_append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    restrict_file(path)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "test code")]

    use super::*;

    #[test]
    fn created_files_and_directories_are_owner_only() {
        let base = std::env::temp_dir().join(format!("tollgate-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("data");
        ensure_private_dir(&dir).expect("dir");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), DIR_MODE);
        let file = dir.join("audit.jsonl");
        drop(open_private_append(&file).expect("file"));
        assert_eq!(mode(&file), FILE_MODE);
        // A file left readable by others is narrowed.
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).expect("chmod");
        restrict_file(&file).expect("restrict");
        assert_eq!(mode(&file), FILE_MODE);
        // An existing directory is never changed (it may be /tmp).
        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).expect("chmod");
        ensure_private_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), 0o755);
        let _ = std::fs::remove_dir_all(&base);
    }
}
