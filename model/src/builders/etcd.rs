//! etcd data volumes: one EBS volume per member of each etcd cluster (`main`, `events`).
//!
//! A volume lives in the zone of its member's instance group (the zone of the group's first
//! subnet), is named `<member>.etcd-<etcd cluster>.<c>` and is tagged so the control-plane
//! instance in that zone finds and mounts it: `k8s.io/etcd/<etcd cluster>=<member>/<all
//! members>` and `k8s.io/role/control-plane=1`.

use super::{BuildContext, BuildError, context::aws_int, names};
use crate::{
    EtcdClusterSpec, EtcdMemberSpec,
    aws::{EbsVolume, Graph},
    nodeup_config::NodeRole,
};

/// Adds the etcd volumes.
///
/// # Errors
/// [`BuildError`] when a member's instance group or its subnet is unknown, a completed field
/// is missing, or the graph refuses a node.
pub fn build(context: &BuildContext, graph: &mut Graph) -> Result<(), BuildError> {
    for etcd in &context.spec().etcd_clusters {
        let members: Vec<&str> = etcd
            .etcd_members
            .iter()
            .map(|member| member.name.as_str())
            .collect();
        for (index, member) in etcd.etcd_members.iter().enumerate() {
            let volume = volume(context, etcd, index, member, &members.join(","))?;
            graph.add(volume)?;
        }
    }
    Ok(())
}

fn volume(
    context: &BuildContext,
    etcd: &EtcdClusterSpec,
    index: usize,
    member: &EtcdMemberSpec,
    all_members: &str,
) -> Result<EbsVolume, BuildError> {
    let field = |name: &str| {
        format!(
            "spec.etcdClusters[{}].etcdMembers[{index}].{name}",
            etcd.name
        )
    };
    let unknown_group = || BuildError::UnknownEtcdInstanceGroup {
        etcd_cluster: etcd.name.clone(),
        member: member.name.clone(),
        instance_group: member.instance_group.clone(),
    };
    let group = context
        .groups()
        .find(|group| group.metadata.name == member.instance_group)
        .ok_or_else(unknown_group)?;
    let first_subnet = group
        .spec
        .subnets
        .first()
        .ok_or_else(|| BuildError::NoSubnets {
            instance_group: group.metadata.name.clone(),
        })?;
    let zone = context
        .spec()
        .subnets
        .iter()
        .find(|subnet| subnet.name == *first_subnet)
        .map(|subnet| subnet.zone.clone())
        .ok_or_else(|| BuildError::UnknownSubnet {
            instance_group: group.metadata.name.clone(),
            subnet: first_subnet.clone(),
        })?;
    let size = member
        .volume_size
        .ok_or_else(|| super::context::missing(&field("volumeSize")))?;
    let volume_type = member
        .volume_type
        .clone()
        .ok_or_else(|| super::context::missing(&field("volumeType")))?;
    let optional = |value: Option<u32>, name: &str| {
        value
            .map(|value| aws_int(value, || field(name)))
            .transpose()
    };

    let name = context.qualified(&format!("{}.etcd-{}", member.name, etcd.name));
    let mut tags = context.owned_tags(&name);
    tags.insert(
        format!("k8s.io/etcd/{}", etcd.name),
        format!("{}/{all_members}", member.name),
    );
    tags.insert(names::role_tag(NodeRole::ControlPlane), "1".to_owned());
    Ok(EbsVolume {
        name,
        zone,
        size: aws_int(size, || field("volumeSize"))?,
        volume_type,
        iops: optional(member.volume_iops, "volumeIOPS")?,
        throughput: optional(member.volume_throughput, "volumeThroughput")?,
        encrypted: member.encrypted_volume.unwrap_or(true),
        tags,
    })
}
