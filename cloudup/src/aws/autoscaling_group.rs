//! [`AutoscalingGroup`] reconciliation: one group per instance group, launching the latest
//! version of its launch template.
//!
//! Everything Berth sets changes in place: sizes, subnets, launch template and lifetime
//! (UpdateAutoScalingGroup), tags (CreateOrUpdateTags) and target groups
//! (Attach/DetachLoadBalancerTargetGroups). The desired capacity is left to whoever scales
//! the group (the cluster autoscaler, an operator) unless new bounds exclude it.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use aws_sdk_autoscaling::types::{Filter, LaunchTemplateSpecification, Tag};
use berth_model::aws::{AutoscalingGroup, CLUSTER_TAG, NodeKey, Resource, Tags};

use super::tags::{tags_change, tags_line};
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// The launch template version groups launch: new versions apply to new instances at once.
const LAUNCH_TEMPLATE_VERSION: &str = "$Latest";

/// The resource type of autoscaling tags.
const TAG_RESOURCE_TYPE: &str = "auto-scaling-group";

/// A group as Auto Scaling reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAutoscalingGroup {
    name: String,
    launch_template: String,
    launch_template_version: String,
    min_size: i32,
    max_size: i32,
    desired_capacity: i32,
    subnets: BTreeSet<String>,
    target_groups: BTreeSet<String>,
    max_instance_lifetime: i32,
    /// The tags propagated to instances (a tag that is not propagated counts as missing).
    tags: Tags,
}

#[async_trait]
impl Reconcile for AutoscalingGroup {
    type Observed = ObservedAutoscalingGroup;

    /// One DescribeAutoScalingGroups filtered by `tag:KubernetesCluster` (paginated).
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedAutoscalingGroup>, TaskError> {
        let filter = Filter::builder()
            .name(format!("tag:{CLUSTER_TAG}"))
            .values(scope.cluster)
            .build();
        describe_groups(&scope.clients.autoscaling, GroupsBy::Filter(filter)).await
    }

