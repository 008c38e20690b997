//! Discovery for a delete: every kind at once, each describe retried on transient errors.

use std::{future::Future, time::Duration};

use super::{
    CloudResource, DeleteKind, Disposal, Inventory, discover_ec2, discover_other,
    scope::DeleteScope,
};
use crate::{
    aws::AwsClients,
    engine::{RetryClass, RetryPolicy, TaskError},
};

/// How long discovery keeps retrying one describe before it gives up.
const DISCOVERY_DEADLINE: Duration = Duration::from_secs(120);

/// Discovery failed for a family of kinds.
#[derive(Debug, thiserror::Error)]
#[error("failed to list the cluster's {what}")]
pub struct DiscoverError {
    /// What was being listed, e.g. `network resources`.
    pub what: &'static str,
    /// The last error.
    #[source]
    pub source: TaskError,
}

/// Finds everything `scope.cluster` owns or shares, in a handful of parallel describes.
///
/// # Errors
/// [`DiscoverError`] when a describe fails for good (access denied, or transient errors past
/// the discovery deadline).
pub async fn discover(
    clients: &AwsClients,
    scope: &DeleteScope,
    policy: &RetryPolicy,
) -> Result<Inventory, DiscoverError> {
    let (network, compute, groups, balancers, iam, records) = tokio::join!(
        with_retries(policy, "network resources", || discover_ec2::network(
            clients, scope
        )),
        with_retries(policy, "instances, volumes and security groups", || {
            discover_ec2::compute(clients, scope)
        }),
        with_retries(policy, "autoscaling groups", || {
            discover_other::autoscaling_groups(clients, scope)
        }),
        with_retries(policy, "load balancers", || {
            discover_other::load_balancers(clients, scope)
        }),
        with_retries(policy, "IAM roles and instance profiles", || {
            discover_other::iam(clients, scope)
        }),
        with_retries(policy, "DNS records", || discover_other::dns_records(
            clients, scope
        )),
    );
    let mut resources: Vec<CloudResource> = Vec::new();
    for found in [network, compute, groups, balancers, iam, records] {
        resources.extend(found?);
    }
    let owned_subnets: Vec<String> = resources
        .iter()
        .filter(|resource| {
            resource.kind == DeleteKind::Subnet && resource.disposal == Disposal::Delete
        })
        .map(|resource| resource.id.clone())
        .collect();
    resources.extend(
        with_retries(policy, "network interfaces", || {
            discover_ec2::leftover_interfaces(clients, owned_subnets.clone())
        })
        .await?,
    );
    Ok(Inventory::new(scope.cluster.clone(), resources))
}

/// Runs `describe` until it succeeds, fails fatally or the discovery deadline passes.
async fn with_retries<T, Describe, Attempt>(
    policy: &RetryPolicy,
    what: &'static str,
    mut describe: Describe,
) -> Result<T, DiscoverError>
where
    Describe: FnMut() -> Attempt,
    Attempt: Future<Output = Result<T, TaskError>>,
{
    let deadline = tokio::time::Instant::now() + DISCOVERY_DEADLINE.min(policy.deadline);
    let mut attempt = 1;
    loop {
        match describe().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                let delay = policy.backoff(attempt);
                let retry = error.retry_class() == RetryClass::Transient
                    && tokio::time::Instant::now() + delay < deadline;
                if !retry {
                    return Err(DiscoverError {
                        what,
                        source: error,
                    });
                }
                tracing::debug!(what, attempt, ?delay, error = %error, "retrying discovery");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}
