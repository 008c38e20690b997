//! [`Vpc`] reconciliation: an owned VPC (created with DNS hostnames and support on) or a
//! shared one (looked up by id, at most given the `shared` cluster tag, never otherwise
//! changed).
//!
//! Discovery: one DescribeVpcs by the cluster tag, one by the shared ids (if any), and two
//! DescribeVpcAttribute calls per owned VPC found (the DNS attributes are not in
//! DescribeVpcs; a cluster has one VPC).

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, VpcAttributeName};
use berth_model::aws::{Tags, Vpc};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedVpc {
    /// `vpc-…`.
    pub id: String,
    /// The primary IPv4 CIDR.
    pub cidr: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// All its tags.
    pub tags: Tags,
    /// `enableDnsHostnames` (`None` for shared VPCs, whose attributes Berth does not read).
    pub dns_hostnames: Option<bool>,
    /// `enableDnsSupport` (`None` for shared VPCs).
    pub dns_support: Option<bool>,
}

/// The plan field of `enableDnsHostnames`.
const DNS_HOSTNAMES_FIELD: &str = "enable_dns_hostnames";
/// The plan field of `enableDnsSupport`.
const DNS_SUPPORT_FIELD: &str = "enable_dns_support";

#[async_trait]
impl Reconcile for Vpc {
    type Observed = ObservedVpc;

    async fn discover(scope: DiscoveryScope<'_, Self>) -> Result<Vec<ObservedVpc>, TaskError> {
        let ec2 = &scope.clients.ec2;
        let owned = ec2
            .describe_vpcs()
            .filters(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeVpcs", error))?;
        let mut observed = Vec::with_capacity(owned.len());
        for vpc in &owned {
            let mut vpc = observe(vpc)?;
            let (hostnames, support) = tokio::try_join!(
                dns_attribute(scope.clients, &vpc.id, DnsAttribute::Hostnames),
                dns_attribute(scope.clients, &vpc.id, DnsAttribute::Support),
            )?;
            vpc.dns_hostnames = Some(hostnames);
            vpc.dns_support = Some(support);
            observed.push(vpc);
        }
        let shared_ids: Vec<String> = scope
            .desired
            .iter()
            .filter_map(|vpc| vpc.shared_id.clone())
            .collect();
        if !shared_ids.is_empty() {
            // By filter rather than by id: a shared id that does not exist must come back as
            // "not found" (planned, then refused by `create`), not fail the whole discovery.
            let shared = ec2
                .describe_vpcs()
                .filters(tags::ec2_filter("vpc-id", shared_ids))
                .send()
                .await
                .map_err(|error| aws_error("DescribeVpcs", error))?;
            for vpc in shared.vpcs() {
                let vpc = observe(vpc)?;
                // A shared VPC may also carry the cluster tag; keep one entry per id.
                if !observed.iter().any(|known| known.id == vpc.id) {
                    observed.push(vpc);
                }
            }
        }
        Ok(observed)
    }

    fn find<'o>(&self, observed: &'o [ObservedVpc]) -> Option<&'o ObservedVpc> {
        match &self.shared_id {
            Some(shared_id) => observed.iter().find(|vpc| vpc.id == *shared_id),
            None => observed
                .iter()
                .find(|vpc| vpc.name.as_deref() == Some(self.name.as_str())),
        }
    }

    fn output(observed: &ObservedVpc) -> Output {
        Output::id(&observed.id).with("cidr", &observed.cidr)
    }

    fn diff(&self, observed: &ObservedVpc, _deps: &Resolver) -> (Action, Vec<FieldChange>) {
        if self.shared_id.is_some() {
            // A shared VPC is the user's: only the `shared` cluster tag may be added.
            return tags::shared_diff(&observed.tags, &self.tags);
        }
        if observed.cidr != self.cidr {
            return (
                Action::Replace {
                    reason: format!(
                        "cidr cannot change in place (the VPC is {}, the spec asks for {})",
                        observed.cidr, self.cidr
                    ),
                },
                vec![FieldChange::new("cidr", &observed.cidr, &self.cidr)],
            );
        }
        let mut fields = Vec::new();
        if observed.dns_hostnames != Some(true) {
            fields.push(FieldChange::new(
                DNS_HOSTNAMES_FIELD,
                flag(observed.dns_hostnames),
                true,
            ));
        }
        if observed.dns_support != Some(true) {
            fields.push(FieldChange::new(
                DNS_SUPPORT_FIELD,
                flag(observed.dns_support),
                true,
            ));
        }
        fields.extend(tags::tags_change(&observed.tags, &desired_tags(self)));
        Action::updating(fields)
    }

    fn describe_create(&self, _deps: &Resolver) -> Vec<FieldChange> {
        if let Some(shared_id) = &self.shared_id {
            return vec![FieldChange::new("shared_id", "", shared_id)];
        }
        vec![
            FieldChange::new("cidr", "", &self.cidr),
            FieldChange::new(DNS_HOSTNAMES_FIELD, "", true),
            FieldChange::new(DNS_SUPPORT_FIELD, "", true),
            FieldChange::new("tags", "", tags::tags_line(&desired_tags(self))),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        if let Some(shared_id) = &self.shared_id {
            return Err(TaskError::Refused {
                message: format!(
                    "the shared VPC `{shared_id}` does not exist; Berth does not create shared VPCs"
                ),
            });
        }
        let existing = if cx.attempt > 1 {
            lookup(self, cx).await?
        } else {
            None
        };
        let adopted = existing.is_some();
        let id = match existing {
            Some(id) => id,
            None => {
                let created = cx
                    .clients
                    .ec2
                    .create_vpc()
                    .cidr_block(&self.cidr)
                    .tag_specifications(tags::ec2_tag_specification(
                        ResourceType::Vpc,
                        &desired_tags(self),
                    ))
                    .customize()
                    .config_override(super::single_attempt::single_attempt())
                    .send()
                    .await
                    .map_err(|error| aws_error("CreateVpc", error))?;
                created
                    .vpc()
                    .and_then(|vpc| vpc.vpc_id())
                    .ok_or_else(|| missing("CreateVpc", "VpcId"))?
                    .to_owned()
            }
        };
        // A new VPC has DNS support on already (an AWS default), so only host names need a
        // call: one round trip less at the root of every dependency chain. A VPC adopted from
        // an earlier attempt may be in any state: support first, since AWS refuses DNS host
        // names in a VPC without DNS support.
        if adopted {
            set_dns_attribute(cx, &id, DnsAttribute::Support).await?;
        }
        set_dns_attribute(cx, &id, DnsAttribute::Hostnames).await?;
        Ok(Output::id(id).with("cidr", &self.cidr))
    }

    async fn update(
        &self,
        observed: &ObservedVpc,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("VPC", &self.name)?;
        if self.shared_id.is_some() {
            tags::ec2_update_tags(
                cx.clients,
                change,
                &observed.id,
                &tags::shared_tags(&self.tags),
            )
            .await?;
            return Ok(Self::output(observed));
        }
        if change.changes(DNS_SUPPORT_FIELD) {
            set_dns_attribute(cx, &observed.id, DnsAttribute::Support).await?;
        }
        if change.changes(DNS_HOSTNAMES_FIELD) {
            set_dns_attribute(cx, &observed.id, DnsAttribute::Hostnames).await?;
        }
        tags::ec2_update_tags(cx.clients, change, &observed.id, &desired_tags(self)).await?;
        Ok(Self::output(observed))
    }
}

