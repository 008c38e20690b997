//! Cluster-level defaults.

use ipnet::Ipv4Net;

use super::{
    CloudFacts, CompleteError, DEFAULT_ACCESS, DEFAULT_CHANNEL, DEFAULT_CLUSTER_DNS_DOMAIN,
    DEFAULT_CONTAINER_RUNTIME, DEFAULT_NETWORK_CIDR, DEFAULT_NON_MASQUERADE_CIDR, etcd,
};
use crate::{
    AccessSpec, AuthorizationSpec, CiliumNetworkingSpec, CloudProvider, CloudProviderName, Cluster,
    ClusterSpec, DEFAULT_KUBERNETES_VERSION, DnsAccessSpec, DnsSpec, DnsType, ExternalDnsSpec,
    IamSpec, InstanceGroup, KubeApiServerSpec, KubeDnsSpec, KubeProxySpec, KubeletSpec,
    LoadBalancerAccessSpec, LoadBalancerClass, LoadBalancerType, NetworkingSpec,
    RbacAuthorizationSpec, TopologySpec, validate::region_of_zone,
};

pub(super) fn complete(
    cluster: &mut Cluster,
    instance_groups: &[InstanceGroup],
    facts: &CloudFacts,
) -> Result<(), CompleteError> {
    check_zones(cluster, facts)?;
    let name = cluster.metadata.name.clone();
    let spec = &mut cluster.spec;

    if spec.config_base.is_none() {
        let store = facts
            .state_store
            .as_deref()
            .ok_or(CompleteError::MissingConfigBase)?;
        spec.config_base = Some(format!("{}/{name}", store.trim_end_matches('/')));
    }
    spec.channel
        .get_or_insert_with(|| DEFAULT_CHANNEL.to_owned());
    spec.cloud_provider
        .get_or_insert(CloudProvider::Name(CloudProviderName::Aws));
    spec.kubernetes_version
        .get_or_insert_with(|| DEFAULT_KUBERNETES_VERSION.to_owned());
    spec.container_runtime
        .get_or_insert_with(|| DEFAULT_CONTAINER_RUNTIME.to_owned());
    spec.cluster_dns_domain
        .get_or_insert_with(|| DEFAULT_CLUSTER_DNS_DOMAIN.to_owned());
    spec.authorization
        .get_or_insert_with(AuthorizationSpec::default)
        .rbac
        .get_or_insert_with(RbacAuthorizationSpec::default);
    let iam = spec.iam.get_or_insert_with(IamSpec::default);
    iam.allow_container_registry.get_or_insert(true);
    iam.legacy.get_or_insert(false);

    // Network ranges.
    if spec.network_cidr.is_none() {
        spec.network_cidr = Some(match &spec.network_id {
            None => DEFAULT_NETWORK_CIDR.to_owned(),
            Some(network_id) => {
                facts
                    .network_cidr
                    .clone()
                    .ok_or_else(|| CompleteError::UnknownNetworkCidr {
                        network_id: network_id.clone(),
                    })?
            }
        });
    }
    let non_masquerade = spec
        .non_masquerade_cidr
        .get_or_insert_with(|| DEFAULT_NON_MASQUERADE_CIDR.to_owned())
        .clone();
    if spec.service_cluster_ip_range.is_none() || spec.pod_cidr.is_none() {
        let (service, pod) = service_and_pod_ranges(&non_masquerade)?;
        spec.service_cluster_ip_range
            .get_or_insert_with(|| service.to_string());
        spec.pod_cidr.get_or_insert_with(|| pod.to_string());
    }
    for access in [&mut spec.kubernetes_api_access, &mut spec.ssh_access] {
        if access.is_empty() {
            *access = DEFAULT_ACCESS
                .iter()
                .map(|cidr| (*cidr).to_owned())
                .collect();
        }
    }

    // DNS and API endpoint.
    let dns_type = complete_api_endpoint(spec, &name);
    if dns_type != DnsType::None {
        spec.external_dns
            .get_or_insert_with(ExternalDnsSpec::default)
            .provider
            .get_or_insert_with(|| "dns-controller".to_owned());
    }

    // Networking and components.
    let networking = spec.networking.get_or_insert_with(|| NetworkingSpec {
        cilium: Some(CiliumNetworkingSpec::default()),
        ..NetworkingSpec::default()
    });
    let node_port = networking
        .cilium
        .as_mut()
        .map(|cilium| *cilium.enable_node_port.get_or_insert(true));
    spec.kube_proxy
        .get_or_insert_with(KubeProxySpec::default)
        .enabled
        .get_or_insert(node_port != Some(true));
    let kubelet = spec.kubelet.get_or_insert_with(KubeletSpec::default);
    kubelet.anonymous_auth.get_or_insert(false);
    kubelet.authentication_token_webhook.get_or_insert(true);
    kubelet
        .authorization_mode
        .get_or_insert_with(|| "Webhook".to_owned());
    spec.kube_api_server
        .get_or_insert_with(KubeApiServerSpec::default)
        .anonymous_auth
        .get_or_insert(false);
    spec.kube_dns
        .get_or_insert_with(KubeDnsSpec::default)
        .provider
        .get_or_insert_with(|| "CoreDNS".to_owned());

    if spec.etcd_clusters.is_empty() {
        spec.etcd_clusters = etcd::default_clusters(instance_groups);
    }
    for etcd_cluster in &mut spec.etcd_clusters {
        etcd::complete_cluster(etcd_cluster);
    }
    Ok(())
}

