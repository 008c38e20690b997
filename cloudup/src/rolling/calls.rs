//! The AWS calls of a rolling update, each retried while its errors are transient.

use std::{collections::BTreeMap, future::Future, time::Duration};

use aws_sdk_autoscaling::types::{AutoScalingGroup, Filter as GroupFilter};
use aws_sdk_ec2::types::{Filter, InstanceStateName, Tag};
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use berth_model::{aws::CLUSTER_TAG, complete::INSTANCE_GROUP_LABEL};
use tokio::time::Instant;

use super::{DETACHED_TAG_KEY, DETACHED_TAG_VALUE, status::belongs_to};
use crate::{
    aws::aws_error,
    engine::{RetryClass, RetryPolicy, TaskError},
};

/// How long one call keeps retrying transient errors (throttling, eventual consistency).
const CALL_DEADLINE: Duration = Duration::from_secs(2 * 60);

/// Runs `call` until it succeeds, fails fatally or [`CALL_DEADLINE`] passes.
async fn retried<T, Call, Attempt>(mut call: Call) -> Result<T, TaskError>
where
    Call: FnMut() -> Attempt,
    Attempt: Future<Output = Result<T, TaskError>>,
{
    let policy = RetryPolicy::default();
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                let delay = policy.backoff(attempt);
                if error.retry_class() == RetryClass::Fatal
                    || started.elapsed() + delay >= CALL_DEADLINE
                {
                    return Err(error);
                }
                tracing::debug!(%error, ?delay, "retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}

/// The groups tagged `KubernetesCluster=<cluster>` (paginated).
pub(super) async fn describe_cluster_groups(
    autoscaling: &aws_sdk_autoscaling::Client,
    cluster: &str,
) -> Result<Vec<AutoScalingGroup>, TaskError> {
    let groups = retried(|| async {
        let filter = GroupFilter::builder()
            .name(format!("tag:{CLUSTER_TAG}"))
            .values(cluster)
            .build();
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = autoscaling
                .describe_auto_scaling_groups()
                .filters(filter.clone())
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| aws_error("DescribeAutoScalingGroups", error))?;
            groups.extend(page.auto_scaling_groups().iter().cloned());
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(groups),
            }
        }
    })
    .await?;
    Ok(groups
        .into_iter()
        .filter(|group| belongs_to(group, cluster))
        .collect())
}

/// One group by name, `None` when it does not exist.
pub(super) async fn describe_group(
    autoscaling: &aws_sdk_autoscaling::Client,
    name: &str,
) -> Result<Option<AutoScalingGroup>, TaskError> {
    retried(|| async {
        let page = autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .map_err(|error| aws_error("DescribeAutoScalingGroups", error))?;
        Ok(page.auto_scaling_groups().first().cloned())
    })
    .await
}

/// `(latest, default)` version numbers of launch templates, by id.
pub(super) async fn template_versions(
    ec2: &aws_sdk_ec2::Client,
    ids: &[String],
) -> Result<BTreeMap<String, (i64, i64)>, TaskError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    retried(|| async {
        let page = ec2
            .describe_launch_templates()
            .set_launch_template_ids(Some(ids.clone()))
            .send()
            .await
            .map_err(|error| aws_error("DescribeLaunchTemplates", error))?;
        Ok(page
            .launch_templates()
            .iter()
            .filter_map(|template| {
                Some((
                    template.launch_template_id()?.to_owned(),
                    (
                        template.latest_version_number()?,
                        template.default_version_number()?,
                    ),
                ))
            })
            .collect())
    })
    .await
}

