//! Streaming one URL into a file while hashing it: `file://` from disk, `http(s)://`
//! through hyper with rustls (the system's root certificates), following redirects.

use std::{io::Write, sync::Arc, time::Duration};

use berth_state_store::error_text::one_line;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{StatusCode, Uri, header::LOCATION};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

/// How long to wait for a TCP connection (a dead mirror should not hold the loop long).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one whole download may take (the largest asset, the kubelet, is ~100 MiB).
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// Redirects followed per download (release hosts redirect once or twice).
pub const MAX_REDIRECTS: usize = 5;

/// Streams `url` into `out`; returns the hex sha256 of what was written, or why it failed.
pub(super) async fn download(url: &str, out: &mut std::fs::File) -> Result<String, String> {
    tokio::time::timeout(DOWNLOAD_TIMEOUT, download_inner(url, out))
        .await
        .map_err(|_| format!("timed out after {}s", DOWNLOAD_TIMEOUT.as_secs()))?
}

async fn download_inner(url: &str, out: &mut std::fs::File) -> Result<String, String> {
    let mut hasher = Sha256::new();
    let mut sink = |chunk: &[u8]| -> Result<(), String> {
        hasher.update(chunk);
        out.write_all(chunk)
            .map_err(|error| format!("failed to write: {error}"))
    };
    if let Some(path) = url.strip_prefix("file://") {
        let mut file = fs_err::tokio::File::open(path)
            .await
            .map_err(|error| error.to_string())?;
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = file
                .read(&mut buffer)
                .await
                .map_err(|error| error.to_string())?;
            if read == 0 {
                break;
            }
            sink(&buffer[..read])?;
        }
    } else if url.starts_with("http://") || url.starts_with("https://") {
        http(url, &mut sink).await?;
    } else {
        return Err("unsupported url scheme (use https, http or file)".to_owned());
    }
    Ok(hex::encode(hasher.finalize()))
}

async fn http(url: &str, sink: &mut impl FnMut(&[u8]) -> Result<(), String>) -> Result<(), String> {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.enforce_http(false);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|error| format!("failed to set up TLS: {error}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let mut uri: Uri = url
        .parse()
        .map_err(|error| format!("invalid url: {error}"))?;
    for _ in 0..=MAX_REDIRECTS {
        let response = client
            .get(uri.clone())
            .await
            .map_err(|error| format!("request failed: {}", one_line(&error)))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| format!("{status} without a location"))?;
            uri = location
                .parse()
                .map_err(|error| format!("invalid redirect `{location}`: {error}"))?;
            continue;
        }
        if status != StatusCode::OK {
            return Err(format!("server answered {status}"));
        }
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| format!("transfer failed: {}", one_line(&error)))?;
            if let Ok(data) = frame.into_data() {
                sink(&data)?;
            }
        }
        return Ok(());
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}
