//! [`TargetGroup`] reconciliation: the group the control-plane instances register with,
//! found by name. Protocol, port and VPC are fixed at creation (a replacement); tags change
//! in place.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
use berth_model::aws::{Tags, TargetGroup};

use super::elb_tags::{add_tags, elb_tags, fill_tags};
use super::ownership::ownership_conflict;
use super::tags::{tags_change, tags_line};
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// A target group as ELBv2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTargetGroup {
    arn: String,
    name: String,
    protocol: String,
    port: i32,
    vpc_id: String,
    tags: Tags,
}

#[async_trait]
impl Reconcile for TargetGroup {
    type Observed = ObservedTargetGroup;

    /// DescribeTargetGroups by the desired names, then one DescribeTags for those found.
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedTargetGroup>, TaskError> {
        let names: Vec<String> = scope
            .desired
            .iter()
            .map(|group| group.name.clone())
            .collect();
        let elb = &scope.clients.elb;
        let mut found = describe_target_groups(elb, &names).await?;
        fill_tags(elb, &mut found, |group| (&group.arn, &mut group.tags)).await?;
        Ok(found)
    }

    fn find<'o>(&self, observed: &'o [ObservedTargetGroup]) -> Option<&'o ObservedTargetGroup> {
        observed.iter().find(|group| group.name == self.name)
    }

    fn output(observed: &ObservedTargetGroup) -> Output {
        Output::id(&observed.arn).with("name", &observed.name)
    }

    fn diff(&self, observed: &ObservedTargetGroup, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        if let Some(conflict) =
            ownership_conflict("target group", &self.name, &observed.tags, &self.tags)
        {
            return (conflict, Vec::new());
        }
        let mut fields = Vec::new();
        let mut replace_reasons = Vec::new();
        if !observed.protocol.eq_ignore_ascii_case(&self.protocol) {
            fields.push(FieldChange::new(
                "protocol",
                &observed.protocol,
                &self.protocol,
            ));
            replace_reasons.push("protocol: a target group's protocol cannot change");
        }
        if observed.port != self.port {
            fields.push(FieldChange::new("port", observed.port, self.port));
            replace_reasons.push("port: a target group's port cannot change");
        }
        let vpc = deps.id_or_pending(&self.vpc);
        if observed.vpc_id != vpc {
            fields.push(FieldChange::new("vpc", &observed.vpc_id, vpc));
            replace_reasons.push("vpc: a target group cannot move to another VPC");
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
        vec![
            FieldChange::new("name", "", &self.name),
            FieldChange::new("protocol", "", &self.protocol),
            FieldChange::new("port", "", self.port),
            FieldChange::new("vpc", "", deps.id_or_pending(&self.vpc)),
            FieldChange::new("tags", "", tags_line(&self.tags)),
        ]
    }

    /// CreateTargetGroup returns the existing group for the same name and settings, so a
    /// retry is safe as it is; looking first spares the call.
    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let elb = &cx.clients.elb;
        if cx.attempt > 1
            && let Some(existing) = describe_target_groups(elb, std::slice::from_ref(&self.name))
                .await?
                .pop()
        {
            return Ok(Self::output(&existing));
        }
        let created = elb
            .create_target_group()
            .name(&self.name)
            .protocol(ProtocolEnum::from(self.protocol.as_str()))
            .port(self.port)
            .vpc_id(cx.deps.id(&self.vpc)?)
            .target_type(TargetTypeEnum::Instance)
            .health_check_protocol(ProtocolEnum::Tcp)
            .set_tags(Some(elb_tags(&self.tags)))
            .send()
            .await
            .map_err(|error| aws_error("CreateTargetGroup", error))?;
        let group = created
            .target_groups()
            .first()
            .ok_or_else(|| missing("CreateTargetGroup", "TargetGroups"))?;
        Ok(Self::output(&observe(group)?))
    }

    async fn update(
        &self,
        observed: &ObservedTargetGroup,
        _change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        // Tags are the only field that changes in place.
        add_tags(&cx.clients.elb, &observed.arn, &self.tags).await?;
        Ok(Self::output(observed))
    }
}

/// DescribeTargetGroups by name; names that do not exist are left out.
async fn describe_target_groups(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    names: &[String],
) -> Result<Vec<ObservedTargetGroup>, TaskError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    match elb
        .describe_target_groups()
        .set_names(Some(names.to_vec()))
        .send()
        .await
    {
        Ok(response) => response.target_groups().iter().map(observe).collect(),
        // One missing name fails the whole call: ask for each name on its own.
        Err(error) if error.code() == Some("TargetGroupNotFound") && names.len() > 1 => {
            let mut found = Vec::new();
            for name in names {
                found.extend(
                    Box::pin(describe_target_groups(elb, std::slice::from_ref(name))).await?,
                );
            }
            Ok(found)
        }
        Err(error) if error.code() == Some("TargetGroupNotFound") => Ok(Vec::new()),
        Err(error) => Err(aws_error("DescribeTargetGroups", error)),
    }
}

fn observe(
    group: &aws_sdk_elasticloadbalancingv2::types::TargetGroup,
) -> Result<ObservedTargetGroup, TaskError> {
    let operation = "DescribeTargetGroups";
    Ok(ObservedTargetGroup {
        arn: group
            .target_group_arn()
            .ok_or_else(|| missing(operation, "TargetGroupArn"))?
            .to_owned(),
        name: group
            .target_group_name()
            .ok_or_else(|| missing(operation, "TargetGroupName"))?
            .to_owned(),
        protocol: group
            .protocol()
            .map(|protocol| protocol.as_str().to_owned())
            .unwrap_or_default(),
        port: group.port().unwrap_or_default(),
        vpc_id: group.vpc_id().unwrap_or_default().to_owned(),
        tags: Tags::new(),
    })
}
