//! The [`NodeGate`] of a real cluster: taints outdated nodes `PreferNoSchedule`, labels
//! nodes out of external load balancers as it cordons them, drains through the Eviction API
//! and validates the cluster against its autoscaling groups, through the `kube` crate.

use std::collections::BTreeMap;

use async_trait::async_trait;
use berth_state_store::error_text::one_line;
use futures_util::future::try_join_all;
use k8s_openapi::api::core::v1::Node;

use super::{GroupStatus, NodeGate, RollingError, ValidationProblem, membership};
use crate::{
    aws::AwsClients,
    kubernetes::{
        self, DrainEvent, DrainOptions, EXCLUDE_FROM_LOAD_BALANCERS_LABEL, ExpectedGroup,
        SCHEDULED_FOR_UPDATE_EFFECT, SCHEDULED_FOR_UPDATE_TAINT, ValidationFailure,
    },
};

/// Drains and validates a cluster through its API server.
pub struct KubernetesGate {
    client: kube::Client,
    clients: AwsClients,
    cluster: String,
    drain: DrainOptions,
    on_drain_event: Box<dyn Fn(&DrainEvent) + Send + Sync>,
}

impl std::fmt::Debug for KubernetesGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesGate")
            .field("cluster", &self.cluster)
            .field("drain", &self.drain)
            .finish_non_exhaustive()
    }
}

impl KubernetesGate {
    /// A gate for `cluster`, whose API server `client` reaches; drain progress goes to
    /// `on_drain_event`.
    pub fn new(
        client: kube::Client,
        clients: AwsClients,
        cluster: &str,
        drain: DrainOptions,
        on_drain_event: impl Fn(&DrainEvent) + Send + Sync + 'static,
    ) -> Self {
        Self {
            client,
            clients,
            cluster: cluster.to_owned(),
            drain,
            on_drain_event: Box::new(on_drain_event),
        }
    }
}

impl KubernetesGate {
    async fn nodes(&self, why: &str) -> Result<BTreeMap<String, Node>, RollingError> {
        kubernetes::nodes_by_instance(&self.client)
            .await
            .map_err(|source| RollingError::Kubernetes {
                what: format!("cannot list the cluster's nodes to {why}"),
                source: Box::new(source),
            })
    }
}

#[async_trait]
impl NodeGate for KubernetesGate {
    /// One list of the nodes, then one patch per node not yet tainted (a conflicting change
    /// to the node costs a get and another patch).
    async fn mark_for_update(&self, instance_ids: &[String]) -> Result<Vec<String>, RollingError> {
        let mut nodes = self.nodes("taint them").await?;
        let taints = instance_ids.iter().filter_map(|id| {
            let node = nodes.remove(id)?;
            let name = node.metadata.name.clone()?;
            Some(async move {
                let tainted = kubernetes::taint_scheduled_for_update(&self.client, node)
                    .await
                    .map_err(|source| RollingError::Kubernetes {
                        what: format!(
                            "tainting node `{name}` (instance {id}) {SCHEDULED_FOR_UPDATE_TAINT}:\
                             {SCHEDULED_FOR_UPDATE_EFFECT} failed"
                        ),
                        source: Box::new(source),
                    })?;
                Ok::<_, RollingError>(tainted.then_some(name))
            })
        });
        Ok(try_join_all(taints).await?.into_iter().flatten().collect())
    }

    async fn drain(&self, instance_ids: &[String]) -> Result<(), RollingError> {
        let nodes = self.nodes("drain them").await?;
        let labels = BTreeMap::from([(
            EXCLUDE_FROM_LOAD_BALANCERS_LABEL.to_owned(),
            "true".to_owned(),
        )]);
        let labels = &labels;
        let drains = instance_ids.iter().filter_map(|id| {
            let node = nodes.get(id)?.metadata.name.clone()?;
            Some(async move {
                let mut report = |event: DrainEvent| (self.on_drain_event)(&event);
                kubernetes::drain_labelled(&self.client, &node, labels, &self.drain, &mut report)
                    .await
                    .map_err(|source| RollingError::Kubernetes {
                        what: format!("draining node `{node}` (instance {id}) failed"),
                        source: Box::new(source),
                    })
            })
        });
        try_join_all(drains).await?;
        Ok(())
    }

    async fn validate(&self) -> Result<Vec<ValidationProblem>, RollingError> {
        let (_, failures) = validate_cluster(&self.client, &self.clients, &self.cluster).await?;
        Ok(failures.iter().map(ToString::to_string).collect())
    }
}

/// Validates `cluster`: its autoscaling groups from AWS, its nodes and pods from the API
/// server. Returns the groups as described and the failures (none: valid).
///
/// An API server that does not answer is a failure (kind `Cluster`), not an error: while a
/// single control-plane instance is replaced it is expected, and validation waits for it.
///
/// # Errors
/// When AWS cannot be asked.
pub async fn validate_cluster(
    client: &kube::Client,
    clients: &AwsClients,
    cluster: &str,
) -> Result<(Vec<GroupStatus>, Vec<ValidationFailure>), RollingError> {
    let groups = membership(clients, cluster).await?;
    let failures = match kubernetes::validate(client, &expected_groups(&groups)).await {
        Ok(failures) => failures,
        Err(error) => vec![ValidationFailure {
            kind: "Cluster".to_owned(),
            name: cluster.to_owned(),
            reason: format!("the API server did not answer: {}", one_line(&error)),
        }],
    };
    Ok((groups, failures))
}

/// What validation expects of each group: its in-service instances, and at least its
/// minimum size.
#[must_use]
pub fn expected_groups(groups: &[GroupStatus]) -> Vec<ExpectedGroup> {
    groups
        .iter()
        .map(|group| ExpectedGroup {
            instance_group: group.instance_group.clone(),
            role: group.role,
            instance_ids: group
                .in_service()
                .map(|instance| instance.id.clone())
                .collect(),
            min_size: usize::try_from(group.min).unwrap_or(0),
        })
        .collect()
}
