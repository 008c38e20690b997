//! What nodeup reads: the versioned per-instance-group configuration cloudup writes to
//! `<cluster>/igconfig/<role>/<instance group>/nodeupconfig.yaml`.
//!
//! All inference happens in cloudup: nodeup gets finished values (names, versions, labels,
//! hash-pinned assets) and never reads the cluster spec. The document carries its own
//! `apiVersion` and `kind` so nodeup can refuse a format it does not know. The builder that
//! fills it lives in [`crate::builders`]; this module only defines the format.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{InstanceGroupRole, SerializeError, api::yaml};

/// The `apiVersion` of [`NodeupConfig`].
pub const NODEUP_CONFIG_API_VERSION: &str = "berth.dev/v1alpha1";
/// The `kind` of [`NodeupConfig`].
pub const NODEUP_CONFIG_KIND: &str = "NodeupConfig";
/// [`NodeupConfig::api_server`] when the API is reached through a load balancer whose
/// address is only known once it exists (no DNS): nodeup resolves it at boot.
pub const API_SERVER_FROM_LOAD_BALANCER: &str = "(load balancer)";

/// The role of an instance as nodeup sees it (the legacy `Master` is the control plane).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// Runs etcd, the API server, the controller manager and the scheduler.
    ControlPlane,
    /// A worker node.
    Node,
    /// An SSH bastion.
    Bastion,
}

impl NodeRole {
    /// The role of an instance group's instances.
    #[must_use]
    pub fn of(role: InstanceGroupRole) -> Self {
        match role {
            InstanceGroupRole::ControlPlane | InstanceGroupRole::Master => Self::ControlPlane,
            InstanceGroupRole::Node => Self::Node,
            InstanceGroupRole::Bastion => Self::Bastion,
        }
    }

    /// The role's directory under `igconfig/`: `control-plane`, `node` or `bastion`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ControlPlane => "control-plane",
            Self::Node => "node",
            Self::Bastion => "bastion",
        }
    }
}

/// One hash-pinned file nodeup downloads (mirrors tried in order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Asset {
    /// What it is, e.g. `kubelet`.
    pub name: String,
    /// Where to fetch it, tried in order.
    pub urls: Vec<String>,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

/// The kubelet settings nodeup writes into the kubelet configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeletConfig {
    /// The cluster DNS service address (the tenth address of the service range).
    #[serde(rename = "clusterDNS")]
    pub cluster_dns: String,
    /// The cluster DNS domain, e.g. `cluster.local`.
    pub cluster_domain: String,
    /// Allow anonymous requests to the kubelet API.
    pub anonymous_auth: bool,
    /// Authenticate bearer tokens through the API server.
    pub authentication_token_webhook: bool,
    /// Authorization mode, e.g. `Webhook`.
    pub authorization_mode: String,
    /// Maximum pods per node, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pods: Option<u32>,
    /// Feature gates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_gates: BTreeMap<String, String>,
}

/// The configuration of one instance group's instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeupConfig {
    /// Always [`NODEUP_CONFIG_API_VERSION`].
    pub api_version: String,
    /// Always [`NODEUP_CONFIG_KIND`].
    pub kind: String,
    /// The cluster's name.
    pub cluster_name: String,
    /// The instance group's name.
    pub instance_group: String,
    /// The instances' role.
    pub role: NodeRole,
    /// The Kubernetes version, e.g. `1.32.3`.
    pub kubernetes_version: String,
    /// The API server's internal name, or [`API_SERVER_FROM_LOAD_BALANCER`].
    pub api_server: String,
    /// Hash-pinned downloads.
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// PEM CA certificates the instance trusts (filled in once the CA exists).
    #[serde(default)]
    pub ca_certificates: Vec<String>,
    /// Kubernetes labels of the node.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_labels: BTreeMap<String, String>,
    /// Kubernetes taints of the node (`key=value:Effect`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<String>,
    /// kubelet settings.
    pub kubelet: KubeletConfig,
    /// For control-plane groups: each etcd cluster's member names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub etcd_members: BTreeMap<String, Vec<String>>,
    /// The cluster's `configBase` in the state store.
    pub config_base: String,
}

impl NodeupConfig {
    /// The document as YAML.
    ///
    /// # Errors
    /// [`SerializeError`] if it cannot be serialized.
    pub fn to_yaml(&self) -> Result<String, SerializeError> {
        Ok(yaml::to_string(self)?)
    }
}
