//! `berth get …`: what can be listed and in which format.

use clap::{Args, Subcommand};

use super::OutputFormat;

/// `berth get`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    #[command(subcommand)]
    pub(crate) command: GetCommand,
}

/// The nouns of `berth get`.
#[derive(Debug, Subcommand)]
pub(crate) enum GetCommand {
    /// List clusters in the store, or show some.
    #[command(visible_alias = "cluster")]
    Clusters {
        /// Clusters to show (default: all).
        clusters: Vec<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// List a cluster's instance groups, or show some.
    #[command(visible_aliases = ["instancegroup", "ig"])]
    Instancegroups {
        /// Instance groups to show (default: all).
        instance_groups: Vec<String>,
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// The cluster and all its instance groups.
    All {
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// List a cluster's secrets and keypairs: names and types, never values.
    #[command(visible_alias = "secret")]
    Secrets {
        /// Output format (table or json).
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
}
