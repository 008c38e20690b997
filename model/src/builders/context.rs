//! What the builders read: the completed cluster and the facts gathered for it.
//!
//! Builders see only this; they hold no clients and do no I/O. The helpers here answer the
//! questions several builders ask (names, ownership tags, the role of a group).

use std::collections::BTreeMap;

use super::BuildError;
use crate::{
    ClusterSpec, CompletedCluster, DnsType, InstanceGroup, LoadBalancerAccessSpec,
    aws::{CLUSTER_TAG, Tags, cluster_owned_tag_key},
    nodeup_config::{Asset, NodeRole},
    ssh::SshPublicKey,
};

/// The nodeup binary the bootstrap script downloads (amd64).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeupAsset {
    /// Mirrors, tried in order.
    pub urls: Vec<String>,
    /// Hex SHA-256 of the binary.
    pub sha256: String,
}

/// What nodes need to join, beyond the spec: gathered by cloudup (asset hashes from their
/// publishers, certificates and the bootstrap token from the state store).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeBootstrap {
    /// Hash-pinned downloads of every Kubernetes node (control plane and workers).
    pub assets: Vec<Asset>,
    /// PEM certificate(s) of the cluster CA, public parts only.
    pub kubernetes_ca_certificates: Vec<String>,
    /// The cluster's bootstrap token (`<id>.<secret>`), when one exists.
    pub bootstrap_token: Option<String>,
}

/// The Route 53 hosted zone the cluster's records go into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedZoneFact {
    /// The zone's name, e.g. `example.com`.
    pub name: String,
    /// Whether it is a private zone.
    pub private: bool,
}

/// Facts the builders need beyond the spec, gathered by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildFacts {
    /// The AWS region, e.g. `us-east-1`.
    pub region: String,
    /// Image as written in an instance group (`owner/name` or `ami-…`) → resolved AMI id.
    pub images: BTreeMap<String, String>,
    /// The admin SSH key from the store; `None` means no key pair.
    pub ssh_public_key: Option<SshPublicKey>,
    /// The nodeup binary.
    pub nodeup: NodeupAsset,
    /// The hosted zone, when the cluster uses DNS.
    pub hosted_zone: Option<HostedZoneFact>,
    /// Assets, CA certificates and bootstrap token for the nodeup configs.
    pub node_bootstrap: NodeBootstrap,
}

/// Everything a builder reads.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// The completed cluster and instance groups.
    pub cluster: &'a CompletedCluster,
    /// Facts from the cloud and the store.
    pub facts: &'a BuildFacts,
}

impl BuildContext<'_> {
    /// The cluster's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.cluster.cluster.metadata.name
    }

    pub(crate) fn spec(&self) -> &ClusterSpec {
        &self.cluster.cluster.spec
    }

    /// `<prefix>.<cluster>`, the readable name of most resources.
    pub(crate) fn qualified(&self, prefix: &str) -> String {
        format!("{prefix}.{}", self.name())
    }

    /// `KubernetesCluster`, `kubernetes.io/cluster/<c>=owned`, `Name` and `spec.cloudLabels`.
    pub(crate) fn owned_tags(&self, name: &str) -> Tags {
        let mut tags: Tags = self.spec().cloud_labels.clone();
        tags.extend(self.ownership_tags(name));
        tags
    }

    /// Only `KubernetesCluster`, `kubernetes.io/cluster/<c>=owned` and `Name`.
    pub(crate) fn ownership_tags(&self, name: &str) -> Tags {
        Tags::from([
            (CLUSTER_TAG.to_owned(), self.name().to_owned()),
            (cluster_owned_tag_key(self.name()), "owned".to_owned()),
            ("Name".to_owned(), name.to_owned()),
        ])
    }

    /// The only tag a shared resource gets.
    pub(crate) fn shared_tags(&self) -> Tags {
        Tags::from([(cluster_owned_tag_key(self.name()), "shared".to_owned())])
    }

    pub(crate) fn config_base(&self) -> Result<&str, BuildError> {
        self.spec()
            .config_base
            .as_deref()
            .ok_or_else(|| missing("spec.configBase"))
    }

    pub(crate) fn network_cidr(&self) -> Result<&str, BuildError> {
        self.spec()
            .network_cidr
            .as_deref()
            .ok_or_else(|| missing("spec.networkCIDR"))
    }

    pub(crate) fn dns_type(&self) -> DnsType {
        self.spec()
            .topology
            .as_ref()
            .and_then(|topology| topology.dns.as_ref())
            .map_or(DnsType::None, |dns| dns.dns_type)
    }

    pub(crate) fn load_balancer(&self) -> Option<&LoadBalancerAccessSpec> {
        self.spec().api.as_ref()?.load_balancer.as_ref()
    }

    pub(crate) fn has_bastion(&self) -> bool {
        self.groups().any(|group| role(group) == NodeRole::Bastion)
    }

    pub(crate) fn groups(&self) -> impl Iterator<Item = &InstanceGroup> {
        self.cluster.instance_groups.iter()
    }

    /// `aws`, `aws-cn` or `aws-us-gov`, for ARNs.
    pub(crate) fn partition(&self) -> &'static str {
        if self.facts.region.starts_with("cn-") {
            "aws-cn"
        } else if self.facts.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }
}

/// The role of an instance group's instances.
pub(crate) fn role(group: &InstanceGroup) -> NodeRole {
    NodeRole::of(group.spec.role)
}

pub(crate) fn missing(field: &str) -> BuildError {
    BuildError::MissingField {
        field: field.to_owned(),
    }
}

/// Converts a spec number to the `i32` AWS takes, naming the field when it does not fit.
pub(crate) fn aws_int(value: u32, field: impl FnOnce() -> String) -> Result<i32, BuildError> {
    i32::try_from(value).map_err(|_| BuildError::InvalidField {
        field: field(),
        problem: format!("{value} is too large"),
    })
}
