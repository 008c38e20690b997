//! Parsing the state store URL: `s3://bucket/prefix` or `file:///absolute/path`.

use std::{path::PathBuf, str::FromStr};

use crate::error::Error;

/// Where a state store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A local directory (`file:///absolute/path`).
    File(PathBuf),
    /// An S3 bucket and key prefix (`s3://bucket/prefix`); `prefix` is empty or ends in `/`.
    S3 { bucket: String, prefix: String },
}

impl FromStr for StoreUrl {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid("the bucket name is missing"));
            }
            if !is_bucket_name(bucket) {
                return Err(invalid(
                    "the bucket name must be 3-63 lowercase letters, digits, `.` or `-`",
                ));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|s| s == "." || s == "..")
                || prefix.contains("//")
                || prefix.contains('\\')
            {
                return Err(invalid(
                    "the prefix must not contain `.`, `..` or empty segments",
                ));
            }
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_owned(),
                prefix,
            });
        }
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(invalid(
                    "the path must be absolute (three slashes: `file:///path`)",
                ));
            }
            if path.split('/').any(|s| s == "..") {
                return Err(invalid("the path must not contain `..`"));
            }
            return Ok(StoreUrl::File(PathBuf::from(path)));
        }
        Err(invalid("unknown scheme"))
    }
}

fn is_bucket_name(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::StoreUrl;

    #[test]
    fn parses_s3_with_and_without_prefix() {
        assert_eq!(
            "s3://my-bucket".parse::<StoreUrl>().unwrap(),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            "s3://my-bucket/a/b/".parse::<StoreUrl>().unwrap(),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: "a/b/".into()
            }
        );
    }

    #[test]
    fn parses_absolute_file_urls() {
        assert_eq!(
            "file:///var/lib/berth".parse::<StoreUrl>().unwrap(),
            StoreUrl::File(PathBuf::from("/var/lib/berth"))
        );
    }

    #[test]
    fn rejects_bad_urls_naming_the_accepted_forms() {
        for url in [
            "bucket",
            "s3://",
            "s3://Upper",
            "file://relative",
            "gs://b",
            "s3://b/../x",
        ] {
            let message = url.parse::<StoreUrl>().unwrap_err().to_string();
            assert!(message.contains(url), "{message}");
            assert!(message.contains("file:///absolute/path"), "{message}");
        }
    }
}
