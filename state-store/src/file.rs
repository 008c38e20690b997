//! The `file://` backend: a local directory, the default for trying Berth without AWS.
//!
//! - Keys map to files under the root (`<root>/<cluster>/config`).
//! - Writes are atomic: a temp file in the target's directory, fsync, rename, fsync of the
//!   directory. A reader sees the old or the new content, never a mix.
//! - Conditional writes and deletes are atomic across threads and processes: each one holds an
//!   exclusive lock (`fs4`, `flock` on Unix) on [`LOCK_FILE_NAME`] in the root while it compares
//!   the current content's tag and writes. Reads take no lock.
//! - The [`ETag`] is the hex SHA-256 of the content, so it is stable across processes and
//!   restarts.
//! - The root is created on the first write if its parent directory exists (so a fresh
//!   `file:///home/me/berth-state` works out of the box); a missing parent is
//!   [`Error::StoreDirNotFound`]. Until then reads see an empty store, and
//!   [`ObjectStore::check`] reports the missing directory.
//! - Names starting with [`RESERVED_PREFIX`] (temp and lock files) are reserved: `list` skips
//!   them and keys may not use them.
//!
//! Emptied directories are removed after a delete, so deleting a cluster leaves no tree behind.

use std::{
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::{
    error::{Error, Result},
    object::{ETag, Object, ObjectStore, WriteCondition, validate_key},
};

/// The prefix of the names the backend keeps for itself in the store directory.
pub const RESERVED_PREFIX: &str = ".berth-";

/// The lock file in the root, held during every conditional compare-and-write.
pub const LOCK_FILE_NAME: &str = ".berth-store.lock";

const TEMP_PREFIX: &str = ".berth-tmp-";

/// Makes temp file names unique among the threads of this process (the pid separates
/// processes).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A state store in a local directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
    url: String,
}

/// Opens a `file://` store rooted at `path` (which need not exist yet; see the module docs).
pub fn open_file(path: impl Into<PathBuf>) -> FileStore {
    let root = path.into();
    let url = format!("file://{}", root.display());
    FileStore { root, url }
}

impl FileStore {
    /// A store rooted at `root`, shown to the user as `url`.
    pub(crate) fn with_url(root: PathBuf, url: String) -> Self {
        FileStore { root, url }
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    async fn blocking<T, F>(&self, operation: &'static str, key: &str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Path) -> Result<T> + Send + 'static,
    {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || work(&root))
            .await
            .map_err(|source| Error::Background {
                operation,
                path: self.root.join(key),
                source,
            })?
    }
}

#[async_trait]
impl ObjectStore for FileStore {
    fn url(&self) -> &str {
        &self.url
    }

    async fn get(&self, key: &str) -> Result<Option<Object>> {
        validate_file_key(key)?;
        let owned = key.to_owned();
        self.blocking("read", key, move |root| read(root, &owned))
            .await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, condition: WriteCondition) -> Result<ETag> {
        validate_file_key(key)?;
        let owned = key.to_owned();
        self.blocking("write", key, move |root| {
            write(root, &owned, &bytes, &condition)
        })
        .await
    }

