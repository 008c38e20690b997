//! `berth replace -f FILE [--force]`: overwrite spec objects with the file's, atomically.
//!
//! Every object is replaced only if it is still what was read (ETag), and the whole result
//! (the cluster with all its instance groups, replaced or not) must validate first.

use crate::{
    args::{GlobalArgs, ReplaceArgs},
    commands::{input, new_cluster, store},
    error::CommandError,
    exit_status::ExitStatus,
    printer,
};

/// Runs `berth replace`.
pub(crate) async fn run(global: &GlobalArgs, args: &ReplaceArgs) -> anyhow::Result<ExitStatus> {
    let input = input::read(&args.file, global)?;
    let specs = store::open_cluster(global, &input.cluster_name).await?;
    let stored_cluster = specs.find_cluster().await?;

    let Some(stored_cluster) = stored_cluster else {
        // Nothing to replace: only --force with a Cluster document may create it.
        let (Some(cluster), true) = (&input.cluster, args.force) else {
            return Err(specs.cluster().await.err().unwrap_or_else(|| {
                anyhow::anyhow!("cluster `{}` appeared while reading it", input.cluster_name)
            }));
        };
        berth_model::validate::validate(cluster, &input.instance_groups)?;
        new_cluster::write(&specs, cluster, &input.instance_groups, None).await?;
        printer::note(&format!(
            "Created cluster `{}` (--force).",
            input.cluster_name
        ));
        return Ok(ExitStatus::Success);
    };

    let stored_groups = specs.instance_groups().await?;
    for group in &input.instance_groups {
        let exists = stored_groups
            .iter()
            .any(|stored| stored.value.metadata.name == group.metadata.name);
        if !exists && !args.force {
            return Err(CommandError::InstanceGroupNotFound {
                instance_group: group.metadata.name.clone(),
                cluster: input.cluster_name.clone(),
            }
            .into());
        }
    }
    let cluster = input
        .cluster
        .clone()
        .unwrap_or_else(|| stored_cluster.value.clone());
    let mut groups: Vec<_> = stored_groups
        .iter()
        .filter(|stored| {
            !input
                .instance_groups
                .iter()
                .any(|group| group.metadata.name == stored.value.metadata.name)
        })
        .map(|stored| stored.value.clone())
        .collect();
    groups.extend(input.instance_groups.iter().cloned());
    berth_model::validate::validate(&cluster, &groups)?;

    let keys = specs.keys().clone();
    let mut changed = 0;
    specs
        .batch()
        .run(async |batch| {
            for group in &input.instance_groups {
                let key = keys.instance_group(&group.metadata.name);
                let yaml = berth_model::instance_group_to_yaml(group)?.into_bytes();
                match stored_groups
                    .iter()
                    .find(|stored| stored.value.metadata.name == group.metadata.name)
                {
                    Some(stored) => {
                        batch
                            .replace(key, yaml, stored.etag.clone(), stored.bytes.clone())
                            .await?;
                    }
                    None => batch.create(key, yaml).await?,
                }
                changed += 1;
            }
            if let Some(cluster) = &input.cluster {
                let yaml = berth_model::cluster_to_yaml(cluster)?.into_bytes();
                let previous = stored_cluster.bytes.clone();
                batch
                    .replace(keys.config(), yaml, stored_cluster.etag.clone(), previous)
                    .await?;
                changed += 1;
            }
            Ok(())
        })
        .await?;
    printer::note(&format!(
        "Replaced {changed} objects of cluster `{}`.",
        input.cluster_name
    ));
    Ok(ExitStatus::Success)
}
