//! Turning S3 SDK errors into [`Error`] variants, by transport failure kind, error code and
//! HTTP status. The `SdkError` is kept as the source, never printed with `{}`.

use aws_sdk_s3::{config::http::HttpResponse, error::ProvideErrorMetadata, error::SdkError};

use super::S3Store;
use crate::error::Error;

/// Codes S3 uses for missing or invalid credentials and refused access.
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AllAccessDisabled",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidToken",
    "SignatureDoesNotMatch",
];

/// Codes S3 uses when the request was signed for another region than the bucket's.
const WRONG_REGION_CODES: &[&str] = &[
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
    "PermanentRedirect",
];

/// The HTTP status of the response, when there was one.
pub(super) fn status<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    error
        .raw_response()
        .map(|response| response.status().as_u16())
}

/// Whether a conditional request lost: 412, or 409 `ConditionalRequestConflict` (S3 answers it
/// when two conditional writes to one key overlap).
pub(super) fn is_precondition_failed<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> bool {
    matches!(
        error.code(),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    ) || status(error) == Some(412)
}

impl S3Store {
    /// Classifies a failed `operation` on `key` (relative to the store root).
    pub(super) fn classify<E>(
        &self,
        operation: &'static str,
        key: &str,
        error: SdkError<E, HttpResponse>,
    ) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let full_key = format!("{}{key}", self.prefix);
        let unreachable = match &error {
            SdkError::TimeoutError(_) => true,
            SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_timeout(),
            _ => false,
        };
        if unreachable {
            return Error::Unreachable {
                endpoint: self.endpoint.clone(),
                operation,
                bucket: self.bucket.clone(),
                source: error.into(),
            };
        }
        if matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
        ) {
            return Error::Request {
                operation,
                endpoint: self.endpoint.clone(),
                bucket: self.bucket.clone(),
                key: full_key,
                source: error.into(),
            };
        }
        let code = error.code().map(str::to_owned);
        let status = status(&error);
        match code.as_deref() {
            Some("NoSuchBucket") => Error::BucketNotFound {
                bucket: self.bucket.clone(),
                url: self.url.clone(),
            },
            Some(code) if ACCESS_DENIED_CODES.contains(&code) => {
                self.access_denied(operation, full_key, error)
            }
            None if status == Some(403) => self.access_denied(operation, full_key, error),
            Some(code) if WRONG_REGION_CODES.contains(&code) => self.wrong_region(error),
            None if status == Some(301) => self.wrong_region(error),
            _ => Error::S3 {
                operation,
                bucket: self.bucket.clone(),
                key: full_key,
                source: error.into(),
            },
        }
    }

    fn access_denied<E>(
        &self,
        operation: &'static str,
        key: String,
        error: SdkError<E, HttpResponse>,
    ) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::AccessDenied {
            operation,
            bucket: self.bucket.clone(),
            key,
            source: error.into(),
        }
    }

    fn wrong_region<E>(&self, error: SdkError<E, HttpResponse>) -> Error
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::WrongRegion {
            bucket: self.bucket.clone(),
            region: self.region(),
            source: error.into(),
        }
    }

    /// S3 always sends an ETag; an endpoint that does not cannot do conditional writes.
    pub(super) fn missing_etag(&self, operation: &'static str, full_key: &str) -> Error {
        Error::S3 {
            operation,
            bucket: self.bucket.clone(),
            key: full_key.to_owned(),
            source:
                "the response has no ETag, so conditional writes cannot work against this endpoint"
                    .into(),
        }
    }
}
