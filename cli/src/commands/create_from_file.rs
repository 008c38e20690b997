//! `berth create -f FILE`: add a cluster and/or instance groups from kops-format YAML.

use crate::{
    args::GlobalArgs,
    commands::{input, new_cluster, store},
    error::CommandError,
    exit_status::ExitStatus,
    printer,
};

/// Runs `berth create -f`.
pub(crate) async fn run(global: &GlobalArgs, file: &str) -> anyhow::Result<ExitStatus> {
    let input = input::read(file, global)?;
    let specs = store::open_cluster(global, &input.cluster_name).await?;
    if let Some(cluster) = &input.cluster {
        berth_model::validate::validate(cluster, &input.instance_groups)?;
        new_cluster::write(&specs, cluster, &input.instance_groups, None).await?;
        printer::note(&format!(
            "Created cluster `{}` with {} instance groups from {}.",
            input.cluster_name,
            input.instance_groups.len(),
            input.source_name
        ));
        return Ok(ExitStatus::Success);
    }
    let cluster = specs.cluster().await?;
    let existing = specs.instance_groups().await?;
    for group in &input.instance_groups {
        if existing
            .iter()
            .any(|known| known.value.metadata.name == group.metadata.name)
        {
            return Err(CommandError::InstanceGroupExists {
                instance_group: group.metadata.name.clone(),
                cluster: input.cluster_name.clone(),
            }
            .into());
        }
    }
    let mut all: Vec<_> = existing.into_iter().map(|group| group.value).collect();
    all.extend(input.instance_groups.iter().cloned());
    berth_model::validate::validate(&cluster.value, &all)?;
    specs
        .batch()
        .run(async |batch| {
            for group in &input.instance_groups {
                batch.create_instance_group(group).await?;
            }
            Ok(())
        })
        .await?;
    printer::note(&format!(
        "Created {} instance groups in cluster `{}`.",
        input.instance_groups.len(),
        input.cluster_name
    ));
    Ok(ExitStatus::Success)
}
