//! `spec.etcdClusters`: the `main` and `events` etcd clusters and their members.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One etcd cluster (`main` or `events`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EtcdClusterSpec {
    /// `main` or `events`.
    pub name: String,
    /// One member per control-plane instance group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub etcd_members: Vec<EtcdMemberSpec>,
    /// etcd version; Berth picks one matching the Kubernetes version when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// CPU request of the etcd pod (for example `200m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_request: Option<String>,
    /// Memory request of the etcd pod (for example `100Mi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_request: Option<String>,
    /// Settings of the etcd manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<EtcdManagerSpec>,
}

/// One etcd member: a volume attached to a control-plane instance group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EtcdMemberSpec {
    /// Member name (kops uses the zone letter, for example `a`).
    pub name: String,
    /// The control-plane instance group this member runs on.
    pub instance_group: String,
    /// EBS volume type (for example `gp3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// EBS volume size in GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub volume_size: Option<u32>,
    /// Provisioned IOPS (gp3, io1, io2).
    #[serde(
        default,
        rename = "volumeIOPS",
        skip_serializing_if = "Option::is_none"
    )]
    pub volume_iops: Option<u32>,
    /// Provisioned throughput in MiB/s (gp3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_throughput: Option<u32>,
    /// Whether the volume is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_volume: Option<bool>,
    /// KMS key for the volume's encryption (default: the account's EBS key).
    #[serde(default, rename = "kmsKeyID", skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

/// `etcdClusters[].manager`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EtcdManagerSpec {
    /// Days of backups to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_retention_days: Option<u32>,
}
