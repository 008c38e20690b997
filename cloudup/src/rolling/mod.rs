//! Rolling updates: which instances of a cluster's autoscaling groups run an old launch
//! template version ([`status`]), and replacing them ([`roll`]), draining their Kubernetes
//! nodes and validating the cluster between steps through a [`NodeGate`] (none: kops's
//! `--cloudonly`).
//!
//! - [`status`]: one DescribeAutoScalingGroups by the cluster tag, one DescribeLaunchTemplates.
//! - [`roll`]: bastions first, then the control plane one instance at a time, then the node
//!   groups (several at once with `parallel_groups`); node and bastion groups surge by
//!   detaching instances. Instances replaced in place leave their group's target groups
//!   (DeregisterTargets) between their drain and their termination.
//! - [`KubernetesGate`]: the gate of a real cluster, through the `kube` crate: taints a
//!   group's outdated nodes `PreferNoSchedule` at its start, and labels each node out of
//!   external load balancers with its cordon.

mod calls;
mod gate;
mod kubernetes_gate;
mod roll;
mod status;

use std::time::Duration;

pub use gate::{NodeGate, ValidationPolicy, ValidationProblem, wait_until_valid};
pub use kubernetes_gate::{KubernetesGate, expected_groups, validate_cluster};
pub use roll::{RollEvent, RollOptions, roll};
pub use status::{GroupStatus, InstanceStatus, Role, membership, status};

use crate::engine::TaskError;

/// The tag put on an instance just before it is detached from its group, so that a later run
/// finds and terminates it if this one stops before it does.
pub const DETACHED_TAG_KEY: &str = "berth.dev/rolling-update";

/// The value of [`DETACHED_TAG_KEY`] on detached instances.
pub const DETACHED_TAG_VALUE: &str = "detached";

/// Why a rolling update stopped.
#[derive(Debug, thiserror::Error)]
pub enum RollingError {
    /// An AWS call failed (after retries, when retrying could help).
    #[error(transparent)]
    Aws(#[from] TaskError),
    /// A wait outlasted the validation timeout.
    #[error("gave up after {elapsed:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it was awaited.
        elapsed: Duration,
    },
    /// The cluster did not validate in time; nothing more was drained or terminated.
    #[error(
        "{what} did not validate within {waited:?}; instances not yet replaced keep running. \
         Problems:\n  {}",
        problems.join("\n  ")
    )]
    NotValid {
        /// What was being validated.
        what: String,
        /// How long it was given.
        waited: Duration,
        /// The last validation's problems.
        problems: Vec<ValidationProblem>,
    },
    /// A Kubernetes call or a drain failed.
    #[error("{what}")]
    Kubernetes {
        /// What failed, naming the node or instance.
        what: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Deregistering an instance from a target group failed (after retries).
    #[error("deregistering instance {instance} from target group {target_group} failed")]
    Deregister {
        /// The instance.
        instance: String,
        /// The target group's ARN.
        target_group: String,
        /// Why.
        #[source]
        source: TaskError,
    },
    /// An autoscaling group disappeared during the update.
    #[error("the autoscaling group `{group}` no longer exists")]
    GroupGone {
        /// The group's name.
        group: String,
    },
}
