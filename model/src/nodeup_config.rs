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
/// The etcd version the control plane runs when the cluster spec names none (served by
/// every supported Kubernetes version's API server).
pub const DEFAULT_ETCD_VERSION: &str = "3.5.21";

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

/// What only control-plane instances need: the cluster's address ranges and the API's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlPlaneConfig {
    /// The service range (`spec.serviceClusterIPRange`); its first address is the
    /// `kubernetes` service.
    #[serde(rename = "serviceClusterIPRange")]
    pub service_cluster_ip_range: String,
    /// The pod range the controller manager allocates node ranges from (`spec.podCIDR`).
    #[serde(rename = "podCIDR")]
    pub pod_cidr: String,
    /// Every name clients use for the API (public and internal), for the serving
    /// certificate's subject alternative names.
    pub api_names: Vec<String>,
    /// The etcd version of both etcd clusters, e.g. `3.5.21`.
    pub etcd_version: String,
}

/// The API's DNS records a control-plane node keeps when the cluster uses DNS but has no
/// API load balancer (kops's dns-controller): A records listing the addresses of the
/// cluster's running control-plane instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiDnsConfig {
    /// The Route 53 hosted zone's name the records go into, e.g. `example.com`.
    pub zone: String,
    /// Whether that hosted zone is private (tells it apart from a public zone of the same
    /// name).
    pub private_zone: bool,
    /// The API's public name (`spec.masterPublicName`, by default `api.<cluster>`).
    pub public_name: String,
    /// The API's internal name (`spec.masterInternalName`, by default
    /// `api.internal.<cluster>`); always lists the instances' private addresses.
    pub internal_name: String,
    /// Whether the control-plane instances get public IPv4 addresses: when true the public
    /// name lists those, otherwise it lists the private addresses too.
    pub public_addresses: bool,
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
    /// The API server's internal name (`api.internal.<cluster>` unless the spec names
    /// another).
    pub api_server: String,
    /// No DNS record exists for [`NodeupConfig::api_server`] (a cluster without DNS): nodeup
    /// maps the name to the private addresses of the cluster's running control-plane
    /// instances in its block of `/etc/hosts`, and `nodeup --sync` keeps it current (what
    /// kops's gossip did for `api.internal`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub api_server_in_hosts: bool,
    /// Hash-pinned downloads.
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// PEM certificates of the cluster CA (`kubernetes-ca`) the instance trusts; public
    /// parts only. Control-plane instances read the other CAs, keys included, from the store.
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
    /// Control-plane settings; present exactly on control-plane groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlaneConfig>,
    /// The token (`<id>.<secret>`) a worker's kubelet presents to request its client
    /// certificate (TLS bootstrapping); the control plane accepts it. Filled in by the stage
    /// that owns the cluster's secrets, like [`NodeupConfig::ca_certificates`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<String>,
    /// On control-plane groups of a cluster that uses DNS without an API load balancer: the
    /// API records the node keeps pointing at the control-plane instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_dns: Option<ApiDnsConfig>,
}

/// The name of the cluster's bootstrap token among its secrets (`<cluster>/secrets/<name>`).
pub const BOOTSTRAP_TOKEN_SECRET: &str = "kubelet-bootstrap-token";

const TOKEN_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A new bootstrap token in the Kubernetes format `[a-z0-9]{6}.[a-z0-9]{16}`, drawing bytes
/// from `random_byte` (a cryptographic source) without modulo bias.
pub fn new_bootstrap_token(mut random_byte: impl FnMut() -> u8) -> String {
    // 252 is the largest multiple of 36 below 256: bytes above it are drawn again.
    let mut character = || loop {
        let byte = random_byte();
        if byte < 252 {
            return char::from(TOKEN_ALPHABET[usize::from(byte % 36)]);
        }
    };
    let id: String = (0..6).map(|_| character()).collect();
    let secret: String = (0..16).map(|_| character()).collect();
    format!("{id}.{secret}")
}

/// Whether `token` has the bootstrap token format `[a-z0-9]{6}.[a-z0-9]{16}`.
#[must_use]
pub fn is_bootstrap_token(token: &str) -> bool {
    let valid = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|byte| TOKEN_ALPHABET.contains(&byte))
    };
    token
        .split_once('.')
        .is_some_and(|(id, secret)| valid(id, 6) && valid(secret, 16))
}

/// Why a nodeup config could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeupConfigError {
    /// The text is not one YAML document.
    #[error("invalid yaml: {message}")]
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// The document is not a [`NodeupConfig`] of a version this build knows.
    #[error(
        "unsupported document `{api_version}` `{kind}`; this nodeup reads `{NODEUP_CONFIG_API_VERSION}` `{NODEUP_CONFIG_KIND}`"
    )]
    UnsupportedVersion {
        /// The document's `apiVersion` (empty when missing).
        api_version: String,
        /// The document's `kind` (empty when missing).
        kind: String,
    },
    /// The document does not have the format's shape.
    #[error("invalid nodeup config: {message}")]
    Invalid {
        /// What is wrong.
        message: String,
    },
}

