//! Deleting autoscaling groups, load balancer parts, IAM roles and profiles and DNS records.
//! As in [`super::remove_ec2`], each function is one attempt.

use aws_sdk_autoscaling::error::ProvideErrorMetadata as _;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecordSet};

use super::gone::{removed, tolerate_gone};
use crate::{
    aws::{AwsClients, aws_error},
    engine::TaskError,
};

/// Deletes an autoscaling group with its instances (`ForceDelete`) and waits until it is gone.
pub(crate) async fn autoscaling_group(
    clients: &AwsClients,
    name: &str,
    attempt: u32,
) -> Result<(), TaskError> {
    let autoscaling = &clients.autoscaling;
    if attempt == 1 {
        match autoscaling
            .delete_auto_scaling_group()
            .auto_scaling_group_name(name)
            .force_delete(true)
            .send()
            .await
        {
            Ok(_) => {}
            Err(error) if group_not_found(&error) => return Ok(()),
            Err(error) => {
                tolerate_gone(Err(aws_error("DeleteAutoScalingGroup", error)))?;
            }
        }
    }
    let groups = autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .map_err(|error| aws_error("DescribeAutoScalingGroups", error))?;
    match groups.auto_scaling_groups().first() {
        None => Ok(()),
        Some(group) if group.status().is_some() => Err(TaskError::NotReady {
            what: format!("autoscaling group {name} (being deleted)"),
        }),
        Some(_) => {
            // The first call was lost or refused (scaling in progress): ask again.
            if attempt > 1 {
                removed(
                    "DeleteAutoScalingGroup",
                    autoscaling
                        .delete_auto_scaling_group()
                        .auto_scaling_group_name(name)
                        .force_delete(true)
                        .send()
                        .await,
                )?;
            }
            Err(TaskError::NotReady {
                what: format!("autoscaling group {name}"),
            })
        }
    }
}

/// Auto Scaling says "not found" as a `ValidationError` with a message.
fn group_not_found<E: aws_sdk_autoscaling::error::ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ValidationError")
        && error
            .message()
            .is_some_and(|message| message.contains("not found"))
}

/// A single-call load balancer delete by ARN.
pub(crate) async fn load_balancer_part(
    clients: &AwsClients,
    kind: super::DeleteKind,
    arn: &str,
) -> Result<(), TaskError> {
    use super::DeleteKind;
    let elb = &clients.elb;
    match kind {
        DeleteKind::Listener => removed(
            "DeleteListener",
            elb.delete_listener().listener_arn(arn).send().await,
        ),
        DeleteKind::LoadBalancer => removed(
            "DeleteLoadBalancer",
            elb.delete_load_balancer()
                .load_balancer_arn(arn)
                .send()
                .await,
        ),
        DeleteKind::TargetGroup => removed(
            "DeleteTargetGroup",
            elb.delete_target_group().target_group_arn(arn).send().await,
        ),
        other => Err(TaskError::Refused {
            message: format!("{other} is not a load balancer part"),
        }),
    }
}

/// Removes the profile's role(s) and deletes the profile. The first attempt removes the role
/// of the same name (Berth's layout) without reading the profile; later ones read it.
pub(crate) async fn instance_profile(
    clients: &AwsClients,
    name: &str,
    attempt: u32,
) -> Result<(), TaskError> {
    let iam = &clients.iam;
    let roles = if attempt == 1 {
        vec![name.to_owned()]
    } else {
        match iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
        {
            Ok(response) => response
                .instance_profile()
                .map(|profile| {
                    profile
                        .roles()
                        .iter()
                        .map(|role| role.role_name().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            Err(error) => return tolerate_gone(Err(aws_error("GetInstanceProfile", error))),
        }
    };
    for role in roles {
        removed(
            "RemoveRoleFromInstanceProfile",
            iam.remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(role)
                .send()
                .await,
        )?;
    }
    removed(
        "DeleteInstanceProfile",
        iam.delete_instance_profile()
            .instance_profile_name(name)
            .send()
            .await,
    )
}

/// Deletes a role's inline policies and detaches its managed ones (all at once), then the role.
pub(crate) async fn role(clients: &AwsClients, name: &str) -> Result<(), TaskError> {
    let iam = &clients.iam;
    let (inline, attached) = tokio::join!(
        iam.list_role_policies().role_name(name).send(),
        iam.list_attached_role_policies().role_name(name).send(),
    );
    let inline = match inline {
        Ok(response) => response.policy_names().to_vec(),
        Err(error) => return tolerate_gone(Err(aws_error("ListRolePolicies", error))),
    };
    let attached: Vec<String> = match attached {
        Ok(response) => response
            .attached_policies()
            .iter()
            .filter_map(|policy| policy.policy_arn().map(str::to_owned))
            .collect(),
        Err(error) => return tolerate_gone(Err(aws_error("ListAttachedRolePolicies", error))),
    };
    let mut removals = tokio::task::JoinSet::new();
    for policy in inline {
        let iam = iam.clone();
        let role = name.to_owned();
        removals.spawn(async move {
            removed(
                "DeleteRolePolicy",
                iam.delete_role_policy()
                    .role_name(role)
                    .policy_name(policy)
                    .send()
                    .await,
            )
        });
    }
    for arn in attached {
        let iam = iam.clone();
        let role = name.to_owned();
        removals.spawn(async move {
            removed(
                "DetachRolePolicy",
                iam.detach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await,
            )
        });
    }
    while let Some(joined) = removals.join_next().await {
        joined.map_err(|error| TaskError::Panicked {
            message: error.to_string(),
        })??;
    }
    removed("DeleteRole", iam.delete_role().role_name(name).send().await)
}

/// Deletes one record set, repeating it exactly as Route 53 returned it.
pub(crate) async fn dns_record(
    clients: &AwsClients,
    zone_id: &str,
    record: &ResourceRecordSet,
) -> Result<(), TaskError> {
    let change = Change::builder()
        .action(ChangeAction::Delete)
        .resource_record_set(record.clone())
        .build()
        .map_err(|_| TaskError::Missing {
            operation: "ChangeResourceRecordSets",
            field: "ResourceRecordSet",
        })?;
    let batch = ChangeBatch::builder()
        .changes(change)
        .build()
        .map_err(|_| TaskError::Missing {
            operation: "ChangeResourceRecordSets",
            field: "Changes",
        })?;
    let result = clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        // Route 53 refuses to delete a record that is not there with `InvalidChangeBatch`.
        Err(error)
            if error.code() == Some("InvalidChangeBatch")
                && error
                    .message()
                    .is_some_and(|message| message.contains("not found")) =>
        {
            Ok(())
        }
        Err(error) => tolerate_gone(Err(aws_error("ChangeResourceRecordSets", error))),
    }
}
