//! Which instances of a cluster's autoscaling groups need replacing.
//!
//! An instance needs an update when the launch template version it was launched from differs
//! from the version its group launches now (`$Latest`, `$Default` or a number), or when the
//! update is forced.

use std::collections::BTreeMap;

use aws_sdk_autoscaling::types::AutoScalingGroup;
use berth_model::{aws::CLUSTER_TAG, complete::INSTANCE_GROUP_LABEL};

use super::{RollingError, calls};
use crate::aws::AwsClients;

/// What an instance group's instances do, in the order groups are updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// SSH bastions: updated first.
    Bastion,
    /// The control plane: one instance at a time, never surging.
    ControlPlane,
    /// Worker nodes: updated last.
    Node,
}

impl Role {
    /// The role's kops name (`Bastion`, `ControlPlane`, `Node`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bastion => "Bastion",
            Self::ControlPlane => "ControlPlane",
            Self::Node => "Node",
        }
    }

    /// The role a group's `k8s.io/role/<role>` tag names (groups without one are nodes).
    fn of_tags(tags: &BTreeMap<String, String>) -> Self {
        if tags.contains_key("k8s.io/role/control-plane") || tags.contains_key("k8s.io/role/master")
        {
            Self::ControlPlane
        } else if tags.contains_key("k8s.io/role/bastion") {
            Self::Bastion
        } else {
            Self::Node
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One instance of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    /// The EC2 instance id.
    pub id: String,
    /// The launch template version it was launched from (empty when unknown).
    pub launch_template_version: String,
    /// Whether it should be replaced.
    pub needs_update: bool,
    /// Its Auto Scaling lifecycle state (`InService`, `Pending`, …).
    pub lifecycle_state: String,
}

/// One instance group's autoscaling group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatus {
    /// The instance group (`kops.k8s.io/instancegroup` tag).
    pub instance_group: String,
    /// What its instances do.
    pub role: Role,
    /// The autoscaling group's name.
    pub asg_name: String,
    /// Minimum size.
    pub min: i32,
    /// Maximum size.
    pub max: i32,
    /// Desired capacity.
    pub desired: i32,
    /// The launch template version new instances get (empty when unknown).
    pub target_version: String,
    /// Its instances, by id.
    pub instances: Vec<InstanceStatus>,
}

impl GroupStatus {
    /// How many instances should be replaced.
    #[must_use]
    pub fn needing_update(&self) -> usize {
        self.instances.iter().filter(|i| i.needs_update).count()
    }

    /// The instances Auto Scaling has in service (not pending, not leaving).
    pub fn in_service(&self) -> impl Iterator<Item = &InstanceStatus> {
        self.instances
            .iter()
            .filter(|instance| instance.lifecycle_state == "InService")
    }

    /// Whether any instance should be replaced.
    #[must_use]
    pub fn needs_update(&self) -> bool {
        self.needing_update() > 0
    }
}

/// The cluster's groups, bastions first, then the control plane, then nodes (alphabetical
/// within a role). With `force`, every instance needs an update.
///
/// # Errors
///
/// When describing the groups or their launch templates fails.
pub async fn status(
    clients: &AwsClients,
    cluster: &str,
    force: bool,
) -> Result<Vec<GroupStatus>, RollingError> {
    let groups = calls::describe_cluster_groups(&clients.autoscaling, cluster).await?;
    let template_ids: Vec<String> = groups
        .iter()
        .filter_map(|group| {
            group
                .launch_template()?
                .launch_template_id()
                .map(str::to_owned)
        })
        .collect();
    let versions = calls::template_versions(&clients.ec2, &template_ids).await?;
    let mut statuses: Vec<GroupStatus> = groups
        .iter()
        .map(|group| group_status(group, &versions, force))
        .collect();
    statuses.sort_by(|a, b| (a.role, &a.instance_group).cmp(&(b.role, &b.instance_group)));
    Ok(statuses)
}

/// The cluster's groups and their instances, without asking which launch template version is
/// current: one DescribeAutoScalingGroups, what validation needs. `target_version` is empty
/// and no instance needs an update.
///
/// # Errors
///
/// When describing the groups fails.
pub async fn membership(
    clients: &AwsClients,
    cluster: &str,
) -> Result<Vec<GroupStatus>, RollingError> {
    let groups = calls::describe_cluster_groups(&clients.autoscaling, cluster).await?;
    let mut statuses: Vec<GroupStatus> = groups
        .iter()
        .map(|group| {
            let mut status = group_status(group, &BTreeMap::new(), false);
            for instance in &mut status.instances {
                instance.needs_update = false;
            }
            status
        })
        .collect();
    statuses.sort_by(|a, b| (a.role, &a.instance_group).cmp(&(b.role, &b.instance_group)));
    Ok(statuses)
}

