//! The SHA-256 of each node asset, read from the checksum file its publisher puts beside it
//! (`<url>.sha256` on `dl.k8s.io`, see [`berth_model::assets`]), as kops does at update time.
//!
//! `http(s)://` checksums are fetched with hyper (rustls, the system's roots, redirects
//! followed); `file://` ones are read from disk, for mirrors on a local disk and tests. Each
//! checksum URL is fetched at most once per [`AssetHashes`] (runc's one file covers every
//! architecture); a failed fetch is retried with a doubling delay, and the next mirror is
//! tried after that. A checksum that is missing or does not name the asset is an error that
//! names the asset and its URL.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use berth_model::{
    assets::{AssetLocation, parse_checksum},
    nodeup_config::Asset,
};
use berth_state_store::error_text::one_line;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{StatusCode, Uri, header::LOCATION};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tokio::sync::Mutex;

/// How long to wait for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one checksum request may take (they are a few bytes).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed per request (`dl.k8s.io` redirects to its CDN).
const MAX_REDIRECTS: usize = 5;
/// Attempts per checksum URL for transport errors and 5xx answers.
const ATTEMPTS: u32 = 3;
/// The delay before the second attempt; doubled each time.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);

/// Why an asset's hash is unknown.
#[derive(Debug, thiserror::Error)]
pub enum AssetHashError {
    /// No mirror served a checksum.
    #[error("cannot read the sha256 of asset `{asset}` ({url}): {reason}")]
    Fetch {
        /// The asset's name.
        asset: String,
        /// The asset's first URL.
        url: String,
        /// What each checksum URL answered.
        reason: String,
    },
    /// The checksum file does not hold a SHA-256 for the asset.
    #[error("asset `{asset}` ({url}): `{checksum_url}` holds no sha256 for `{file_name}`")]
    Invalid {
        /// The asset's name.
        asset: String,
        /// The asset's first URL.
        url: String,
        /// The checksum file's URL.
        checksum_url: String,
        /// The file name looked up in it.
        file_name: String,
    },
}

/// Fetches checksum files, each URL once.
#[derive(Debug, Default, Clone)]
pub struct AssetHashes {
    /// Checksum URL → its text.
    cache: Arc<Mutex<BTreeMap<String, String>>>,
}

impl AssetHashes {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Pins every asset of `locations` with its published hash, concurrently.
    ///
    /// # Errors
    /// [`AssetHashError`] naming the first asset whose hash cannot be read.
    pub async fn pin(&self, locations: &[AssetLocation]) -> Result<Vec<Asset>, AssetHashError> {
        let pinned =
            futures_util::future::join_all(locations.iter().map(|location| self.pin_one(location)))
                .await;
        pinned.into_iter().collect()
    }

    async fn pin_one(&self, location: &AssetLocation) -> Result<Asset, AssetHashError> {
        let url = location.urls.first().cloned().unwrap_or_default();
        let mut reasons = Vec::new();
        for checksum_url in &location.checksum_urls {
            match self.checksum_text(checksum_url).await {
                Ok(text) => {
                    let sha256 = parse_checksum(&text, &location.file_name).ok_or_else(|| {
                        AssetHashError::Invalid {
                            asset: location.name.clone(),
                            url: url.clone(),
                            checksum_url: checksum_url.clone(),
                            file_name: location.file_name.clone(),
                        }
                    })?;
                    return Ok(Asset {
                        name: location.name.clone(),
                        urls: location.urls.clone(),
                        sha256,
                    });
                }
                Err(reason) => reasons.push(format!("{checksum_url}: {reason}")),
            }
        }
        Err(AssetHashError::Fetch {
            asset: location.name.clone(),
            url,
            reason: if reasons.is_empty() {
                "no checksum URL".to_owned()
            } else {
                reasons.join("; ")
            },
        })
    }

