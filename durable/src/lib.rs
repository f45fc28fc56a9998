//! Durable files, the one implementation the phone's photo and model stores and the yard
//! office's embedded store share: atomic writes (a temporary file beside the target, fsync,
//! rename over the target, fsync the directory: after a crash the target holds the old bytes
//! or the new ones, never a mix) and the advisory lock files that keep a second process out.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::Path;

/// Writes `bytes` to `path` atomically and durably through the temporary file `temp` (in
/// the same directory). `temp` is created fresh: an existing file of that name is an error
/// (a concurrent or interrupted write), and it is removed again when the write fails.
pub fn write_atomic_via(path: &Path, temp: &Path, bytes: &[u8]) -> io::Result<()> {
    let written = (|| {
        let mut file = File::create_new(temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(temp, path)?;
        sync_dir(parent_dir(path))
    })();
    if written.is_err() {
        // Best effort: whoever reconciles the directory removes what is left.
        let _ = fs::remove_file(temp);
    }
    written
}

/// The directory holding `path`: `.` for a bare file name (whose `parent()` is the empty
/// path, which cannot be opened).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` atomically and durably through `.<name>.tmp` beside it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.tmp"));
    // A temporary left by a crash is stale: this write replaces it.
    match fs::remove_file(&temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    write_atomic_via(path, &temp, bytes)
}

/// Takes an exclusive advisory lock on the file `path` (created if absent) without waiting:
/// `Ok(None)` when another process (or another handle in this one) holds it. The lock lasts
/// as long as the returned file is open. Used for `<data_dir>/.lock` and `models/.lock`.
pub fn try_lock(path: &Path) -> io::Result<Option<File>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// fsyncs a directory so that a rename or an unlink in it is durable (Unix; elsewhere a
/// directory cannot be opened for syncing and the rename is all there is).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare file name (`-o inspections.csv`) is written in the working directory: its
    /// directory to sync is `.`, not the empty path.
    #[test]
    fn a_bare_file_name_lives_in_the_working_directory() {
        assert_eq!(parent_dir(Path::new("inspections.csv")), Path::new("."));
        assert_eq!(parent_dir(Path::new("out/x.csv")), Path::new("out"));
        assert_eq!(parent_dir(Path::new("/x.csv")), Path::new("/"));
    }

    #[test]
    fn replaces_the_target_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        write_atomic(&path, b"old").expect("write");
        fs::write(dir.path().join(".state.json.tmp"), b"crash leftover").expect("leftover");
        write_atomic(&path, b"new").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"new");
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn an_existing_temporary_is_refused_and_the_target_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("photo.jpg");
        let temp = dir.path().join(".incoming-x");
        fs::create_dir(&temp).expect("blocker");
        assert!(write_atomic_via(&path, &temp, b"x").is_err());
        assert!(!path.exists());
    }
}
