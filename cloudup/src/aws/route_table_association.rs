//! [`RouteTableAssociation`] reconciliation: which route table a cluster subnet uses.
//!
//! A subnet has at most one explicit association, so an association is found by its subnet
//! (by the subnet's `Name` tag: `find` has no ids) and moved to another table in place.
//! Associations of shared subnets are not discovered (those subnets carry no cluster tag).
//!
//! Discovery: one DescribeSubnets by the cluster tag (for the subnets' names), then one
//! DescribeRouteTables by those subnets' associations, whichever table they are in.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::{error::ProvideErrorMetadata, types::RouteTableAssociationStateCode};
use berth_model::aws::RouteTableAssociation;

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing association of a subnet with a route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRouteTableAssociation {
    /// `rtbassoc-…`.
    pub id: String,
    /// The subnet.
    pub subnet_id: String,
    /// The subnet's `Name` tag.
    pub subnet_name: Option<String>,
    /// The route table.
    pub route_table_id: String,
}

/// The error AssociateRouteTable answers when the subnet already has an association.
const ALREADY_ASSOCIATED: &str = "Resource.AlreadyAssociated";

#[async_trait]
impl Reconcile for RouteTableAssociation {
    type Observed = ObservedRouteTableAssociation;

    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedRouteTableAssociation>, TaskError> {
        let ec2 = &scope.clients.ec2;
        let subnets = ec2
            .describe_subnets()
            .filters(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeSubnets", error))?;
        let subnet_names: BTreeMap<String, Option<String>> = subnets
            .iter()
            .filter_map(|subnet| {
                let name = tags::ec2_name(subnet.tags()).map(str::to_owned);
                Some((subnet.subnet_id()?.to_owned(), name))
            })
            .collect();
        if subnet_names.is_empty() {
            return Ok(Vec::new());
        }
        let associations =
            describe_associations(scope.clients, subnet_names.keys().cloned()).await?;
        Ok(associations
            .into_iter()
            .map(|mut association| {
                association.subnet_name =
                    subnet_names.get(&association.subnet_id).cloned().flatten();
                association
            })
            .collect())
    }

    fn find<'o>(
        &self,
        observed: &'o [ObservedRouteTableAssociation],
    ) -> Option<&'o ObservedRouteTableAssociation> {
        let subnet_name = self.subnet.key().name.as_str();
        observed
            .iter()
            .find(|association| association.subnet_name.as_deref() == Some(subnet_name))
    }

    fn output(observed: &ObservedRouteTableAssociation) -> Output {
        Output::id(&observed.id)
    }

    fn diff(
        &self,
        observed: &ObservedRouteTableAssociation,
        deps: &Resolver,
    ) -> (Action, Vec<FieldChange>) {
        let route_table_id = deps.id_or_pending(&self.route_table);
        if observed.route_table_id == route_table_id {
            return (Action::Unchanged, Vec::new());
        }
        (
            Action::Update,
            vec![FieldChange::new(
                "route_table",
                &observed.route_table_id,
                route_table_id,
            )],
        )
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("subnet", "", deps.id_or_pending(&self.subnet)),
            FieldChange::new("route_table", "", deps.id_or_pending(&self.route_table)),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let subnet_id = cx.deps.id(&self.subnet)?;
        let route_table_id = cx.deps.id(&self.route_table)?;
        if cx.attempt > 1
            && let Some(existing) = current_association(cx, subnet_id).await?
        {
            return converge(&existing, route_table_id, cx).await;
        }
        let associated = cx
            .clients
            .ec2
            .associate_route_table()
            .subnet_id(subnet_id)
            .route_table_id(route_table_id)
            .send()
            .await;
        match associated {
            Ok(associated) => {
                let id = associated
                    .association_id()
                    .ok_or_else(|| missing("AssociateRouteTable", "AssociationId"))?;
                Ok(Output::id(id))
            }
            Err(error) if error.code() == Some(ALREADY_ASSOCIATED) => {
                match current_association(cx, subnet_id).await? {
                    Some(existing) => converge(&existing, route_table_id, cx).await,
                    None => Err(aws_error("AssociateRouteTable", error)),
                }
            }
            Err(error) => Err(aws_error("AssociateRouteTable", error)),
        }
    }

    async fn update(
        &self,
        observed: &ObservedRouteTableAssociation,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("route table association", &self.name)?;
        if change
            .fields
            .iter()
            .any(|field| field.field == "route_table")
        {
            return converge(observed, cx.deps.id(&self.route_table)?, cx).await;
        }
        Ok(Self::output(observed))
    }
}

/// Moves an existing association to `route_table_id`, unless it is there already.
async fn converge(
    existing: &ObservedRouteTableAssociation,
    route_table_id: &str,
    cx: &ApplyCx<'_>,
) -> Result<Output, TaskError> {
    if existing.route_table_id == route_table_id {
        return Ok(Output::id(&existing.id));
    }
    let replaced = cx
        .clients
        .ec2
        .replace_route_table_association()
        .association_id(&existing.id)
        .route_table_id(route_table_id)
        .send()
        .await
        .map_err(|error| aws_error("ReplaceRouteTableAssociation", error))?;
    let id = replaced
        .new_association_id()
        .ok_or_else(|| missing("ReplaceRouteTableAssociation", "NewAssociationId"))?;
    Ok(Output::id(id))
}

/// The subnet's explicit association, if it has one (in any table).
async fn current_association(
    cx: &ApplyCx<'_>,
    subnet_id: &str,
) -> Result<Option<ObservedRouteTableAssociation>, TaskError> {
    let found = describe_associations(cx.clients, [subnet_id.to_owned()]).await?;
    Ok(found
        .into_iter()
        .find(|association| association.subnet_id == subnet_id))
}

/// The explicit associations of `subnet_ids` (subnet names left empty).
async fn describe_associations(
    clients: &super::AwsClients,
    subnet_ids: impl IntoIterator<Item = String>,
) -> Result<Vec<ObservedRouteTableAssociation>, TaskError> {
    let subnet_ids: Vec<String> = subnet_ids.into_iter().collect();
    let tables = clients
        .ec2
        .describe_route_tables()
        .filters(tags::ec2_filter(
            "association.subnet-id",
            subnet_ids.iter().cloned(),
        ))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|error| aws_error("DescribeRouteTables", error))?;
    let mut associations = Vec::new();
    for table in &tables {
        for association in table.associations() {
            // The filter selects tables; a table may also hold other subnets' associations,
            // and ended ones linger for a while.
            let Some(subnet_id) = association
                .subnet_id()
                .filter(|id| subnet_ids.iter().any(|wanted| wanted == id))
            else {
                continue;
            };
            if association
                .association_state()
                .and_then(|state| state.state())
                .is_some_and(|state| {
                    matches!(
                        state,
                        RouteTableAssociationStateCode::Disassociated
                            | RouteTableAssociationStateCode::Disassociating
                    )
                })
            {
                continue;
            }
            associations.push(ObservedRouteTableAssociation {
                id: association
                    .route_table_association_id()
                    .ok_or_else(|| missing("DescribeRouteTables", "RouteTableAssociationId"))?
                    .to_owned(),
                subnet_id: subnet_id.to_owned(),
                subnet_name: None,
                route_table_id: association
                    .route_table_id()
                    .or(table.route_table_id())
                    .ok_or_else(|| missing("DescribeRouteTables", "RouteTableId"))?
                    .to_owned(),
            });
        }
    }
    Ok(associations)
}
