//! Security groups and their rules.

use serde::Serialize;

use super::{NodeKey, Ref, Tags, Vpc};

/// A security group (its rules are separate [`SecurityGroupRule`] nodes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityGroup {
    /// The group name and `Name` tag, e.g. `masters.<cluster>`.
    pub name: String,
    /// The VPC.
    pub vpc: Ref<Vpc>,
    /// The group description (immutable in AWS).
    pub description: String,
    /// Tags.
    pub tags: Tags,
}

impl SecurityGroup {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.vpc.key().clone()]
    }
}

/// Ingress or egress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RuleDirection {
    /// Inbound.
    Ingress,
    /// Outbound.
    Egress,
}

/// Who a rule admits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RuleSource {
    /// An IPv4 or IPv6 CIDR.
    Cidr(String),
    /// Members of a security group.
    Group(Ref<SecurityGroup>),
}

/// One rule: a protocol and port range from (or to) one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityGroupRule {
    /// A readable unique name, e.g. `from-nodes.<c>-to-masters.<c>-tcp-1-2379`.
    pub name: String,
    /// The group the rule belongs to.
    pub security_group: Ref<SecurityGroup>,
    /// Ingress or egress.
    pub direction: RuleDirection,
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub protocol: String,
    /// First port (0 for all).
    pub from_port: i32,
    /// Last port (65535 or 0 for all).
    pub to_port: i32,
    /// The peer.
    pub source: RuleSource,
}

impl SecurityGroupRule {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        let mut deps = vec![self.security_group.key().clone()];
        if let RuleSource::Group(group) = &self.source
            && group.key() != self.security_group.key()
        {
            deps.push(group.key().clone());
        }
        deps
    }
}
