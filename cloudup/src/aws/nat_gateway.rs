//! [`NatGateway`] reconciliation: a public NAT gateway in a utility subnet with its Elastic IP.
//!
//! Creation is idempotent through a client token derived from the cluster, the name, the
//! subnet and the address, and a new gateway is only reported once `available`: until then
//! `create` answers [`TaskError::NotReady`], and the engine retries it (the retry finds the
//! pending gateway and asks again, it does not make another).
//!
//! Discovery: one DescribeNatGateways by the cluster tag (deleted and deleting gateways are
//! ignored: they linger in the answer for an hour).

use async_trait::async_trait;
use aws_sdk_ec2::types::{NatGatewayState, ResourceType};
use berth_model::aws::{NatGateway, Tags};
use sha2::{Digest, Sha256};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing NAT gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedNatGateway {
    /// `nat-…`.
    pub id: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// All its tags.
    pub tags: Tags,
    /// Its subnet.
    pub subnet_id: String,
    /// The allocation ids of its addresses.
    pub allocation_ids: Vec<String>,
    /// Its lifecycle state.
    pub state: GatewayState,
}

/// Where a NAT gateway is in its life, as far as Berth cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayState {
    /// Being created: routes may point at it, but it does not forward yet.
    Pending,
    /// Forwarding.
    Available,
    /// Creation failed, with AWS's reason.
    Failed(String),
}

#[async_trait]
impl Reconcile for NatGateway {
    type Observed = ObservedNatGateway;

    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedNatGateway>, TaskError> {
        let found = scope
            .clients
            .ec2
            .describe_nat_gateways()
            .filter(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeNatGateways", error))?;
        let mut observed = Vec::new();
        for gateway in &found {
            if let Some(gateway) = observe(gateway)? {
                observed.push(gateway);
            }
        }
        Ok(observed)
    }

    fn find<'o>(&self, observed: &'o [ObservedNatGateway]) -> Option<&'o ObservedNatGateway> {
        observed
            .iter()
            .find(|gateway| gateway.name.as_deref() == Some(self.name.as_str()))
    }

    fn output(observed: &ObservedNatGateway) -> Output {
        Output::id(&observed.id)
    }

    fn diff(&self, observed: &ObservedNatGateway, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        let subnet_id = deps.id_or_pending(&self.subnet);
        if observed.subnet_id != subnet_id {
            return replace("subnet", &observed.subnet_id, &subnet_id);
        }
        let allocation_id = deps.id_or_pending(&self.elastic_ip);
        if !observed.allocation_ids.contains(&allocation_id) {
            return replace(
                "elastic_ip",
                &observed.allocation_ids.join(", "),
                &allocation_id,
            );
        }
        if let GatewayState::Failed(message) = &observed.state {
            return (
                Action::Replace {
                    reason: format!("the NAT gateway failed: {message}"),
                },
                vec![FieldChange::new("state", "failed", "available")],
            );
        }
        let fields: Vec<FieldChange> = tags::tags_change(&observed.tags, &desired_tags(self))
            .into_iter()
            .collect();
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("subnet", "", deps.id_or_pending(&self.subnet)),
            FieldChange::new("elastic_ip", "", deps.id_or_pending(&self.elastic_ip)),
            FieldChange::new("tags", "", tags::tags_line(&desired_tags(self))),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let subnet_id = cx.deps.id(&self.subnet)?;
        let allocation_id = cx.deps.id(&self.elastic_ip)?;
        let existing = if cx.attempt > 1 {
            lookup(self, cx).await?
        } else {
            None
        };
        let gateway = match existing {
            Some(gateway) => gateway,
            None => {
                let created = cx
                    .clients
                    .ec2
                    .create_nat_gateway()
                    .subnet_id(subnet_id)
                    .allocation_id(allocation_id)
                    .client_token(client_token(
                        cx.cluster,
                        &self.name,
                        subnet_id,
                        allocation_id,
                    ))
                    .tag_specifications(tags::ec2_tag_specification(
                        ResourceType::Natgateway,
                        &desired_tags(self),
                    ))
                    .customize()
                    .config_override(super::single_attempt::single_attempt())
                    .send()
                    .await
                    .map_err(|error| aws_error("CreateNatGateway", error))?;
                let gateway = created
                    .nat_gateway()
                    .ok_or_else(|| missing("CreateNatGateway", "NatGateway"))?;
                observe(gateway)?.ok_or_else(|| TaskError::Refused {
                    message: format!(
                        "the new NAT gateway `{}` is already being deleted",
                        self.name
                    ),
                })?
            }
        };
        match gateway.state {
            GatewayState::Available => Ok(Self::output(&gateway)),
            GatewayState::Pending => Err(TaskError::NotReady {
                what: format!("NAT gateway `{}` ({})", self.name, gateway.id),
            }),
            GatewayState::Failed(message) => Err(TaskError::Refused {
                message: format!(
                    "NAT gateway `{}` ({}) failed: {message}",
                    self.name, gateway.id
                ),
            }),
        }
    }

    async fn update(
        &self,
        observed: &ObservedNatGateway,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("NAT gateway", &self.name)?;
        tags::ec2_update_tags(cx.clients, change, &observed.id, &desired_tags(self)).await?;
        Ok(Self::output(observed))
    }
}

