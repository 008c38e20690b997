//! etcd rules: `main` and `events`, each with an odd number of members on control-plane groups.

use std::collections::BTreeSet;

use super::Errors;
use crate::{Cluster, InstanceGroup};

/// EBS volume types etcd volumes may use.
const ETCD_VOLUME_TYPES: &[&str] = &["gp2", "gp3", "io1", "io2"];

pub(super) fn check(cluster: &Cluster, instance_groups: &[InstanceGroup], errors: &mut Errors) {
    let clusters = &cluster.spec.etcd_clusters;
    let mut seen = BTreeSet::new();
    for (index, etcd) in clusters.iter().enumerate() {
        let path = format!("spec.etcdClusters[{index}]");
        if !matches!(etcd.name.as_str(), "main" | "events") {
            errors.push(
                format!("{path}.name"),
                format!("`{}` must be `main` or `events`", etcd.name),
            );
        } else if !seen.insert(etcd.name.as_str()) {
            errors.push(
                format!("{path}.name"),
                format!("duplicate etcd cluster `{}`", etcd.name),
            );
        }
        let members = &etcd.etcd_members;
        if members.len() % 2 == 0 {
            errors.push(
                format!("{path}.etcdMembers"),
                format!(
                    "needs an odd number of members (1, 3, 5) for quorum, found {}",
                    members.len()
                ),
            );
        }
        let mut member_names = BTreeSet::new();
        let mut member_groups = BTreeSet::new();
        for (member_index, member) in members.iter().enumerate() {
            let member_path = format!("{path}.etcdMembers[{member_index}]");
            if member.name.is_empty() {
                errors.push(format!("{member_path}.name"), "must not be empty");
            } else if !member_names.insert(member.name.as_str()) {
                errors.push(
                    format!("{member_path}.name"),
                    format!("duplicate member name `{}`", member.name),
                );
            }
            match instance_groups
                .iter()
                .find(|group| group.metadata.name == member.instance_group)
            {
                None => errors.push(
                    format!("{member_path}.instanceGroup"),
                    format!("instance group `{}` does not exist", member.instance_group),
                ),
                Some(group) if !group.spec.role.is_control_plane() => errors.push(
                    format!("{member_path}.instanceGroup"),
                    format!(
                        "instance group `{}` is not a control-plane group",
                        member.instance_group
                    ),
                ),
                Some(_) => {
                    if !member_groups.insert(member.instance_group.as_str()) {
                        errors.push(
                            format!("{member_path}.instanceGroup"),
                            format!(
                                "instance group `{}` already has a member",
                                member.instance_group
                            ),
                        );
                    }
                }
            }
            if member.volume_size == Some(0) {
                errors.push(
                    format!("{member_path}.volumeSize"),
                    "must be greater than 0",
                );
            }
            if let Some(volume_type) = &member.volume_type
                && !ETCD_VOLUME_TYPES.contains(&volume_type.as_str())
            {
                errors.push(
                    format!("{member_path}.volumeType"),
                    format!(
                        "`{volume_type}` must be one of {}",
                        ETCD_VOLUME_TYPES.join(", ")
                    ),
                );
            }
        }
    }
    for required in ["main", "events"] {
        if !seen.contains(required) && clusters.iter().all(|etcd| etcd.name != required) {
            errors.push(
                "spec.etcdClusters",
                format!("etcd cluster `{required}` is required"),
            );
        }
    }
}
