//! Route 53 records of the cluster inside the user's hosted zone (never the zone itself).

use serde::Serialize;

use super::{LoadBalancer, NodeKey, Ref};

/// An `A` alias record pointing at the API load balancer, e.g. `api.<cluster>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsRecord {
    /// The record's fully qualified name, without the trailing dot.
    pub name: String,
    /// The hosted zone's name (e.g. `example.com`), resolved to its id by the engine.
    pub zone: String,
    /// Whether the zone is private.
    pub private_zone: bool,
    /// The load balancer the alias points at.
    pub load_balancer: Ref<LoadBalancer>,
}

impl DnsRecord {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.load_balancer.key().clone()]
    }
}
