//! The [`NodeGate`] of a real cluster: drains through the Eviction API and validates the
//! cluster against its autoscaling groups, through the `kube` crate.

use async_trait::async_trait;
use futures_util::future::try_join_all;

use super::{GroupStatus, NodeGate, RollingError, ValidationProblem, membership};
use crate::{
    aws::AwsClients,
    kubernetes::{self, DrainEvent, DrainOptions, ExpectedGroup, ValidationFailure},
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

#[async_trait]
impl NodeGate for KubernetesGate {
    async fn drain(&self, instance_ids: &[String]) -> Result<(), RollingError> {
        let nodes = kubernetes::nodes_by_instance(&self.client)
            .await
            .map_err(|source| RollingError::Kubernetes {
                what: "cannot list the cluster's nodes to drain them".to_owned(),
                source: Box::new(source),
            })?;
        let drains = instance_ids.iter().filter_map(|id| {
            let node = nodes.get(id)?.metadata.name.clone()?;
            Some(async move {
                let mut report = |event: DrainEvent| (self.on_drain_event)(&event);
                kubernetes::drain(&self.client, &node, &self.drain, &mut report)
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
            reason: format!(
                "the API server did not answer: {}",
                crate::error_text::one_line(&error)
            ),
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
