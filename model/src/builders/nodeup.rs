//! Fills a [`NodeupConfig`] for one instance group from the completed cluster.
//!
//! All inference happens here, so nodeup only reads finished values: role labels and the
//! control plane's default taint, the cluster DNS address (the tenth address of the service
//! range, as kops computes it), the API server's name, and for the control plane the members
//! of each etcd cluster. Assets (hash-pinned), the cluster CA's certificate and the
//! bootstrap token come from [`crate::builders::NodeBootstrap`], which cloudup gathers; Kubernetes nodes get
//! them, bastions none. A cluster that uses DNS without an API load balancer gets
//! [`ApiDnsConfig`] on its control-plane groups: those nodes keep the API's records.

use std::{collections::BTreeMap, net::Ipv4Addr};

use ipnet::Ipv4Net;

use super::{BuildContext, BuildError, context::role};
use crate::{
    DnsType, InstanceGroup,
    complete::DEFAULT_CLUSTER_DNS_DOMAIN,
    nodeup_config::{
        ApiDnsConfig, ControlPlaneConfig, DEFAULT_ETCD_VERSION, KubeletConfig,
        NODEUP_CONFIG_API_VERSION, NODEUP_CONFIG_KIND, NodeRole, NodeupConfig,
    },
};

/// The control plane's taint when its group sets none (kops's default).
const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane=:NoSchedule";
/// Offset of the cluster DNS service in the service range (kops's choice).
const CLUSTER_DNS_OFFSET: u32 = 10;

