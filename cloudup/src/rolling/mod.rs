//! Rolling updates, the cloud side: which instances of a cluster's autoscaling groups run an
//! old launch template version ([`status`]), and replacing them ([`roll`]).
//!
//! Only the cloud side exists: instances are replaced without draining their Kubernetes node
//! and without validating the cluster in between (kops's `--cloudonly`).
//!
//! - [`status`]: one DescribeAutoScalingGroups by the cluster tag, one DescribeLaunchTemplates.
//! - [`roll`]: per group, bastions first, then the control plane one instance at a time, then
//!   the node groups; node and bastion groups surge by detaching instances.

mod calls;
mod roll;
mod status;

use std::time::Duration;

pub use roll::{RollEvent, RollOptions, roll};
pub use status::{GroupStatus, InstanceStatus, Role, status};

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
    /// An autoscaling group disappeared during the update.
    #[error("the autoscaling group `{group}` no longer exists")]
    GroupGone {
        /// The group's name.
        group: String,
    },
}
