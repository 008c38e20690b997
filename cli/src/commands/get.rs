//! `berth get clusters|instancegroups|all`: read the spec back as a table, YAML or JSON.

use berth_model::{Cluster, Document, InstanceGroup};

use crate::{
    args::{GlobalArgs, OutputFormat},
    commands::store,
    error::CommandError,
    exit_status::ExitStatus,
    printer, settings,
    spec_store::SpecStore,
};

/// `berth get clusters [NAME…]`.
pub(crate) async fn clusters(
    global: &GlobalArgs,
    names: &[String],
    output: OutputFormat,
) -> anyhow::Result<ExitStatus> {
    let store = store::open(global).await?;
    let names = if names.is_empty() {
        berth_state_store::layout::list_clusters(store.as_ref()).await?
    } else {
        names.to_vec()
    };
    let mut clusters = Vec::new();
    for name in &names {
        clusters.push(SpecStore::new(store.clone(), name).cluster().await?.value);
    }
    let text = match output {
        OutputFormat::Table => cluster_table(&clusters),
        OutputFormat::Yaml => {
            let documents: Vec<_> = clusters.into_iter().map(Document::Cluster).collect();
            berth_model::to_yaml(&documents)?
        }
        OutputFormat::Json => {
            format!("{}\n", serde_json::to_string_pretty(&clusters)?)
        }
    };
    printer::stdout(&text)?;
    Ok(ExitStatus::Success)
}

/// `berth get instancegroups [NAME…]`.
pub(crate) async fn instance_groups(
    global: &GlobalArgs,
    names: &[String],
    output: OutputFormat,
) -> anyhow::Result<ExitStatus> {
    let specs = store::open_cluster(global, &settings::cluster_name(None, global)?).await?;
    // Reading the cluster first turns a wrong name into "cluster not found", not an empty list.
    specs.cluster().await?;
    let mut groups = specs.instance_group_values().await?;
    if !names.is_empty() {
        for name in names {
            if !groups.iter().any(|group| &group.metadata.name == name) {
                return Err(CommandError::InstanceGroupNotFound {
                    instance_group: name.clone(),
                    cluster: specs.cluster_name().to_owned(),
                }
                .into());
            }
        }
        groups.retain(|group| names.contains(&group.metadata.name));
    }
    let text = match output {
        OutputFormat::Table => instance_group_table(&groups),
        OutputFormat::Yaml => yaml(None, &groups)?,
        OutputFormat::Json => json(None, &groups)?,
    };
    printer::stdout(&text)?;
    Ok(ExitStatus::Success)
}

/// `berth get all`: the cluster and its instance groups.
pub(crate) async fn all(global: &GlobalArgs, output: OutputFormat) -> anyhow::Result<ExitStatus> {
    let specs = store::open_cluster(global, &settings::cluster_name(None, global)?).await?;
    let cluster = specs.cluster().await?.value;
    let groups = specs.instance_group_values().await?;
    let text = match output {
        OutputFormat::Table => format!(
            "{}\n{}",
            cluster_table(std::slice::from_ref(&cluster)),
            instance_group_table(&groups)
        ),
        OutputFormat::Yaml => yaml(Some(&cluster), &groups)?,
        OutputFormat::Json => json(Some(&cluster), &groups)?,
    };
    printer::stdout(&text)?;
    Ok(ExitStatus::Success)
}

/// Multi-document YAML: the cluster (if any) first, then the groups.
pub(crate) fn yaml(cluster: Option<&Cluster>, groups: &[InstanceGroup]) -> anyhow::Result<String> {
    let mut documents: Vec<Document> = cluster
        .cloned()
        .map(Document::Cluster)
        .into_iter()
        .collect();
    documents.extend(groups.iter().cloned().map(Document::InstanceGroup));
    Ok(berth_model::to_yaml(&documents)?)
}

/// A JSON array of the cluster (if any) and the groups, as Kubernetes-style objects.
pub(crate) fn json(cluster: Option<&Cluster>, groups: &[InstanceGroup]) -> anyhow::Result<String> {
    let mut values = Vec::new();
    if let Some(cluster) = cluster {
        values.push(serde_json::to_value(cluster)?);
    }
    for group in groups {
        values.push(serde_json::to_value(group)?);
    }
    Ok(format!("{}\n", serde_json::to_string_pretty(&values)?))
}

fn cluster_table(clusters: &[Cluster]) -> String {
    let rows: Vec<Vec<String>> = clusters
        .iter()
        .map(|cluster| {
            vec![
                cluster.metadata.name.clone(),
                cluster.spec.kubernetes_version.clone().unwrap_or_default(),
                cluster_zones(cluster).join(","),
            ]
        })
        .collect();
    printer::table(&["NAME", "KUBERNETES", "ZONES"], &rows)
}

fn cluster_zones(cluster: &Cluster) -> Vec<String> {
    let mut zones: Vec<String> = cluster
        .spec
        .subnets
        .iter()
        .map(|subnet| subnet.zone.clone())
        .filter(|zone| !zone.is_empty())
        .collect();
    zones.sort();
    zones.dedup();
    zones
}

fn instance_group_table(groups: &[InstanceGroup]) -> String {
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|group| {
            let spec = &group.spec;
            vec![
                group.metadata.name.clone(),
                spec.role.to_string(),
                spec.machine_type.clone().unwrap_or_default(),
                spec.min_size
                    .map(|size| size.to_string())
                    .unwrap_or_default(),
                spec.max_size
                    .map(|size| size.to_string())
                    .unwrap_or_default(),
                spec.subnets.join(","),
            ]
        })
        .collect();
    printer::table(
        &["NAME", "ROLE", "MACHINETYPE", "MIN", "MAX", "SUBNETS"],
        &rows,
    )
}
