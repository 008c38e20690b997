//! Idempotent, atomic filesystem changes: a file is written to a temporary file in its own
//! directory, given its mode, fsynced and renamed over the target (then the directory is
//! fsynced), and only when its content or mode differs. Each function says whether it
//! changed anything.

use std::{
    fs::Permissions,
    io::{Read, Write},
    os::unix::fs::PermissionsExt,
    path::Path,
};

/// A filesystem change that failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to {operation} `{}`", path.display())]
pub struct WriteError {
    /// What was being done.
    pub operation: &'static str,
    /// The path.
    pub path: std::path::PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

fn error(operation: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WriteError {
    let path = path.to_owned();
    move |source| WriteError {
        operation,
        path,
        source,
    }
}

/// The permission bits of `path`, if it exists.
fn mode_of(path: &Path) -> Option<u32> {
    fs_err::metadata(path)
        .ok()
        .map(|metadata| metadata.permissions().mode() & 0o7777)
}

/// Makes `path` a directory with `mode` (parents created as needed).
///
/// # Errors
/// [`WriteError`] naming the path.
pub fn ensure_directory(path: &Path, mode: u32) -> Result<bool, WriteError> {
    let mut changed = false;
    if !path.is_dir() {
        fs_err::create_dir_all(path).map_err(error("create directory", path))?;
        changed = true;
    }
    if mode_of(path) != Some(mode) {
        fs_err::set_permissions(path, Permissions::from_mode(mode))
            .map_err(error("set the mode of", path))?;
        changed = true;
    }
    Ok(changed)
}

/// Makes `path` hold exactly `contents` with `mode`.
///
/// # Errors
/// [`WriteError`] naming the path.
pub fn ensure_file(path: &Path, contents: &[u8], mode: u32) -> Result<bool, WriteError> {
    if path.is_file() {
        let current = fs_err::read(path).map_err(error("read", path))?;
        if current == contents {
            return ensure_mode(path, mode);
        }
    }
    replace(path, mode, |file| file.write_all(contents))?;
    Ok(true)
}

/// Makes `path` hold exactly `contents` with `mode`, rewriting the file itself rather than
/// renaming a new one over it: for a file that other mount namespaces see through a bind
/// mount of its inode (`/etc/hosts` in pods that mount it), a rename would leave them the old
/// file. The one `write` of a small file is what readers may catch half done; they re-read.
///
/// # Errors
/// [`WriteError`] naming the path.
pub fn ensure_file_in_place(path: &Path, contents: &[u8], mode: u32) -> Result<bool, WriteError> {
    if !path.is_file() {
        return ensure_file(path, contents, mode);
    }
    let current = fs_err::read(path).map_err(error("read", path))?;
    if current == contents {
        return ensure_mode(path, mode);
    }
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(error("open", path))?;
    file.write_all(contents).map_err(error("write", path))?;
    file.sync_all().map_err(error("sync", path))?;
    ensure_mode(path, mode)?;
    Ok(true)
}

/// Makes `path` a copy of `source` (whose sha256 is `sha256`) with `mode`.
///
/// # Errors
/// [`WriteError`] naming the path.
pub fn ensure_copy(
    path: &Path,
    source: &Path,
    sha256: &str,
    mode: u32,
) -> Result<bool, WriteError> {
    if path.is_file() {
        let current = crate::assets::file_sha256(path).map_err(error("hash", path))?;
        if current == sha256 {
            return ensure_mode(path, mode);
        }
    }
    let mut input = fs_err::File::open(source).map_err(error("open", source))?;
    replace(path, mode, |file| {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = input.read(&mut buffer)?;
            if read == 0 {
                return Ok(());
            }
            file.write_all(&buffer[..read])?;
        }
    })?;
    Ok(true)
}

fn ensure_mode(path: &Path, mode: u32) -> Result<bool, WriteError> {
    if mode_of(path) == Some(mode) {
        return Ok(false);
    }
    fs_err::set_permissions(path, Permissions::from_mode(mode))
        .map_err(error("set the mode of", path))?;
    Ok(true)
}

/// Writes through `fill` into a temporary sibling, then renames it over `path`.
fn replace(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let parent = path.parent().ok_or_else(|| {
        error("find the directory of", path)(std::io::ErrorKind::InvalidInput.into())
    })?;
    fs_err::create_dir_all(parent).map_err(error("create directory", parent))?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".nodeup-")
        .tempfile_in(parent)
        .map_err(error("create a temporary file in", parent))?;
    fill(temporary.as_file_mut()).map_err(error("write", temporary.path()))?;
    temporary
        .as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(error("set the mode of", temporary.path()))?;
    temporary
        .as_file()
        .sync_all()
        .map_err(error("sync", temporary.path()))?;
    temporary
        .persist(path)
        .map_err(|persist| error("replace", path)(persist.error))?;
    fs_err::File::open(parent)
        .and_then(|directory| directory.sync_all())
        .map_err(error("sync", parent))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_once_then_skips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.txt");
        assert!(ensure_file(&path, b"one", 0o600).unwrap());
        assert!(!ensure_file(&path, b"one", 0o600).unwrap());
        assert!(ensure_file(&path, b"one", 0o644).unwrap());
        assert!(ensure_file(&path, b"two", 0o644).unwrap());
        assert_eq!(fs_err::read(&path).unwrap(), b"two");
        assert_eq!(mode_of(&path), Some(0o644));
        let leftovers = fs_err::read_dir(dir.path().join("a")).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn in_place_keeps_the_inode_so_bind_mounts_see_the_change() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        assert!(ensure_file_in_place(&path, b"one\n", 0o644).unwrap());
        let inode = fs_err::metadata(&path).unwrap().ino();
        assert!(!ensure_file_in_place(&path, b"one\n", 0o644).unwrap());
        assert!(ensure_file_in_place(&path, b"two, longer\n", 0o644).unwrap());
        assert!(ensure_file_in_place(&path, b"3\n", 0o644).unwrap());
        assert_eq!(fs_err::read(&path).unwrap(), b"3\n");
        assert_eq!(fs_err::metadata(&path).unwrap().ino(), inode);
    }
}
