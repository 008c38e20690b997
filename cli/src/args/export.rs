//! `berth export kubeconfig`: write credentials for a cluster's Kubernetes API.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Subcommand};

use super::{kube_api::KubeApiArgs, rolling_update::parse_duration};

/// How long `--admin` credentials last when no duration is given.
const DEFAULT_ADMIN_VALIDITY: &str = "18h";

/// `berth export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(subcommand)]
    pub(crate) command: ExportCommand,
}

/// The nouns of `berth export`.
#[derive(Debug, Subcommand)]
pub(crate) enum ExportCommand {
    /// Add a context for the cluster to your kubeconfig, with short-lived admin credentials.
    ///
    /// The cluster, user and context are named after the cluster and the context becomes the
    /// current one; other entries are kept. The file is the first path of `$KUBECONFIG`, else
    /// `~/.kube/config`, unless `--out` names a file to write a kubeconfig of its own to.
    Kubeconfig(ExportKubeconfigArgs),
}

/// `berth export kubeconfig [NAME] --admin[=DURATION]`.
#[derive(Debug, Args)]
pub(crate) struct ExportKubeconfigArgs {
    /// The cluster (default: --name).
    pub(crate) cluster: Option<String>,
    /// Issue a cluster-admin client certificate valid this long (`--admin` alone: 18h;
    /// `--admin=1h`). Required: admin credentials are the only kind Berth exports.
    #[arg(
        long,
        value_name = "DURATION",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = DEFAULT_ADMIN_VALIDITY,
        value_parser = parse_duration
    )]
    pub(crate) admin: Option<Duration>,
    /// Write a kubeconfig with only this cluster to FILE (replacing it) instead of merging
    /// into `$KUBECONFIG` or `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) api: KubeApiArgs,
}
