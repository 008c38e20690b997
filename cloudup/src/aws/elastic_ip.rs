//! [`ElasticIp`] reconciliation: a VPC Elastic IP for a NAT gateway.
//!
//! Discovery: one DescribeAddresses by the cluster tag (not paginated in AWS).

use async_trait::async_trait;
use aws_sdk_ec2::types::{DomainType, ResourceType};
use berth_model::aws::{ElasticIp, Tags};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing Elastic IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedElasticIp {
    /// `eipalloc-…`.
    pub allocation_id: String,
    /// The address.
    pub public_ip: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// All its tags.
    pub tags: Tags,
}

#[async_trait]
impl Reconcile for ElasticIp {
    type Observed = ObservedElasticIp;

    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedElasticIp>, TaskError> {
        describe(scope.clients, scope.cluster, None).await
    }

    fn find<'o>(&self, observed: &'o [ObservedElasticIp]) -> Option<&'o ObservedElasticIp> {
        observed
            .iter()
            .find(|address| address.name.as_deref() == Some(self.name.as_str()))
    }

    fn output(observed: &ObservedElasticIp) -> Output {
        Output::id(&observed.allocation_id).with("public_ip", &observed.public_ip)
    }

    fn diff(&self, observed: &ObservedElasticIp, _deps: &Resolver) -> (Action, Vec<FieldChange>) {
        let fields: Vec<FieldChange> = tags::tags_change(&observed.tags, &desired_tags(self))
            .into_iter()
            .collect();
        Action::updating(fields)
    }

    fn describe_create(&self, _deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("domain", "", "vpc"),
            FieldChange::new("tags", "", tags::tags_line(&desired_tags(self))),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        if cx.attempt > 1 {
            let earlier = describe(cx.clients, cx.cluster, Some(&self.name)).await?;
            if let Some(existing) = earlier.first() {
                return Ok(Self::output(existing));
            }
        }
        let allocated = cx
            .clients
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tags::ec2_tag_specification(
                ResourceType::ElasticIp,
                &desired_tags(self),
            ))
            .customize()
            .config_override(super::single_attempt::single_attempt())
            .send()
            .await
            .map_err(|error| aws_error("AllocateAddress", error))?;
        let allocation_id = allocated
            .allocation_id()
            .ok_or_else(|| missing("AllocateAddress", "AllocationId"))?;
        let public_ip = allocated
            .public_ip()
            .ok_or_else(|| missing("AllocateAddress", "PublicIp"))?;
        Ok(Output::id(allocation_id).with("public_ip", public_ip))
    }

    async fn update(
        &self,
        observed: &ObservedElasticIp,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("Elastic IP", &self.name)?;
        tags::ec2_update_tags(
            cx.clients,
            change,
            &observed.allocation_id,
            &desired_tags(self),
        )
        .await?;
        Ok(Self::output(observed))
    }
}

fn desired_tags(address: &ElasticIp) -> Tags {
    tags::ec2_named_tags(&address.name, &address.tags)
}

/// The cluster's addresses, or only the one named `name` (the lookup a retried create does).
async fn describe(
    clients: &super::AwsClients,
    cluster: &str,
    name: Option<&str>,
) -> Result<Vec<ObservedElasticIp>, TaskError> {
    let mut request = clients
        .ec2
        .describe_addresses()
        .filters(tags::ec2_cluster_filter(cluster));
    if let Some(name) = name {
        request = request.filters(tags::ec2_tag_filter("Name", name));
    }
    let found = request
        .send()
        .await
        .map_err(|error| aws_error("DescribeAddresses", error))?;
    found
        .addresses()
        .iter()
        .map(|address| {
            Ok(ObservedElasticIp {
                allocation_id: address
                    .allocation_id()
                    .ok_or_else(|| missing("DescribeAddresses", "AllocationId"))?
                    .to_owned(),
                public_ip: address
                    .public_ip()
                    .ok_or_else(|| missing("DescribeAddresses", "PublicIp"))?
                    .to_owned(),
                name: tags::ec2_name(address.tags()).map(str::to_owned),
                tags: tags::from_ec2_tags(address.tags()),
            })
        })
        .collect()
}
