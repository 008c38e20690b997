//! Talking to a cluster's Kubernetes API: the parts of a rolling update and of `validate
//! cluster` that are not AWS.
//!
//! - [`nodes`]: which Node runs on which EC2 instance (by `spec.providerID`), and whether a
//!   node is Ready.
//! - [`validate`](mod@validate): kops's cluster validation — every instance joined, every
//!   node Ready, the control-plane and `system-*-critical` pods Running and Ready.
//! - [`drain`](mod@drain): cordon, then evict through the Eviction API so that
//!   PodDisruptionBudgets are honoured; never deletes a pod directly.
//! - [`taints`]: the `PreferNoSchedule` taint on nodes about to be replaced, and the label
//!   that takes a node out of external load balancers.
//!
//! This module does not find the cluster's instances (see [`crate::rolling`]). Callers pass
//! a [`kube::Client`] with enough rights (the admin kubeconfig of `berth export kubeconfig
//! --admin`), best built with [`client()`]: `kube`'s default client retries 429 answers on its
//! own for minutes, and a PodDisruptionBudget refusing an eviction is a 429.

pub mod drain;
pub mod nodes;
pub mod taints;
pub mod validate;

pub use drain::{
    BlockingPdb, DrainError, DrainEvent, DrainOptions, DrainReport, PodRef, RefusalReason,
    RefusedPod, SkipReason, cordon, drain, drain_labelled,
};
pub use nodes::{instance_id_of, is_ready, nodes_by_instance, not_ready_reason};
pub use taints::{
    EXCLUDE_FROM_LOAD_BALANCERS_LABEL, SCHEDULED_FOR_UPDATE_EFFECT, SCHEDULED_FOR_UPDATE_TAINT,
    is_scheduled_for_update, taint_scheduled_for_update,
};
pub use validate::{ExpectedGroup, ValidationFailure, pod_not_ready_reason, validate};

/// A client for `config` that leaves retrying to its caller.
///
/// `kube`'s default client (`Client::try_from(config)`) retries 429, 503 and 504 answers
/// itself, up to 15 times with exponential backoff: minutes in all. An eviction that a
/// PodDisruptionBudget refuses is answered 429, so through that client a single eviction call
/// blocks for minutes before [`drain()`] sees the refusal and can name the budget. (With such
/// a client [`drain()`] still honours its deadline, but reports the block only at the end.)
/// Berth retries where it means to, with its own deadlines.
///
/// # Errors
/// When the configuration cannot make a client (a bad TLS setting, say).
pub fn client(mut config: kube::Config) -> Result<kube::Client, KubeError> {
    config.default_retry = false;
    kube::Client::try_from(config)
        .map_err(KubeError::request("build a client for", "the API server"))
}

/// A request to the Kubernetes API server failed.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The API server answered with an error, or could not be reached.
    #[error("failed to {operation} {resource}")]
    Request {
        /// What was attempted: `list`, `get`, `patch`, `evict`, ….
        operation: &'static str,
        /// What it was attempted on, e.g. ``pods on node `ip-10-0-1-5` ``.
        resource: String,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },
}

impl KubeError {
    /// A closure for `map_err` that wraps a [`kube::Error`] with what was attempted on what.
    pub(crate) fn request(
        operation: &'static str,
        resource: impl Into<String>,
    ) -> impl FnOnce(kube::Error) -> Self {
        let resource = resource.into();
        move |source| Self::Request {
            operation,
            resource,
            source: Box::new(source),
        }
    }
}

/// The HTTP status code of an error the API server answered with, if it answered.
pub(crate) fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
