//! The `Cluster` kind and the parts of its spec that are not large enough for their own file.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CloudProvider, EtcdClusterSpec, NetworkingSpec, ObjectMeta, TopologySpec};

/// A `Cluster` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    /// Always `kops.k8s.io/v1alpha2`.
    pub api_version: String,
    /// Always `Cluster`.
    pub kind: String,
    /// Metadata; `metadata.name` is the cluster's DNS name.
    pub metadata: ObjectMeta,
    /// The cluster's desired state.
    pub spec: ClusterSpec,
}

/// `Cluster.spec`: Berth's subset of kops's `ClusterSpec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// How the Kubernetes API is reached: DNS or a load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<AccessSpec>,
    /// Authorization mode; Berth always uses RBAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<AuthorizationSpec>,
    /// Channel for add-on and image recommendations (for example `stable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Tags added to every AWS resource Berth creates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cloud_labels: BTreeMap<String, String>,
    /// The cloud: `aws` or `{aws: {}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_provider: Option<CloudProvider>,
    /// Cluster DNS domain inside Kubernetes (default `cluster.local`).
    #[serde(
        default,
        rename = "clusterDNSDomain",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_dns_domain: Option<String>,
    /// Where the cluster's configuration lives in the state store (`s3://…` or `file://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_base: Option<String>,
    /// Container runtime; only `containerd` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_runtime: Option<String>,
    /// Route 53 hosted zone (name or ID) for the cluster's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_zone: Option<String>,
    /// The etcd clusters `main` and `events`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub etcd_clusters: Vec<EtcdClusterSpec>,
    /// How DNS records are managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_dns: Option<ExternalDnsSpec>,
    /// IAM settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<IamSpec>,
    /// kube-apiserver settings (a few common ones).
    #[serde(
        default,
        rename = "kubeAPIServer",
        skip_serializing_if = "Option::is_none"
    )]
    pub kube_api_server: Option<KubeApiServerSpec>,
    /// Cluster DNS settings.
    #[serde(default, rename = "kubeDNS", skip_serializing_if = "Option::is_none")]
    pub kube_dns: Option<KubeDnsSpec>,
    /// kube-proxy settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_proxy: Option<KubeProxySpec>,
    /// kubelet settings for every node (a few common ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubelet: Option<KubeletSpec>,
    /// CIDRs allowed to reach the Kubernetes API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubernetes_api_access: Vec<String>,
    /// Kubernetes version (for example `1.32.3`; a leading `v` is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Internal DNS name of the API (default `api.internal.<cluster>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_internal_name: Option<String>,
    /// Public DNS name of the API (default `api.<cluster>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_public_name: Option<String>,
    /// The VPC's CIDR (default `172.20.0.0/16`; with `networkID`, the shared VPC's CIDR).
    #[serde(
        default,
        rename = "networkCIDR",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_cidr: Option<String>,
    /// ID of an existing (shared) VPC; Berth then never creates or deletes it.
    #[serde(default, rename = "networkID", skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    /// The CNI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking: Option<NetworkingSpec>,
    /// CIDR for pods and services that is not masqueraded (default `100.64.0.0/10`).
    #[serde(
        default,
        rename = "nonMasqueradeCIDR",
        skip_serializing_if = "Option::is_none"
    )]
    pub non_masquerade_cidr: Option<String>,
    /// CIDR for pod addresses (default: the upper half of `nonMasqueradeCIDR`'s second quarter).
    #[serde(default, rename = "podCIDR", skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    /// CIDR for service cluster IPs (default: the first /13 of `nonMasqueradeCIDR`).
    #[serde(
        default,
        rename = "serviceClusterIPRange",
        skip_serializing_if = "Option::is_none"
    )]
    pub service_cluster_ip_range: Option<String>,
    /// CIDRs allowed to reach instances over SSH.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_access: Vec<String>,
    /// Name of an existing EC2 key pair; empty means no key pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key_name: Option<String>,
    /// The cluster's subnets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<ClusterSubnetSpec>,
    /// Topology, bastion and DNS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<TopologySpec>,
}

/// `spec.api`: how the Kubernetes API is reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessSpec {
    /// Reach the API through DNS records pointing at control-plane instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsAccessSpec>,
    /// Reach the API through a load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerAccessSpec>,
}

/// `spec.api.dns`: no settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsAccessSpec {}

