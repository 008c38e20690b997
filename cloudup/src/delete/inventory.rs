//! What a delete found: every cloud resource of the cluster, what will happen to it, and the
//! key it runs under in the scheduler.

use berth_model::aws::{NodeKey, ResourceKind};
use serde::Serialize;

/// The kinds of cloud resources a cluster can leave behind, in the order they are listed.
///
/// More than the engine's [`ResourceKind`]s: instances, leftover network interfaces and the
/// group-to-group references of security groups exist in the cloud without being desired
/// resources of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum DeleteKind {
    /// A Route 53 record of the cluster (never the hosted zone).
    DnsRecord,
    /// An autoscaling group (deleted with its instances).
    AutoscalingGroup,
    /// An EC2 instance.
    Instance,
    /// A load balancer listener.
    Listener,
    /// A load balancer.
    LoadBalancer,
    /// A target group.
    TargetGroup,
    /// A launch template.
    LaunchTemplate,
    /// An EBS volume (etcd data, or a leftover).
    EbsVolume,
    /// A network interface left over in the cluster's subnets.
    NetworkInterface,
    /// The rules of a security group that reference other groups (revoked first).
    SecurityGroupReferences,
    /// A security group.
    SecurityGroup,
    /// A NAT gateway.
    NatGateway,
    /// An Elastic IP.
    ElasticIp,
    /// A route table (with its routes and subnet associations).
    RouteTable,
    /// An internet gateway (detached, then deleted).
    InternetGateway,
    /// A subnet.
    Subnet,
    /// A DHCP options set (disassociated, then deleted).
    DhcpOptions,
    /// A VPC.
    Vpc,
    /// An IAM instance profile (its role removed first).
    IamInstanceProfile,
    /// An IAM role (its policies removed first).
    IamRole,
    /// An EC2 key pair.
    KeyPair,
}

impl DeleteKind {
    /// The kind's name, as listed.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DnsRecord => "DnsRecord",
            Self::AutoscalingGroup => "AutoscalingGroup",
            Self::Instance => "Instance",
            Self::Listener => "Listener",
            Self::LoadBalancer => "LoadBalancer",
            Self::TargetGroup => "TargetGroup",
            Self::LaunchTemplate => "LaunchTemplate",
            Self::EbsVolume => "EbsVolume",
            Self::NetworkInterface => "NetworkInterface",
            Self::SecurityGroupReferences => "SecurityGroupReferences",
            Self::SecurityGroup => "SecurityGroup",
            Self::NatGateway => "NatGateway",
            Self::ElasticIp => "ElasticIp",
            Self::RouteTable => "RouteTable",
            Self::InternetGateway => "InternetGateway",
            Self::Subnet => "Subnet",
            Self::DhcpOptions => "DhcpOptions",
            Self::Vpc => "Vpc",
            Self::IamInstanceProfile => "IamInstanceProfile",
            Self::IamRole => "IamRole",
            Self::KeyPair => "KeyPair",
        }
    }

    /// The engine kind a task of this kind is keyed under (the scheduler keys tasks by
    /// [`NodeKey`]; the key's name carries this kind, so keys never collide).
    #[must_use]
    pub fn engine_kind(self) -> ResourceKind {
        match self {
            Self::DnsRecord => ResourceKind::DnsRecord,
            Self::AutoscalingGroup | Self::Instance => ResourceKind::AutoscalingGroup,
            Self::Listener => ResourceKind::Listener,
            Self::LoadBalancer => ResourceKind::LoadBalancer,
            Self::TargetGroup => ResourceKind::TargetGroup,
            Self::LaunchTemplate => ResourceKind::LaunchTemplate,
            Self::EbsVolume => ResourceKind::EbsVolume,
            Self::NetworkInterface | Self::Subnet => ResourceKind::Subnet,
            Self::SecurityGroupReferences => ResourceKind::SecurityGroupRule,
            Self::SecurityGroup => ResourceKind::SecurityGroup,
            Self::NatGateway => ResourceKind::NatGateway,
            Self::ElasticIp => ResourceKind::ElasticIp,
            Self::RouteTable => ResourceKind::RouteTable,
            Self::InternetGateway => ResourceKind::InternetGateway,
            Self::DhcpOptions => ResourceKind::DhcpOptions,
            Self::Vpc => ResourceKind::Vpc,
            Self::IamInstanceProfile => ResourceKind::IamInstanceProfile,
            Self::IamRole => ResourceKind::IamRole,
            Self::KeyPair => ResourceKind::KeyPair,
        }
    }
}

