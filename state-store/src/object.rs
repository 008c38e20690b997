//! The [`ObjectStore`] trait both backends implement, and the values it trades in.
//!
//! Keys are relative, slash-separated paths (`<cluster>/config`); each backend maps them under
//! its root (a directory or a bucket prefix). Every write states its [`WriteCondition`], so a
//! lost race surfaces as [`Error::Conflict`] or [`Error::AlreadyExists`], never as a silent
//! overwrite.

use std::fmt;

use async_trait::async_trait;

use crate::error::{Error, Result};

/// An opaque version tag of an object's content, returned by reads and writes and passed back
/// to conditional writes. Compare tags only with tags from the same store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(pub String);

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub etag: ETag,
}

/// The precondition of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    /// Only if the key does not exist (`If-None-Match: *`); otherwise [`Error::AlreadyExists`].
    Create,
    /// Only if the key still has this tag (`If-Match`); otherwise [`Error::Conflict`], also when
    /// the key was deleted meanwhile.
    Replace(ETag),
    /// Unconditionally. Only for files Berth manages entirely (rendered configs, manifests),
    /// never for user-edited objects such as the cluster spec.
    Overwrite,
}

/// A key-value store of small objects with conditional writes: the state store.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// The store's URL as the user gave it, for messages.
    fn url(&self) -> &str;

    /// Reads `key`; `None` when it does not exist.
    async fn get(&self, key: &str) -> Result<Option<Object>>;

    /// Writes `bytes` to `key` if `condition` holds, returning the new tag.
    async fn put(&self, key: &str, bytes: Vec<u8>, condition: WriteCondition) -> Result<ETag>;

    /// Deletes `key`, only if it still has tag `condition` when one is given. A missing key is
    /// not an error.
    async fn delete(&self, key: &str, condition: Option<ETag>) -> Result<()>;

    /// The keys starting with `prefix` (a plain string prefix, as in S3), relative to the
    /// store root, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;

    /// Checks that the store is reachable and exists, with an actionable error otherwise.
    async fn check(&self) -> Result<()>;
}

/// Checks that `key` is a relative, slash-separated path without empty, `.` or `..` segments,
/// so that it maps to the same object on every backend.
pub(crate) fn validate_key(key: &str) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return invalid("it is empty");
    }
    if key.contains('\0') || key.contains('\\') {
        return invalid("it contains a NUL or a backslash");
    }
    for segment in key.split('/') {
        match segment {
            "" => return invalid("it has an empty segment (leading, trailing or double `/`)"),
            "." | ".." => return invalid("it has a `.` or `..` segment"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_key;

    #[test]
    fn accepts_nested_relative_keys() {
        assert!(validate_key("c.example.com/pki/ssh/public/admin/ab:cd").is_ok());
    }

    #[test]
    fn rejects_paths_that_escape_or_are_ambiguous() {
        for key in ["", "/abs", "a//b", "a/", "../x", "a/./b", "a\\b"] {
            assert!(validate_key(key).is_err(), "{key:?} should be rejected");
        }
    }
}
