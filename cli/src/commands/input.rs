//! Reading `-f FILE` input: the documents, and which cluster they belong to.

use std::io::Read as _;

use berth_model::{Cluster, Document, InstanceGroup};

use crate::{args::GlobalArgs, error::CommandError};

/// The label kops puts on an InstanceGroup to name its cluster.
pub(crate) const CLUSTER_LABEL: &str = "kops.k8s.io/cluster";

/// The documents of one input file, all for one cluster.
#[derive(Debug)]
pub(crate) struct InputDocuments {
    pub(crate) source_name: String,
    pub(crate) cluster_name: String,
    pub(crate) cluster: Option<Cluster>,
    pub(crate) instance_groups: Vec<InstanceGroup>,
}

/// Reads and parses `file` (`-` is stdin) and works out the cluster it is for.
///
/// InstanceGroups without the cluster label get it, as kops does.
pub(crate) fn read(file: &str, global: &GlobalArgs) -> anyhow::Result<InputDocuments> {
    let (source_name, text) = read_text(file)?;
    let documents = berth_model::parse_documents(&text, &source_name)?;
    let mut cluster = None;
    let mut instance_groups: Vec<InstanceGroup> = Vec::new();
    for document in documents {
        match document {
            Document::Cluster(found) => {
                if let Some(first) = &cluster {
                    let first: &Cluster = first;
                    return Err(if first.metadata.name == found.metadata.name {
                        CommandError::DuplicateDocument {
                            source_name,
                            kind: "Cluster",
                            name: found.metadata.name,
                        }
                    } else {
                        CommandError::MixedClusters {
                            source_name,
                            first: first.metadata.name.clone(),
                            second: found.metadata.name,
                        }
                    }
                    .into());
                }
                cluster = Some(found);
            }
            Document::InstanceGroup(group) => {
                if instance_groups
                    .iter()
                    .any(|seen| seen.metadata.name == group.metadata.name)
                {
                    return Err(CommandError::DuplicateDocument {
                        source_name,
                        kind: "InstanceGroup",
                        name: group.metadata.name,
                    }
                    .into());
                }
                instance_groups.push(group);
            }
        }
    }
    if cluster.is_none() && instance_groups.is_empty() {
        return Err(CommandError::NoDocuments { source_name }.into());
    }
    let cluster_name = cluster_name(&source_name, cluster.as_ref(), &instance_groups, global)?;
    for group in &mut instance_groups {
        group
            .metadata
            .labels
            .entry(CLUSTER_LABEL.to_owned())
            .or_insert_with(|| cluster_name.clone());
    }
    Ok(InputDocuments {
        source_name,
        cluster_name,
        cluster,
        instance_groups,
    })
}

fn read_text(file: &str) -> anyhow::Result<(String, String)> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|source| CommandError::ReadInput {
                path: "<stdin>".into(),
                source,
            })?;
        return Ok(("<stdin>".into(), text));
    }
    let text = std::fs::read_to_string(file).map_err(|source| CommandError::ReadInput {
        path: file.to_owned(),
        source,
    })?;
    Ok((file.to_owned(), text))
}

/// The one cluster the documents are for: the Cluster's name, the groups' labels, `--name`.
fn cluster_name(
    source_name: &str,
    cluster: Option<&Cluster>,
    instance_groups: &[InstanceGroup],
    global: &GlobalArgs,
) -> Result<String, CommandError> {
    let mut name: Option<String> = cluster.map(|cluster| cluster.metadata.name.clone());
    for group in instance_groups {
        let Some(label) = group.metadata.labels.get(CLUSTER_LABEL) else {
            continue;
        };
        match &name {
            Some(first) if first != label => {
                return Err(CommandError::MixedClusters {
                    source_name: source_name.to_owned(),
                    first: first.clone(),
                    second: label.clone(),
                });
            }
            _ => name = Some(label.clone()),
        }
    }
    if let Some(name) = name {
        return Ok(name);
    }
    global
        .name
        .clone()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| CommandError::InstanceGroupWithoutCluster {
            source_name: source_name.to_owned(),
            instance_group: instance_groups
                .first()
                .map(|group| group.metadata.name.clone())
                .unwrap_or_default(),
        })
}
