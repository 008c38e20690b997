//! The `InstanceGroup` kind: a set of identical instances (an auto scaling group).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ObjectMeta;

/// An `InstanceGroup` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceGroup {
    /// Always `kops.k8s.io/v1alpha2`.
    pub api_version: String,
    /// Always `InstanceGroup`.
    pub kind: String,
    /// Metadata; labels carry `kops.k8s.io/cluster: <cluster name>`.
    pub metadata: ObjectMeta,
    /// The group's desired state.
    pub spec: InstanceGroupSpec,
}

/// `InstanceGroup.spec`: Berth's subset of kops's `InstanceGroupSpec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceGroupSpec {
    /// `ControlPlane`, `Node`, `Bastion`, or the legacy `Master`.
    pub role: InstanceGroupRole,
    /// Give instances a public IPv4 address (default: true in public subnets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associate_public_ip: Option<bool>,
    /// Tags added to this group's AWS resources (on top of the cluster's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cloud_labels: BTreeMap<String, String>,
    /// AMI: an ID (`ami-…`) or `<owner>/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Instance metadata service options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_metadata: Option<InstanceMetadataSpec>,
    /// EC2 instance type (for example `t3.medium`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_type: Option<String>,
    /// Replace instances older than this (Go duration, for example `168h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_instance_lifetime: Option<String>,
    /// Maximum number of instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u32>,
    /// Minimum number of instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<u32>,
    /// Kubernetes labels for this group's nodes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_labels: BTreeMap<String, String>,
    /// Root volume settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RootVolumeSpec>,
    /// Legacy spelling of `rootVolume.size` (GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume_size: Option<u32>,
    /// Legacy spelling of `rootVolume.type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume_type: Option<String>,
    /// Rolling-update settings for this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateSpec>,
    /// Names of cluster subnets (`spec.subnets[].name`) to launch instances in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    /// Kubernetes taints for this group's nodes (`key=value:Effect`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<String>,
}

/// Instance group role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum InstanceGroupRole {
    /// Control-plane instances (apiserver, etcd, controllers).
    ControlPlane,
    /// Worker nodes.
    Node,
    /// SSH bastions.
    Bastion,
    /// Legacy name for `ControlPlane`; kept as written when round-tripping.
    Master,
}

impl InstanceGroupRole {
    /// Whether this role runs the control plane (`ControlPlane` or the legacy `Master`).
    #[must_use]
    pub fn is_control_plane(&self) -> bool {
        matches!(self, Self::ControlPlane | Self::Master)
    }

    /// The role as written in manifests.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ControlPlane => "ControlPlane",
            Self::Node => "Node",
            Self::Bastion => "Bastion",
            Self::Master => "Master",
        }
    }
}

impl std::fmt::Display for InstanceGroupRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `spec.rootVolume`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RootVolumeSpec {
    /// Size in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// EBS volume type (for example `gp3`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// Provisioned IOPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<u32>,
    /// Provisioned throughput in MiB/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<u32>,
    /// Whether the volume is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<bool>,
}

/// `spec.instanceMetadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceMetadataSpec {
    /// Hop limit for metadata responses (1 keeps pods from reaching it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_put_response_hop_limit: Option<u32>,
    /// `required` (IMDSv2 only) or `optional`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_tokens: Option<String>,
}

/// `spec.rollingUpdate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollingUpdateSpec {
    /// Extra instances to launch during an update (a count or a percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// Instances that may be unavailable during an update (a count or a percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Drain and terminate without validating the cluster between instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_and_terminate: Option<bool>,
}

/// A count or a percentage such as `25%`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntOrString {
    /// An absolute count.
    Int(u32),
    /// A percentage such as `25%`.
    String(String),
}
