//! Which Kubernetes version a cluster may be upgraded to: forward only, one minor release at a
//! time, inside Berth's supported range. Pure: `berth upgrade cluster` reads and writes the
//! spec; this module only decides.

use crate::version::{
    DEFAULT_KUBERNETES_VERSION, KubernetesVersion, MAX_KUBERNETES_MINOR, MIN_KUBERNETES_VERSION,
};

/// What an upgrade request comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradePlan {
    /// The spec already names the target version.
    UpToDate(KubernetesVersion),
    /// The spec moves from one version to the other.
    Upgrade {
        /// The version the spec names now.
        from: KubernetesVersion,
        /// The version it will name.
        to: KubernetesVersion,
    },
}

/// Why an upgrade is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeError {
    /// The requested version does not parse.
    #[error("`--kubernetes-version`: {0}")]
    Parse(#[from] crate::version::ParseKubernetesVersionError),
    /// The requested version is outside the supported range.
    #[error(
        "Kubernetes {to} is not supported by berth (supported: {MIN_KUBERNETES_VERSION} up to any \
         {MAX_KUBERNETES_MINOR}.x release)"
    )]
    Unsupported {
        /// The requested version.
        to: KubernetesVersion,
    },
    /// The requested version is older than the cluster's.
    #[error(
        "the cluster runs Kubernetes {from}; downgrading to {to} is not supported (etcd data and \
         API objects written by a newer version may not be readable by an older one)"
    )]
    Downgrade {
        /// The current version.
        from: KubernetesVersion,
        /// The requested version.
        to: KubernetesVersion,
    },
    /// The requested version skips a minor release.
    #[error(
        "Kubernetes upgrades go one minor release at a time: the cluster runs {from}, so upgrade \
         to {next} first (`--kubernetes-version {next}`), roll it out, then to {to}"
    )]
    SkipsMinor {
        /// The current version.
        from: KubernetesVersion,
        /// The next minor release.
        next: KubernetesVersion,
        /// The requested version.
        to: KubernetesVersion,
    },
    /// No version was requested and the cluster is on the newest supported minor release.
    #[error(
        "the cluster runs Kubernetes {from}, the newest minor release berth supports; name a \
         newer patch release with `--kubernetes-version`"
    )]
    NoNewerMinor {
        /// The current version.
        from: KubernetesVersion,
    },
}

/// Plans the upgrade of a cluster at `current` (the spec's `kubernetesVersion`; `None`: the
/// default) to `requested`, or by default to the `.0` release of the next minor version.
///
/// # Errors
/// See [`UpgradeError`].
pub fn plan_upgrade(
    current: Option<&str>,
    requested: Option<&str>,
) -> Result<UpgradePlan, UpgradeError> {
    let from: KubernetesVersion = current.unwrap_or(DEFAULT_KUBERNETES_VERSION).parse()?;
    let next_minor: KubernetesVersion = format!(
        "{}.{}.0",
        from.as_semver().major,
        from.as_semver().minor + 1
    )
    .parse()?;
    let to: KubernetesVersion = match requested {
        Some(text) => text.parse()?,
        None if next_minor.is_supported() => next_minor.clone(),
        None => return Err(UpgradeError::NoNewerMinor { from }),
    };
    if !to.is_supported() {
        return Err(UpgradeError::Unsupported { to });
    }
    if to < from {
        return Err(UpgradeError::Downgrade { from, to });
    }
    if to == from {
        return Ok(UpgradePlan::UpToDate(from));
    }
    let (old, new) = (from.as_semver(), to.as_semver());
    if new.major != old.major || new.minor > old.minor + 1 {
        return Err(UpgradeError::SkipsMinor {
            from,
            next: next_minor,
            to,
        });
    }
    Ok(UpgradePlan::Upgrade { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> KubernetesVersion {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_target_is_the_next_minor_release() {
        assert_eq!(
            plan_upgrade(Some("1.34.2"), None),
            Ok(UpgradePlan::Upgrade {
                from: version("1.34.2"),
                to: version("1.35.0")
            })
        );
    }

    #[test]
    fn patch_releases_and_the_next_minor_are_allowed() {
        assert!(matches!(
            plan_upgrade(Some("v1.35.0"), Some("1.35.4")),
            Ok(UpgradePlan::Upgrade { .. })
        ));
        assert!(matches!(
            plan_upgrade(Some("1.35.4"), Some("v1.36.1")),
            Ok(UpgradePlan::Upgrade { .. })
        ));
        assert_eq!(
            plan_upgrade(Some("1.36.1"), Some("1.36.1")),
            Ok(UpgradePlan::UpToDate(version("1.36.1")))
        );
    }

    #[test]
    fn skips_downgrades_and_unsupported_versions_are_refused_with_the_way_forward() {
        let skip = plan_upgrade(Some("1.33.1"), Some("1.35.0")).unwrap_err();
        assert!(
            skip.to_string().contains("upgrade to v1.34.0 first"),
            "{skip}"
        );
        let down = plan_upgrade(Some("1.35.1"), Some("1.35.0")).unwrap_err();
        assert!(matches!(down, UpgradeError::Downgrade { .. }), "{down}");
        let beyond = plan_upgrade(Some("1.36.0"), Some("1.37.0")).unwrap_err();
        assert!(
            matches!(beyond, UpgradeError::Unsupported { .. }),
            "{beyond}"
        );
        let newest = plan_upgrade(Some("1.36.0"), None).unwrap_err();
        assert!(
            matches!(newest, UpgradeError::NoNewerMinor { .. }),
            "{newest}"
        );
        assert!(matches!(
            plan_upgrade(Some("1.36.0"), Some("one")),
            Err(UpgradeError::Parse(_))
        ));
    }
}
