//! The Kubernetes minor version, for the few flags and images that depend on it.

use super::PlanError;

/// `major.minor` of the cluster's Kubernetes version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinorVersion {
    /// Major version (1).
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl MinorVersion {
    /// Parses `1.32.3` (a leading `v` is accepted).
    ///
    /// # Errors
    /// [`PlanError::InvalidField`] when it is not `major.minor.patch`.
    pub fn parse(version: &str) -> Result<Self, PlanError> {
        let invalid = || PlanError::InvalidField {
            field: "kubernetesVersion",
            problem: format!("`{version}` is not a `major.minor.patch` version"),
        };
        let mut parts = version.trim_start_matches('v').split('.');
        let mut number = || -> Result<u32, PlanError> {
            parts
                .next()
                .and_then(|part| part.parse().ok())
                .ok_or_else(invalid)
        };
        let major = number()?;
        let minor = number()?;
        number()?;
        Ok(Self { major, minor })
    }

    /// Whether this is at least `major.minor`.
    #[must_use]
    pub fn is_at_least(self, major: u32, minor: u32) -> bool {
        self >= Self { major, minor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares() {
        let version = MinorVersion::parse("v1.32.3").unwrap();
        assert!(version.is_at_least(1, 31));
        assert!(!version.is_at_least(1, 33));
        assert!(MinorVersion::parse("1.32").is_err());
        assert!(MinorVersion::parse("latest").is_err());
    }
}
