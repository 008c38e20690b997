//! Network rules: the VPC and service/pod ranges, subnets, zones and topology.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;

use super::{
    Errors,
    names::{ipv4_cidr, overlaps, region_of_zone},
};
use crate::{
    Cluster, InstanceGroup, InstanceGroupRole, SubnetType, Topology,
    complete::{DEFAULT_NETWORK_CIDR, DEFAULT_NON_MASQUERADE_CIDR},
};

/// What the instance-group rules need to know about the network.
pub(super) struct NetworkSummary {
    /// Subnet types by subnet name.
    pub(super) subnets: BTreeMap<String, SubnetType>,
}

pub(super) fn check(
    cluster: &Cluster,
    instance_groups: &[InstanceGroup],
    errors: &mut Errors,
) -> NetworkSummary {
    let spec = &cluster.spec;
    let network = match (&spec.network_cidr, &spec.network_id) {
        (Some(text), _) => parse(text, "spec.networkCIDR", errors),
        (None, Some(_)) => None,
        (None, None) => ipv4_cidr(DEFAULT_NETWORK_CIDR).ok(),
    };
    let non_masquerade = match &spec.non_masquerade_cidr {
        Some(text) => parse(text, "spec.nonMasqueradeCIDR", errors),
        None => ipv4_cidr(DEFAULT_NON_MASQUERADE_CIDR).ok(),
    };
    if let (Some(network), Some(non_masquerade)) = (network, non_masquerade)
        && overlaps(&network, &non_masquerade)
    {
        errors.push(
            "spec.nonMasqueradeCIDR",
            format!("{non_masquerade} overlaps the network CIDR {network}"),
        );
    }
    for (field, value) in [
        ("serviceClusterIPRange", &spec.service_cluster_ip_range),
        ("podCIDR", &spec.pod_cidr),
    ] {
        let path = format!("spec.{field}");
        if let Some(text) = value
            && let Some(range) = parse(text, &path, errors)
            && let Some(non_masquerade) = non_masquerade
            && !non_masquerade.contains(&range)
        {
            errors.push(
                path,
                format!("{range} must lie inside nonMasqueradeCIDR {non_masquerade}"),
            );
        }
    }
    if let (Some(service), Some(pod)) = (&spec.service_cluster_ip_range, &spec.pod_cidr)
        && let (Ok(service), Ok(pod)) = (ipv4_cidr(service), ipv4_cidr(pod))
        && overlaps(&service, &pod)
    {
        errors.push(
            "spec.podCIDR",
            format!("{pod} overlaps serviceClusterIPRange {service}"),
        );
    }
    check_subnets(cluster, network, errors);
    check_topology(cluster, instance_groups, errors);
    NetworkSummary {
        subnets: spec
            .subnets
            .iter()
            .map(|subnet| (subnet.name.clone(), subnet.subnet_type))
            .collect(),
    }
}

fn parse(text: &str, path: &str, errors: &mut Errors) -> Option<Ipv4Net> {
    ipv4_cidr(text)
        .map_err(|problem| errors.push(path, problem))
        .ok()
}

fn check_subnets(cluster: &Cluster, network: Option<Ipv4Net>, errors: &mut Errors) {
    let subnets = &cluster.spec.subnets;
    if subnets.is_empty() {
        errors.push("spec.subnets", "at least one subnet is required");
        return;
    }
    let mut names = BTreeSet::new();
    let mut parsed: Vec<(usize, Ipv4Net)> = Vec::new();
    let mut first_region: Option<&str> = None;
    for (index, subnet) in subnets.iter().enumerate() {
        let path = format!("spec.subnets[{index}]");
        if subnet.name.is_empty() {
            errors.push(format!("{path}.name"), "must not be empty");
        } else if !names.insert(subnet.name.as_str()) {
            errors.push(
                format!("{path}.name"),
                format!("duplicate subnet name `{}`", subnet.name),
            );
        }
        match region_of_zone(&subnet.zone) {
            Some(region) => match first_region {
                None => first_region = Some(region),
                Some(first) if first != region => errors.push(
                    format!("{path}.zone"),
                    format!(
                        "all zones must be in one region: `{}` is not in {first}",
                        subnet.zone
                    ),
                ),
                Some(_) => {}
            },
            None => errors.push(
                format!("{path}.zone"),
                format!(
                    "`{}` is not an availability zone (for example us-east-1a)",
                    subnet.zone
                ),
            ),
        }
        match (&subnet.cidr, &subnet.id) {
            (None, None) => errors.push(
                format!("{path}.cidr"),
                "is required unless the subnet is shared (`id`)",
            ),
            (Some(text), _) => {
                let cidr_path = format!("{path}.cidr");
                if let Some(cidr) = parse(text, &cidr_path, errors) {
                    if let Some(network) = network
                        && !network.contains(&cidr)
                    {
                        errors.push(
                            cidr_path.clone(),
                            format!("{cidr} must lie inside the network CIDR {network}"),
                        );
                    }
                    for (other, other_cidr) in &parsed {
                        if overlaps(&cidr, other_cidr) {
                            errors.push(
                                cidr_path.clone(),
                                format!("{cidr} overlaps spec.subnets[{other}].cidr {other_cidr}"),
                            );
                        }
                    }
                    parsed.push((index, cidr));
                }
            }
            (None, Some(_)) => {}
        }
        if let Some(egress) = &subnet.egress {
            if subnet.subnet_type != SubnetType::Private {
                errors.push(
                    format!("{path}.egress"),
                    "is only valid for Private subnets",
                );
            } else if !(egress.starts_with("nat-") || egress == "External") {
                errors.push(
                    format!("{path}.egress"),
                    format!("`{egress}` must be a NAT gateway ID (`nat-…`) or `External`"),
                );
            }
        }
    }
}

fn check_topology(cluster: &Cluster, instance_groups: &[InstanceGroup], errors: &mut Errors) {
    let spec = &cluster.spec;
    let subnets = &spec.subnets;
    let has_private = subnets
        .iter()
        .any(|subnet| subnet.subnet_type == SubnetType::Private);
    let topology = spec.topology.as_ref();
    for (field, value) in [
        ("masters", topology.and_then(|topology| topology.masters)),
        ("nodes", topology.and_then(|topology| topology.nodes)),
    ] {
        if value == Some(Topology::Private) && !has_private {
            errors.push(
                format!("spec.topology.{field}"),
                "is `private` but there are no Private subnets",
            );
        }
    }
    for (index, subnet) in subnets.iter().enumerate() {
        if subnet.subnet_type == SubnetType::Private
            && !subnets
                .iter()
                .any(|other| other.subnet_type == SubnetType::Utility && other.zone == subnet.zone)
        {
            errors.push(
                format!("spec.subnets[{index}]"),
                format!(
                    "Private subnet `{}` needs a Utility subnet in zone {} (for NAT and load balancers)",
                    subnet.name, subnet.zone
                ),
            );
        }
    }
    let has_bastion = instance_groups
        .iter()
        .any(|group| group.spec.role == InstanceGroupRole::Bastion);
    if (has_bastion || topology.is_some_and(|topology| topology.bastion.is_some())) && !has_private
    {
        errors.push(
            "spec.topology.bastion",
            "a bastion needs the private topology (Private and Utility subnets)",
        );
    }
}
