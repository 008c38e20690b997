//! Where machines download `nodeup` from, and its pinned hash.
//!
//! `BERTH_NODEUP_URL` (comma-separated mirrors) with `BERTH_NODEUP_SHA256` names a published
//! binary. Without them, Berth pins the `nodeup` binary installed beside `berth` itself: its
//! SHA-256 is computed here and its URL is a `file://` URL, which serves the local cloud (the
//! emulator and nodeup runs on this machine); real machines need the variables.

use anyhow::Context as _;
use berth_model::builders::NodeupAsset;
use sha2::{Digest as _, Sha256};

use crate::env_vars::{BERTH_NODEUP_SHA256, BERTH_NODEUP_URL};

/// The nodeup asset for the launch templates' user data.
pub(crate) fn resolve() -> anyhow::Result<NodeupAsset> {
    let urls = std::env::var(BERTH_NODEUP_URL).unwrap_or_default();
    let urls: Vec<String> = urls
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect();
    if !urls.is_empty() {
        let sha256 = std::env::var(BERTH_NODEUP_SHA256)
            .ok()
            .filter(|hash| hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()))
            .with_context(|| {
                format!("`{BERTH_NODEUP_URL}` is set, so `{BERTH_NODEUP_SHA256}` must be the binary's 64-digit hex SHA-256")
            })?;
        return Ok(NodeupAsset {
            urls,
            sha256: sha256.to_ascii_lowercase(),
        });
    }
    let berth = std::env::current_exe().context("cannot find the berth executable")?;
    let nodeup = berth.with_file_name("nodeup");
    let bytes = fs_err::read(&nodeup).with_context(|| {
        format!("no `nodeup` beside berth: build it (`cargo build -p berth-nodeup`) or set `{BERTH_NODEUP_URL}` and `{BERTH_NODEUP_SHA256}`")
    })?;
    Ok(NodeupAsset {
        urls: vec![format!("file://{}", nodeup.display())],
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}