/// The nodeup configuration of `group`.
///
/// # Errors
/// [`BuildError`] when a completed field is missing or unusable.
pub fn nodeup_config(
    context: &BuildContext,
    group: &InstanceGroup,
) -> Result<NodeupConfig, BuildError> {
    let spec = context.spec();
    let node_role = role(group);
    let mut node_labels = group.spec.node_labels.clone();
    let mut taints = group.spec.taints.clone();
    match node_role {
        NodeRole::ControlPlane => {
            node_labels.insert(
                "node-role.kubernetes.io/control-plane".to_owned(),
                String::new(),
            );
            node_labels.insert(
                "node.kubernetes.io/exclude-from-external-load-balancers".to_owned(),
                String::new(),
            );
            let taint_key = CONTROL_PLANE_TAINT.split('=').next().unwrap_or_default();
            if !taints.iter().any(|taint| taint.starts_with(taint_key)) {
                taints.push(CONTROL_PLANE_TAINT.to_owned());
            }
        }
        NodeRole::Node => {
            node_labels.insert("node-role.kubernetes.io/node".to_owned(), String::new());
        }
        NodeRole::Bastion => {}
    }
    let etcd_members: BTreeMap<String, Vec<String>> = if node_role == NodeRole::ControlPlane {
        spec.etcd_clusters
            .iter()
            .map(|etcd| {
                (
                    etcd.name.clone(),
                    etcd.etcd_members
                        .iter()
                        .map(|member| member.name.clone())
                        .collect(),
                )
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    let api_server = spec
        .master_internal_name
        .clone()
        .unwrap_or_else(|| context.qualified("api.internal"));
    let kubelet = spec.kubelet.clone().unwrap_or_default();
    let bootstrap = &context.facts.node_bootstrap;
    let kubernetes_node = node_role != NodeRole::Bastion;
    Ok(NodeupConfig {
        api_version: NODEUP_CONFIG_API_VERSION.to_owned(),
        kind: NODEUP_CONFIG_KIND.to_owned(),
        cluster_name: context.name().to_owned(),
        instance_group: group.metadata.name.clone(),
        role: node_role,
        kubernetes_version: spec
            .kubernetes_version
            .clone()
            .ok_or_else(|| super::context::missing("spec.kubernetesVersion"))?,
        api_server,
        api_server_in_hosts: kubernetes_node && context.dns_type() == DnsType::None,
        assets: if kubernetes_node {
            bootstrap.assets.clone()
        } else {
            Vec::new()
        },
        ca_certificates: if kubernetes_node {
            bootstrap.kubernetes_ca_certificates.clone()
        } else {
            Vec::new()
        },
        node_labels,
        taints,
        kubelet: KubeletConfig {
            cluster_dns: cluster_dns(context)?.to_string(),
            cluster_domain: spec
                .cluster_dns_domain
                .clone()
                .unwrap_or_else(|| DEFAULT_CLUSTER_DNS_DOMAIN.to_owned()),
            anonymous_auth: kubelet.anonymous_auth.unwrap_or(false),
            authentication_token_webhook: kubelet.authentication_token_webhook.unwrap_or(true),
            authorization_mode: kubelet
                .authorization_mode
                .unwrap_or_else(|| "Webhook".to_owned()),
            max_pods: kubelet.max_pods,
            feature_gates: kubelet.feature_gates,
        },
        etcd_members,
        config_base: context.config_base()?.to_owned(),
        control_plane: (node_role == NodeRole::ControlPlane)
            .then(|| control_plane(context))
            .transpose()?,
        // Workers present it; the control plane accepts it. Bastions get nothing.
        bootstrap_token: kubernetes_node
            .then(|| bootstrap.bootstrap_token.clone())
            .flatten(),
        api_dns: if node_role == NodeRole::ControlPlane {
            api_dns(context)
        } else {
            None
        },
    })
}

/// The API records the control plane keeps: only when the cluster uses DNS, the hosted zone
/// is known, and no load balancer (whose alias records cloudup creates) fronts the API.
fn api_dns(context: &BuildContext) -> Option<ApiDnsConfig> {
    if context.dns_type() == DnsType::None || context.load_balancer().is_some() {
        return None;
    }
    let zone = context.facts.hosted_zone.as_ref()?;
    let spec = context.spec();
    Some(ApiDnsConfig {
        zone: zone.name.clone(),
        private_zone: zone.private,
        public_name: spec
            .master_public_name
            .clone()
            .unwrap_or_else(|| context.qualified("api")),
        internal_name: spec
            .master_internal_name
            .clone()
            .unwrap_or_else(|| context.qualified("api.internal")),
        // Every control-plane node writes the same records, so they all decide alike: the
        // public name lists public addresses only when every control-plane group gets them
        // (the compute builder's `associatePublicIp`, true in a public topology).
        public_addresses: context
            .groups()
            .filter(|group| role(group) == NodeRole::ControlPlane)
            .all(|group| group.spec.associate_public_ip.unwrap_or(false)),
    })
}

/// The control plane's address ranges, API names and etcd version.
fn control_plane(context: &BuildContext) -> Result<ControlPlaneConfig, BuildError> {
    let spec = context.spec();
    let required = |value: &Option<String>, field: &str| {
        value.clone().ok_or_else(|| super::context::missing(field))
    };
    Ok(ControlPlaneConfig {
        service_cluster_ip_range: required(
            &spec.service_cluster_ip_range,
            "spec.serviceClusterIPRange",
        )?,
        pod_cidr: required(&spec.pod_cidr, "spec.podCIDR")?,
        api_names: [&spec.master_public_name, &spec.master_internal_name]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        etcd_version: spec
            .etcd_clusters
            .iter()
            .find_map(|etcd| etcd.version.clone())
            .unwrap_or_else(|| DEFAULT_ETCD_VERSION.to_owned()),
    })
}

fn cluster_dns(context: &BuildContext) -> Result<Ipv4Addr, BuildError> {
    const FIELD: &str = "spec.serviceClusterIPRange";
    let range = context
        .spec()
        .service_cluster_ip_range
        .as_deref()
        .ok_or_else(|| super::context::missing(FIELD))?;
    let invalid = |problem: &str| BuildError::InvalidField {
        field: FIELD.to_owned(),
        problem: problem.to_owned(),
    };
    let net: Ipv4Net = range.parse().map_err(|_| invalid("not an IPv4 CIDR"))?;
    let address = u32::from(net.network()) + CLUSTER_DNS_OFFSET;
    let address = Ipv4Addr::from(address);
    if !net.contains(&address) {
        return Err(invalid("too small to hold the cluster DNS address"));
    }
    Ok(address)
}
