//! etcd defaults: the `main` and `events` clusters and their members' volumes.

use crate::{
    EtcdClusterSpec, EtcdManagerSpec, EtcdMemberSpec, InstanceGroup,
    complete::{
        DEFAULT_ETCD_VOLUME_SIZE, DEFAULT_GP3_IOPS, DEFAULT_GP3_THROUGHPUT, DEFAULT_VOLUME_TYPE,
    },
};

/// Days of etcd backups kept (kops's default).
const BACKUP_RETENTION_DAYS: u32 = 90;

/// The etcd clusters kops creates when none are given: one member per control-plane group.
pub(super) fn default_clusters(instance_groups: &[InstanceGroup]) -> Vec<EtcdClusterSpec> {
    let members: Vec<EtcdMemberSpec> = instance_groups
        .iter()
        .filter(|group| group.spec.role.is_control_plane())
        .map(|group| EtcdMemberSpec {
            name: member_name(&group.metadata.name),
            instance_group: group.metadata.name.clone(),
            ..EtcdMemberSpec::default()
        })
        .collect();
    ["main", "events"]
        .into_iter()
        .map(|name| EtcdClusterSpec {
            name: name.to_owned(),
            etcd_members: members.clone(),
            ..EtcdClusterSpec::default()
        })
        .collect()
}

/// kops names a member after its group's zone letter: `control-plane-us-east-1a` → `a`.
pub(crate) fn member_name(instance_group: &str) -> String {
    let suffix = instance_group
        .strip_prefix("control-plane-")
        .or_else(|| instance_group.strip_prefix("master-"))
        .unwrap_or(instance_group);
    match crate::validate::zone_letter(suffix) {
        Some(letter) => letter,
        None => suffix.to_owned(),
    }
}

pub(super) fn complete_cluster(etcd: &mut EtcdClusterSpec) {
    let cpu = if etcd.name == "main" { "200m" } else { "100m" };
    etcd.cpu_request.get_or_insert_with(|| cpu.to_owned());
    etcd.memory_request
        .get_or_insert_with(|| "100Mi".to_owned());
    etcd.manager
        .get_or_insert_with(EtcdManagerSpec::default)
        .backup_retention_days
        .get_or_insert(BACKUP_RETENTION_DAYS);
    for member in &mut etcd.etcd_members {
        let volume_type = member
            .volume_type
            .get_or_insert_with(|| DEFAULT_VOLUME_TYPE.to_owned());
        let is_gp3 = volume_type == DEFAULT_VOLUME_TYPE;
        member.volume_size.get_or_insert(DEFAULT_ETCD_VOLUME_SIZE);
        if is_gp3 {
            member.volume_iops.get_or_insert(DEFAULT_GP3_IOPS);
            member
                .volume_throughput
                .get_or_insert(DEFAULT_GP3_THROUGHPUT);
        }
        member.encrypted_volume.get_or_insert(true);
    }
}
