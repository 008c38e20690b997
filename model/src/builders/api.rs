//! The API endpoint: with `spec.api.loadBalancer`, a Network Load Balancer (`api-<c>`), its
//! TCP 443 target group (`tcp-<c>`) and listener, and, when the cluster uses DNS and the
//! hosted zone is known, alias records `api.<c>` and `api.internal.<c>` pointing at it.
//!
//! The load balancer serves from one subnet per zone: Utility subnets in a private topology,
//! Public subnets otherwise. With DNS but no load balancer the records point at the
//! control-plane instances and are kept by the control plane itself (its nodeup configs carry
//! [`crate::nodeup_config::ApiDnsConfig`]), so none are built here.

use super::{
    BuildContext, BuildError, names,
    network::Network,
    security::{API_PORT, SecurityGroups},
};
use crate::{
    DnsType, LoadBalancerType, SubnetType,
    aws::{DnsRecord, Graph, Listener, LoadBalancer, Ref, Subnet, TargetGroup},
};

/// Adds the API endpoint; returns the target group control-plane groups register with.
///
/// # Errors
/// [`BuildError`] when no subnet can hold the load balancer or the graph refuses a node.
pub fn build(
    context: &BuildContext,
    graph: &mut Graph,
    network: &Network,
    security: &SecurityGroups,
) -> Result<Option<Ref<TargetGroup>>, BuildError> {
    let Some(spec) = context.load_balancer() else {
        return Ok(None);
    };
    let scheme = match spec.load_balancer_type.unwrap_or(LoadBalancerType::Public) {
        LoadBalancerType::Public => "internet-facing",
        LoadBalancerType::Internal => "internal",
    };
    let name = names::api_load_balancer_name(context.name());
    let load_balancer = graph.add(LoadBalancer {
        name: name.clone(),
        scheme: scheme.to_owned(),
        subnets: subnets(context, network)?,
        security_groups: security.api_elb.iter().cloned().collect(),
        tags: context.owned_tags(&name),
    })?;
    let target_group_name = names::elb_name("tcp", context.name());
    let target_group = graph.add(TargetGroup {
        name: target_group_name.clone(),
        vpc: network.vpc.clone(),
        protocol: "TCP".to_owned(),
        port: API_PORT,
        tags: context.owned_tags(&target_group_name),
    })?;
    graph.add(Listener {
        name: format!("{name}-{API_PORT}"),
        load_balancer: load_balancer.clone(),
        target_group: target_group.clone(),
        port: API_PORT,
    })?;

    if let (true, Some(zone)) = (
        context.dns_type() != DnsType::None,
        &context.facts.hosted_zone,
    ) {
        let spec = context.spec();
        let public = spec
            .master_public_name
            .clone()
            .unwrap_or_else(|| context.qualified("api"));
        let internal = spec
            .master_internal_name
            .clone()
            .unwrap_or_else(|| context.qualified("api.internal"));
        for record in [public, internal] {
            graph.add(DnsRecord {
                name: record,
                zone: zone.name.clone(),
                private_zone: zone.private,
                load_balancer: load_balancer.clone(),
            })?;
        }
    }
    Ok(Some(target_group))
}

/// One subnet per zone, of the type load balancers live in.
fn subnets(context: &BuildContext, network: &Network) -> Result<Vec<Ref<Subnet>>, BuildError> {
    let all = &context.spec().subnets;
    let private = all
        .iter()
        .any(|subnet| subnet.subnet_type == SubnetType::Private);
    let (wanted, label) = if private {
        (SubnetType::Utility, "Utility")
    } else {
        (SubnetType::Public, "Public")
    };
    let mut zones: Vec<&str> = Vec::new();
    let mut chosen = Vec::new();
    for subnet in all.iter().filter(|subnet| subnet.subnet_type == wanted) {
        if zones.contains(&subnet.zone.as_str()) {
            continue;
        }
        if let Some(node) = network.subnets.get(&subnet.name) {
            zones.push(&subnet.zone);
            chosen.push(node.clone());
        }
    }
    if chosen.is_empty() {
        return Err(BuildError::NoLoadBalancerSubnet { wanted: label });
    }
    Ok(chosen)
}
