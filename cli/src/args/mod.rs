//! The command line as clap sees it: global flags and the verb/noun tree.
//!
//! Nothing here runs anything; [`crate::settings`] turns these into resolved settings and
//! [`crate::commands`] does the work.

mod create;
mod edit;
mod export;
mod get;
mod kube_api;
mod rolling_update;
mod update;
mod upgrade;
mod validate;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) use create::{
    CreateArgs, CreateClusterArgs, CreateCommand, DnsArg, DryRunFormat, LoadBalancerArg,
    SecretCommand, SshPublicKeyArgs, TopologyArg,
};
pub(crate) use edit::{EditArgs, EditCommand};
pub(crate) use export::{ExportArgs, ExportCommand, ExportKubeconfigArgs};
pub(crate) use get::{GetArgs, GetCommand};
pub(crate) use rolling_update::{
    RoleArg, RollingUpdateArgs, RollingUpdateClusterArgs, RollingUpdateCommand,
};
pub(crate) use update::{PlanFormat, Target, UpdateArgs, UpdateClusterArgs, UpdateCommand};
pub(crate) use upgrade::{UpgradeArgs, UpgradeClusterArgs, UpgradeCommand};
pub(crate) use validate::{ValidateArgs, ValidateClusterArgs, ValidateCommand, ValidateFormat};

use crate::env_vars::{BERTH_CLUSTER_NAME, BERTH_STATE_STORE};

/// Berth creates, upgrades and deletes production Kubernetes clusters on AWS.
///
/// A cluster is a kops-format spec (a Cluster and its InstanceGroups) kept in a state store:
/// an S3 bucket (`s3://bucket/prefix`) or a local directory (`file:///path`).
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command understands.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Where cluster specs live: `s3://bucket/prefix` or `file:///path`.
    ///
    /// Defaults to a local directory under the user's data directory.
    #[arg(long, global = true, env = BERTH_STATE_STORE, value_name = "URL")]
    pub(crate) state: Option<String>,
    /// The cluster to act on (where the command takes no positional name).
    #[arg(long, global = true, env = BERTH_CLUSTER_NAME, value_name = "CLUSTER")]
    pub(crate) name: Option<String>,
    /// More log output on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a cluster spec, resources from a file, or a secret.
    Create(CreateArgs),
    /// Replace resources in the state store with the ones in a file.
    Replace(ReplaceArgs),
    /// Show clusters, instance groups or secrets.
    Get(GetArgs),
    /// Edit a cluster or instance group spec in $EDITOR.
    Edit(EditArgs),
    /// Make the cloud match the spec.
    Update(UpdateArgs),
    /// Replace instances that run an outdated launch template.
    #[command(name = "rolling-update")]
    RollingUpdate(RollingUpdateArgs),
    /// Check that a cluster's nodes and system pods match its instance groups.
    Validate(ValidateArgs),
    /// Move a cluster's spec to a newer Kubernetes version.
    Upgrade(UpgradeArgs),
    /// Delete a cluster, or an instance group from the spec.
    Delete(DeleteArgs),
    /// Write credentials for a cluster's Kubernetes API to a kubeconfig.
    Export(ExportArgs),
    /// Print the JSON Schema of the Cluster and InstanceGroup kinds.
    Schema(SchemaArgs),
}

/// `berth replace -f FILE`.
#[derive(Debug, Args)]
pub(crate) struct ReplaceArgs {
    /// A YAML file with Cluster and/or InstanceGroup documents (`-` for stdin).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub(crate) file: String,
    /// Create what does not exist yet instead of failing.
    #[arg(long)]
    pub(crate) force: bool,
}

/// `berth delete …`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    #[command(subcommand)]
    pub(crate) command: DeleteCommand,
}

/// What `berth delete` removes.
#[derive(Debug, Subcommand)]
pub(crate) enum DeleteCommand {
    /// Delete an instance group from the cluster spec.
    #[command(visible_aliases = ["ig", "instancegroups"])]
    Instancegroup(DeleteInstanceGroupArgs),
    /// Delete a cluster: everything it owns in AWS, then its objects in the state store.
    Cluster(DeleteClusterArgs),
}

/// `berth delete cluster [NAME] [--yes]`.
#[derive(Debug, Args)]
pub(crate) struct DeleteClusterArgs {
    /// The cluster (default: --name). Needed even when its spec is already gone.
    pub(crate) cluster: Option<String>,
    /// Really delete; without this the command only lists what it would delete.
    #[arg(long, short)]
    pub(crate) yes: bool,
    /// How to list the resources.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub(crate) output: ListFormat,
}

/// Formats of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    /// Aligned columns for people.
    Table,
    /// JSON.
    Json,
}

/// `berth delete instancegroup NAME`.
#[derive(Debug, Args)]
pub(crate) struct DeleteInstanceGroupArgs {
    /// The instance group to delete.
    pub(crate) instance_group: String,
    /// Really delete it; without this the command only says what it would delete.
    #[arg(long, short)]
    pub(crate) yes: bool,
}

/// `berth schema`.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Which kind's schema to print.
    #[arg(long, value_enum, default_value_t = SchemaKind::All)]
    pub(crate) kind: SchemaKind,
}

/// The kinds `berth schema` can print.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SchemaKind {
    /// One schema accepting either kind (for editors).
    All,
    /// The Cluster kind.
    Cluster,
    /// The InstanceGroup kind.
    Instancegroup,
}

/// Output formats of the read commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// kops-format YAML documents.
    Yaml,
    /// JSON.
    Json,
}