/// Where the launch template's bootstrap script installs nodeup on an instance.
pub const NODEUP_INSTALL_DIR: &str = "/opt/berth/bin";

/// The store key of a group's nodeup config, relative to the cluster's directory.
#[must_use]
pub fn nodeup_config_key(role: &str, instance_group: &str) -> String {
    format!("igconfig/{role}/{instance_group}/nodeupconfig.yaml")
}

impl NodeupConfig {
    /// Where this config is in the state store (what the launch template's bootstrap script
    /// passes nodeup as `--conf`): `<configBase>/igconfig/<role>/<group>/nodeupconfig.yaml`.
    #[must_use]
    pub fn location(&self) -> String {
        format!(
            "{}/{}",
            self.config_base.trim_end_matches('/'),
            nodeup_config_key(self.role.as_str(), &self.instance_group)
        )
    }

    /// The document as YAML.
    ///
    /// # Errors
    /// [`SerializeError`] if it cannot be serialized.
    pub fn to_yaml(&self) -> Result<String, SerializeError> {
        Ok(yaml::to_string(self)?)
    }

    /// Reads the document, refusing any `apiVersion`/`kind` but this format's.
    ///
    /// # Errors
    /// [`NodeupConfigError`] naming what is wrong.
    pub fn from_yaml(text: &str) -> Result<Self, NodeupConfigError> {
        let nodes = yaml::parse_stream(text).map_err(|error| NodeupConfigError::Syntax {
            message: error.message,
        })?;
        let [node] = nodes.as_slice() else {
            return Err(NodeupConfigError::Syntax {
                message: format!("expected one document, found {}", nodes.len()),
            });
        };
        let api_version = node.get_str("apiVersion").unwrap_or_default();
        let kind = node.get_str("kind").unwrap_or_default();
        if api_version != NODEUP_CONFIG_API_VERSION || kind != NODEUP_CONFIG_KIND {
            return Err(NodeupConfigError::UnsupportedVersion {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
            });
        }
        serde_json::from_value(node.to_json()).map_err(|error| NodeupConfigError::Invalid {
            message: error.to_string(),
        })
    }
}

/// Renders any document nodeup writes (static pod manifests, component configs) as YAML,
/// through the one module that touches the YAML crate.
///
/// # Errors
/// [`SerializeError`] if it cannot be serialized.
pub fn render_yaml<T: Serialize>(value: &T) -> Result<String, SerializeError> {
    Ok(yaml::to_string(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> NodeupConfig {
        NodeupConfig {
            api_version: NODEUP_CONFIG_API_VERSION.to_owned(),
            kind: NODEUP_CONFIG_KIND.to_owned(),
            cluster_name: "dev.example.com".to_owned(),
            instance_group: "nodes".to_owned(),
            role: NodeRole::Node,
            kubernetes_version: "1.32.3".to_owned(),
            api_server: "api.internal.dev.example.com".to_owned(),
            api_server_in_hosts: false,
            assets: Vec::new(),
            ca_certificates: Vec::new(),
            node_labels: BTreeMap::new(),
            taints: Vec::new(),
            kubelet: KubeletConfig::default(),
            etcd_members: BTreeMap::new(),
            config_base: "s3://state/dev.example.com".to_owned(),
            control_plane: None,
            bootstrap_token: Some("abcdef.0123456789abcdef".to_owned()),
            api_dns: None,
        }
    }

    #[test]
    fn round_trips_through_yaml() {
        let config = config();
        let text = config.to_yaml().unwrap();
        assert_eq!(NodeupConfig::from_yaml(&text).unwrap(), config);
    }

    #[test]
    fn round_trips_the_api_dns_records() {
        let mut config = config();
        config.role = NodeRole::ControlPlane;
        config.api_dns = Some(ApiDnsConfig {
            zone: "example.com".to_owned(),
            private_zone: false,
            public_name: "api.dev.example.com".to_owned(),
            internal_name: "api.internal.dev.example.com".to_owned(),
            public_addresses: true,
        });
        let text = config.to_yaml().unwrap();
        assert!(text.contains("apiDns:"), "{text}");
        assert!(text.contains("privateZone: false"), "{text}");
        assert_eq!(NodeupConfig::from_yaml(&text).unwrap(), config);
    }

    #[test]
    fn bootstrap_tokens_have_the_kubernetes_format() {
        let mut bytes = (0..=255u8).cycle();
        let token = new_bootstrap_token(|| bytes.next().unwrap_or_default());
        assert!(is_bootstrap_token(&token), "{token}");
        assert_eq!(token, "abcdef.ghijklmnopqrstuv");
        assert!(!is_bootstrap_token("abcdef0123456789abcdef"));
        assert!(!is_bootstrap_token("ABCDEF.0123456789abcdef"));
        assert!(!is_bootstrap_token("abcde.0123456789abcdefg"));
    }

    #[test]
    fn refuses_another_format() {
        let text = config()
            .to_yaml()
            .unwrap()
            .replace(NODEUP_CONFIG_API_VERSION, "berth.dev/v9");
        assert!(matches!(
            NodeupConfig::from_yaml(&text),
            Err(NodeupConfigError::UnsupportedVersion { .. })
        ));
    }
}
