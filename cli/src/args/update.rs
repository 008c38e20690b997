//! `berth update cluster`: preview or apply the cloud changes the spec asks for.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `berth update`.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    #[command(subcommand)]
    pub(crate) command: UpdateCommand,
}

/// The nouns of `berth update`.
#[derive(Debug, Subcommand)]
pub(crate) enum UpdateCommand {
    /// Make the cloud match the cluster spec: show the plan, and with --yes apply it.
    Cluster(UpdateClusterArgs),
}

/// `berth update cluster [NAME]`.
#[derive(Debug, Args)]
pub(crate) struct UpdateClusterArgs {
    /// The cluster (default: --name).
    pub(crate) cluster: Option<String>,
    /// Apply the plan; without this the command only shows it.
    #[arg(long, short)]
    pub(crate) yes: bool,
    /// How to show the plan.
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Text)]
    pub(crate) output: PlanFormat,
    /// Exit with code 3 when the plan has changes (and nothing was applied), for CI.
    #[arg(long)]
    pub(crate) exit_code: bool,
    /// Where to apply: AWS directly, or Terraform JSON files written to --out.
    #[arg(long, value_enum, default_value_t = Target::Direct)]
    pub(crate) target: Target,
    /// The directory for `--target terraform`.
    #[arg(long, value_name = "DIR", required_if_eq("target", "terraform"))]
    pub(crate) out: Option<PathBuf>,
    /// How many AWS changes may be in flight at once.
    #[arg(long, default_value_t = berth_cloudup::engine::DEFAULT_CONCURRENCY)]
    pub(crate) concurrency: usize,
}

/// Plan formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanFormat {
    /// A field-level preview for people.
    Text,
    /// The plan as JSON.
    Json,
}

/// Targets of `update cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// Call AWS.
    Direct,
    /// Write `kubernetes.tf.json` and data files; call nothing that changes AWS.
    Terraform,
}
