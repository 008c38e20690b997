//! One module per command; each returns an [`ExitStatus`] and never sees clap's parser.

mod create_cluster;
mod create_from_file;
mod delete_cluster;
mod delete_instance_group;
mod edit;
mod export_kubeconfig;
mod get;
mod input;
mod new_cluster;
mod replace;
mod rolling_update;
mod schema;
mod secrets;
mod store;
mod update_cluster;
mod upgrade_cluster;
mod validate_cluster;

use crate::{
    args::{
        Cli, Command, CreateCommand, DeleteCommand, ExportCommand, GetCommand,
        RollingUpdateCommand, SecretCommand, UpdateCommand, UpgradeCommand, ValidateCommand,
    },
    exit_status::ExitStatus,
};

/// Runs the parsed command line.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let global = &cli.global;
    match cli.command {
        Command::Create(create) => match (create.command, create.file) {
            (Some(CreateCommand::Cluster(args)), _) => create_cluster::run(global, &args).await,
            (Some(CreateCommand::Secret(secret)), _) => match secret.command {
                SecretCommand::Sshpublickey(args) => {
                    secrets::create_ssh_public_key(global, &args).await
                }
            },
            (None, Some(file)) => create_from_file::run(global, &file).await,
            (None, None) => Err(anyhow::anyhow!(
                "`berth create` needs `-f FILE` or a noun: `berth create cluster NAME --zones ZONE`"
            )),
        },
        Command::Replace(args) => replace::run(global, &args).await,
        Command::Get(get) => match get.command {
            GetCommand::Clusters { clusters, output } => {
                get::clusters(global, &clusters, output).await
            }
            GetCommand::Instancegroups {
                instance_groups,
                output,
            } => get::instance_groups(global, &instance_groups, output).await,
            GetCommand::All { output } => get::all(global, output).await,
            GetCommand::Secrets { output } => secrets::list(global, output).await,
        },
        Command::Update(update) => match update.command {
            UpdateCommand::Cluster(args) => update_cluster::run(global, &args).await,
        },
        Command::RollingUpdate(rolling) => match rolling.command {
            RollingUpdateCommand::Cluster(args) => rolling_update::run(global, &args).await,
        },
        Command::Upgrade(upgrade) => match upgrade.command {
            UpgradeCommand::Cluster(args) => upgrade_cluster::run(global, &args).await,
        },
        Command::Validate(validate) => match validate.command {
            ValidateCommand::Cluster(args) => validate_cluster::run(global, &args).await,
        },
        Command::Edit(edit) => edit::run(global, &edit.command).await,
        Command::Delete(delete) => match delete.command {
            DeleteCommand::Instancegroup(args) => delete_instance_group::run(global, &args).await,
            DeleteCommand::Cluster(args) => delete_cluster::run(global, &args).await,
        },
        Command::Export(export) => match export.command {
            ExportCommand::Kubeconfig(args) => export_kubeconfig::run(global, &args).await,
        },
        Command::Schema(args) => schema::run(args.kind),
    }
}
