//! [`LoadBalancer`] reconciliation: the API's Network Load Balancer, found by name.
//!
//! Its scheme cannot change (a replacement), nor can security groups be added to an NLB
//! created without any; subnets, the groups of an NLB that has some, and tags change in
//! place. Its output carries `dns_name` and `zone_id` for the DNS alias.
//!
//! Also owns the ELBv2 helpers the listener and the CLI share: describing load balancers by
//! name, and [`load_balancer_dns_name`].

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, LoadBalancerTypeEnum};
use berth_model::aws::{LoadBalancer, Tags, owned_by};

use super::elb_tags::{add_tags, elb_tags, fill_tags};
use super::ownership::ownership_conflict;
use super::tags::{tags_change, tags_line};
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// A load balancer as ELBv2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedLoadBalancer {
    arn: String,
    name: String,
    scheme: String,
    kind: String,
    subnets: BTreeSet<String>,
    security_groups: BTreeSet<String>,
    dns_name: String,
    zone_id: String,
    tags: Tags,
}

#[async_trait]
impl Reconcile for LoadBalancer {
    type Observed = ObservedLoadBalancer;

    /// DescribeLoadBalancers by the desired names, then one DescribeTags for those found.
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedLoadBalancer>, TaskError> {
        let names: Vec<String> = scope
            .desired
            .iter()
            .map(|balancer| balancer.name.clone())
            .collect();
        let elb = &scope.clients.elb;
        let mut found = describe_load_balancers(elb, &names).await?;
        fill_tags(elb, &mut found, |balancer| {
            (&balancer.arn, &mut balancer.tags)
        })
        .await?;
        Ok(found)
    }