    fn find<'o>(
        &self,
        observed: &'o [ObservedAutoscalingGroup],
    ) -> Option<&'o ObservedAutoscalingGroup> {
        observed.iter().find(|group| group.name == self.name)
    }

    fn output(observed: &ObservedAutoscalingGroup) -> Output {
        Output::id(&observed.name)
    }

    fn diff(
        &self,
        observed: &ObservedAutoscalingGroup,
        deps: &Resolver,
    ) -> (Action, Vec<FieldChange>) {
        let mut fields = Vec::new();
        let mut plain = |field: &str, old: String, new: String| {
            if old != new {
                fields.push(FieldChange::new(field, old, new));
            }
        };
        plain(
            "launch_template",
            observed.launch_template.clone(),
            deps.id_or_pending(&self.launch_template),
        );
        plain(
            "launch_template_version",
            observed.launch_template_version.clone(),
            LAUNCH_TEMPLATE_VERSION.to_owned(),
        );
        plain(
            "min_size",
            observed.min_size.to_string(),
            self.min_size.to_string(),
        );
        plain(
            "max_size",
            observed.max_size.to_string(),
            self.max_size.to_string(),
        );
        plain(
            "subnets",
            list(&observed.subnets),
            list(&subnet_ids(self, deps)),
        );
        plain(
            "target_groups",
            list(&observed.target_groups),
            list(&target_group_ids(self, deps)),
        );
        plain(
            "max_instance_lifetime",
            observed.max_instance_lifetime.to_string(),
            self.max_instance_lifetime.unwrap_or(0).to_string(),
        );
        fields.extend(tags_change(&observed.tags, &self.tags));
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("name", "", &self.name),
            FieldChange::new(
                "launch_template",
                "",
                deps.id_or_pending(&self.launch_template),
            ),
            FieldChange::new("launch_template_version", "", LAUNCH_TEMPLATE_VERSION),
            FieldChange::new("min_size", "", self.min_size),
            FieldChange::new("max_size", "", self.max_size),
            FieldChange::new("subnets", "", list(&subnet_ids(self, deps))),
            FieldChange::new("target_groups", "", list(&target_group_ids(self, deps))),
            FieldChange::new(
                "max_instance_lifetime",
                "",
                self.max_instance_lifetime.unwrap_or(0),
            ),
            FieldChange::new("tags", "", tags_line(&self.tags)),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let autoscaling = &cx.clients.autoscaling;
        if cx.attempt > 1
            && let Some(existing) = lookup(autoscaling, &self.name).await?
        {
            return adopt(self, &existing, cx).await;
        }
        let created = autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&self.name)
            .launch_template(launch_template(cx.deps.id(&self.launch_template)?))
            .min_size(self.min_size)
            .max_size(self.max_size)
            .desired_capacity(self.min_size)
            .vpc_zone_identifier(resolved_ids(&self.subnets, cx.deps)?.join(","))
            .set_target_group_arns(Some(resolved_ids(&self.target_groups, cx.deps)?))
            .set_max_instance_lifetime(self.max_instance_lifetime)
            .set_tags(Some(autoscaling_tags(&self.name, &self.tags)))
            .send()
            .await;
        match created {
            // The group's id is its name: no need to describe what was just made.
            Ok(_) => Ok(Output::id(&self.name)),
            Err(error) if error.code() == Some("AlreadyExists") => {
                let existing = lookup(autoscaling, &self.name)
                    .await?
                    .ok_or_else(|| missing("DescribeAutoScalingGroups", "AutoScalingGroups"))?;
                adopt(self, &existing, cx).await
            }
            Err(error) => Err(aws_error("CreateAutoScalingGroup", error)),
        }
    }

    async fn update(
        &self,
        observed: &ObservedAutoscalingGroup,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        let autoscaling = &cx.clients.autoscaling;
        let group_fields = [
            "launch_template",
            "launch_template_version",
            "min_size",
            "max_size",
            "subnets",
            "max_instance_lifetime",
        ];
        if group_fields.into_iter().any(|field| change.changes(field)) {
            // Only move the desired capacity when the new bounds leave it outside.
            let desired = observed
                .desired_capacity
                .clamp(self.min_size, self.max_size.max(self.min_size));
            autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(&self.name)
                .launch_template(launch_template(cx.deps.id(&self.launch_template)?))
                .min_size(self.min_size)
                .max_size(self.max_size)
                .set_desired_capacity((desired != observed.desired_capacity).then_some(desired))
                .vpc_zone_identifier(resolved_ids(&self.subnets, cx.deps)?.join(","))
                .max_instance_lifetime(self.max_instance_lifetime.unwrap_or(0))
                .send()
                .await
                .map_err(|error| aws_error("UpdateAutoScalingGroup", error))?;
        }
        if change.changes("target_groups") {
            let desired: BTreeSet<String> = resolved_ids(&self.target_groups, cx.deps)?
                .into_iter()
                .collect();
            let attach: Vec<String> = desired
                .difference(&observed.target_groups)
                .cloned()
                .collect();
            let detach: Vec<String> = observed
                .target_groups
                .difference(&desired)
                .cloned()
                .collect();
            if !attach.is_empty() {
                autoscaling
                    .attach_load_balancer_target_groups()
                    .auto_scaling_group_name(&self.name)
                    .set_target_group_arns(Some(attach))
                    .send()
                    .await
                    .map_err(|error| aws_error("AttachLoadBalancerTargetGroups", error))?;
            }
            if !detach.is_empty() {
                autoscaling
                    .detach_load_balancer_target_groups()
                    .auto_scaling_group_name(&self.name)
                    .set_target_group_arns(Some(detach))
                    .send()
                    .await
                    .map_err(|error| aws_error("DetachLoadBalancerTargetGroups", error))?;
            }
        }
        if change.changes("tags") {
            autoscaling
                .create_or_update_tags()
                .set_tags(Some(autoscaling_tags(&self.name, &self.tags)))
                .send()
                .await
                .map_err(|error| aws_error("CreateOrUpdateTags", error))?;
        }
        Ok(Self::output(observed))
    }
}

/// The ids of a group's subnets, as far as known.
fn subnet_ids(group: &AutoscalingGroup, deps: &Resolver) -> BTreeSet<String> {
    group
        .subnets
        .iter()
        .map(|subnet| deps.id_or_pending(subnet))
        .collect()
}

/// The ids of a group's target groups, as far as known.
fn target_group_ids(group: &AutoscalingGroup, deps: &Resolver) -> BTreeSet<String> {
    group
        .target_groups
        .iter()
        .map(|target| deps.id_or_pending(target))
        .collect()
}

