//! Instance group defaults, which depend on the role and on the completed cluster.

use super::{
    DEFAULT_BASTION_MACHINE_TYPE, DEFAULT_BASTION_ROOT_VOLUME_SIZE,
    DEFAULT_CONTROL_PLANE_ROOT_VOLUME_SIZE, DEFAULT_GP3_IOPS, DEFAULT_GP3_THROUGHPUT,
    DEFAULT_NODE_ROOT_VOLUME_SIZE, DEFAULT_VOLUME_TYPE, INSTANCE_GROUP_LABEL,
};
use crate::{
    CLUSTER_LABEL, Cluster, DEFAULT_IMAGE, DEFAULT_MACHINE_TYPE, InstanceGroup, InstanceGroupRole,
    InstanceMetadataSpec, RootVolumeSpec, SubnetType,
};

/// Default instance count per role (kops: one control-plane instance, two nodes).
fn default_size(role: InstanceGroupRole) -> u32 {
    match role {
        InstanceGroupRole::Node => 2,
        InstanceGroupRole::ControlPlane
        | InstanceGroupRole::Master
        | InstanceGroupRole::Bastion => 1,
    }
}

pub(super) fn complete(group: &mut InstanceGroup, cluster: &Cluster) {
    let name = group.metadata.name.clone();
    group
        .metadata
        .labels
        .entry(CLUSTER_LABEL.to_owned())
        .or_insert_with(|| cluster.metadata.name.clone());
    let spec = &mut group.spec;
    let role = spec.role;
    spec.image.get_or_insert_with(|| DEFAULT_IMAGE.to_owned());
    spec.machine_type.get_or_insert_with(|| {
        if role == InstanceGroupRole::Bastion {
            DEFAULT_BASTION_MACHINE_TYPE
        } else {
            DEFAULT_MACHINE_TYPE
        }
        .to_owned()
    });
    let min = *spec.min_size.get_or_insert_with(|| {
        spec.max_size
            .map_or(default_size(role), |max| max.min(default_size(role)))
    });
    spec.max_size.get_or_insert(min);

    let default_root = match role {
        InstanceGroupRole::ControlPlane | InstanceGroupRole::Master => {
            DEFAULT_CONTROL_PLANE_ROOT_VOLUME_SIZE
        }
        InstanceGroupRole::Node => DEFAULT_NODE_ROOT_VOLUME_SIZE,
        InstanceGroupRole::Bastion => DEFAULT_BASTION_ROOT_VOLUME_SIZE,
    };
    let legacy_size = spec.root_volume_size.take();
    let legacy_type = spec.root_volume_type.take();
    let root = spec.root_volume.get_or_insert_with(RootVolumeSpec::default);
    root.size.get_or_insert(legacy_size.unwrap_or(default_root));
    let volume_type = root
        .volume_type
        .get_or_insert_with(|| legacy_type.unwrap_or_else(|| DEFAULT_VOLUME_TYPE.to_owned()));
    if volume_type == DEFAULT_VOLUME_TYPE {
        root.iops.get_or_insert(DEFAULT_GP3_IOPS);
        root.throughput.get_or_insert(DEFAULT_GP3_THROUGHPUT);
    }
    root.encryption.get_or_insert(true);

    if spec.subnets.is_empty() {
        spec.subnets = default_subnets(role, cluster);
    }
    let all_public = spec.subnets.iter().all(|subnet| {
        cluster
            .spec
            .subnets
            .iter()
            .find(|candidate| candidate.name == *subnet)
            .is_some_and(|candidate| candidate.subnet_type != SubnetType::Private)
    });
    spec.associate_public_ip.get_or_insert(all_public);
    let metadata = spec
        .instance_metadata
        .get_or_insert_with(InstanceMetadataSpec::default);
    // Control-plane pods (e.g. the AWS cloud controller) reach the metadata service from a
    // pod network namespace, which needs extra hops; nodes keep pods away from it.
    metadata
        .http_put_response_hop_limit
        .get_or_insert(if role.is_control_plane() { 3 } else { 1 });
    metadata
        .http_tokens
        .get_or_insert_with(|| "required".to_owned());
    if role != InstanceGroupRole::Bastion {
        spec.node_labels
            .entry(INSTANCE_GROUP_LABEL.to_owned())
            .or_insert(name);
    }
}

/// kops's placement when an instance group names no subnets: nodes and control plane go
/// to the Private subnets (or the Public ones in a public topology), bastions to Utility.
fn default_subnets(role: InstanceGroupRole, cluster: &Cluster) -> Vec<String> {
    let subnets = &cluster.spec.subnets;
    let of_type = |wanted: SubnetType| -> Vec<String> {
        subnets
            .iter()
            .filter(|subnet| subnet.subnet_type == wanted)
            .map(|subnet| subnet.name.clone())
            .collect()
    };
    let mut chosen = match role {
        InstanceGroupRole::Bastion => of_type(SubnetType::Utility),
        _ => of_type(SubnetType::Private),
    };
    if chosen.is_empty() {
        chosen = of_type(SubnetType::Public);
    }
    if role.is_control_plane() {
        chosen.truncate(1);
    }
    chosen
}