fn desired_tags(gateway: &NatGateway) -> Tags {
    tags::ec2_named_tags(&gateway.name, &gateway.tags)
}

fn replace(field: &str, old: &str, new: &str) -> (Action, Vec<FieldChange>) {
    (
        Action::Replace {
            reason: format!(
                "{field} cannot change in place (the NAT gateway has {old}, the spec asks for {new})"
            ),
        },
        vec![FieldChange::new(field, old, new)],
    )
}

/// The idempotency token of the create: the same gateway on retry, a new one when the subnet
/// or address changed (AWS keeps a token's answer, even for a since-deleted gateway). AWS
/// allows at most 64 ASCII characters: the hex SHA-256 is exactly that.
fn client_token(cluster: &str, name: &str, subnet_id: &str, allocation_id: &str) -> String {
    let digest = Sha256::digest(format!("{cluster}\n{name}\n{subnet_id}\n{allocation_id}"));
    hex::encode(digest)
}

/// The gateway an earlier attempt of this create made, if any.
async fn lookup(
    gateway: &NatGateway,
    cx: &ApplyCx<'_>,
) -> Result<Option<ObservedNatGateway>, TaskError> {
    let found = cx
        .clients
        .ec2
        .describe_nat_gateways()
        .set_filter(Some(tags::ec2_owned_name_filters(
            cx.cluster,
            &gateway.name,
        )))
        .send()
        .await
        .map_err(|error| aws_error("DescribeNatGateways", error))?;
    for gateway in found.nat_gateways() {
        if let Some(gateway) = observe(gateway)? {
            return Ok(Some(gateway));
        }
    }
    Ok(None)
}

/// The gateway, or `None` when it is deleted or being deleted.
fn observe(
    gateway: &aws_sdk_ec2::types::NatGateway,
) -> Result<Option<ObservedNatGateway>, TaskError> {
    let state = match gateway.state() {
        Some(NatGatewayState::Available) => GatewayState::Available,
        Some(NatGatewayState::Failed) => GatewayState::Failed(
            gateway
                .failure_message()
                .or(gateway.failure_code())
                .unwrap_or("unknown")
                .to_owned(),
        ),
        Some(NatGatewayState::Deleting | NatGatewayState::Deleted) => return Ok(None),
        // Pending, or a state newer than this SDK: wait for it to become available.
        _ => GatewayState::Pending,
    };
    Ok(Some(ObservedNatGateway {
        id: gateway
            .nat_gateway_id()
            .ok_or_else(|| missing("DescribeNatGateways", "NatGatewayId"))?
            .to_owned(),
        name: tags::ec2_name(gateway.tags()).map(str::to_owned),
        tags: tags::from_ec2_tags(gateway.tags()),
        subnet_id: gateway
            .subnet_id()
            .ok_or_else(|| missing("DescribeNatGateways", "SubnetId"))?
            .to_owned(),
        allocation_ids: gateway
            .nat_gateway_addresses()
            .iter()
            .filter_map(|address| address.allocation_id())
            .map(str::to_owned)
            .collect(),
        state,
    }))
}
