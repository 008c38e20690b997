//! Defaults: turns a user's spec into a [`CompletedCluster`] where every defaultable field
//! is filled in.
//!
//! [`complete`] is pure and idempotent: it only fills fields that are absent (and moves
//! the legacy `rootVolumeSize`/`rootVolumeType` into `rootVolume`), so completing a
//! completed spec changes nothing. Facts from the cloud arrive as [`CloudFacts`]. It does
//! not validate; run [`crate::validate()`] on the user's spec first and, as a safety net,
//! on the completed one. Every default is listed in `docs/defaults.md`.

mod cluster;
mod etcd;
mod instance_group;

use crate::{Cluster, DnsType, InstanceGroup};

/// VPC CIDR when neither `networkCIDR` nor `networkID` is given (kops's default).
pub const DEFAULT_NETWORK_CIDR: &str = "172.20.0.0/16";
/// `nonMasqueradeCIDR` default (kops's default, the RFC 6598 shared range).
pub const DEFAULT_NON_MASQUERADE_CIDR: &str = "100.64.0.0/10";
/// Default `channel`.
pub const DEFAULT_CHANNEL: &str = "stable";
/// Default `clusterDNSDomain`.
pub const DEFAULT_CLUSTER_DNS_DOMAIN: &str = "cluster.local";
/// Default `containerRuntime` (the only one supported).
pub const DEFAULT_CONTAINER_RUNTIME: &str = "containerd";
/// Default etcd and root volume type.
pub const DEFAULT_VOLUME_TYPE: &str = "gp3";
/// Default etcd volume size in GiB (kops's default).
pub const DEFAULT_ETCD_VOLUME_SIZE: u32 = 20;
/// Default gp3 IOPS (the gp3 baseline, free of charge).
pub const DEFAULT_GP3_IOPS: u32 = 3000;
/// Default gp3 throughput in MiB/s (the gp3 baseline, free of charge).
pub const DEFAULT_GP3_THROUGHPUT: u32 = 125;
/// Default root volume size of control-plane instances, GiB (kops's default).
pub const DEFAULT_CONTROL_PLANE_ROOT_VOLUME_SIZE: u32 = 64;
/// Default root volume size of nodes, GiB (kops's default).
pub const DEFAULT_NODE_ROOT_VOLUME_SIZE: u32 = 128;
/// Default root volume size of bastions, GiB (kops's default).
pub const DEFAULT_BASTION_ROOT_VOLUME_SIZE: u32 = 32;
/// Default bastion instance type.
pub const DEFAULT_BASTION_MACHINE_TYPE: &str = "t3.micro";
/// Label kops puts on nodes naming their instance group.
pub const INSTANCE_GROUP_LABEL: &str = "kops.k8s.io/instancegroup";
/// Addresses allowed by default to reach the API and SSH (kops's default: anywhere).
pub const DEFAULT_ACCESS: &[&str] = &["0.0.0.0/0", "::/0"];

/// Facts gathered from the cloud (or the CLI) before completion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudFacts {
    /// The AWS region, for example `us-east-1` (empty: not checked).
    pub region: String,
    /// Availability zones of the region that the account can use (empty: not checked).
    pub available_zones: Vec<String>,
    /// The AWS account ID, when known.
    pub account_id: Option<String>,
    /// CIDR of the shared VPC named by `networkID`, when there is one.
    pub network_cidr: Option<String>,
    /// The state store URL (`s3://bucket` or `file:///path`), to derive `configBase`.
    pub state_store: Option<String>,
}

/// A cluster and its instance groups with every defaultable field filled in.
///
/// Only [`complete`] makes one, so later stages cannot receive an unfinished spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedCluster {
    /// The completed cluster.
    pub cluster: Cluster,
    /// The completed instance groups, in input order.
    pub instance_groups: Vec<InstanceGroup>,
}

/// A default that could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompleteError {
    /// Neither `spec.configBase` nor a state store is known.
    #[error("`spec.configBase` is not set and no state store was given to derive it from")]
    MissingConfigBase,
    /// `networkID` is set but the VPC's CIDR is unknown.
    #[error("`spec.networkCIDR` is not set and the CIDR of shared VPC `{network_id}` is unknown")]
    UnknownNetworkCidr {
        /// The shared VPC's ID.
        network_id: String,
    },
    /// `nonMasqueradeCIDR` is too small or malformed to carve service and pod ranges from.
    #[error(
        "cannot derive service and pod ranges from nonMasqueradeCIDR `{cidr}` (needs an IPv4 CIDR of /29 or larger)"
    )]
    NonMasqueradeCidr {
        /// The offending value.
        cidr: String,
    },
    /// A subnet's zone is not in the target region.
    #[error("`spec.subnets[{index}].zone`: zone `{zone}` is not in region `{region}`")]
    ZoneOutsideRegion {
        /// Index of the subnet.
        index: usize,
        /// The zone.
        zone: String,
        /// The region from [`CloudFacts`].
        region: String,
    },
    /// A subnet's zone is not available to the account.
    #[error(
        "`spec.subnets[{index}].zone`: zone `{zone}` is not available (available: {available})"
    )]
    ZoneUnavailable {
        /// Index of the subnet.
        index: usize,
        /// The zone.
        zone: String,
        /// Comma-separated available zones.
        available: String,
    },
}

/// Fill every default of `cluster` and `instance_groups`.
///
/// # Errors
/// [`CompleteError`] when a default depends on a fact that is missing or contradicts the spec.
pub fn complete(
    cluster: &Cluster,
    instance_groups: &[InstanceGroup],
    facts: &CloudFacts,
) -> Result<CompletedCluster, CompleteError> {
    let mut cluster = cluster.clone();
    let mut instance_groups = instance_groups.to_vec();
    cluster::complete(&mut cluster, &instance_groups, facts)?;
    for group in &mut instance_groups {
        instance_group::complete(group, &cluster);
    }
    Ok(CompletedCluster {
        cluster,
        instance_groups,
    })
}

/// How clients reach a cluster's API server, as [`complete`] defaults it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiEndpoint {
    /// `spec.topology.dns.type`: with [`DnsType::None`] no record names the API.
    pub dns_type: DnsType,
    /// Whether `spec.api.loadBalancer` is set, so the API has a load balancer
    /// ([`crate::builders::api_load_balancer_name`]).
    pub load_balancer: bool,
    /// `spec.masterPublicName` (default `api.<cluster>`), a name the API server's serving
    /// certificate carries.
    pub public_name: String,
}

/// The API endpoint of `cluster` with the defaults [`complete`] would fill; unlike
/// [`complete`] it needs no cloud facts and cannot fail.
#[must_use]
pub fn api_endpoint(cluster: &Cluster) -> ApiEndpoint {
    let mut spec = cluster.spec.clone();
    let dns_type = cluster::complete_api_endpoint(&mut spec, &cluster.metadata.name);
    ApiEndpoint {
        dns_type,
        load_balancer: spec
            .api
            .as_ref()
            .is_some_and(|api| api.load_balancer.is_some()),
        public_name: spec.master_public_name.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
