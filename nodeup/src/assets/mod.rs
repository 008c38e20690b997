//! Hash-pinned downloads: every [`Asset`] is fetched from its mirrors in order, verified
//! against its sha256 while it streams, and kept in a cache named by that hash.
//!
//! A download goes to a temporary file in the cache directory and is renamed to
//! `<cache>/<sha256>` only after the hash matched, so a mismatch or an interrupted transfer
//! leaves no file behind. A mismatch is never retried from the same URL (the bytes would
//! be the same); other mirrors are still tried, and when none serves the pinned bytes the
//! asset fails with [`AssetError::HashMismatch`]. Transport failures are retried
//! [`DOWNLOAD_ROUNDS`] times over all mirrors with a doubling delay. `http`, `https` and
//! `file` URLs are supported.

mod transport;

use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use berth_model::nodeup_config::Asset;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

pub use transport::{CONNECT_TIMEOUT, DOWNLOAD_TIMEOUT, MAX_REDIRECTS};

/// Rounds over all mirrors before giving up on transport errors.
pub const DOWNLOAD_ROUNDS: u32 = 3;
/// The delay before the second round (doubled each round).
pub const RETRY_DELAY: Duration = Duration::from_secs(2);

/// Why an asset could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The pinned hash is not 64 hex digits.
    #[error("asset `{name}` has an invalid sha256 `{sha256}` (expected 64 hex digits)")]
    InvalidHash {
        /// The asset.
        name: String,
        /// The bad value.
        sha256: String,
    },
    /// No URL to try.
    #[error("asset `{name}` has no urls")]
    NoUrls {
        /// The asset.
        name: String,
    },
    /// No mirror served the pinned bytes.
    #[error(
        "asset `{name}` from `{url}` has sha256 {actual}, but {expected} is pinned; refusing it (nothing was installed)"
    )]
    HashMismatch {
        /// The asset.
        name: String,
        /// The (last) mirror that served other bytes.
        url: String,
        /// The pinned hash.
        expected: String,
        /// What was served.
        actual: String,
    },
    /// Every attempt failed.
    #[error("failed to download asset `{name}` after {DOWNLOAD_ROUNDS} rounds: {}", failures.join("; "))]
    Download {
        /// The asset.
        name: String,
        /// Each attempt's URL and reason.
        failures: Vec<String>,
    },
    /// The cache could not be used.
    #[error("failed to use the asset cache at `{}`", path.display())]
    Cache {
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A download task ended abnormally.
    #[error("an asset download task failed")]
    Join(#[source] tokio::task::JoinError),
}

/// Downloaded assets: sha256 → cached file.
pub type AssetFiles = BTreeMap<String, PathBuf>;

/// The cache directory, keyed by sha256.
#[derive(Debug, Clone)]
pub struct AssetCache {
    dir: PathBuf,
}

impl AssetCache {
    /// A cache in `dir` (created when needed).
    #[must_use]
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Fetches every asset in parallel; fails with the first failure.
    ///
    /// # Errors
    /// [`AssetError`] for the first asset that could not be provided.
    pub async fn fetch_all(&self, assets: &[Asset]) -> Result<AssetFiles, AssetError> {
        let mut set = JoinSet::new();
        let cache = Arc::new(self.clone());
        for asset in assets {
            let cache = Arc::clone(&cache);
            let asset = asset.clone();
            set.spawn(async move {
                let path = cache.fetch(&asset).await?;
                Ok::<_, AssetError>((asset.sha256.to_ascii_lowercase(), path))
            });
        }
        let mut files = AssetFiles::new();
        while let Some(result) = set.join_next().await {
            let (sha256, path) = result.map_err(AssetError::Join)??;
            files.insert(sha256, path);
        }
        Ok(files)
    }

    /// The cached file of `asset`, downloading it if the cache lacks it.
    ///
    /// # Errors
    /// [`AssetError`] when no mirror serves the pinned bytes.
    pub async fn fetch(&self, asset: &Asset) -> Result<PathBuf, AssetError> {
        let expected = asset.sha256.to_ascii_lowercase();
        if expected.len() != 64 || !expected.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(AssetError::InvalidHash {
                name: asset.name.clone(),
                sha256: asset.sha256.clone(),
            });
        }
        if asset.urls.is_empty() {
            return Err(AssetError::NoUrls {
                name: asset.name.clone(),
            });
        }
        let cache_error = |path: &Path| {
            let path = path.to_owned();
            move |source| AssetError::Cache { path, source }
        };
        fs_err::create_dir_all(&self.dir).map_err(cache_error(&self.dir))?;
        let target = self.dir.join(&expected);
        if target.is_file() {
            if file_sha256(&target).map_err(cache_error(&target))? == expected {
                tracing::debug!(asset = %asset.name, "using the cached copy");
                return Ok(target);
            }
            tracing::warn!(asset = %asset.name, path = %target.display(), "cached copy is corrupt; downloading again");
            fs_err::remove_file(&target).map_err(cache_error(&target))?;
        }
        let mut failures = Vec::new();
        let mut mismatch = None;
        let mut mismatched_urls: Vec<&str> = Vec::new();
        let mut delay = RETRY_DELAY;
        for round in 1..=DOWNLOAD_ROUNDS {
            for url in &asset.urls {
                if mismatched_urls.contains(&url.as_str()) {
                    continue;
                }
                let mut partial = tempfile::Builder::new()
                    .prefix(".partial-")
                    .tempfile_in(&self.dir)
                    .map_err(cache_error(&self.dir))?;
                match transport::download(url, partial.as_file_mut()).await {
                    Ok(actual) if actual == expected => {
                        partial
                            .as_file()
                            .sync_all()
                            .map_err(cache_error(partial.path()))?;
                        partial
                            .persist(&target)
                            .map_err(|error| AssetError::Cache {
                                path: target.clone(),
                                source: error.error,
                            })?;
                        tracing::info!(asset = %asset.name, %url, "downloaded");
                        return Ok(target);
                    }
                    Ok(actual) => {
                        tracing::warn!(asset = %asset.name, %url, %actual, "sha256 mismatch");
                        mismatched_urls.push(url);
                        mismatch = Some((url.clone(), actual));
                    }
                    Err(reason) => {
                        tracing::warn!(asset = %asset.name, %url, %reason, round, "download failed");
                        failures.push(format!("{url}: {reason}"));
                    }
                }
            }
            if mismatched_urls.len() == asset.urls.len() || round == DOWNLOAD_ROUNDS {
                break;
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        match mismatch {
            Some((url, actual)) => Err(AssetError::HashMismatch {
                name: asset.name.clone(),
                url,
                expected,
                actual,
            }),
            None => Err(AssetError::Download {
                name: asset.name.clone(),
                failures,
            }),
        }
    }
}

/// The hex sha256 of a file.
///
/// # Errors
/// The I/O error reading it.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}
