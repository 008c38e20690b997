//! [`InternetGateway`] reconciliation: a gateway attached to the cluster's VPC.
//!
//! Discovery: one DescribeInternetGateways by the cluster tag (attachments included).

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use berth_model::aws::{InternetGateway, Tags};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing internet gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedInternetGateway {
    /// `igw-…`.
    pub id: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// All its tags.
    pub tags: Tags,
    /// The VPC it is attached to (a gateway has at most one).
    pub vpc_id: Option<String>,
}

#[async_trait]
impl Reconcile for InternetGateway {
    type Observed = ObservedInternetGateway;

    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedInternetGateway>, TaskError> {
        let found = scope
            .clients
            .ec2
            .describe_internet_gateways()
            .filters(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeInternetGateways", error))?;
        found.iter().map(observe).collect()
    }

    fn find<'o>(
        &self,
        observed: &'o [ObservedInternetGateway],
    ) -> Option<&'o ObservedInternetGateway> {
        observed
            .iter()
            .find(|gateway| gateway.name.as_deref() == Some(self.name.as_str()))
    }

    fn output(observed: &ObservedInternetGateway) -> Output {
        Output::id(&observed.id)
    }

    fn diff(
        &self,
        observed: &ObservedInternetGateway,
        deps: &Resolver,
    ) -> (Action, Vec<FieldChange>) {
        let vpc_id = deps.id_or_pending(&self.vpc);
        let attached = observed.vpc_id.clone().unwrap_or_default();
        if observed.vpc_id.is_some() && attached != vpc_id {
            return (
                Action::Replace {
                    reason: format!(
                        "vpc: the gateway is attached to {attached}, which Berth does not detach"
                    ),
                },
                vec![FieldChange::new("vpc", attached, vpc_id)],
            );
        }
        let mut fields = Vec::new();
        if observed.vpc_id.is_none() {
            fields.push(FieldChange::new("vpc", "", vpc_id));
        }
        fields.extend(tags::tags_change(&observed.tags, &desired_tags(self)));
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("vpc", "", deps.id_or_pending(&self.vpc)),
            FieldChange::new("tags", "", tags::tags_line(&desired_tags(self))),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let vpc_id = cx.deps.id(&self.vpc)?;
        let existing = if cx.attempt > 1 {
            lookup(self, cx).await?
        } else {
            None
        };
        let (id, attached) = match existing {
            Some(gateway) => (gateway.id, gateway.vpc_id),
            None => {
                let created = cx
                    .clients
                    .ec2
                    .create_internet_gateway()
                    .tag_specifications(tags::ec2_tag_specification(
                        ResourceType::InternetGateway,
                        &desired_tags(self),
                    ))
                    .customize()
                    .config_override(super::single_attempt::single_attempt())
                    .send()
                    .await
                    .map_err(|error| aws_error("CreateInternetGateway", error))?;
                let id = created
                    .internet_gateway()
                    .and_then(|gateway| gateway.internet_gateway_id())
                    .ok_or_else(|| missing("CreateInternetGateway", "InternetGatewayId"))?
                    .to_owned();
                (id, None)
            }
        };
        match attached {
            Some(attached) if attached == vpc_id => {}
            Some(attached) => {
                return Err(TaskError::Refused {
                    message: format!(
                        "internet gateway `{}` ({id}) is attached to {attached}, not {vpc_id}",
                        self.name
                    ),
                });
            }
            None => attach(cx, &id, vpc_id).await?,
        }
        Ok(Output::id(id))
    }

    async fn update(
        &self,
        observed: &ObservedInternetGateway,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("internet gateway", &self.name)?;
        if change.changes("vpc") && observed.vpc_id.is_none() {
            attach(cx, &observed.id, cx.deps.id(&self.vpc)?).await?;
        }
        tags::ec2_update_tags(cx.clients, change, &observed.id, &desired_tags(self)).await?;
        Ok(Self::output(observed))
    }
}

fn desired_tags(gateway: &InternetGateway) -> Tags {
    tags::ec2_named_tags(&gateway.name, &gateway.tags)
}

async fn attach(cx: &ApplyCx<'_>, gateway_id: &str, vpc_id: &str) -> Result<(), TaskError> {
    cx.clients
        .ec2
        .attach_internet_gateway()
        .internet_gateway_id(gateway_id)
        .vpc_id(vpc_id)
        .send()
        .await
        .map_err(|error| aws_error("AttachInternetGateway", error))?;
    Ok(())
}

/// The gateway an earlier attempt of this create may have made (and maybe attached).
async fn lookup(
    gateway: &InternetGateway,
    cx: &ApplyCx<'_>,
) -> Result<Option<ObservedInternetGateway>, TaskError> {
    let found = cx
        .clients
        .ec2
        .describe_internet_gateways()
        .set_filters(Some(tags::ec2_owned_name_filters(
            cx.cluster,
            &gateway.name,
        )))
        .send()
        .await
        .map_err(|error| aws_error("DescribeInternetGateways", error))?;
    found.internet_gateways().first().map(observe).transpose()
}

fn observe(
    gateway: &aws_sdk_ec2::types::InternetGateway,
) -> Result<ObservedInternetGateway, TaskError> {
    Ok(ObservedInternetGateway {
        id: gateway
            .internet_gateway_id()
            .ok_or_else(|| missing("DescribeInternetGateways", "InternetGatewayId"))?
            .to_owned(),
        name: tags::ec2_name(gateway.tags()).map(str::to_owned),
        tags: tags::from_ec2_tags(gateway.tags()),
        vpc_id: gateway
            .attachments()
            .iter()
            .find_map(|attachment| attachment.vpc_id())
            .map(str::to_owned),
    })
}
