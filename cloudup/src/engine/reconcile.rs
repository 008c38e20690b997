//! The contract every resource kind implements: discover, find, diff, create, update.
//!
//! Discovery is batched: [`Reconcile::discover`] is called once per kind per run (one
//! describe, filtered by the cluster's tags or, for IAM and Route 53, by the desired names),
//! before any diff. Finding a resource is then a pure lookup in what was discovered.

use std::sync::Arc;

use async_trait::async_trait;
use berth_model::aws::Resource;
use berth_state_store::ObjectStore;

use super::{Change, FieldChange, Output, Resolver, TaskError};
use crate::aws::AwsClients;

/// What discovery may use: the clients, the cluster, and the desired resources of the kind.
#[derive(Debug)]
pub struct DiscoveryScope<'a, T> {
    /// The AWS clients.
    pub clients: &'a AwsClients,
    /// The state store (for managed files).
    pub store: &'a Arc<dyn ObjectStore>,
    /// The cluster name (the value of the `KubernetesCluster` tag).
    pub cluster: &'a str,
    /// The desired resources of this kind (names, shared ids, hosted zones to look in).
    pub desired: Vec<&'a T>,
}

/// What an apply may use: the clients, the cluster, and the outputs of its dependencies.
#[derive(Debug)]
pub struct ApplyCx<'a> {
    /// The AWS clients.
    pub clients: &'a AwsClients,
    /// The state store (for managed files).
    pub store: &'a Arc<dyn ObjectStore>,
    /// The cluster name.
    pub cluster: &'a str,
    /// The outputs of the resource's dependencies.
    pub deps: &'a Resolver,
    /// 1 on the first try; higher on retries, when an earlier attempt may have succeeded
    /// without Berth seeing the answer (a dropped connection): `create` must then look for
    /// what that attempt made before making another.
    pub attempt: u32,
}

/// How Berth makes AWS match one kind of desired resource.
#[async_trait]
pub trait Reconcile: Resource {
    /// What discovery reports about one existing resource of this kind.
    type Observed: Clone + std::fmt::Debug + Send + Sync + 'static;

    /// Describes every existing resource of this kind that may match a desired one.
    async fn discover(scope: DiscoveryScope<'_, Self>) -> Result<Vec<Self::Observed>, TaskError>;

    /// The observed resource that is this desired one, if any (pure).
    fn find<'o>(&self, observed: &'o [Self::Observed]) -> Option<&'o Self::Observed>;

    /// The output of an existing resource, so dependents can be planned against it.
    fn output(observed: &Self::Observed) -> Output;

    /// Compares with what exists (pure). Returns the action and the differing fields;
    /// dependencies not yet known are compared as "known after apply".
    fn diff(&self, observed: &Self::Observed, deps: &Resolver)
    -> (super::Action, Vec<FieldChange>);

    /// The fields shown for a creation.
    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange>;

    /// Creates it, tagged at creation so a crash cannot leave an untagged orphan.
    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError>;

    /// Changes an existing resource in place to match (only the fields in `change`).
    async fn update(
        &self,
        observed: &Self::Observed,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError>;
}
