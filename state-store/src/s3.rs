//! The `s3://bucket/prefix` backend (aws-sdk-s3).
//!
//! - Conditional writes are S3's own: `If-None-Match: *` for [`WriteCondition::Create`] and
//!   `If-Match: <etag>` for [`WriteCondition::Replace`]; a 412 becomes
//!   [`Error::AlreadyExists`] or [`Error::Conflict`].
//! - A conditional delete sends `DeleteObject` with `If-Match` (S3 and moto 5.2.5 enforce it
//!   atomically) after reading the object and comparing its tag. The read makes a stale tag a
//!   [`Error::Conflict`] even on S3-compatible stores that ignore the header; there, a write
//!   landing between the read and the delete is lost. The lease (the user of conditional
//!   deletes) tolerates that: at worst the new holder's next renewal reports
//!   [`Error::LeaseLost`].
//! - The bucket is never created here: a missing bucket is [`Error::BucketNotFound`] with a
//!   hint.
//! - When an endpoint URL is configured (an emulator or an S3-compatible store), requests use
//!   path-style addressing, since `<bucket>.<host>` rarely resolves there.
//! - Every request is bounded by the timeouts below, so an unreachable endpoint fails within
//!   about 15 s with [`Error::Unreachable`] naming it.

mod classify;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use aws_sdk_s3::{
    Client,
    config::{Region, timeout::TimeoutConfig},
    error::ProvideErrorMetadata,
};

use crate::{
    error::{Error, Result},
    object::{ETag, Object, ObjectStore, WriteCondition, validate_key},
};

/// Time to open a TCP (and TLS) connection. Loopback and AWS answer in milliseconds; 3 s covers
/// a slow network while keeping three attempts against a black-holed address near 10 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Time to wait for response bytes. State store objects are small (kilobytes).
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Time for one attempt of one request, retries excluded.
pub const OPERATION_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time for a whole request including the SDK's retries (3 attempts by default).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// The region used to sign requests when none is configured; S3 redirects (and the error
/// names the bucket's region) when the bucket lives elsewhere.
pub const FALLBACK_REGION: &str = "us-east-1";

/// A state store in an S3 bucket, under a key prefix.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// Empty or ending in `/`.
    prefix: String,
    url: String,
    /// The endpoint requests go to, for messages.
    endpoint: String,
}

/// Opens an S3 store from an explicit SDK configuration (tests point it at an emulator). The
/// prefix may be empty; a missing trailing `/` is added.
pub async fn open_s3_with_config(
    sdk: &aws_config::SdkConfig,
    bucket: &str,
    prefix: &str,
) -> Result<Arc<dyn ObjectStore>> {
    let url = if prefix.is_empty() {
        format!("s3://{bucket}")
    } else {
        format!("s3://{bucket}/{prefix}")
    };
    let crate::StoreUrl::S3 { bucket, prefix } = url.parse()? else {
        return Err(Error::InvalidUrl {
            url,
            reason: "not an s3 url",
        });
    };
    let endpoint = sdk.endpoint_url().map(str::to_owned);
    Ok(Arc::new(S3Store::new(sdk, endpoint, bucket, prefix, url)))
}