    fn find<'o>(&self, observed: &'o [ObservedLoadBalancer]) -> Option<&'o ObservedLoadBalancer> {
        observed.iter().find(|balancer| balancer.name == self.name)
    }

    fn output(observed: &ObservedLoadBalancer) -> Output {
        Output::id(&observed.arn)
            .with("name", &observed.name)
            .with("dns_name", &observed.dns_name)
            .with("zone_id", &observed.zone_id)
    }

    fn diff(&self, observed: &ObservedLoadBalancer, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        if let Some(conflict) =
            ownership_conflict("load balancer", &self.name, &observed.tags, &self.tags)
        {
            return (conflict, Vec::new());
        }
        let mut fields = Vec::new();
        let mut replace_reasons = Vec::new();
        if observed.scheme != self.scheme {
            fields.push(FieldChange::new("scheme", &observed.scheme, &self.scheme));
            replace_reasons.push("scheme: a load balancer's scheme cannot change");
        }
        if observed.kind != LoadBalancerTypeEnum::Network.as_str() {
            fields.push(FieldChange::new(
                "type",
                &observed.kind,
                LoadBalancerTypeEnum::Network.as_str(),
            ));
            replace_reasons.push("type: a load balancer's type cannot change");
        }
        let subnets: BTreeSet<String> = self
            .subnets
            .iter()
            .map(|subnet| deps.id_or_pending(subnet))
            .collect();
        if observed.subnets != subnets {
            fields.push(FieldChange::new(
                "subnets",
                list(&observed.subnets),
                list(&subnets),
            ));
        }
        let groups: BTreeSet<String> = self
            .security_groups
            .iter()
            .map(|group| deps.id_or_pending(group))
            .collect();
        if observed.security_groups != groups {
            fields.push(FieldChange::new(
                "security_groups",
                list(&observed.security_groups),
                list(&groups),
            ));
            if observed.security_groups.is_empty() {
                replace_reasons
                    .push("security_groups: an NLB created without security groups cannot get any");
            }
        }
        fields.extend(tags_change(&observed.tags, &self.tags));
        let action = if !replace_reasons.is_empty() {
            Action::Replace {
                reason: replace_reasons.join("; "),
            }
        } else {
            Action::update_if_any(&fields)
        };
        (action, fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        let subnets: BTreeSet<String> = self
            .subnets
            .iter()
            .map(|subnet| deps.id_or_pending(subnet))
            .collect();
        let groups: BTreeSet<String> = self
            .security_groups
            .iter()
            .map(|group| deps.id_or_pending(group))
            .collect();
        vec![
            FieldChange::new("name", "", &self.name),
            FieldChange::new("type", "", LoadBalancerTypeEnum::Network.as_str()),
            FieldChange::new("scheme", "", &self.scheme),
            FieldChange::new("subnets", "", list(&subnets)),
            FieldChange::new("security_groups", "", list(&groups)),
            FieldChange::new("tags", "", tags_line(&self.tags)),
        ]
    }

    /// CreateLoadBalancer answers with the existing one for the same name and settings; a
    /// retry still looks first, so that an earlier attempt's load balancer is found even when
    /// its settings differ (the next plan then shows the difference).
    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let elb = &cx.clients.elb;
        if cx.attempt > 1
            && let Some(existing) = describe_load_balancers(elb, std::slice::from_ref(&self.name))
                .await?
                .pop()
        {
            return Ok(Self::output(&existing));
        }
        let subnets = self
            .subnets
            .iter()
            .map(|subnet| cx.deps.id(subnet).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let groups = self
            .security_groups
            .iter()
            .map(|group| cx.deps.id(group).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let created = elb
            .create_load_balancer()
            .name(&self.name)
            .r#type(LoadBalancerTypeEnum::Network)
            .scheme(LoadBalancerSchemeEnum::from(self.scheme.as_str()))
            .set_subnets(Some(subnets))
            .set_security_groups((!groups.is_empty()).then_some(groups))
            .set_tags(Some(elb_tags(&self.tags)))
            .send()
            .await
            .map_err(|error| aws_error("CreateLoadBalancer", error))?;
        let balancer = created
            .load_balancers()
            .first()
            .ok_or_else(|| missing("CreateLoadBalancer", "LoadBalancers"))?;
        Ok(Self::output(&observe(balancer)?))
    }

    async fn update(
        &self,
        observed: &ObservedLoadBalancer,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        let elb = &cx.clients.elb;
        if change.changes("subnets") {
            let subnets = self
                .subnets
                .iter()
                .map(|subnet| cx.deps.id(subnet).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?;
            elb.set_subnets()
                .load_balancer_arn(&observed.arn)
                .set_subnets(Some(subnets))
                .send()
                .await
                .map_err(|error| aws_error("SetSubnets", error))?;
        }
        if change.changes("security_groups") {
            let groups = self
                .security_groups
                .iter()
                .map(|group| cx.deps.id(group).map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?;
            elb.set_security_groups()
                .load_balancer_arn(&observed.arn)
                .set_security_groups(Some(groups))
                .send()
                .await
                .map_err(|error| aws_error("SetSecurityGroups", error))?;
        }
        if change.changes("tags") {
            add_tags(elb, &observed.arn, &self.tags).await?;
        }
        Ok(Self::output(observed))
    }
}

/// DescribeLoadBalancers by name; names that do not exist are left out.
pub(super) async fn describe_load_balancers(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    names: &[String],
) -> Result<Vec<ObservedLoadBalancer>, TaskError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let response = elb
        .describe_load_balancers()
        .set_names(Some(names.to_vec()))
        .send()
        .await;
    match response {
        Ok(response) => response.load_balancers().iter().map(observe).collect(),
        // One missing name fails the whole call: ask for each name on its own (clusters have
        // one API load balancer, so this is rare and short).
        Err(error) if error.code() == Some("LoadBalancerNotFound") && names.len() > 1 => {
            let mut found = Vec::new();
            for name in names {
                found.extend(
                    Box::pin(describe_load_balancers(elb, std::slice::from_ref(name))).await?,
                );
            }
            Ok(found)
        }
        Err(error) if error.code() == Some("LoadBalancerNotFound") => Ok(Vec::new()),
        Err(error) => Err(aws_error("DescribeLoadBalancers", error)),
    }
}

/// The DNS name of the load balancer called `name` that `cluster` owns (one
/// DescribeLoadBalancers, one DescribeTags), or `None` when there is none: one of that name
/// without the cluster's `kubernetes.io/cluster/<cluster>=owned` tag is another's (the names
/// of `a.example.com` and `a-example.com` are the same), and its address must not be taken
/// for this cluster's.
///
/// # Errors
/// [`TaskError`] when a call fails for another reason.
pub async fn load_balancer_dns_name(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    name: &str,
    cluster: &str,
) -> Result<Option<String>, TaskError> {
    let mut found: Vec<ObservedLoadBalancer> = describe_load_balancers(elb, &[name.to_owned()])
        .await?
        .into_iter()
        .filter(|balancer| balancer.name == name)
        .collect();
    fill_tags(elb, &mut found, |balancer| {
        (&balancer.arn, &mut balancer.tags)
    })
    .await?;
    Ok(found
        .into_iter()
        .find(|balancer| owned_by(&balancer.tags, cluster))
        .map(|balancer| balancer.dns_name))
}

impl ObservedLoadBalancer {
    /// The ARN.
    pub(super) fn arn(&self) -> &str {
        &self.arn
    }

    /// The name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

fn observe(
    balancer: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer,
) -> Result<ObservedLoadBalancer, TaskError> {
    let operation = "DescribeLoadBalancers";
    Ok(ObservedLoadBalancer {
        arn: balancer
            .load_balancer_arn()
            .ok_or_else(|| missing(operation, "LoadBalancerArn"))?
            .to_owned(),
        name: balancer
            .load_balancer_name()
            .ok_or_else(|| missing(operation, "LoadBalancerName"))?
            .to_owned(),
        scheme: balancer
            .scheme()
            .map(|scheme| scheme.as_str().to_owned())
            .unwrap_or_default(),
        kind: balancer
            .r#type()
            .map(|kind| kind.as_str().to_owned())
            .unwrap_or_default(),
        subnets: balancer
            .availability_zones()
            .iter()
            .filter_map(|zone| zone.subnet_id().map(str::to_owned))
            .collect(),
        security_groups: balancer.security_groups().iter().cloned().collect(),
        dns_name: balancer.dns_name().unwrap_or_default().to_owned(),
        zone_id: balancer
            .canonical_hosted_zone_id()
            .unwrap_or_default()
            .to_owned(),
        tags: Tags::new(),
    })
}

fn list(values: &BTreeSet<String>) -> String {
    values
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