/// Fills the DNS type, the API's access (a load balancer when there is no DNS) and the public
/// and internal API names; returns the DNS type. Needs no cloud facts.
pub(super) fn complete_api_endpoint(spec: &mut ClusterSpec, name: &str) -> DnsType {
    let topology = spec.topology.get_or_insert_with(TopologySpec::default);
    let dns_default = if spec.dns_zone.is_some() {
        DnsType::Public
    } else {
        DnsType::None
    };
    let dns_type = topology
        .dns
        .get_or_insert(DnsSpec {
            dns_type: dns_default,
        })
        .dns_type;
    let api = spec.api.get_or_insert_with(AccessSpec::default);
    if api.dns.is_none() && api.load_balancer.is_none() {
        if dns_type == DnsType::None {
            api.load_balancer = Some(LoadBalancerAccessSpec::default());
        } else {
            api.dns = Some(DnsAccessSpec::default());
        }
    }
    if let Some(load_balancer) = &mut api.load_balancer {
        load_balancer
            .load_balancer_type
            .get_or_insert(LoadBalancerType::Public);
        load_balancer
            .class
            .get_or_insert(LoadBalancerClass::Network);
    }
    spec.master_public_name
        .get_or_insert_with(|| format!("api.{name}"));
    spec.master_internal_name
        .get_or_insert_with(|| format!("api.internal.{name}"));
    dns_type
}

fn check_zones(cluster: &Cluster, facts: &CloudFacts) -> Result<(), CompleteError> {
    for (index, subnet) in cluster.spec.subnets.iter().enumerate() {
        if !facts.region.is_empty() && region_of_zone(&subnet.zone) != Some(facts.region.as_str()) {
            return Err(CompleteError::ZoneOutsideRegion {
                index,
                zone: subnet.zone.clone(),
                region: facts.region.clone(),
            });
        }
        if !facts.available_zones.is_empty() && !facts.available_zones.contains(&subnet.zone) {
            return Err(CompleteError::ZoneUnavailable {
                index,
                zone: subnet.zone.clone(),
                available: facts.available_zones.join(", "),
            });
        }
    }
    Ok(())
}

/// kops's carving: services get the first /N+3 of `nonMasqueradeCIDR`, pods its upper half
/// (for 100.64.0.0/10: 100.64.0.0/13 and 100.96.0.0/11).
fn service_and_pod_ranges(non_masquerade: &str) -> Result<(Ipv4Net, Ipv4Net), CompleteError> {
    let error = || CompleteError::NonMasqueradeCidr {
        cidr: non_masquerade.to_owned(),
    };
    let net: Ipv4Net = non_masquerade.parse().map_err(|_| error())?;
    let service = net
        .subnets(net.prefix_len() + 3)
        .ok()
        .and_then(|mut subnets| subnets.next())
        .ok_or_else(error)?;
    let pod = net
        .subnets(net.prefix_len() + 1)
        .ok()
        .and_then(|mut subnets| subnets.nth(1))
        .ok_or_else(error)?;
    Ok((service, pod))
}
