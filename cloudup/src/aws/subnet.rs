//! [`Subnet`] reconciliation: an owned subnet (created in its zone with its CIDR) or a shared
//! one (looked up by id, at most given the `shared` cluster tag, never otherwise changed).
//!
//! Discovery: one DescribeSubnets by the cluster tag, plus one by the shared ids (if any).

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use berth_model::aws::{Subnet, Tags};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSubnet {
    /// `subnet-…`.
    pub id: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// All its tags.
    pub tags: Tags,
    /// Its VPC.
    pub vpc_id: String,
    /// Its IPv4 CIDR.
    pub cidr: String,
    /// Its availability zone.
    pub zone: String,
}

#[async_trait]
impl Reconcile for Subnet {
    type Observed = ObservedSubnet;

    async fn discover(scope: DiscoveryScope<'_, Self>) -> Result<Vec<ObservedSubnet>, TaskError> {
        let ec2 = &scope.clients.ec2;
        let owned = ec2
            .describe_subnets()
            .filters(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeSubnets", error))?;
        let mut observed = owned.iter().map(observe).collect::<Result<Vec<_>, _>>()?;
        let shared_ids: Vec<String> = scope
            .desired
            .iter()
            .filter_map(|subnet| subnet.shared_id.clone())
            .collect();
        if !shared_ids.is_empty() {
            // By filter rather than by id: a shared id that does not exist must come back as
            // "not found" (planned, then refused by `create`), not fail the whole discovery.
            let shared = ec2
                .describe_subnets()
                .filters(tags::ec2_filter("subnet-id", shared_ids))
                .send()
                .await
                .map_err(|error| aws_error("DescribeSubnets", error))?;
            for subnet in shared.subnets() {
                let subnet = observe(subnet)?;
                if !observed.iter().any(|known| known.id == subnet.id) {
                    observed.push(subnet);
                }
            }
        }
        Ok(observed)
    }

    fn find<'o>(&self, observed: &'o [ObservedSubnet]) -> Option<&'o ObservedSubnet> {
        match &self.shared_id {
            Some(shared_id) => observed.iter().find(|subnet| subnet.id == *shared_id),
            None => observed
                .iter()
                .find(|subnet| subnet.name.as_deref() == Some(self.name.as_str())),
        }
    }

    fn output(observed: &ObservedSubnet) -> Output {
        Output::id(&observed.id).with("zone", &observed.zone)
    }

    fn diff(&self, observed: &ObservedSubnet, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        if self.shared_id.is_some() {
            // A shared subnet is the user's: only the `shared` cluster tag may be added.
            return tags::shared_diff(&observed.tags, &self.tags);
        }
        let vpc_id = deps.id_or_pending(&self.vpc);
        for (field, old, new) in [
            ("vpc", observed.vpc_id.as_str(), vpc_id.as_str()),
            ("cidr", observed.cidr.as_str(), self.cidr.as_str()),
            ("zone", observed.zone.as_str(), self.zone.as_str()),
        ] {
            if old != new {
                return (
                    Action::Replace {
                        reason: format!(
                            "{field} cannot change in place (the subnet has {old}, the spec asks for {new})"
                        ),
                    },
                    vec![FieldChange::new(field, old, new)],
                );
            }
        }
        let fields: Vec<FieldChange> = tags::tags_change(&observed.tags, &desired_tags(self))
            .into_iter()
            .collect();
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        if let Some(shared_id) = &self.shared_id {
            return vec![FieldChange::new("shared_id", "", shared_id)];
        }
        vec![
            FieldChange::new("vpc", "", deps.id_or_pending(&self.vpc)),
            FieldChange::new("cidr", "", &self.cidr),
            FieldChange::new("zone", "", &self.zone),
            FieldChange::new("tags", "", tags::tags_line(&desired_tags(self))),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        if let Some(shared_id) = &self.shared_id {
            return Err(TaskError::Refused {
                message: format!(
                    "the shared subnet `{shared_id}` does not exist; Berth does not create shared subnets"
                ),
            });
        }
        let vpc_id = cx.deps.id(&self.vpc)?;
        if cx.attempt > 1
            && let Some(existing) = lookup(self, cx).await?
        {
            return Ok(Self::output(&existing));
        }
        let created = cx
            .clients
            .ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(&self.cidr)
            .availability_zone(&self.zone)
            .tag_specifications(tags::ec2_tag_specification(
                ResourceType::Subnet,
                &desired_tags(self),
            ))
            .customize()
            .config_override(super::single_attempt::single_attempt())
            .send()
            .await
            .map_err(|error| aws_error("CreateSubnet", error))?;
        let id = created
            .subnet()
            .and_then(|subnet| subnet.subnet_id())
            .ok_or_else(|| missing("CreateSubnet", "SubnetId"))?;
        Ok(Output::id(id).with("zone", &self.zone))
    }

    async fn update(
        &self,
        observed: &ObservedSubnet,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("subnet", &self.name)?;
        let wanted = if self.shared_id.is_some() {
            tags::shared_tags(&self.tags)
        } else {
            desired_tags(self)
        };
        tags::ec2_update_tags(cx.clients, change, &observed.id, &wanted).await?;
        Ok(Self::output(observed))
    }
}

fn desired_tags(subnet: &Subnet) -> Tags {
    tags::ec2_named_tags(&subnet.name, &subnet.tags)
}

/// The subnet an earlier attempt of this create may have made.
async fn lookup(subnet: &Subnet, cx: &ApplyCx<'_>) -> Result<Option<ObservedSubnet>, TaskError> {
    let found = cx
        .clients
        .ec2
        .describe_subnets()
        .set_filters(Some(tags::ec2_owned_name_filters(cx.cluster, &subnet.name)))
        .send()
        .await
        .map_err(|error| aws_error("DescribeSubnets", error))?;
    found.subnets().first().map(observe).transpose()
}

fn observe(subnet: &aws_sdk_ec2::types::Subnet) -> Result<ObservedSubnet, TaskError> {
    let field = |value: Option<&str>, name: &'static str| {
        value
            .map(str::to_owned)
            .ok_or_else(|| missing("DescribeSubnets", name))
    };
    Ok(ObservedSubnet {
        id: field(subnet.subnet_id(), "SubnetId")?,
        name: tags::ec2_name(subnet.tags()).map(str::to_owned),
        tags: tags::from_ec2_tags(subnet.tags()),
        vpc_id: field(subnet.vpc_id(), "VpcId")?,
        cidr: field(subnet.cidr_block(), "CidrBlock")?,
        zone: field(subnet.availability_zone(), "AvailabilityZone")?,
    })
}
