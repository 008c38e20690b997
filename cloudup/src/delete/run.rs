//! Runs a delete: the inventory's tasks through the engine's DAG scheduler, each task one
//! resource, retried on transient errors with jittered backoff under a deadline.

use std::{collections::HashMap, sync::Arc};

use berth_model::aws::NodeKey;
use tracing::Instrument as _;

use super::{
    CloudResource, DeleteKind, Detail, Disposal, Inventory, order, remove_ec2, remove_other,
};
use crate::{
    aws::AwsClients,
    engine::{ApplyOptions, ApplyReport, Output, Reporter, TaskError, schedule},
};

/// Deletes everything in `inventory` (and untags what is shared), each resource as soon as
/// what must go before it is gone, at most `options.concurrency` at once.
///
/// The report lists what was deleted, failed, skipped (something it waits for failed) or not
/// run (cancelled). A failed or interrupted delete is safe to run again: discovery finds
/// only what is left.
pub async fn delete(
    clients: &AwsClients,
    inventory: &Inventory,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
) -> ApplyReport {
    let tasks = order::tasks(inventory);
    let resources: HashMap<NodeKey, CloudResource> = inventory
        .resources
        .iter()
        .map(|resource| (resource.key(), resource.clone()))
        .collect();
    let run = Arc::new(Run {
        clients: clients.clone(),
        cluster: inventory.cluster.clone(),
        resources,
    });
    let span = tracing::info_span!("delete", cluster = %inventory.cluster, tasks = tasks.len());
    schedule(tasks, options, reporter, move |key, _deps, attempt| {
        let run = Arc::clone(&run);
        async move {
            let span = tracing::info_span!("task", key = %key, attempt);
            run.execute(&key, attempt).instrument(span).await
        }
    })
    .instrument(span)
    .await
}

struct Run {
    clients: AwsClients,
    cluster: String,
    resources: HashMap<NodeKey, CloudResource>,
}

impl Run {
    async fn execute(&self, key: &NodeKey, attempt: u32) -> Result<Output, TaskError> {
        let resource = self
            .resources
            .get(key)
            .ok_or_else(|| TaskError::MissingOutput { key: key.clone() })?;
        if attempt == 1 {
            tracing::info!(
                kind = %resource.kind,
                id = %resource.id,
                "{}",
                resource.disposal.as_str()
            );
        }
        match resource.disposal {
            Disposal::Untag => remove_ec2::untag(&self.clients, &self.cluster, &resource.id).await,
            Disposal::Delete => self.delete(resource, attempt).await,
        }?;
        Ok(Output::id(&resource.id))
    }

    async fn delete(&self, resource: &CloudResource, attempt: u32) -> Result<(), TaskError> {
        let clients = &self.clients;
        let id = resource.id.as_str();
        match resource.kind {
            DeleteKind::AutoscalingGroup => {
                remove_other::autoscaling_group(clients, id, attempt).await
            }
            DeleteKind::Instance => remove_ec2::instance(clients, id, attempt).await,
            DeleteKind::EbsVolume => remove_ec2::volume(clients, id).await,
            DeleteKind::SecurityGroupReferences => {
                remove_ec2::security_group_references(clients, id).await
            }
            DeleteKind::NatGateway => remove_ec2::nat_gateway(clients, id, attempt).await,
            DeleteKind::RouteTable => remove_ec2::route_table(clients, id).await,
            DeleteKind::InternetGateway => {
                let vpc_ids = match &resource.detail {
                    Detail::AttachedTo { vpc_ids } => vpc_ids.as_slice(),
                    _ => &[],
                };
                remove_ec2::internet_gateway(clients, id, vpc_ids).await
            }
            DeleteKind::DhcpOptions => remove_ec2::dhcp_options(clients, id).await,
            DeleteKind::LaunchTemplate
            | DeleteKind::NetworkInterface
            | DeleteKind::SecurityGroup
            | DeleteKind::ElasticIp
            | DeleteKind::Subnet
            | DeleteKind::Vpc
            | DeleteKind::KeyPair => remove_ec2::by_id(clients, resource.kind, id).await,
            DeleteKind::Listener | DeleteKind::LoadBalancer | DeleteKind::TargetGroup => {
                remove_other::load_balancer_part(clients, resource.kind, id).await
            }
            DeleteKind::IamInstanceProfile => {
                remove_other::instance_profile(clients, id, attempt).await
            }
            DeleteKind::IamRole => remove_other::role(clients, id).await,
            DeleteKind::DnsRecord => match &resource.detail {
                Detail::DnsRecord { zone_id, record } => {
                    remove_other::dns_record(clients, zone_id, record).await
                }
                _ => Err(TaskError::Refused {
                    message: format!("DNS record {id} has no record set to delete"),
                }),
            },
        }
    }
}
