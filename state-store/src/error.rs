//! The state store's error type, shared by both backends, the layout and the lease.
//!
//! Messages are lowercase, name the key, bucket, path or endpoint involved and say what to do;
//! they never interpolate their source, which stays reachable through
//! [`std::error::Error::source`] for the renderer to print.

use std::path::PathBuf;

/// A boxed error from a lower layer (the AWS SDK), kept as the source of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while talking to a state store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A conditional write or delete lost a race: the object changed since it was read.
    #[error(
        "`{key}` was changed by someone else (conditional write failed); re-read and try again"
    )]
    Conflict { key: String },

    /// A create found the object already there.
    #[error("`{key}` already exists; read it and replace it instead of creating it")]
    AlreadyExists { key: String },

    /// An object the caller requires is missing.
    #[error("`{key}` does not exist in the state store")]
    NotFound { key: String },

    /// The state store URL could not be parsed.
    #[error(
        "invalid state store url `{url}`: {reason}; use `s3://bucket/prefix` or `file:///absolute/path`"
    )]
    InvalidUrl { url: String, reason: &'static str },

    /// A key is not a relative, slash-separated path without empty, `.` or `..` segments.
    #[error("invalid state store key `{key}`: {reason}")]
    InvalidKey { key: String, reason: &'static str },

    /// The directory of a `file://` store (or its parent, for a first write) is missing.
    #[error(
        "state store directory `{}` does not exist; create it (`mkdir -p`) or point the state store at an existing directory",
        path.display()
    )]
    StoreDirNotFound { path: PathBuf },

    /// A filesystem operation of the `file://` backend failed.
    #[error("failed to {operation} `{}`", path.display())]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A blocking filesystem task of the `file://` backend did not complete.
    #[error("the filesystem task to {operation} `{}` was cancelled or panicked", path.display())]
    Background {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: tokio::task::JoinError,
    },

    /// The S3 bucket of the store does not exist.
    #[error(
        "s3 bucket `{bucket}` does not exist (state store `{url}`); create it first, e.g. `aws s3 mb s3://{bucket}`, or fix the state store url"
    )]
    BucketNotFound { bucket: String, url: String },

    /// S3 refused the request for lack of permission or valid credentials.
    #[error(
        "access denied by s3 for {operation} on `s3://{bucket}/{key}`; check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and the bucket policy"
    )]
    AccessDenied {
        operation: &'static str,
        bucket: String,
        key: String,
        #[source]
        source: BoxError,
    },

    /// The bucket lives in another region than the one the client signs for.
    #[error(
        "s3 bucket `{bucket}` is not in region `{region}`; set AWS_REGION to the bucket's region"
    )]
    WrongRegion {
        bucket: String,
        region: String,
        #[source]
        source: BoxError,
    },

    /// The S3 endpoint could not be reached in time (connection refused, DNS, timeout).
    #[error(
        "cannot reach the s3 endpoint `{endpoint}` for {operation} on `s3://{bucket}`; check the network, AWS_ENDPOINT_URL and AWS_REGION"
    )]
    Unreachable {
        endpoint: String,
        operation: &'static str,
        bucket: String,
        #[source]
        source: BoxError,
    },

    /// The request could not be built or sent (typically: no credentials or region found).
    #[error(
        "failed to send {operation} on `s3://{bucket}/{key}` to `{endpoint}`; check the AWS credentials, AWS_PROFILE and AWS_REGION"
    )]
    Request {
        operation: &'static str,
        endpoint: String,
        bucket: String,
        key: String,
        #[source]
        source: BoxError,
    },

    /// Any other S3 failure.
    #[error("s3 {operation} failed on `s3://{bucket}/{key}`")]
    S3 {
        operation: &'static str,
        bucket: String,
        key: String,
        #[source]
        source: BoxError,
    },

    /// Another holder has a live lease on the cluster.
    #[error(
        "cluster `{cluster}` is locked by {holder} until {until}; wait for it to finish, or retry after {until} if it died"
    )]
    LeaseHeld {
        cluster: String,
        holder: String,
        until: String,
    },

    /// The lease was taken over (after expiring) or removed by someone else.
    #[error(
        "the lease on cluster `{cluster}` was lost (it expired and was taken over or removed); stop and re-run the command"
    )]
    LeaseLost { cluster: String },

    /// The lease object is not valid JSON of the expected shape.
    #[error(
        "lease object `{key}` is corrupt; delete it once no other berth command runs against the cluster"
    )]
    LeaseCorrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// The lease could not be serialised.
    #[error("failed to encode the lease `{key}`")]
    LeaseEncode {
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// A lease expiry could not be computed or formatted.
    #[error("failed to compute the expiry of the lease `{key}` (ttl too large?)")]
    LeaseExpiry { key: String },
}

impl Error {
    /// Whether the user can fix this (bad input, missing store, credentials, a lost race)
    /// rather than it being an unexpected failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Conflict { .. }
            | Error::AlreadyExists { .. }
            | Error::NotFound { .. }
            | Error::InvalidUrl { .. }
            | Error::InvalidKey { .. }
            | Error::StoreDirNotFound { .. }
            | Error::BucketNotFound { .. }
            | Error::AccessDenied { .. }
            | Error::WrongRegion { .. }
            | Error::Unreachable { .. }
            | Error::Request { .. }
            | Error::LeaseHeld { .. }
            | Error::LeaseLost { .. }
            | Error::LeaseCorrupt { .. } => true,
            Error::Io { .. }
            | Error::Background { .. }
            | Error::S3 { .. }
            | Error::LeaseEncode { .. }
            | Error::LeaseExpiry { .. } => false,
        }
    }
}
