//! The network: VPC, DHCP options, internet gateway, subnets, NAT gateways and routing.
//!
//! A shared VPC (`networkID`) is only looked up: no tags, no DHCP options, no internet
//! gateway. Shared subnets (`id`) only get the `kubernetes.io/cluster/<c>=shared` tag and
//! are never associated with a route table. Public and Utility subnets share one route table
//! to the internet gateway; each zone with Private subnets gets a NAT gateway in its Utility
//! subnet and a route table `private-<zone>.<c>`. Private subnets with `egress` set route
//! through something Berth does not manage, so they get no table. Routes are IPv4 only
//! (the VPC has no IPv6 block).

use std::collections::BTreeMap;

use super::{BuildContext, BuildError};
use crate::{
    ClusterSubnetSpec, SubnetType,
    aws::{
        DhcpOptions, ElasticIp, Graph, InternetGateway, NatGateway, Ref, Route, RouteTable,
        RouteTableAssociation, RouteTarget, Subnet, Vpc,
    },
};

/// The default IPv4 route.
const DEFAULT_ROUTE: &str = "0.0.0.0/0";

/// What later builders need from the network.
#[derive(Debug, Clone)]
pub struct Network {
    /// The VPC.
    pub vpc: Ref<Vpc>,
    /// Subnets by their name in `spec.subnets`.
    pub subnets: BTreeMap<String, Ref<Subnet>>,
}

/// Adds the network and returns its handles.
///
/// # Errors
/// [`BuildError`] when a subnet lacks its CIDR, a private zone has no Utility subnet, or the
/// graph refuses a node.
pub fn build(context: &BuildContext, graph: &mut Graph) -> Result<Network, BuildError> {
    let spec = context.spec();
    let name = context.name();
    let shared_vpc = spec.network_id.clone();
    let vpc = graph.add(Vpc {
        name: name.to_owned(),
        cidr: context.network_cidr()?.to_owned(),
        tags: if shared_vpc.is_some() {
            Default::default()
        } else {
            context.owned_tags(name)
        },
        shared_id: shared_vpc.clone(),
    })?;
    let internet_gateway = if shared_vpc.is_none() {
        graph.add(DhcpOptions {
            name: name.to_owned(),
            vpc: vpc.clone(),
            domain_name: dhcp_domain(&context.facts.region),
            tags: context.owned_tags(name),
        })?;
        Some(graph.add(InternetGateway {
            name: name.to_owned(),
            vpc: vpc.clone(),
            tags: context.owned_tags(name),
        })?)
    } else {
        None
    };

    let mut subnets = BTreeMap::new();
    for (index, subnet) in spec.subnets.iter().enumerate() {
        let node = graph.add(subnet_resource(context, &vpc, index, subnet)?)?;
        subnets.insert(subnet.name.clone(), node);
    }
    let network = Network { vpc, subnets };

    if let Some(gateway) = &internet_gateway {
        public_routing(context, graph, &network, gateway)?;
    }
    private_routing(context, graph, &network)?;
    Ok(network)
}

/// `ec2.internal` in us-east-1, `<region>.compute.internal` elsewhere (AWS's own defaults).
fn dhcp_domain(region: &str) -> String {
    if region == "us-east-1" {
        "ec2.internal".to_owned()
    } else {
        format!("{region}.compute.internal")
    }
}

fn subnet_resource(
    context: &BuildContext,
    vpc: &Ref<Vpc>,
    index: usize,
    subnet: &ClusterSubnetSpec,
) -> Result<Subnet, BuildError> {
    let name = context.qualified(&subnet.name);
    if let Some(id) = &subnet.id {
        return Ok(Subnet {
            name,
            vpc: vpc.clone(),
            cidr: subnet.cidr.clone().unwrap_or_default(),
            zone: subnet.zone.clone(),
            shared_id: Some(id.clone()),
            tags: context.shared_tags(),
        });
    }
    let cidr = subnet
        .cidr
        .clone()
        .ok_or_else(|| super::context::missing(&format!("spec.subnets[{index}].cidr")))?;
    let mut tags = context.owned_tags(&name);
    let (elb_role, subnet_type) = match subnet.subnet_type {
        SubnetType::Public => ("kubernetes.io/role/elb", "Public"),
        SubnetType::Utility => ("kubernetes.io/role/elb", "Utility"),
        SubnetType::Private => ("kubernetes.io/role/internal-elb", "Private"),
    };
    tags.insert(elb_role.to_owned(), "1".to_owned());
    tags.insert("SubnetType".to_owned(), subnet_type.to_owned());
    Ok(Subnet {
        name,
        vpc: vpc.clone(),
        cidr,
        zone: subnet.zone.clone(),
        shared_id: None,
        tags,
    })
}

