//! Object metadata shared by both kinds, and the constants naming the API group and kinds.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only `apiVersion` Berth reads and writes.
pub const API_VERSION: &str = "kops.k8s.io/v1alpha2";
/// The `kind` of a cluster document.
pub const CLUSTER_KIND: &str = "Cluster";
/// The `kind` of an instance group document.
pub const INSTANCE_GROUP_KIND: &str = "InstanceGroup";
/// The label that ties an instance group to its cluster (kops's convention).
pub const CLUSTER_LABEL: &str = "kops.k8s.io/cluster";

/// Kubernetes-style object metadata (the subset kops writes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// The object's name: the cluster's DNS name, or the instance group's name.
    pub name: String,
    /// When the object was created (RFC 3339); kops often writes `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Labels; instance groups carry `kops.k8s.io/cluster: <cluster name>`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}
