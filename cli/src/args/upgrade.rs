//! `berth upgrade cluster`: move a cluster's spec to a newer Kubernetes version.

use clap::{Args, Subcommand};

/// `berth upgrade`.
#[derive(Debug, Args)]
pub(crate) struct UpgradeArgs {
    #[command(subcommand)]
    pub(crate) command: UpgradeCommand,
}

/// The nouns of `berth upgrade`.
#[derive(Debug, Subcommand)]
pub(crate) enum UpgradeCommand {
    /// Set the cluster spec's Kubernetes version to a newer release (one minor at a time);
    /// `update cluster --yes` and `rolling-update cluster --yes` then roll it out.
    Cluster(UpgradeClusterArgs),
}

/// `berth upgrade cluster [NAME]`.
#[derive(Debug, Args)]
pub(crate) struct UpgradeClusterArgs {
    /// The cluster (default: --name).
    pub(crate) cluster: Option<String>,
    /// The version to move to (default: the next minor release, e.g. 1.35.4 → 1.36.0).
    #[arg(long, value_name = "VERSION")]
    pub(crate) kubernetes_version: Option<String>,
    /// Write the new version to the spec; without this the command only shows the change.
    #[arg(long, short)]
    pub(crate) yes: bool,
}
