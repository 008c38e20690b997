//! [`RouteTable`] reconciliation: a route table of the cluster's VPC (its routes and subnet
//! associations are separate kinds).
//!
//! Discovery: one DescribeRouteTables by the cluster tag.

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use berth_model::aws::{RouteTable, Tags};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRouteTable {
    /// `rtb-…`.
    pub id: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// All its tags.
    pub tags: Tags,
    /// Its VPC.
    pub vpc_id: String,
}

#[async_trait]
impl Reconcile for RouteTable {
    type Observed = ObservedRouteTable;

    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedRouteTable>, TaskError> {
        let found = scope
            .clients
            .ec2
            .describe_route_tables()
            .filters(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeRouteTables", error))?;
        found.iter().map(observe).collect()
    }

    fn find<'o>(&self, observed: &'o [ObservedRouteTable]) -> Option<&'o ObservedRouteTable> {
        observed
            .iter()
            .find(|table| table.name.as_deref() == Some(self.name.as_str()))
    }

    fn output(observed: &ObservedRouteTable) -> Output {
        Output::id(&observed.id)
    }

    fn diff(&self, observed: &ObservedRouteTable, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        let vpc_id = deps.id_or_pending(&self.vpc);
        if observed.vpc_id != vpc_id {
            return (
                Action::Replace {
                    reason: format!(
                        "vpc cannot change in place (the route table is in {}, the spec asks for {vpc_id})",
                        observed.vpc_id
                    ),
                },
                vec![FieldChange::new("vpc", &observed.vpc_id, vpc_id)],
            );
        }
        let fields: Vec<FieldChange> = tags::tags_change(&observed.tags, &desired_tags(self))
            .into_iter()
            .collect();
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
        if cx.attempt > 1
            && let Some(existing) = lookup(self, cx).await?
        {
            return Ok(Self::output(&existing));
        }
        let created = cx
            .clients
            .ec2
            .create_route_table()
            .vpc_id(vpc_id)
            .tag_specifications(tags::ec2_tag_specification(
                ResourceType::RouteTable,
                &desired_tags(self),
            ))
            .customize()
            .config_override(super::single_attempt::single_attempt())
            .send()
            .await
            .map_err(|error| aws_error("CreateRouteTable", error))?;
        let id = created
            .route_table()
            .and_then(|table| table.route_table_id())
            .ok_or_else(|| missing("CreateRouteTable", "RouteTableId"))?;
        Ok(Output::id(id))
    }

    async fn update(
        &self,
        observed: &ObservedRouteTable,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("route table", &self.name)?;
        tags::ec2_update_tags(cx.clients, change, &observed.id, &desired_tags(self)).await?;
        Ok(Self::output(observed))
    }
}

fn desired_tags(table: &RouteTable) -> Tags {
    tags::ec2_named_tags(&table.name, &table.tags)
}

/// The table an earlier attempt of this create may have made.
async fn lookup(
    table: &RouteTable,
    cx: &ApplyCx<'_>,
) -> Result<Option<ObservedRouteTable>, TaskError> {
    let found = cx
        .clients
        .ec2
        .describe_route_tables()
        .set_filters(Some(tags::ec2_owned_name_filters(cx.cluster, &table.name)))
        .send()
        .await
        .map_err(|error| aws_error("DescribeRouteTables", error))?;
    found.route_tables().first().map(observe).transpose()
}

fn observe(table: &aws_sdk_ec2::types::RouteTable) -> Result<ObservedRouteTable, TaskError> {
    Ok(ObservedRouteTable {
        id: table
            .route_table_id()
            .ok_or_else(|| missing("DescribeRouteTables", "RouteTableId"))?
            .to_owned(),
        name: tags::ec2_name(table.tags()).map(str::to_owned),
        tags: tags::from_ec2_tags(table.tags()),
        vpc_id: table
            .vpc_id()
            .ok_or_else(|| missing("DescribeRouteTables", "VpcId"))?
            .to_owned(),
    })
}
