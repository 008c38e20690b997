//! `berth validate cluster`: whether a cluster's nodes and system pods match its instance
//! groups.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::{kube_api::KubeApiArgs, rolling_update::parse_duration};

/// `berth validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(subcommand)]
    pub(crate) command: ValidateCommand,
}

/// The nouns of `berth validate`.
#[derive(Debug, Subcommand)]
pub(crate) enum ValidateCommand {
    /// Check that every instance group's instances joined as Ready nodes and that the
    /// control-plane and critical kube-system pods run. Exits 0 only when the cluster is valid.
    Cluster(ValidateClusterArgs),
}

/// `berth validate cluster [NAME]`.
#[derive(Debug, Args)]
pub(crate) struct ValidateClusterArgs {
    /// The cluster (default: --name).
    pub(crate) cluster: Option<String>,
    /// Keep validating until the cluster is valid or this much time has passed, e.g. `10m`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) wait: Option<Duration>,
    /// The pause between two validations while waiting.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub(crate) interval: Duration,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ValidateFormat::Table)]
    pub(crate) output: ValidateFormat,
    #[command(flatten)]
    pub(crate) api: KubeApiArgs,
}

/// `validate cluster -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ValidateFormat {
    /// Tables of instance groups and failures.
    Table,
    /// One JSON document.
    Json,
}