fn desired_tags(vpc: &Vpc) -> Tags {
    tags::ec2_named_tags(&vpc.name, &vpc.tags)
}

/// The VPC an earlier attempt of this create may have made.
async fn lookup(vpc: &Vpc, cx: &ApplyCx<'_>) -> Result<Option<String>, TaskError> {
    let found = cx
        .clients
        .ec2
        .describe_vpcs()
        .set_filters(Some(tags::ec2_owned_name_filters(cx.cluster, &vpc.name)))
        .send()
        .await
        .map_err(|error| aws_error("DescribeVpcs", error))?;
    Ok(found
        .vpcs()
        .iter()
        .find_map(|vpc| vpc.vpc_id())
        .map(str::to_owned))
}

fn observe(vpc: &aws_sdk_ec2::types::Vpc) -> Result<ObservedVpc, TaskError> {
    Ok(ObservedVpc {
        id: vpc
            .vpc_id()
            .ok_or_else(|| missing("DescribeVpcs", "VpcId"))?
            .to_owned(),
        cidr: vpc
            .cidr_block()
            .ok_or_else(|| missing("DescribeVpcs", "CidrBlock"))?
            .to_owned(),
        name: tags::ec2_name(vpc.tags()).map(str::to_owned),
        tags: tags::from_ec2_tags(vpc.tags()),
        dns_hostnames: None,
        dns_support: None,
    })
}

/// The two VPC attributes Berth sets.
#[derive(Debug, Clone, Copy)]
enum DnsAttribute {
    Hostnames,
    Support,
}

async fn dns_attribute(
    clients: &super::AwsClients,
    vpc_id: &str,
    attribute: DnsAttribute,
) -> Result<bool, TaskError> {
    let name = match attribute {
        DnsAttribute::Hostnames => VpcAttributeName::EnableDnsHostnames,
        DnsAttribute::Support => VpcAttributeName::EnableDnsSupport,
    };
    let answer = clients
        .ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(name)
        .send()
        .await
        .map_err(|error| aws_error("DescribeVpcAttribute", error))?;
    let value = match attribute {
        DnsAttribute::Hostnames => answer.enable_dns_hostnames(),
        DnsAttribute::Support => answer.enable_dns_support(),
    };
    Ok(value
        .and_then(AttributeBooleanValue::value)
        .unwrap_or(false))
}

/// Turns one DNS attribute on (ModifyVpcAttribute takes one attribute per call).
async fn set_dns_attribute(
    cx: &ApplyCx<'_>,
    vpc_id: &str,
    attribute: DnsAttribute,
) -> Result<(), TaskError> {
    let enabled = AttributeBooleanValue::builder().value(true).build();
    let request = cx.clients.ec2.modify_vpc_attribute().vpc_id(vpc_id);
    let request = match attribute {
        DnsAttribute::Hostnames => request.enable_dns_hostnames(enabled),
        DnsAttribute::Support => request.enable_dns_support(enabled),
    };
    request
        .send()
        .await
        .map_err(|error| aws_error("ModifyVpcAttribute", error))?;
    Ok(())
}

fn flag(value: Option<bool>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}
