//! The state store: where cluster specs, PKI and managed files live.
//!
//! One [`ObjectStore`] trait with two backends that pass the same conformance suite:
//! `s3://bucket/prefix` ([`S3Store`]) and `file:///absolute/path` ([`FileStore`], the default
//! for trying Berth without AWS). Every write is conditional unless it says otherwise
//! ([`WriteCondition`]), so a lost race is an [`Error::Conflict`], never a silent overwrite.
//! On top of the trait: [`layout`] (which key holds what) and [`lease`] (one long operation
//! per cluster at a time).
//!
//! This crate does not interpret the objects' content (that is `berth-model`'s job) and never
//! creates S3 buckets.
//!
//! ```no_run
//! # async fn example() -> berth_state_store::Result<()> {
//! use berth_state_store::{WriteCondition, layout::ClusterKeys};
//!
//! let store = berth_state_store::open("s3://my-state-bucket/berth").await?;
//! store.check().await?;
//! let keys = ClusterKeys::new("dev.example.com");
//! store
//!     .put(&keys.config(), b"kind: Cluster\n".to_vec(), WriteCondition::Create)
//!     .await?;
//! # Ok(())
//! # }
//! ```

mod error;
pub mod error_text;
mod file;
pub mod layout;
pub mod lease;
mod object;
mod s3;
mod url;

use std::sync::Arc;

pub use error::{BoxError, Error, Result};
pub use file::{FileStore, LOCK_FILE_NAME, RESERVED_PREFIX, open_file};
pub use layout::{ClusterKeys, list_clusters};
pub use lease::{Lease, LeaseGuard};
pub use object::{ETag, Object, ObjectStore, WriteCondition};
pub use s3::{
    CONNECT_TIMEOUT, FALLBACK_REGION, OPERATION_ATTEMPT_TIMEOUT, OPERATION_TIMEOUT, READ_TIMEOUT,
    S3Store, open_s3_with_config,
};
pub use url::StoreUrl;

/// The environment variable that overrides the endpoint for S3 only (the SDK reads it too;
/// it is looked at here to choose path-style addressing and to name the endpoint in errors).
const S3_ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_S3";

/// Opens the store at `url` (`s3://bucket/prefix` or `file:///absolute/path`).
///
/// For S3 the AWS configuration comes from the environment as for the AWS CLI: the
/// credential chain, profiles, `AWS_REGION`, `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`. This
/// does not contact the store; call [`ObjectStore::check`] for that.
pub async fn open(url: &str) -> Result<Arc<dyn ObjectStore>> {
    match url.parse::<StoreUrl>()? {
        StoreUrl::File(root) => Ok(Arc::new(FileStore::with_url(root, url.to_owned()))),
        StoreUrl::S3 { bucket, prefix } => {
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let endpoint = std::env::var(S3_ENDPOINT_ENV)
                .ok()
                .filter(|endpoint| !endpoint.is_empty())
                .or_else(|| sdk.endpoint_url().map(str::to_owned));
            Ok(Arc::new(S3Store::new(
                &sdk,
                endpoint,
                bucket,
                prefix,
                url.to_owned(),
            )))
        }
    }
}
