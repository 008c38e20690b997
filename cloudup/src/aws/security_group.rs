//! [`SecurityGroup`] reconciliation: a group of the cluster's VPC, named and tagged after the
//! desired name (its rules are separate [`berth_model::aws::SecurityGroupRule`] nodes).
//!
//! The group name, description and VPC cannot change in AWS: a difference is a replacement.
//!
//! Discovery: one DescribeSecurityGroups by the cluster tag.

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use berth_model::aws::{SecurityGroup, Tags};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSecurityGroup {
    /// `sg-…`.
    pub id: String,
    /// The group name.
    pub group_name: String,
    /// The `Name` tag.
    pub name: Option<String>,
    /// All its tags.
    pub tags: Tags,
    /// Its VPC.
    pub vpc_id: String,
    /// Its description.
    pub description: String,
}

#[async_trait]
impl Reconcile for SecurityGroup {
    type Observed = ObservedSecurityGroup;

    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedSecurityGroup>, TaskError> {
        let found = scope
            .clients
            .ec2
            .describe_security_groups()
            .filters(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeSecurityGroups", error))?;
        found.iter().map(observe).collect()
    }

    fn find<'o>(&self, observed: &'o [ObservedSecurityGroup]) -> Option<&'o ObservedSecurityGroup> {
        observed
            .iter()
            .find(|group| group.name.as_deref() == Some(self.name.as_str()))
            .or_else(|| observed.iter().find(|group| group.group_name == self.name))
    }

    fn output(observed: &ObservedSecurityGroup) -> Output {
        Output::id(&observed.id)
    }

    fn diff(
        &self,
        observed: &ObservedSecurityGroup,
        deps: &Resolver,
    ) -> (Action, Vec<FieldChange>) {
        let vpc_id = deps.id_or_pending(&self.vpc);
        for (field, old, new) in [
            ("vpc", observed.vpc_id.as_str(), vpc_id.as_str()),
            (
                "group_name",
                observed.group_name.as_str(),
                self.name.as_str(),
            ),
            (
                "description",
                observed.description.as_str(),
                self.description.as_str(),
            ),
        ] {
            if old != new {
                return (
                    Action::Replace {
                        reason: format!("{field} of a security group cannot change in place"),
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
        vec![
            FieldChange::new("vpc", "", deps.id_or_pending(&self.vpc)),
            FieldChange::new("group_name", "", &self.name),
            FieldChange::new("description", "", &self.description),
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
            .create_security_group()
            .group_name(&self.name)
            .description(&self.description)
            .vpc_id(vpc_id)
            .tag_specifications(tags::ec2_tag_specification(
                ResourceType::SecurityGroup,
                &desired_tags(self),
            ))
            .customize()
            .config_override(super::single_attempt::single_attempt())
            .send()
            .await
            .map_err(|error| aws_error("CreateSecurityGroup", error))?;
        let id = created
            .group_id()
            .ok_or_else(|| missing("CreateSecurityGroup", "GroupId"))?;
        Ok(Output::id(id))
    }

    async fn update(
        &self,
        observed: &ObservedSecurityGroup,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        change.refuse_replace("security group", &self.name)?;
        tags::ec2_update_tags(cx.clients, change, &observed.id, &desired_tags(self)).await?;
        Ok(Self::output(observed))
    }
}

fn desired_tags(group: &SecurityGroup) -> Tags {
    tags::ec2_named_tags(&group.name, &group.tags)
}

/// The group an earlier attempt of this create may have made.
async fn lookup(
    group: &SecurityGroup,
    cx: &ApplyCx<'_>,
) -> Result<Option<ObservedSecurityGroup>, TaskError> {
    let found = cx
        .clients
        .ec2
        .describe_security_groups()
        .set_filters(Some(tags::ec2_owned_name_filters(cx.cluster, &group.name)))
        .send()
        .await
        .map_err(|error| aws_error("DescribeSecurityGroups", error))?;
    found.security_groups().first().map(observe).transpose()
}

fn observe(group: &aws_sdk_ec2::types::SecurityGroup) -> Result<ObservedSecurityGroup, TaskError> {
    let field = |value: Option<&str>, name: &'static str| {
        value
            .map(str::to_owned)
            .ok_or_else(|| missing("DescribeSecurityGroups", name))
    };
    Ok(ObservedSecurityGroup {
        id: field(group.group_id(), "GroupId")?,
        group_name: field(group.group_name(), "GroupName")?,
        name: tags::ec2_name(group.tags()).map(str::to_owned),
        tags: tags::from_ec2_tags(group.tags()),
        vpc_id: field(group.vpc_id(), "VpcId")?,
        description: group.description().unwrap_or_default().to_owned(),
    })
}
