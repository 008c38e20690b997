//! [`Route`] reconciliation: one route of a cluster route table, to the internet gateway or a
//! NAT gateway.
//!
//! Routes have no id or tags of their own: a route is its table plus its destination. Each
//! observed route carries its table's `Name` tag, so `find` can match the desired route's
//! table by name without the table's id.
//!
//! Discovery: one DescribeRouteTables by the cluster tag, whose tables list their routes.

use async_trait::async_trait;
use aws_sdk_ec2::{error::ProvideErrorMetadata, types::RouteOrigin};
use berth_model::aws::{Route, RouteTarget};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRoute {
    /// Its table, `rtb-…`.
    pub route_table_id: String,
    /// Its table's `Name` tag.
    pub route_table_name: Option<String>,
    /// The destination CIDR (IPv4 or IPv6).
    pub destination: String,
    /// The gateway or NAT gateway it sends traffic to (`None` for other targets).
    pub target_id: Option<String>,
}

/// The error CreateRoute answers when the table has a route to the destination already.
const ROUTE_ALREADY_EXISTS: &str = "RouteAlreadyExists";

#[async_trait]
impl Reconcile for Route {
    type Observed = ObservedRoute;

    async fn discover(scope: DiscoveryScope<'_, Self>) -> Result<Vec<ObservedRoute>, TaskError> {
        let tables = scope
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
        let mut observed = Vec::new();
        for table in &tables {
            let route_table_id = table
                .route_table_id()
                .ok_or_else(|| missing("DescribeRouteTables", "RouteTableId"))?;
            let route_table_name = tags::ec2_name(table.tags()).map(str::to_owned);
            for route in table.routes() {
                // The VPC's own `local` route comes with the table; Berth does not manage it.
                if route.origin() == Some(&RouteOrigin::CreateRouteTable) {
                    continue;
                }
                let Some(destination) = route
                    .destination_cidr_block()
                    .or(route.destination_ipv6_cidr_block())
                else {
                    continue;
                };
                observed.push(ObservedRoute {
                    route_table_id: route_table_id.to_owned(),
                    route_table_name: route_table_name.clone(),
                    destination: destination.to_owned(),
                    target_id: route
                        .nat_gateway_id()
                        .or(route.gateway_id())
                        .map(str::to_owned),
                });
            }
        }
        Ok(observed)
    }

    fn find<'o>(&self, observed: &'o [ObservedRoute]) -> Option<&'o ObservedRoute> {
        let table_name = self.route_table.key().name.as_str();
        observed.iter().find(|route| {
            route.route_table_name.as_deref() == Some(table_name)
                && route.destination == self.destination
        })
    }

    fn output(observed: &ObservedRoute) -> Output {
        Output::id(route_id(&observed.route_table_id, &observed.destination))
    }

    fn diff(&self, observed: &ObservedRoute, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        let target_id = target_id_or_pending(&self.target, deps);
        if observed.target_id.as_deref() == Some(target_id.as_str()) {
            return (Action::Unchanged, Vec::new());
        }
        let old = observed.target_id.clone().unwrap_or_default();
        (
            Action::Update,
            vec![FieldChange::new("target", old, target_id)],
        )
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("route_table", "", deps.id_or_pending(&self.route_table)),
            FieldChange::new("destination", "", &self.destination),
            FieldChange::new("target", "", target_id_or_pending(&self.target, deps)),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let route_table_id = cx.deps.id(&self.route_table)?;
        let target = Target::resolve(&self.target, cx)?;
        let request = cx.clients.ec2.create_route().route_table_id(route_table_id);
        let request = if is_ipv6(&self.destination) {
            request.destination_ipv6_cidr_block(&self.destination)
        } else {
            request.destination_cidr_block(&self.destination)
        };
        let request = match target {
            Target::Gateway(id) => request.gateway_id(id),
            Target::NatGateway(id) => request.nat_gateway_id(id),
        };
        match request.send().await {
            Ok(_) => {}
            // An earlier attempt made it, or a route to elsewhere is in the way: either way,
            // pointing the destination at our target converges.
            Err(error) if error.code() == Some(ROUTE_ALREADY_EXISTS) => {
                replace_route(self, route_table_id, cx).await?;
            }
            Err(error) => return Err(aws_error("CreateRoute", error)),
        }
        Ok(Output::id(route_id(route_table_id, &self.destination)))
    }

    async fn update(
        &self,
        observed: &ObservedRoute,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("route", &self.name)?;
        if change.changes("target") {
            replace_route(self, &observed.route_table_id, cx).await?;
        }
        Ok(Self::output(observed))
    }
}

/// A route's target, resolved to its id.
enum Target<'a> {
    Gateway(&'a str),
    NatGateway(&'a str),
}

impl<'a> Target<'a> {
    fn resolve(target: &RouteTarget, cx: &'a ApplyCx<'_>) -> Result<Self, TaskError> {
        Ok(match target {
            RouteTarget::InternetGateway(gateway) => Self::Gateway(cx.deps.id(gateway)?),
            RouteTarget::NatGateway(gateway) => Self::NatGateway(cx.deps.id(gateway)?),
        })
    }
}

fn target_id_or_pending(target: &RouteTarget, deps: &Resolver) -> String {
    match target {
        RouteTarget::InternetGateway(gateway) => deps.id_or_pending(gateway),
        RouteTarget::NatGateway(gateway) => deps.id_or_pending(gateway),
    }
}

/// Points the route's destination at its target (ReplaceRoute).
async fn replace_route(
    route: &Route,
    route_table_id: &str,
    cx: &ApplyCx<'_>,
) -> Result<(), TaskError> {
    let request = cx
        .clients
        .ec2
        .replace_route()
        .route_table_id(route_table_id);
    let request = if is_ipv6(&route.destination) {
        request.destination_ipv6_cidr_block(&route.destination)
    } else {
        request.destination_cidr_block(&route.destination)
    };
    let request = match Target::resolve(&route.target, cx)? {
        Target::Gateway(id) => request.gateway_id(id),
        Target::NatGateway(id) => request.nat_gateway_id(id),
    };
    request
        .send()
        .await
        .map_err(|error| aws_error("ReplaceRoute", error))?;
    Ok(())
}

fn is_ipv6(cidr: &str) -> bool {
    cidr.contains(':')
}

/// A route's id for dependents and plans: it has none in AWS.
fn route_id(route_table_id: &str, destination: &str) -> String {
    format!("{route_table_id}:{destination}")
}
