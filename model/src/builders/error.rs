//! Why a completed spec could not be turned into a resource graph.
//!
//! Every variant names what it is about (instance group, subnet, field), so the message
//! points at the part of the spec or of the gathered facts to fix.

use crate::{SerializeError, aws::GraphError};

/// A failure to build the desired resource graph.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An instance group's image was not resolved to an AMI id.
    #[error("instance group `{instance_group}`: image `{image}` was not resolved to an AMI id")]
    UnresolvedImage {
        /// The instance group.
        instance_group: String,
        /// The image as written in its spec.
        image: String,
    },
    /// An instance group names a subnet the cluster does not define.
    #[error("instance group `{instance_group}`: subnet `{subnet}` is not in `spec.subnets`")]
    UnknownSubnet {
        /// The instance group.
        instance_group: String,
        /// The subnet name.
        subnet: String,
    },
    /// An instance group has no subnets.
    #[error("instance group `{instance_group}` has no subnets")]
    NoSubnets {
        /// The instance group.
        instance_group: String,
    },
    /// A private subnet's zone has no utility subnet to hold its NAT gateway.
    #[error("subnet `{subnet}`: zone `{zone}` has no Utility subnet for its NAT gateway")]
    NoUtilitySubnet {
        /// The private subnet.
        subnet: String,
        /// Its zone.
        zone: String,
    },
    /// The API load balancer has no subnet to serve from.
    #[error("the API load balancer needs a {wanted} subnet, and the cluster has none")]
    NoLoadBalancerSubnet {
        /// The subnet type it needs.
        wanted: &'static str,
    },
    /// An etcd member names an instance group that does not exist.
    #[error(
        "`etcdClusters` `{etcd_cluster}` member `{member}`: instance group `{instance_group}` does not exist"
    )]
    UnknownEtcdInstanceGroup {
        /// The etcd cluster.
        etcd_cluster: String,
        /// The member.
        member: String,
        /// The instance group it names.
        instance_group: String,
    },
    /// A field the completed spec should hold is missing.
    #[error("`{field}` is not set (the spec was not completed)")]
    MissingField {
        /// The field path.
        field: String,
    },
    /// A field's value cannot be used.
    #[error("`{field}`: {problem}")]
    InvalidField {
        /// The field path.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A resource could not be added to the graph.
    #[error("failed to add a resource to the graph")]
    Graph(#[from] GraphError),
    /// A managed file could not be written.
    #[error("failed to render `{file}`")]
    RenderFile {
        /// The store key.
        file: String,
        /// The cause.
        #[source]
        source: SerializeError,
    },
    /// An IAM policy could not be written.
    #[error("failed to render the IAM policy of `{role}`")]
    RenderPolicy {
        /// The role.
        role: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}