fn is_owned_public(subnet: &ClusterSubnetSpec) -> bool {
    subnet.id.is_none() && subnet.subnet_type != SubnetType::Private
}

fn public_routing(
    context: &BuildContext,
    graph: &mut Graph,
    network: &Network,
    gateway: &Ref<InternetGateway>,
) -> Result<(), BuildError> {
    let public: Vec<&ClusterSubnetSpec> = context
        .spec()
        .subnets
        .iter()
        .filter(|subnet| is_owned_public(subnet))
        .collect();
    if public.is_empty() {
        return Ok(());
    }
    let name = context.name();
    let table = graph.add(RouteTable {
        name: name.to_owned(),
        vpc: network.vpc.clone(),
        tags: context.owned_tags(name),
    })?;
    graph.add(Route {
        name: format!("{name}:{DEFAULT_ROUTE}"),
        route_table: table.clone(),
        destination: DEFAULT_ROUTE.to_owned(),
        target: RouteTarget::InternetGateway(gateway.clone()),
    })?;
    for subnet in public {
        associate(graph, network, &table, &subnet.name)?;
    }
    Ok(())
}

fn private_routing(
    context: &BuildContext,
    graph: &mut Graph,
    network: &Network,
) -> Result<(), BuildError> {
    let subnets = &context.spec().subnets;
    // Zones whose private subnets need a NAT gateway, in first-seen order.
    let mut zones: Vec<&str> = Vec::new();
    for subnet in subnets {
        let routed = subnet.subnet_type == SubnetType::Private
            && subnet.id.is_none()
            && subnet.egress.is_none();
        if routed && !zones.contains(&subnet.zone.as_str()) {
            zones.push(&subnet.zone);
        }
    }
    for zone in zones {
        let utility = subnets
            .iter()
            .find(|subnet| subnet.zone == zone && subnet.subnet_type == SubnetType::Utility)
            .and_then(|subnet| network.subnets.get(&subnet.name));
        let Some(utility) = utility else {
            let subnet = subnets
                .iter()
                .find(|subnet| subnet.zone == zone && subnet.subnet_type == SubnetType::Private)
                .map_or_else(String::new, |subnet| subnet.name.clone());
            return Err(BuildError::NoUtilitySubnet {
                subnet,
                zone: zone.to_owned(),
            });
        };
        let nat_name = context.qualified(zone);
        let elastic_ip = graph.add(ElasticIp {
            name: nat_name.clone(),
            tags: context.owned_tags(&nat_name),
        })?;
        let nat = graph.add(NatGateway {
            name: nat_name.clone(),
            subnet: utility.clone(),
            elastic_ip,
            tags: context.owned_tags(&nat_name),
        })?;
        let table_name = context.qualified(&format!("private-{zone}"));
        let table = graph.add(RouteTable {
            name: table_name.clone(),
            vpc: network.vpc.clone(),
            tags: context.owned_tags(&table_name),
        })?;
        graph.add(Route {
            name: format!("{table_name}:{DEFAULT_ROUTE}"),
            route_table: table.clone(),
            destination: DEFAULT_ROUTE.to_owned(),
            target: RouteTarget::NatGateway(nat),
        })?;
        for subnet in subnets.iter().filter(|subnet| {
            subnet.zone == zone
                && subnet.subnet_type == SubnetType::Private
                && subnet.id.is_none()
                && subnet.egress.is_none()
        }) {
            associate(graph, network, &table, &subnet.name)?;
        }
    }
    Ok(())
}

fn associate(
    graph: &mut Graph,
    network: &Network,
    table: &Ref<RouteTable>,
    subnet: &str,
) -> Result<(), BuildError> {
    let Some(subnet_ref) = network.subnets.get(subnet) else {
        return Ok(());
    };
    graph.add(RouteTableAssociation {
        name: subnet_ref.key().name.clone(),
        route_table: table.clone(),
        subnet: subnet_ref.clone(),
    })?;
    Ok(())
}
