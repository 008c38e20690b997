//! The API endpoint: a Network Load Balancer, its target group and its listener.

use serde::Serialize;

use super::{NodeKey, Ref, SecurityGroup, Subnet, Tags, Vpc};

/// The API's Network Load Balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancer {
    /// The load balancer name (at most 32 characters, derived from the cluster name).
    pub name: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// The subnets it serves from (one per zone).
    pub subnets: Vec<Ref<Subnet>>,
    /// Its security groups (`api-elb.<cluster>`); an NLB only accepts them at creation.
    pub security_groups: Vec<Ref<SecurityGroup>>,
    /// Tags.
    pub tags: Tags,
}

impl LoadBalancer {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        let mut deps: Vec<NodeKey> = self
            .subnets
            .iter()
            .map(|subnet| subnet.key().clone())
            .collect();
        deps.extend(self.security_groups.iter().map(|group| group.key().clone()));
        deps
    }
}

/// The target group the control-plane instances register with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroup {
    /// The target group name (at most 32 characters).
    pub name: String,
    /// The VPC.
    pub vpc: Ref<Vpc>,
    /// `TCP`.
    pub protocol: String,
    /// 443.
    pub port: i32,
    /// Tags.
    pub tags: Tags,
}

impl TargetGroup {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.vpc.key().clone()]
    }
}

/// The TCP listener that forwards to the target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// `<load balancer>-<port>`.
    pub name: String,
    /// The load balancer.
    pub load_balancer: Ref<LoadBalancer>,
    /// The target group.
    pub target_group: Ref<TargetGroup>,
    /// The port (443).
    pub port: i32,
}

impl Listener {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![
            self.load_balancer.key().clone(),
            self.target_group.key().clone(),
        ]
    }
}
