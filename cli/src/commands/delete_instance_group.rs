//! `berth delete instancegroup NAME [--yes]`: remove a group from the spec.
//!
//! Refused when the cluster would not validate without it (the last control-plane group, a
//! group that etcd members live on). Without `--yes` it only says what it would do.

use crate::{
    args::{DeleteInstanceGroupArgs, GlobalArgs},
    commands::store,
    error::CommandError,
    exit_status::ExitStatus,
    printer, settings,
};

/// Runs `berth delete instancegroup`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &DeleteInstanceGroupArgs,
) -> anyhow::Result<ExitStatus> {
    let specs = store::open_cluster(global, &settings::cluster_name(None, global)?).await?;
    let cluster = specs.cluster().await?;
    let (target, remaining) = specs
        .instance_group_and_others(&args.instance_group)
        .await?;
    berth_model::validate::validate(&cluster.value, &remaining).map_err(|errors| {
        anyhow::Error::new(errors).context(CommandError::DeleteBreaksCluster {
            instance_group: args.instance_group.clone(),
        })
    })?;
    if !args.yes {
        printer::note(&format!(
            "Would delete instance group `{}` ({}) from cluster `{}`.\nRun again with --yes to delete it.",
            args.instance_group,
            target.value.spec.role,
            specs.cluster_name()
        ));
        return Ok(ExitStatus::Success);
    }
    let key = specs.keys().instance_group(&args.instance_group);
    specs.store().delete(&key, Some(target.etag)).await?;
    printer::note(&format!(
        "Deleted instance group `{}` from the spec of cluster `{}`.",
        args.instance_group,
        specs.cluster_name()
    ));
    Ok(ExitStatus::Success)
}