/// One group's status, given the `(latest, default)` version numbers of launch templates by id.
pub(super) fn group_status(
    group: &AutoScalingGroup,
    versions: &BTreeMap<String, (i64, i64)>,
    force: bool,
) -> GroupStatus {
    let tags: BTreeMap<String, String> = group
        .tags()
        .iter()
        .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
        .collect();
    let asg_name = group
        .auto_scaling_group_name()
        .unwrap_or_default()
        .to_owned();
    let template = group.launch_template();
    let target_version = template
        .and_then(|template| {
            let (latest, default) = versions.get(template.launch_template_id()?)?;
            Some(match template.version().unwrap_or("$Default") {
                "$Latest" => latest.to_string(),
                "$Default" => default.to_string(),
                number => number.to_owned(),
            })
        })
        .unwrap_or_default();
    let mut instances: Vec<InstanceStatus> = group
        .instances()
        .iter()
        .map(|instance| {
            let version = instance
                .launch_template()
                .and_then(|template| template.version())
                .unwrap_or_default()
                .to_owned();
            InstanceStatus {
                id: instance.instance_id().unwrap_or_default().to_owned(),
                needs_update: force || version != target_version,
                launch_template_version: version,
                lifecycle_state: instance
                    .lifecycle_state()
                    .map(|state| state.as_str().to_owned())
                    .unwrap_or_default(),
            }
        })
        .collect();
    instances.sort_by(|a, b| a.id.cmp(&b.id));
    GroupStatus {
        instance_group: tags
            .get(INSTANCE_GROUP_LABEL)
            .cloned()
            .unwrap_or_else(|| asg_name.clone()),
        role: Role::of_tags(&tags),
        asg_name,
        min: group.min_size().unwrap_or_default(),
        max: group.max_size().unwrap_or_default(),
        desired: group.desired_capacity().unwrap_or_default(),
        target_version,
        instances,
    }
}

/// Whether `group` carries the cluster tag of `cluster` (filters are not trusted blindly).
pub(super) fn belongs_to(group: &AutoScalingGroup, cluster: &str) -> bool {
    group
        .tags()
        .iter()
        .any(|tag| tag.key() == Some(CLUSTER_TAG) && tag.value() == Some(cluster))
}

#[cfg(test)]
mod tests {
    use aws_sdk_autoscaling::types::{
        Instance, LaunchTemplateSpecification, LifecycleState, TagDescription,
    };

    use super::*;

    fn instance(id: &str, version: &str) -> Instance {
        Instance::builder()
            .instance_id(id)
            .lifecycle_state(LifecycleState::InService)
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_id("lt-1")
                    .version(version)
                    .build(),
            )
            .build()
    }

    fn group(role_tag: &str) -> AutoScalingGroup {
        AutoScalingGroup::builder()
            .auto_scaling_group_name("nodes.a.example.com")
            .min_size(2)
            .max_size(2)
            .desired_capacity(2)
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_id("lt-1")
                    .version("$Latest")
                    .build(),
            )
            .instances(instance("i-2", "2"))
            .instances(instance("i-1", "1"))
            .tags(TagDescription::builder().key(role_tag).value("1").build())
            .tags(
                TagDescription::builder()
                    .key(INSTANCE_GROUP_LABEL)
                    .value("nodes")
                    .build(),
            )
            .build()
    }

    #[test]
    fn instances_on_another_version_than_the_latest_need_an_update() {
        let versions = BTreeMap::from([("lt-1".to_owned(), (2, 1))]);
        let status = group_status(&group("k8s.io/role/node"), &versions, false);
        assert_eq!(status.instance_group, "nodes");
        assert_eq!(status.role, Role::Node);
        assert_eq!(status.target_version, "2");
        let needs: Vec<_> = status
            .instances
            .iter()
            .map(|i| (i.id.as_str(), i.needs_update))
            .collect();
        assert_eq!(needs, [("i-1", true), ("i-2", false)]);
    }

    #[test]
    fn force_marks_every_instance() {
        let versions = BTreeMap::from([("lt-1".to_owned(), (2, 1))]);
        let status = group_status(&group("k8s.io/role/control-plane"), &versions, true);
        assert_eq!(status.role, Role::ControlPlane);
        assert_eq!(status.needing_update(), 2);
    }

    #[test]
    fn roles_sort_bastions_control_plane_nodes() {
        let mut roles = vec![Role::Node, Role::ControlPlane, Role::Bastion];
        roles.sort();
        assert_eq!(roles, [Role::Bastion, Role::ControlPlane, Role::Node]);
    }
}
