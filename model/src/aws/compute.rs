//! Machines: the SSH key pair, launch templates, autoscaling groups and etcd volumes.

use serde::Serialize;

use super::{IamInstanceProfile, NodeKey, Ref, SecurityGroup, Subnet, Tags, TargetGroup};

/// The cluster's EC2 key pair, imported from the admin SSH public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyPair {
    /// `<cluster>-<fingerprint>`, as kops names it.
    pub name: String,
    /// The OpenSSH public key line.
    pub public_key: String,
    /// Tags.
    pub tags: Tags,
}

impl KeyPair {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        Vec::new()
    }
}

/// A launch template; every change creates a new version that becomes the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchTemplate {
    /// `<instance group>.<cluster>`.
    pub name: String,
    /// The AMI id.
    pub image_id: String,
    /// The instance type.
    pub instance_type: String,
    /// Root volume size in GiB.
    pub root_volume_size: i32,
    /// Root volume type (`gp3`).
    pub root_volume_type: String,
    /// Root volume encrypted.
    pub root_volume_encrypted: bool,
    /// Root volume provisioned IOPS (gp3/io1/io2), if set.
    pub root_volume_iops: Option<i32>,
    /// Root volume throughput in MiB/s (gp3), if set.
    pub root_volume_throughput: Option<i32>,
    /// Instance metadata service tokens: `required` (IMDSv2 only) or `optional`.
    pub metadata_http_tokens: String,
    /// Instance metadata response hop limit (1 keeps pods away from the node's credentials).
    pub metadata_hop_limit: i32,
    /// The instances' security groups.
    pub security_groups: Vec<Ref<SecurityGroup>>,
    /// The instance profile.
    pub instance_profile: Ref<IamInstanceProfile>,
    /// The key pair, if the cluster has an SSH key.
    pub key_pair: Option<Ref<KeyPair>>,
    /// Give instances a public address.
    pub associate_public_ip: bool,
    /// The nodeup bootstrap script.
    pub user_data: String,
    /// Tags of the template and of the instances and volumes it launches.
    pub tags: Tags,
}

impl LaunchTemplate {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        let mut deps: Vec<NodeKey> = self
            .security_groups
            .iter()
            .map(|group| group.key().clone())
            .collect();
        deps.push(self.instance_profile.key().clone());
        if let Some(key_pair) = &self.key_pair {
            deps.push(key_pair.key().clone());
        }
        deps
    }
}

/// An autoscaling group per instance group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoscalingGroup {
    /// `<instance group>.<cluster>`.
    pub name: String,
    /// The launch template (the group always uses its latest version).
    pub launch_template: Ref<LaunchTemplate>,
    /// The subnets it spreads over.
    pub subnets: Vec<Ref<Subnet>>,
    /// Minimum size.
    pub min_size: i32,
    /// Maximum size.
    pub max_size: i32,
    /// Target groups instances are registered with (the API's, for control planes).
    pub target_groups: Vec<Ref<TargetGroup>>,
    /// Maximum instance lifetime in seconds, if any.
    pub max_instance_lifetime: Option<i32>,
    /// Tags, all propagated to instances.
    pub tags: Tags,
}

impl AutoscalingGroup {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        let mut deps = vec![self.launch_template.key().clone()];
        deps.extend(self.subnets.iter().map(|subnet| subnet.key().clone()));
        deps.extend(self.target_groups.iter().map(|group| group.key().clone()));
        deps
    }
}

/// An etcd data volume (one per member per etcd cluster).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EbsVolume {
    /// `<member>.etcd-<cluster name>.<cluster>`, e.g. `a.etcd-main.dev.example.com`.
    pub name: String,
    /// The availability zone of its control-plane instance group.
    pub zone: String,
    /// Size in GiB.
    pub size: i32,
    /// Volume type (`gp3`).
    pub volume_type: String,
    /// Provisioned IOPS.
    pub iops: Option<i32>,
    /// Throughput in MiB/s.
    pub throughput: Option<i32>,
    /// Encrypted at rest.
    pub encrypted: bool,
    /// Tags, including `k8s.io/etcd/<cluster>=<member>/<members>`.
    pub tags: Tags,
}

impl EbsVolume {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        Vec::new()
    }
}
