//! [`DhcpOptions`] reconciliation: the region's domain name and Amazon DNS, associated with
//! the cluster's VPC.
//!
//! DHCP options cannot change in AWS (a new set is made and associated instead), so any
//! content difference is a replacement; the association and tags are updated in place.
//!
//! Discovery: one DescribeDhcpOptions by the cluster tag, then one DescribeVpcs by the found
//! ids (the association lives on the VPC, not on the options).

use async_trait::async_trait;
use aws_sdk_ec2::types::{NewDhcpConfiguration, ResourceType};
use berth_model::aws::{DhcpOptions, Tags};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// Existing DHCP options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDhcpOptions {
    /// `dopt-…`.
    pub id: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// All its tags.
    pub tags: Tags,
    /// `domain-name` (empty when unset).
    pub domain_name: String,
    /// `domain-name-servers`, comma-separated.
    pub domain_name_servers: String,
    /// The VPCs using these options.
    pub vpc_ids: Vec<String>,
}

/// Amazon's resolver, the only name servers Berth configures.
const AMAZON_DNS: &str = "AmazonProvidedDNS";
/// The DHCP option keys Berth sets.
const DOMAIN_NAME_KEY: &str = "domain-name";
const DOMAIN_NAME_SERVERS_KEY: &str = "domain-name-servers";

#[async_trait]
impl Reconcile for DhcpOptions {
    type Observed = ObservedDhcpOptions;

    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedDhcpOptions>, TaskError> {
        let ec2 = &scope.clients.ec2;
        let found = ec2
            .describe_dhcp_options()
            .filters(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeDhcpOptions", error))?;
        let mut observed = found.iter().map(observe).collect::<Result<Vec<_>, _>>()?;
        if observed.is_empty() {
            return Ok(observed);
        }
        let vpcs = ec2
            .describe_vpcs()
            .filters(tags::ec2_filter(
                "dhcp-options-id",
                observed.iter().map(|options| options.id.clone()),
            ))
            .send()
            .await
            .map_err(|error| aws_error("DescribeVpcs", error))?;
        for vpc in vpcs.vpcs() {
            let (Some(vpc_id), Some(options_id)) = (vpc.vpc_id(), vpc.dhcp_options_id()) else {
                continue;
            };
            if let Some(options) = observed.iter_mut().find(|options| options.id == options_id) {
                options.vpc_ids.push(vpc_id.to_owned());
            }
        }
        Ok(observed)
    }

    fn find<'o>(&self, observed: &'o [ObservedDhcpOptions]) -> Option<&'o ObservedDhcpOptions> {
        observed
            .iter()
            .find(|options| options.name.as_deref() == Some(self.name.as_str()))
    }

    fn output(observed: &ObservedDhcpOptions) -> Output {
        Output::id(&observed.id)
    }

    fn diff(&self, observed: &ObservedDhcpOptions, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        for (field, old, new) in [
            (
                "domain_name",
                &observed.domain_name,
                self.domain_name.as_str(),
            ),
            (
                "domain_name_servers",
                &observed.domain_name_servers,
                AMAZON_DNS,
            ),
        ] {
            if old != new {
                return (
                    Action::Replace {
                        reason: format!(
                            "{field} cannot change in place (DHCP options are immutable)"
                        ),
                    },
                    vec![FieldChange::new(field, old, new)],
                );
            }
        }
        let mut fields = Vec::new();
        let vpc_id = deps.id_or_pending(&self.vpc);
        if !observed.vpc_ids.contains(&vpc_id) {
            fields.push(FieldChange::new("vpc", observed.vpc_ids.join(", "), vpc_id));
        }
        fields.extend(tags::tags_change(&observed.tags, &desired_tags(self)));
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("vpc", "", deps.id_or_pending(&self.vpc)),
            FieldChange::new("domain_name", "", &self.domain_name),
            FieldChange::new("domain_name_servers", "", AMAZON_DNS),
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
        let id = match existing {
            Some(id) => id,
            None => {
                let created = cx
                    .clients
                    .ec2
                    .create_dhcp_options()
                    .dhcp_configurations(configuration(DOMAIN_NAME_KEY, &self.domain_name))
                    .dhcp_configurations(configuration(DOMAIN_NAME_SERVERS_KEY, AMAZON_DNS))
                    .tag_specifications(tags::ec2_tag_specification(
                        ResourceType::DhcpOptions,
                        &desired_tags(self),
                    ))
                    .customize()
                    .config_override(super::single_attempt::single_attempt())
                    .send()
                    .await
                    .map_err(|error| aws_error("CreateDhcpOptions", error))?;
                let options = created
                    .dhcp_options()
                    .ok_or_else(|| missing("CreateDhcpOptions", "DhcpOptions"))?;
                let id = options
                    .dhcp_options_id()
                    .ok_or_else(|| missing("CreateDhcpOptions", "DhcpOptionsId"))?
                    .to_owned();
                // AWS tags at creation; an endpoint that ignored the tag specification (the
                // moto emulator does) answers without tags, and must be tagged now, or
                // discovery would never find the options again.
                if options.tags().is_empty() {
                    tags::ec2_create_tags(cx.clients, &id, &desired_tags(self)).await?;
                }
                id
            }
        };
        associate(cx, &id, vpc_id).await?;
        Ok(Output::id(id))
    }

    async fn update(
        &self,
        observed: &ObservedDhcpOptions,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("DHCP options", &self.name)?;
        if change.changes("vpc") {
            associate(cx, &observed.id, cx.deps.id(&self.vpc)?).await?;
        }
        tags::ec2_update_tags(cx.clients, change, &observed.id, &desired_tags(self)).await?;
        Ok(Self::output(observed))
    }
}