impl std::fmt::Display for DeleteKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What happens to a found resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposal {
    /// The cluster owns it: it is deleted.
    Delete,
    /// The cluster only uses it (tagged `shared`): only that tag is removed.
    Untag,
}

impl Disposal {
    /// `delete` or `untag`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Untag => "untag",
        }
    }
}

/// One resource a delete acts on.
#[derive(Debug, Clone, Serialize)]
pub struct CloudResource {
    /// Its kind.
    pub kind: DeleteKind,
    /// Its cloud id (`vpc-…`, an ARN, an IAM or record name).
    pub id: String,
    /// Its `Name` tag or name, when it has one.
    pub name: String,
    /// Delete it, or only remove the cluster's `shared` tag.
    pub disposal: Disposal,
    /// What some deletions need beyond the id.
    #[serde(skip)]
    pub(crate) detail: Detail,
}

/// Kind-specific facts found by discovery.
#[derive(Debug, Clone, Default)]
pub(crate) enum Detail {
    /// Nothing beyond the id.
    #[default]
    None,
    /// The record set as Route 53 returned it (a DELETE must repeat it exactly) and its zone.
    DnsRecord {
        zone_id: String,
        record: Box<aws_sdk_route53::types::ResourceRecordSet>,
    },
    /// The VPCs an internet gateway is attached to (detached before it is deleted).
    AttachedTo { vpc_ids: Vec<String> },
}

impl CloudResource {
    /// A resource with no detail.
    #[must_use]
    pub fn new(
        kind: DeleteKind,
        id: impl Into<String>,
        name: impl Into<String>,
        disposal: Disposal,
    ) -> Self {
        Self {
            kind,
            id: id.into(),
            name: name.into(),
            disposal,
            detail: Detail::None,
        }
    }

    /// The scheduler key of its task: unique per kind, id and disposal.
    #[must_use]
    pub fn key(&self) -> NodeKey {
        NodeKey::new(
            self.kind.engine_kind(),
            format!("{}:{}:{}", self.disposal.as_str(), self.kind, self.id),
        )
    }
}

/// Everything a delete found for one cluster.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    /// The cluster.
    pub cluster: String,
    /// The resources, sorted by kind and id.
    pub resources: Vec<CloudResource>,
}

impl Inventory {
    /// An inventory of `resources`, sorted for listing.
    #[must_use]
    pub fn new(cluster: impl Into<String>, mut resources: Vec<CloudResource>) -> Self {
        resources.sort_by(|a, b| (a.kind, &a.id, a.disposal).cmp(&(b.kind, &b.id, b.disposal)));
        resources.dedup_by(|a, b| a.kind == b.kind && a.id == b.id && a.disposal == b.disposal);
        Self {
            cluster: cluster.into(),
            resources,
        }
    }

    /// Whether nothing is left to do.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The resources that will be deleted (not only untagged).
    pub fn to_delete(&self) -> impl Iterator<Item = &CloudResource> {
        self.resources
            .iter()
            .filter(|resource| resource.disposal == Disposal::Delete)
    }

    /// The resource whose task runs under `key`.
    #[must_use]
    pub fn by_key(&self, key: &NodeKey) -> Option<&CloudResource> {
        self.resources
            .iter()
            .find(|resource| resource.key() == *key)
    }

    /// The inventory as JSON, for `-o json`.
    ///
    /// # Errors
    /// Never in practice (the types serialize infallibly); kept fallible for the caller's `?`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}