    /// The text at `url`, from the cache or fetched (with retries) and cached.
    async fn checksum_text(&self, url: &str) -> Result<String, String> {
        // Held across the fetch so that concurrent assets sharing a file fetch it once; the
        // files are tiny and there are a handful of them.
        let mut cache = self.cache.lock().await;
        if let Some(text) = cache.get(url) {
            return Ok(text.clone());
        }
        let mut delay = FIRST_RETRY_DELAY;
        let mut attempt = 1;
        let text = loop {
            match fetch(url).await {
                Ok(text) => break text,
                Err(Failure::Permanent(reason)) => return Err(reason),
                Err(Failure::Transient(reason)) if attempt >= ATTEMPTS => return Err(reason),
                Err(Failure::Transient(reason)) => {
                    tracing::debug!(url, reason, attempt, "retrying a checksum download");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
            }
        };
        cache.insert(url.to_owned(), text.clone());
        Ok(text)
    }
}

/// Why one fetch failed.
enum Failure {
    /// Worth another try (transport error, timeout, 5xx, 429).
    Transient(String),
    /// Not (404, a missing file, an unsupported scheme).
    Permanent(String),
}

async fn fetch(url: &str) -> Result<String, Failure> {
    if let Some(path) = url.strip_prefix("file://") {
        return tokio::fs::read_to_string(path)
            .await
            .map_err(|error| Failure::Permanent(format!("cannot read {path}: {error}")));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Failure::Permanent(
            "unsupported URL scheme (use https, http or file)".to_owned(),
        ));
    }
    tokio::time::timeout(REQUEST_TIMEOUT, http_get(url))
        .await
        .map_err(|_| {
            Failure::Transient(format!("timed out after {}s", REQUEST_TIMEOUT.as_secs()))
        })?
}

async fn http_get(url: &str) -> Result<String, Failure> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.enforce_http(false);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|error| Failure::Permanent(format!("failed to set up TLS: {error}")))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let mut uri: Uri = url
        .parse()
        .map_err(|error| Failure::Permanent(format!("invalid URL: {error}")))?;
    for _ in 0..=MAX_REDIRECTS {
        let response = client
            .get(uri.clone())
            .await
            .map_err(|error| Failure::Transient(format!("request failed: {}", one_line(&error))))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| Failure::Permanent(format!("{status} without a location")))?;
            uri = location.parse().map_err(|error| {
                Failure::Permanent(format!("invalid redirect `{location}`: {error}"))
            })?;
            continue;
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Transient(format!("server answered {status}")));
        }
        if status != StatusCode::OK {
            return Err(Failure::Permanent(format!("server answered {status}")));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| Failure::Transient(format!("transfer failed: {}", one_line(&error))))?
            .to_bytes();
        return String::from_utf8(body.to_vec())
            .map_err(|_| Failure::Permanent("the checksum file is not text".to_owned()));
    }
    Err(Failure::Permanent(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn location(dir: &std::path::Path, checksum: &str) -> AssetLocation {
        AssetLocation {
            name: "kubelet".to_owned(),
            urls: vec![format!("file://{}/kubelet", dir.display())],
            checksum_urls: vec![
                format!("file://{}/missing.sha256", dir.display()),
                format!("file://{}/{checksum}", dir.display()),
            ],
            file_name: "kubelet".to_owned(),
        }
    }

    #[tokio::test]
    async fn pins_from_the_first_mirror_that_has_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("kubelet.sha256"), format!("{HASH}\n")).unwrap();
        let hashes = AssetHashes::new();
        let pinned = hashes
            .pin(&[location(dir.path(), "kubelet.sha256")])
            .await
            .unwrap();
        assert_eq!(pinned[0].sha256, HASH);
        assert_eq!(pinned[0].name, "kubelet");
        // Cached: the file may go away within the run.
        fs_err::remove_file(dir.path().join("kubelet.sha256")).unwrap();
        assert!(
            hashes
                .pin(&[location(dir.path(), "kubelet.sha256")])
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_missing_or_invalid_checksum_names_the_asset_url() {
        let dir = tempfile::tempdir().unwrap();
        let error = AssetHashes::new()
            .pin(&[location(dir.path(), "kubelet.sha256")])
            .await
            .unwrap_err();
        let url = format!("file://{}/kubelet", dir.path().display());
        assert!(matches!(&error, AssetHashError::Fetch { .. }), "{error}");
        assert!(error.to_string().contains(&url), "{error}");

        fs_err::write(dir.path().join("bad.sha256"), "not a hash\n").unwrap();
        let error = AssetHashes::new()
            .pin(&[location(dir.path(), "bad.sha256")])
            .await
            .unwrap_err();
        assert!(matches!(&error, AssetHashError::Invalid { .. }), "{error}");
        assert!(error.to_string().contains(&url), "{error}");
    }
}
