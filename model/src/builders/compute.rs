//! Machines: the SSH key pair, and per instance group a launch template and an autoscaling
//! group, both named `<instance group>.<c>`.
//!
//! Instances get their role's security group and instance profile, the AMI resolved for
//! their image, the root volume and metadata settings of the completed spec, and the
//! bootstrap script as user data. Tags (on the template, and on the group, propagated to
//! instances) are the ownership tags, the cluster's and the group's `cloudLabels`, the role
//! tag `k8s.io/role/<role>=1` and `kops.k8s.io/instancegroup=<group>`. Control-plane groups
//! register with the API target group when there is one.

use std::collections::BTreeMap;

use super::{
    BuildContext, BuildError,
    context::{aws_int, missing, role},
    files::nodeup_config_key,
    iam::InstanceProfiles,
    lifetime, names,
    network::Network,
    security::SecurityGroups,
    user_data::UserData,
};
use crate::{
    InstanceGroup,
    aws::{AutoscalingGroup, Graph, KeyPair, LaunchTemplate, Ref, Tags, TargetGroup},
    complete::INSTANCE_GROUP_LABEL,
    nodeup_config::NodeRole,
};

/// What the compute builder needs from the builders before it.
#[derive(Debug, Clone, Copy)]
pub struct ComputeInputs<'a> {
    /// Subnets.
    pub network: &'a Network,
    /// Security groups.
    pub security: &'a SecurityGroups,
    /// Instance profiles.
    pub profiles: &'a InstanceProfiles,
    /// The API target group, with a load balancer.
    pub api_target_group: Option<&'a Ref<TargetGroup>>,
    /// Each group's nodeup config hash.
    pub config_hashes: &'a BTreeMap<String, String>,
}

/// Adds the key pair, launch templates and autoscaling groups.
///
/// # Errors
/// [`BuildError`] when an image is not resolved, a subnet is unknown, a value does not fit,
/// or the graph refuses a node.
pub fn build(
    context: &BuildContext,
    graph: &mut Graph,
    inputs: &ComputeInputs,
) -> Result<(), BuildError> {
    let key_pair = match &context.facts.ssh_public_key {
        Some(key) => {
            let name = format!("{}-{}", context.name(), key.fingerprint());
            Some(graph.add(KeyPair {
                tags: context.owned_tags(&name),
                name,
                public_key: key.text().trim_end().to_owned(),
            })?)
        }
        None => None,
    };
    for group in context.groups() {
        instance_group(context, graph, inputs, key_pair.as_ref(), group)?;
    }
    Ok(())
}

fn instance_group(
    context: &BuildContext,
    graph: &mut Graph,
    inputs: &ComputeInputs,
    key_pair: Option<&Ref<KeyPair>>,
    group: &InstanceGroup,
) -> Result<(), BuildError> {
    let group_name = &group.metadata.name;
    let spec = &group.spec;
    let node_role = role(group);
    let field = |name: &str| format!("instance group `{group_name}`: spec.{name}");
    let name = context.qualified(group_name);
    let tags = group_tags(context, group, node_role, &name);

    let image = spec.image.clone().ok_or_else(|| missing(&field("image")))?;
    let image_id =
        context
            .facts
            .images
            .get(&image)
            .cloned()
            .ok_or_else(|| BuildError::UnresolvedImage {
                instance_group: group_name.clone(),
                image: image.clone(),
            })?;
    let root = spec.root_volume.clone().unwrap_or_default();
    let metadata = spec.instance_metadata.clone().unwrap_or_default();
    let optional = |value: Option<u32>, name: &str| {
        value
            .map(|value| aws_int(value, || field(name)))
            .transpose()
    };
    let config_location = format!(
        "{}/{}",
        context.config_base()?.trim_end_matches('/'),
        nodeup_config_key(node_role.as_str(), group_name)
    );
    let config_hash = inputs
        .config_hashes
        .get(group_name)
        .map_or("", String::as_str);
    let user_data = UserData {
        nodeup: &context.facts.nodeup,
        config_location: &config_location,
        config_hash,
        cluster_name: context.name(),
        region: &context.facts.region,
    }
    .render();

    let launch_template = graph.add(LaunchTemplate {
        name: name.clone(),
        image_id,
        instance_type: spec
            .machine_type
            .clone()
            .ok_or_else(|| missing(&field("machineType")))?,
        root_volume_size: aws_int(
            root.size
                .ok_or_else(|| missing(&field("rootVolume.size")))?,
            || field("rootVolume.size"),
        )?,
        root_volume_type: root
            .volume_type
            .clone()
            .ok_or_else(|| missing(&field("rootVolume.type")))?,
        root_volume_encrypted: root.encryption.unwrap_or(true),
        root_volume_iops: optional(root.iops, "rootVolume.iops")?,
        root_volume_throughput: optional(root.throughput, "rootVolume.throughput")?,
        metadata_http_tokens: metadata
            .http_tokens
            .unwrap_or_else(|| "required".to_owned()),
        metadata_hop_limit: aws_int(metadata.http_put_response_hop_limit.unwrap_or(1), || {
            field("instanceMetadata.httpPutResponseHopLimit")
        })?,
        security_groups: vec![inputs.security.for_role(node_role)?.clone()],
        instance_profile: inputs.profiles.for_role(node_role)?.clone(),
        key_pair: key_pair.cloned(),
        associate_public_ip: node_role == NodeRole::Bastion
            || spec.associate_public_ip.unwrap_or(false),
        user_data,
        tags: tags.clone(),
    })?;

    if spec.subnets.is_empty() {
        return Err(BuildError::NoSubnets {
            instance_group: group_name.clone(),
        });
    }
    let subnets =
        spec.subnets
            .iter()
            .map(|subnet| {
                inputs.network.subnets.get(subnet).cloned().ok_or_else(|| {
                    BuildError::UnknownSubnet {
                        instance_group: group_name.clone(),
                        subnet: subnet.clone(),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
    let target_groups = match (inputs.api_target_group, node_role) {
        (Some(target_group), NodeRole::ControlPlane) => vec![target_group.clone()],
        _ => Vec::new(),
    };
    graph.add(AutoscalingGroup {
        name,
        launch_template,
        subnets,
        min_size: aws_int(
            spec.min_size.ok_or_else(|| missing(&field("minSize")))?,
            || field("minSize"),
        )?,
        max_size: aws_int(
            spec.max_size.ok_or_else(|| missing(&field("maxSize")))?,
            || field("maxSize"),
        )?,
        target_groups,
        max_instance_lifetime: spec
            .max_instance_lifetime
            .as_deref()
            .map(|text| lifetime::seconds(text, &field("maxInstanceLifetime")))
            .transpose()?,
        tags,
    })?;
    Ok(())
}

fn group_tags(
    context: &BuildContext,
    group: &InstanceGroup,
    node_role: NodeRole,
    name: &str,
) -> Tags {
    let mut tags = context.spec().cloud_labels.clone();
    tags.extend(group.spec.cloud_labels.clone());
    // Labels never take over ownership or naming.
    tags.extend(context.ownership_tags(name));
    tags.insert(names::role_tag(node_role), "1".to_owned());
    tags.insert(INSTANCE_GROUP_LABEL.to_owned(), group.metadata.name.clone());
    tags
}