fn desired_tags(options: &DhcpOptions) -> Tags {
    tags::ec2_named_tags(&options.name, &options.tags)
}

fn configuration(key: &str, value: &str) -> NewDhcpConfiguration {
    NewDhcpConfiguration::builder()
        .key(key)
        .values(value)
        .build()
}

/// Makes the VPC use these options (associating again is harmless).
async fn associate(cx: &ApplyCx<'_>, options_id: &str, vpc_id: &str) -> Result<(), TaskError> {
    cx.clients
        .ec2
        .associate_dhcp_options()
        .dhcp_options_id(options_id)
        .vpc_id(vpc_id)
        .send()
        .await
        .map_err(|error| aws_error("AssociateDhcpOptions", error))?;
    Ok(())
}

/// The options an earlier attempt of this create may have made.
async fn lookup(options: &DhcpOptions, cx: &ApplyCx<'_>) -> Result<Option<String>, TaskError> {
    let found = cx
        .clients
        .ec2
        .describe_dhcp_options()
        .set_filters(Some(tags::ec2_owned_name_filters(
            cx.cluster,
            &options.name,
        )))
        .send()
        .await
        .map_err(|error| aws_error("DescribeDhcpOptions", error))?;
    Ok(found
        .dhcp_options()
        .iter()
        .find_map(|options| options.dhcp_options_id())
        .map(str::to_owned))
}

fn observe(options: &aws_sdk_ec2::types::DhcpOptions) -> Result<ObservedDhcpOptions, TaskError> {
    let values = |key: &str| {
        options
            .dhcp_configurations()
            .iter()
            .filter(|configuration| configuration.key() == Some(key))
            .flat_map(|configuration| configuration.values())
            .filter_map(|value| value.value())
            .collect::<Vec<_>>()
            .join(",")
    };
    Ok(ObservedDhcpOptions {
        id: options
            .dhcp_options_id()
            .ok_or_else(|| missing("DescribeDhcpOptions", "DhcpOptionsId"))?
            .to_owned(),
        name: tags::ec2_name(options.tags()).map(str::to_owned),
        tags: tags::from_ec2_tags(options.tags()),
        domain_name: values(DOMAIN_NAME_KEY),
        domain_name_servers: values(DOMAIN_NAME_SERVERS_KEY),
        vpc_ids: Vec::new(),
    })
}