/// The ids of `references`, all of which must be known (at apply time they are).
fn resolved_ids<T>(
    references: &[berth_model::aws::Ref<T>],
    deps: &Resolver,
) -> Result<Vec<String>, TaskError> {
    references
        .iter()
        .map(|reference| deps.id(reference).map(str::to_owned))
        .collect()
}

/// Takes over a group an earlier attempt created, bringing it in line.
async fn adopt(
    group: &AutoscalingGroup,
    existing: &ObservedAutoscalingGroup,
    cx: &ApplyCx<'_>,
) -> Result<Output, TaskError> {
    let (action, fields) = group.diff(existing, cx.deps);
    if action == Action::Unchanged {
        return Ok(AutoscalingGroup::output(existing));
    }
    let change = Change {
        key: NodeKey::new(AutoscalingGroup::KIND, &group.name),
        action,
        fields,
    };
    group.update(existing, &change, cx).await
}

fn launch_template(id: &str) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .launch_template_id(id)
        .version(LAUNCH_TEMPLATE_VERSION)
        .build()
}

fn autoscaling_tags(group: &str, tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .resource_id(group)
                .resource_type(TAG_RESOURCE_TYPE)
                .key(key)
                .value(value)
                .propagate_at_launch(true)
                .build()
        })
        .collect()
}

enum GroupsBy {
    Filter(Filter),
    Name(String),
}

async fn lookup(
    autoscaling: &aws_sdk_autoscaling::Client,
    name: &str,
) -> Result<Option<ObservedAutoscalingGroup>, TaskError> {
    Ok(
        describe_groups(autoscaling, GroupsBy::Name(name.to_owned()))
            .await?
            .pop(),
    )
}

async fn describe_groups(
    autoscaling: &aws_sdk_autoscaling::Client,
    by: GroupsBy,
) -> Result<Vec<ObservedAutoscalingGroup>, TaskError> {
    let mut observed = Vec::new();
    let mut next_token = None;
    loop {
        let request = autoscaling
            .describe_auto_scaling_groups()
            .set_next_token(next_token);
        let request = match &by {
            GroupsBy::Filter(filter) => request.filters(filter.clone()),
            GroupsBy::Name(name) => request.auto_scaling_group_names(name),
        };
        let page = request
            .send()
            .await
            .map_err(|error| aws_error("DescribeAutoScalingGroups", error))?;
        for group in page.auto_scaling_groups() {
            // A group being deleted is gone as far as planning is concerned.
            if group
                .status()
                .is_some_and(|status| status.starts_with("Delete"))
            {
                continue;
            }
            observed.push(observe(group)?);
        }
        next_token = page
            .next_token()
            .filter(|token| !token.is_empty())
            .map(str::to_owned);
        if next_token.is_none() {
            return Ok(observed);
        }
    }
}

fn observe(
    group: &aws_sdk_autoscaling::types::AutoScalingGroup,
) -> Result<ObservedAutoscalingGroup, TaskError> {
    let operation = "DescribeAutoScalingGroups";
    let template = group.launch_template();
    Ok(ObservedAutoscalingGroup {
        name: group
            .auto_scaling_group_name()
            .ok_or_else(|| missing(operation, "AutoScalingGroupName"))?
            .to_owned(),
        launch_template: template
            .and_then(|template| template.launch_template_id())
            .unwrap_or_default()
            .to_owned(),
        launch_template_version: template
            .and_then(|template| template.version())
            .unwrap_or_default()
            .to_owned(),
        min_size: group.min_size().unwrap_or_default(),
        max_size: group.max_size().unwrap_or_default(),
        desired_capacity: group.desired_capacity().unwrap_or_default(),
        subnets: group
            .vpc_zone_identifier()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|subnet| !subnet.is_empty())
            .map(str::to_owned)
            .collect(),
        target_groups: group.target_group_arns().iter().cloned().collect(),
        max_instance_lifetime: group.max_instance_lifetime().unwrap_or(0),
        tags: group
            .tags()
            .iter()
            .filter(|tag| tag.propagate_at_launch() == Some(true))
            .filter_map(|tag| {
                Some((
                    tag.key()?.to_owned(),
                    tag.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
    })
}

fn list(values: &BTreeSet<String>) -> String {
    values
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
