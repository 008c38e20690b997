//! Kubernetes versions and the range Berth supports.
//!
//! Berth supports Kubernetes 1.28 through 1.36, any patch release. A version is written
//! as `1.30.2` or `v1.30.2`; pre-release and build suffixes are accepted and compared
//! as semver does. [`KubernetesVersion`] displays with a leading `v`.

use std::{fmt, str::FromStr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Oldest supported Kubernetes version (inclusive).
pub const MIN_KUBERNETES_VERSION: &str = "1.28.0";
/// Newest supported Kubernetes minor release (inclusive, any patch).
pub const MAX_KUBERNETES_MINOR: &str = "1.36";
/// Version used when the spec or `create cluster` names none: the newest supported release.
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.36.0";

/// A parsed Kubernetes version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KubernetesVersion(semver::Version);

/// A Kubernetes version that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{value}` is not a Kubernetes version (expected MAJOR.MINOR.PATCH, e.g. 1.32.3): {reason}"
)]
pub struct ParseKubernetesVersionError {
    value: String,
    reason: String,
}

impl KubernetesVersion {
    /// The underlying semver version.
    #[must_use]
    pub fn as_semver(&self) -> &semver::Version {
        &self.0
    }

    /// Whether this version is inside Berth's supported range
    /// ([`MIN_KUBERNETES_VERSION`] up to any patch of [`MAX_KUBERNETES_MINOR`]).
    #[must_use]
    pub fn is_supported(&self) -> bool {
        let version = &self.0;
        version.major == 1 && (28..=36).contains(&version.minor)
    }
}

impl FromStr for KubernetesVersion {
    type Err = ParseKubernetesVersionError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let trimmed = value.strip_prefix('v').unwrap_or(value);
        semver::Version::parse(trimmed)
            .map(Self)
            .map_err(|error| ParseKubernetesVersionError {
                value: value.to_owned(),
                reason: error.to_string(),
            })
    }
}

impl TryFrom<String> for KubernetesVersion {
    type Error = ParseKubernetesVersionError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<KubernetesVersion> for String {
    fn from(version: KubernetesVersion) -> Self {
        version.to_string()
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl JsonSchema for KubernetesVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "KubernetesVersion".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$",
            "description": "Kubernetes version, e.g. 1.32.3 (a leading v is accepted); Berth supports 1.28 through 1.36."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_v() {
        let plain: KubernetesVersion = "1.30.2".parse().unwrap();
        let prefixed: KubernetesVersion = "v1.30.2".parse().unwrap();
        assert_eq!(plain, prefixed);
        assert_eq!(plain.to_string(), "v1.30.2");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "1.30", "latest", "vv1.30.0", "1.30.x"] {
            assert!(bad.parse::<KubernetesVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn supported_range_is_inclusive() {
        let supported = |v: &str| v.parse::<KubernetesVersion>().unwrap().is_supported();
        assert!(supported(MIN_KUBERNETES_VERSION));
        assert!(supported("1.36.99"));
        assert!(supported(DEFAULT_KUBERNETES_VERSION));
        assert!(!supported("1.27.16"));
        assert!(!supported("1.37.0"));
        assert!(!supported("2.28.0"));
    }

    #[test]
    fn serde_is_a_string() {
        let version: KubernetesVersion = serde_json::from_str("\"1.31.0\"").unwrap();
        assert_eq!(serde_json::to_string(&version).unwrap(), "\"v1.31.0\"");
    }
}