    async fn delete(&self, key: &str, condition: Option<ETag>) -> Result<()> {
        validate_file_key(key)?;
        let owned = key.to_owned();
        self.blocking("delete", key, move |root| {
            remove(root, &owned, condition.as_ref())
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = prefix.to_owned();
        self.blocking("list", "", move |root| list(root, &prefix))
            .await
    }

    async fn check(&self) -> Result<()> {
        self.blocking("inspect", "", |root| {
            if root.is_dir() {
                Ok(())
            } else {
                Err(Error::StoreDirNotFound {
                    path: root.to_owned(),
                })
            }
        })
        .await
    }
}

fn validate_file_key(key: &str) -> Result<()> {
    validate_key(key)?;
    if key.split('/').any(|s| s.starts_with(RESERVED_PREFIX)) {
        return Err(Error::InvalidKey {
            key: key.to_owned(),
            reason: "names starting with `.berth-` are reserved by the file backend",
        });
    }
    Ok(())
}

/// The tag of `bytes`: hex SHA-256.
fn etag_of(bytes: &[u8]) -> ETag {
    ETag(hex::encode(Sha256::digest(bytes)))
}

fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io {
        operation,
        path,
        source,
    }
}

fn read(root: &Path, key: &str) -> Result<Option<Object>> {
    let path = root.join(key);
    match fs_err::read(&path) {
        Ok(bytes) => Ok(Some(Object {
            etag: etag_of(&bytes),
            bytes,
        })),
        // A missing file, or a "directory" key that only has children, is no object.
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory
            ) =>
        {
            Ok(None)
        }
        Err(error) => Err(io_error("read", &path)(error)),
    }
}

fn write(root: &Path, key: &str, bytes: &[u8], condition: &WriteCondition) -> Result<ETag> {
    ensure_root(root)?;
    let _lock = StoreLock::acquire(root)?;
    let current = read(root, key)?;
    match (condition, &current) {
        (WriteCondition::Create, Some(_)) => {
            return Err(Error::AlreadyExists {
                key: key.to_owned(),
            });
        }
        (WriteCondition::Replace(expected), Some(object)) if *expected == object.etag => {}
        (WriteCondition::Replace(_), _) => {
            return Err(Error::Conflict {
                key: key.to_owned(),
            });
        }
        (WriteCondition::Create | WriteCondition::Overwrite, _) => {}
    }
    write_atomically(&root.join(key), bytes)?;
    Ok(etag_of(bytes))
}

fn remove(root: &Path, key: &str, condition: Option<&ETag>) -> Result<()> {
    if !root.is_dir() {
        return Ok(());
    }
    let _lock = StoreLock::acquire(root)?;
    let Some(current) = read(root, key)? else {
        return Ok(());
    };
    if condition.is_some_and(|expected| *expected != current.etag) {
        return Err(Error::Conflict {
            key: key.to_owned(),
        });
    }
    let path = root.join(key);
    match fs_err::remove_file(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error("delete", &path)(error)),
    }
    // Prune emptied directories up to the root; the lock keeps writers from racing with this.
    let mut dir = path.parent();
    while let Some(current) = dir {
        if current == root || !current.starts_with(root) || fs_err::remove_dir(current).is_err() {
            break;
        }
        dir = current.parent();
    }
    Ok(())
}

fn list(root: &Path, prefix: &str) -> Result<Vec<String>> {
    // Walk only the deepest directory the prefix names, when it is a well-formed key path.
    let start = match prefix.rsplit_once('/') {
        Some((dir, _)) if validate_key(dir).is_ok() => dir,
        _ => "",
    };
    let mut keys = Vec::new();
    walk(&root.join(start), start, &mut keys)?;
    keys.retain(|key| key.starts_with(prefix));
    keys.sort();
    Ok(keys)
}

fn walk(dir: &Path, relative: &str, keys: &mut Vec<String>) -> Result<()> {
    let entries = match fs_err::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if matches!(error.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(());
        }
        Err(error) => return Err(io_error("list", dir)(error)),
    };
    for entry in entries {
        let entry = entry.map_err(io_error("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue; // not a key Berth could have written
        };
        if name.starts_with(RESERVED_PREFIX) {
            continue;
        }
        let key = if relative.is_empty() {
            name.to_owned()
        } else {
            format!("{relative}/{name}")
        };
        let file_type = entry.file_type().map_err(io_error("list", &entry.path()))?;
        if file_type.is_dir() {
            walk(&entry.path(), &key, keys)?;
        } else if file_type.is_file() {
            keys.push(key);
        }
    }
    Ok(())
}

/// Creates the root if it is missing but its parent exists.
fn ensure_root(root: &Path) -> Result<()> {
    if root.is_dir() {
        return Ok(());
    }
    let parent_exists = root.parent().is_some_and(Path::is_dir);
    if !parent_exists {
        return Err(Error::StoreDirNotFound {
            path: root.to_owned(),
        });
    }
    match fs_err::create_dir(root) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(io_error("create the state store directory", root)(error)),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(path);
    fs_err::create_dir_all(dir).map_err(io_error("create directory", dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        "{TEMP_PREFIX}{}-{}-{name}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs_err::File::create(&temp).map_err(io_error("write", &temp))?;
        file.write_all(bytes).map_err(io_error("write", &temp))?;
        file.sync_all().map_err(io_error("sync", &temp))?;
        drop(file);
        fs_err::rename(&temp, path).map_err(io_error("rename into place", path))?;
        // Make the rename itself durable.
        fs_err::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error("sync", dir))
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&temp);
    }
    result
}

/// An exclusive lock on the store's lock file, released when dropped (closing the file
/// releases the `flock`).
struct StoreLock {
    _file: fs_err::File,
}

impl StoreLock {
    fn acquire(root: &Path) -> Result<Self> {
        let path = root.join(LOCK_FILE_NAME);
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error("open the lock file", &path))?;
        fs4::fs_std::FileExt::lock_exclusive(file.file()).map_err(io_error("lock", &path))?;
        Ok(StoreLock { _file: file })
    }
}
