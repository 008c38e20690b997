//! The network: VPC, DHCP options, subnets, gateways, route tables and routes.

use serde::Serialize;

use super::{NodeKey, Ref, Tags};

/// A VPC: owned (created from `cidr`) or shared (given by `shared_id`, never modified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vpc {
    /// The `Name` tag: the cluster name.
    pub name: String,
    /// The IPv4 CIDR.
    pub cidr: String,
    /// An existing VPC's id: Berth only looks it up.
    pub shared_id: Option<String>,
    /// Tags (owned VPCs only).
    pub tags: Tags,
}

impl Vpc {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        Vec::new()
    }
}

/// DHCP options (the region's domain name, Amazon DNS) associated with the VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DhcpOptions {
    /// The `Name` tag.
    pub name: String,
    /// The VPC it is associated with.
    pub vpc: Ref<Vpc>,
    /// `domain-name`, e.g. `ec2.internal` in us-east-1.
    pub domain_name: String,
    /// Tags.
    pub tags: Tags,
}

impl DhcpOptions {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.vpc.key().clone()]
    }
}

/// An internet gateway attached to the VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InternetGateway {
    /// The `Name` tag.
    pub name: String,
    /// The VPC it is attached to.
    pub vpc: Ref<Vpc>,
    /// Tags.
    pub tags: Tags,
}

impl InternetGateway {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.vpc.key().clone()]
    }
}

/// A subnet: owned, or shared (`shared_id`), which only gets the `shared` cluster tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subnet {
    /// The `Name` tag: `<subnet name>.<cluster>`.
    pub name: String,
    /// The VPC.
    pub vpc: Ref<Vpc>,
    /// The IPv4 CIDR (owned subnets).
    pub cidr: String,
    /// The availability zone.
    pub zone: String,
    /// An existing subnet's id.
    pub shared_id: Option<String>,
    /// Tags (for shared subnets: only the `kubernetes.io/cluster/<c>=shared` tag).
    pub tags: Tags,
}

impl Subnet {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.vpc.key().clone()]
    }
}

/// An Elastic IP for a NAT gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElasticIp {
    /// The `Name` tag.
    pub name: String,
    /// Tags.
    pub tags: Tags,
}

impl ElasticIp {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        Vec::new()
    }
}

/// A NAT gateway in a utility subnet, for a private topology's egress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatGateway {
    /// The `Name` tag.
    pub name: String,
    /// The (public) subnet it lives in.
    pub subnet: Ref<Subnet>,
    /// Its Elastic IP.
    pub elastic_ip: Ref<ElasticIp>,
    /// Tags.
    pub tags: Tags,
}

impl NatGateway {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.subnet.key().clone(), self.elastic_ip.key().clone()]
    }
}

/// A route table of the VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteTable {
    /// The `Name` tag.
    pub name: String,
    /// The VPC.
    pub vpc: Ref<Vpc>,
    /// Tags.
    pub tags: Tags,
}

impl RouteTable {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.vpc.key().clone()]
    }
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RouteTarget {
    /// The internet gateway.
    InternetGateway(Ref<InternetGateway>),
    /// A NAT gateway.
    NatGateway(Ref<NatGateway>),
}

/// One route of a route table (no tags: routes have none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// `<route table>:<destination>`.
    pub name: String,
    /// The route table.
    pub route_table: Ref<RouteTable>,
    /// The destination CIDR (`0.0.0.0/0` or `::/0`).
    pub destination: String,
    /// The target.
    pub target: RouteTarget,
}

impl Route {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        let target = match &self.target {
            RouteTarget::InternetGateway(gateway) => gateway.key().clone(),
            RouteTarget::NatGateway(gateway) => gateway.key().clone(),
        };
        vec![self.route_table.key().clone(), target]
    }
}

/// A subnet's association with a route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteTableAssociation {
    /// `<subnet name>`.
    pub name: String,
    /// The route table.
    pub route_table: Ref<RouteTable>,
    /// The subnet.
    pub subnet: Ref<Subnet>,
}

impl RouteTableAssociation {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.route_table.key().clone(), self.subnet.key().clone()]
    }
}