impl S3Store {
    /// A store in `bucket` under `prefix`; `endpoint` is the configured endpoint URL, if any.
    pub(crate) fn new(
        sdk: &aws_config::SdkConfig,
        endpoint: Option<String>,
        bucket: String,
        prefix: String,
        url: String,
    ) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .operation_attempt_timeout(OPERATION_ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut config = aws_sdk_s3::config::Builder::from(sdk).timeout_config(timeouts);
        let region = match sdk.region() {
            Some(region) => region.to_string(),
            None => {
                tracing::debug!("no AWS region configured; using {FALLBACK_REGION} for s3");
                config = config.region(Region::from_static(FALLBACK_REGION));
                FALLBACK_REGION.to_owned()
            }
        };
        if let Some(endpoint) = &endpoint {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        let endpoint = endpoint.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        S3Store {
            client: Client::from_conf(config.build()),
            bucket,
            prefix,
            url,
            endpoint,
        }
    }

    fn full_key(&self, key: &str) -> Result<String> {
        validate_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    fn region(&self) -> String {
        self.client
            .config()
            .region()
            .map_or_else(|| FALLBACK_REGION.to_owned(), ToString::to_string)
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn url(&self) -> &str {
        &self.url
    }

    async fn get(&self, key: &str) -> Result<Option<Object>> {
        let full_key = self.full_key(key)?;
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full_key)
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(error) if error.code() == Some("NoSuchKey") => return Ok(None),
            Err(error) => return Err(self.classify("GetObject", key, error)),
        };
        let etag = ETag(output.e_tag().unwrap_or_default().to_owned());
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|source| Error::S3 {
                operation: "GetObject",
                bucket: self.bucket.clone(),
                key: full_key.clone(),
                source: source.into(),
            })?
            .into_bytes()
            .to_vec();
        if etag.0.is_empty() {
            return Err(self.missing_etag("GetObject", &full_key));
        }
        Ok(Some(Object { bytes, etag }))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, condition: WriteCondition) -> Result<ETag> {
        let full_key = self.full_key(key)?;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&full_key)
            .body(bytes.into());
        request = match &condition {
            WriteCondition::Create => request.if_none_match("*"),
            WriteCondition::Replace(etag) => request.if_match(&etag.0),
            WriteCondition::Overwrite => request,
        };
        match request.send().await {
            Ok(output) => match output.e_tag() {
                Some(etag) if !etag.is_empty() => Ok(ETag(etag.to_owned())),
                _ => Err(self.missing_etag("PutObject", &full_key)),
            },
            Err(error) if classify::is_precondition_failed(&error) => match condition {
                WriteCondition::Create => Err(Error::AlreadyExists {
                    key: key.to_owned(),
                }),
                _ => Err(Error::Conflict {
                    key: key.to_owned(),
                }),
            },
            // If-Match on a key deleted meanwhile: S3 answers 404 NoSuchKey.
            Err(error)
                if matches!(condition, WriteCondition::Replace(_))
                    && error.code() == Some("NoSuchKey") =>
            {
                Err(Error::Conflict {
                    key: key.to_owned(),
                })
            }
            Err(error) => Err(self.classify("PutObject", key, error)),
        }
    }

    async fn delete(&self, key: &str, condition: Option<ETag>) -> Result<()> {
        let full_key = self.full_key(key)?;
        if let Some(expected) = &condition {
            match self.get(key).await? {
                None => return Ok(()),
                Some(current) if current.etag != *expected => {
                    return Err(Error::Conflict {
                        key: key.to_owned(),
                    });
                }
                Some(_) => {}
            }
        }
        let mut request = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&full_key);
        if let Some(expected) = condition {
            request = request.if_match(expected.0);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) if classify::is_precondition_failed(&error) => Err(Error::Conflict {
                key: key.to_owned(),
            }),
            Err(error) if error.code() == Some("NoSuchKey") => Ok(()),
            Err(error) => Err(self.classify("DeleteObject", key, error)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let full_prefix = format!("{}{prefix}", self.prefix);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full_prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| self.classify("ListObjectsV2", prefix, error))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .filter_map(|key| key.strip_prefix(&self.prefix))
                    .map(str::to_owned),
            );
        }
        keys.sort();
        Ok(keys)
    }

    async fn check(&self) -> Result<()> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            // HeadBucket has no body, so a missing bucket is a bare 404.
            Err(error) if classify::status(&error) == Some(404) => Err(Error::BucketNotFound {
                bucket: self.bucket.clone(),
                url: self.url.clone(),
            }),
            Err(error) => Err(self.classify("HeadBucket", "", error)),
        }
    }
}