/// Instances of an instance group that are alive but no longer in its autoscaling group:
/// detached by a run that stopped before terminating them.
pub(super) async fn stray_instances(
    ec2: &aws_sdk_ec2::Client,
    cluster: &str,
    instance_group: &str,
    in_group: &[String],
) -> Result<Vec<String>, TaskError> {
    let found = retried(|| async {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = ec2
                .describe_instances()
                .filters(tag_filter(CLUSTER_TAG, cluster))
                .filters(tag_filter(INSTANCE_GROUP_LABEL, instance_group))
                .filters(
                    Filter::builder()
                        .name("instance-state-name")
                        .values("pending")
                        .values("running")
                        .values("stopping")
                        .values("stopped")
                        .build(),
                )
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| aws_error("DescribeInstances", error))?;
            ids.extend(
                page.reservations()
                    .iter()
                    .flat_map(|reservation| reservation.instances())
                    .filter_map(|instance| instance.instance_id().map(str::to_owned)),
            );
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(ids),
            }
        }
    })
    .await?;
    Ok(found
        .into_iter()
        .filter(|id| !in_group.contains(id))
        .collect())
}

/// Which of `ids` are not terminated yet (instances EC2 no longer knows count as terminated).
pub(super) async fn not_terminated(
    ec2: &aws_sdk_ec2::Client,
    ids: &[String],
) -> Result<Vec<String>, TaskError> {
    retried(|| async {
        let page = ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("instance-id")
                    .set_values(Some(ids.to_vec()))
                    .build(),
            )
            .send()
            .await
            .map_err(|error| aws_error("DescribeInstances", error))?;
        Ok(page
            .reservations()
            .iter()
            .flat_map(|reservation| reservation.instances())
            .filter(|instance| {
                instance.state().and_then(|state| state.name())
                    != Some(&InstanceStateName::Terminated)
            })
            .filter_map(|instance| instance.instance_id().map(str::to_owned))
            .collect())
    })
    .await
}

/// Tags `ids` as detached by a rolling update, then detaches them from `group` keeping its
/// desired capacity, so that the group launches replacements.
pub(super) async fn detach(
    clients: &crate::aws::AwsClients,
    group: &str,
    ids: &[String],
) -> Result<(), TaskError> {
    retried(|| async {
        clients
            .ec2
            .create_tags()
            .set_resources(Some(ids.to_vec()))
            .tags(
                Tag::builder()
                    .key(DETACHED_TAG_KEY)
                    .value(DETACHED_TAG_VALUE)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| aws_error("CreateTags", error))
    })
    .await?;
    retried(|| async {
        clients
            .autoscaling
            .detach_instances()
            .auto_scaling_group_name(group)
            .set_instance_ids(Some(ids.to_vec()))
            .should_decrement_desired_capacity(false)
            .send()
            .await
            .map_err(|error| aws_error("DetachInstances", error))
    })
    .await?;
    Ok(())
}

/// Terminates instances outside any autoscaling group.
pub(super) async fn terminate(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> Result<(), TaskError> {
    retried(|| async {
        ec2.terminate_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|error| aws_error("TerminateInstances", error))
    })
    .await?;
    Ok(())
}

/// Terminates one instance of a group keeping its desired capacity: the group replaces it.
pub(super) async fn terminate_in_group(
    autoscaling: &aws_sdk_autoscaling::Client,
    id: &str,
) -> Result<(), TaskError> {
    retried(|| async {
        autoscaling
            .terminate_instance_in_auto_scaling_group()
            .instance_id(id)
            .should_decrement_desired_capacity(false)
            .send()
            .await
            .map_err(|error| aws_error("TerminateInstanceInAutoScalingGroup", error))
    })
    .await?;
    Ok(())
}

/// Deregisters instance `id` from the target group `target_group` (DeregisterTargets). An
/// instance that is not registered (`InvalidTarget`: an earlier run deregistered it) is not
/// an error.
pub(super) async fn deregister_target(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    target_group: &str,
    id: &str,
) -> Result<(), TaskError> {
    let outcome = retried(|| async {
        elb.deregister_targets()
            .target_group_arn(target_group)
            .targets(TargetDescription::builder().id(id).build())
            .send()
            .await
            .map_err(|error| aws_error("DeregisterTargets", error))
    })
    .await;
    match outcome {
        Ok(_) => Ok(()),
        Err(TaskError::Aws {
            code: Some(code), ..
        }) if code == "InvalidTarget" => Ok(()),
        Err(error) => Err(error),
    }
}

fn tag_filter(key: &str, value: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}
