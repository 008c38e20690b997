//! `berth edit …`: which spec object to open in $EDITOR.

use clap::{Args, Subcommand};

/// `berth edit`.
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    #[command(subcommand)]
    pub(crate) command: EditCommand,
}

/// The nouns of `berth edit`.
#[derive(Debug, Subcommand)]
pub(crate) enum EditCommand {
    /// Edit the Cluster document.
    Cluster {
        /// The cluster (default: --name).
        cluster: Option<String>,
    },
    /// Edit one InstanceGroup document.
    #[command(visible_aliases = ["ig", "instancegroups"])]
    Instancegroup {
        /// The instance group.
        instance_group: String,
    },
}