/// `spec.api.loadBalancer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerAccessSpec {
    /// `Public` (internet-facing) or `Internal`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub load_balancer_type: Option<LoadBalancerType>,
    /// Load balancer class; only `Network` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<LoadBalancerClass>,
    /// Extra security groups for the load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_security_groups: Vec<String>,
    /// Balance across zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_zone_load_balancing: Option<bool>,
    /// ACM certificate ARN for a TLS listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_certificate: Option<String>,
}

/// Load balancer scheme (`--api-loadbalancer-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LoadBalancerType {
    /// Internet-facing.
    Public,
    /// Reachable only inside the VPC.
    Internal,
}

impl std::str::FromStr for LoadBalancerType {
    type Err = super::ParseNameError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "public" => Ok(Self::Public),
            "internal" => Ok(Self::Internal),
            _ => Err(super::topology::load_balancer_type_error(value)),
        }
    }
}

impl std::fmt::Display for LoadBalancerType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Public => "Public",
            Self::Internal => "Internal",
        })
    }
}

/// Load balancer class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum LoadBalancerClass {
    /// A Network Load Balancer (the only class Berth creates).
    Network,
}

/// `spec.authorization`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizationSpec {
    /// Role-based access control (the only mode Berth supports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbac: Option<RbacAuthorizationSpec>,
}

/// `spec.authorization.rbac`: no settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RbacAuthorizationSpec {}

/// `spec.iam`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IamSpec {
    /// Let nodes pull from ECR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_container_registry: Option<bool>,
    /// Use kops's old, broad IAM policies; Berth requires `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<bool>,
}

/// `spec.externalDns`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalDnsSpec {
    /// `dns-controller` or `external-dns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// `spec.kubeDNS`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeDnsSpec {
    /// DNS server; only `CoreDNS` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// `spec.kubeProxy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeProxySpec {
    /// Run kube-proxy (false when Cilium replaces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `spec.kubelet` (a few common settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeletSpec {
    /// Allow anonymous requests to the kubelet API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_auth: Option<bool>,
    /// Authenticate bearer tokens through the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_token_webhook: Option<bool>,
    /// kubelet authorization mode (for example `Webhook`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_mode: Option<String>,
    /// Hard eviction thresholds (kubelet syntax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eviction_hard: Option<String>,
    /// Feature gates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_gates: BTreeMap<String, String>,
    /// Resources reserved for Kubernetes daemons.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kube_reserved: BTreeMap<String, String>,
    /// Maximum pods per node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pods: Option<u32>,
    /// Resources reserved for the operating system.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub system_reserved: BTreeMap<String, String>,
}

/// `spec.kubeAPIServer` (a few common settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeApiServerSpec {
    /// Allow anonymous requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_auth: Option<bool>,
    /// Extra audiences accepted for service-account tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_audiences: Vec<String>,
    /// Feature gates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_gates: BTreeMap<String, String>,
    /// OIDC client ID.
    #[serde(
        default,
        rename = "oidcClientID",
        skip_serializing_if = "Option::is_none"
    )]
    pub oidc_client_id: Option<String>,
    /// OIDC claim holding the user's groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_groups_claim: Option<String>,
    /// OIDC issuer URL.
    #[serde(
        default,
        rename = "oidcIssuerURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub oidc_issuer_url: Option<String>,
    /// OIDC claim holding the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_username_claim: Option<String>,
    /// API groups and versions to enable or disable.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub runtime_config: BTreeMap<String, String>,
}

/// One subnet (`spec.subnets[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSubnetSpec {
    /// Subnet name; instance groups refer to it.
    pub name: String,
    /// Availability zone (for example `us-east-1a`).
    pub zone: String,
    /// IPv4 CIDR, inside `networkCIDR`; may be omitted for a shared subnet (`id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// `Public`, `Private` or `Utility`.
    #[serde(rename = "type")]
    pub subnet_type: SubnetType,
    /// ID of an existing (shared) subnet; Berth then never creates or deletes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Egress for a private subnet: a NAT gateway ID (`nat-…`), or `External`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<String>,
}

/// Subnet type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SubnetType {
    /// Routed to an internet gateway; instances may get public addresses.
    #[default]
    Public,
    /// Routed through NAT; for instances in a private topology.
    Private,
    /// Public subnets that hold load balancers, NAT gateways and bastions in a private topology.
    Utility,
}
