//! Replacing a cluster's outdated instances, group by group, without Kubernetes.
//!
//! Control-plane groups replace one instance at a time: TerminateInstanceInAutoScalingGroup
//! keeping the desired capacity, then a wait until the group is whole again. Other groups
//! surge: up to `max_surge` old instances are tagged and detached (the group launches their
//! replacements), and once the group is whole again they are terminated. Instances an earlier
//! run detached but did not terminate are terminated first.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use aws_sdk_autoscaling::types::AutoScalingGroup;
use tokio::time::Instant;

use super::{GroupStatus, Role, RollingError, calls};
use crate::{aws::AwsClients, engine::RetryPolicy};

/// How a rolling update proceeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollOptions {
    /// Surge per instance group, by name; groups not listed use `default_max_surge`. The
    /// control plane never surges.
    pub max_surge: BTreeMap<String, u32>,
    /// The surge of groups not in `max_surge` (0: replace in place, one at a time).
    pub default_max_surge: u32,
    /// The pause after each replacement step.
    pub interval: Duration,
    /// How long a group may take to become whole again after a step.
    pub validation_timeout: Duration,
}

impl Default for RollOptions {
    /// kops's defaults on AWS: surge 1, 15 s between instances, 15 min to become whole.
    fn default() -> Self {
        Self {
            max_surge: BTreeMap::new(),
            default_max_surge: 1,
            interval: Duration::from_secs(15),
            validation_timeout: Duration::from_secs(15 * 60),
        }
    }
}

impl RollOptions {
    fn surge_of(&self, group: &GroupStatus) -> usize {
        if group.role == Role::ControlPlane {
            return 0;
        }
        let surge = self
            .max_surge
            .get(&group.instance_group)
            .copied()
            .unwrap_or(self.default_max_surge);
        usize::try_from(surge).unwrap_or(usize::MAX)
    }
}

/// What a rolling update reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollEvent {
    /// A group with outdated instances is being updated.
    GroupStarted {
        /// The instance group.
        instance_group: String,
        /// How many instances it replaces.
        instances: usize,
        /// How many it detaches at once (0: in place).
        surge: usize,
    },
    /// Instances an earlier run detached were terminated.
    StraysTerminated {
        /// The instance group.
        instance_group: String,
        /// Their ids.
        instances: Vec<String>,
    },
    /// Instances were detached; the group launches their replacements.
    Detached {
        /// The instance group.
        instance_group: String,
        /// Their ids.
        instances: Vec<String>,
    },
    /// Instances were terminated (detached ones, or one in place).
    Terminated {
        /// The instance group.
        instance_group: String,
        /// Their ids.
        instances: Vec<String>,
    },
    /// Every outdated instance of a group was replaced.
    GroupDone {
        /// The instance group.
        instance_group: String,
    },
}

/// Replaces the instances of `plan` that need an update, group by group in the plan's order
/// (see [`super::status`]), and returns how many were replaced.
///
/// # Errors
///
/// When an AWS call fails or a group does not become whole within the validation timeout.
pub async fn roll(
    clients: &AwsClients,
    cluster: &str,
    plan: &[GroupStatus],
    options: &RollOptions,
    on_event: &mut (dyn FnMut(RollEvent) + Send),
) -> Result<usize, RollingError> {
    let mut replaced = 0;
    for group in plan {
        replaced += roll_group(clients, cluster, group, options, on_event).await?;
    }
    Ok(replaced)
}

async fn roll_group(
    clients: &AwsClients,
    cluster: &str,
    group: &GroupStatus,
    options: &RollOptions,
    on_event: &mut (dyn FnMut(RollEvent) + Send),
) -> Result<usize, RollingError> {
    let name = &group.instance_group;
    let current = describe(clients, &group.asg_name).await?;
    let strays = calls::stray_instances(&clients.ec2, cluster, name, &ids_of(&current)).await?;
    if !strays.is_empty() {
        terminate_detached(clients, &strays, options).await?;
        on_event(RollEvent::StraysTerminated {
            instance_group: name.clone(),
            instances: strays,
        });
    }
    let mut old: BTreeSet<String> = group
        .instances
        .iter()
        .filter(|instance| instance.needs_update)
        .map(|instance| instance.id.clone())
        .collect();
    if old.is_empty() {
        return Ok(0);
    }
    let surge = options.surge_of(group);
    on_event(RollEvent::GroupStarted {
        instance_group: name.clone(),
        instances: old.len(),
        surge,
    });
    let mut replaced = 0;
    let mut first = true;
    loop {
        let current = wait_until_whole(clients, group, &old, options.validation_timeout).await?;
        let present = ids_of(&current);
        old.retain(|id| present.contains(id));
        if old.is_empty() {
            break;
        }
        if !first && !options.interval.is_zero() {
            tokio::time::sleep(options.interval).await;
        }
        first = false;
        if surge > 0 {
            let batch: Vec<String> = old.iter().take(surge).cloned().collect();
            calls::detach(clients, &group.asg_name, &batch).await?;
            on_event(RollEvent::Detached {
                instance_group: name.clone(),
                instances: batch.clone(),
            });
            old.retain(|id| !batch.contains(id));
            wait_until_whole(clients, group, &old, options.validation_timeout).await?;
            terminate_detached(clients, &batch, options).await?;
            replaced += batch.len();
            on_event(RollEvent::Terminated {
                instance_group: name.clone(),
                instances: batch,
            });
        } else if let Some(id) = old.pop_first() {
            calls::terminate_in_group(&clients.autoscaling, &id).await?;
            replaced += 1;
            on_event(RollEvent::Terminated {
                instance_group: name.clone(),
                instances: vec![id],
            });
        }
    }
    on_event(RollEvent::GroupDone {
        instance_group: name.clone(),
    });
    Ok(replaced)
}

/// Terminates instances outside their group and waits until they are terminated.
async fn terminate_detached(
    clients: &AwsClients,
    ids: &[String],
    options: &RollOptions,
) -> Result<(), RollingError> {
    calls::terminate(&clients.ec2, ids).await?;
    let what = format!("instances {} to terminate", ids.join(", "));
    poll(&what, options.validation_timeout, || async {
        Ok(calls::not_terminated(&clients.ec2, ids)
            .await?
            .is_empty()
            .then_some(()))
    })
    .await
}

/// Waits until the group has its desired number of instances, all `InService`, and every
/// instance other than the `old` ones runs the target launch template version.
async fn wait_until_whole(
    clients: &AwsClients,
    group: &GroupStatus,
    old: &BTreeSet<String>,
    timeout: Duration,
) -> Result<AutoScalingGroup, RollingError> {
    let what = format!(
        "autoscaling group `{}` to have its desired number of instances in service",
        group.asg_name
    );
    poll(&what, timeout, || async {
        let current = describe(clients, &group.asg_name).await?;
        Ok(is_whole(&current, old, &group.target_version).then_some(current))
    })
    .await
}

fn is_whole(current: &AutoScalingGroup, old: &BTreeSet<String>, target_version: &str) -> bool {
    let instances = current.instances();
    let desired = usize::try_from(current.desired_capacity().unwrap_or_default()).unwrap_or(0);
    instances.len() == desired
        && instances.iter().all(|instance| {
            let in_service =
                instance.lifecycle_state().map(|state| state.as_str()) == Some("InService");
            let id = instance.instance_id().unwrap_or_default();
            let version = instance
                .launch_template()
                .and_then(|template| template.version())
                .unwrap_or_default();
            in_service
                && (old.contains(id) || target_version.is_empty() || version == target_version)
        })
}

async fn describe(clients: &AwsClients, name: &str) -> Result<AutoScalingGroup, RollingError> {
    calls::describe_group(&clients.autoscaling, name)
        .await?
        .ok_or_else(|| RollingError::GroupGone {
            group: name.to_owned(),
        })
}

fn ids_of(group: &AutoScalingGroup) -> Vec<String> {
    group
        .instances()
        .iter()
        .filter_map(|instance| instance.instance_id().map(str::to_owned))
        .collect()
}

/// Calls `check` until it returns a value, backing off between calls, for at most `timeout`.
async fn poll<T, Check, Attempt>(
    what: &str,
    timeout: Duration,
    mut check: Check,
) -> Result<T, RollingError>
where
    Check: FnMut() -> Attempt,
    Attempt: std::future::Future<Output = Result<Option<T>, RollingError>>,
{
    let policy = RetryPolicy {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(10),
        deadline: timeout,
    };
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        let delay = policy.backoff(attempt);
        if started.elapsed() + delay > timeout {
            return Err(RollingError::Timeout {
                what: what.to_owned(),
                elapsed: started.elapsed(),
            });
        }
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_autoscaling::types::{Instance, LaunchTemplateSpecification, LifecycleState};

    use super::*;

    fn instance(id: &str, version: &str, state: LifecycleState) -> Instance {
        Instance::builder()
            .instance_id(id)
            .lifecycle_state(state)
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .version(version)
                    .build(),
            )
            .build()
    }

    fn group(desired: i32, instances: Vec<Instance>) -> AutoScalingGroup {
        AutoScalingGroup::builder()
            .desired_capacity(desired)
            .set_instances(Some(instances))
            .build()
    }

    #[test]
    fn a_group_is_whole_with_its_desired_count_in_service_on_the_target_version() {
        let old = BTreeSet::from(["i-old".to_owned()]);
        let whole = group(
            2,
            vec![
                instance("i-old", "1", LifecycleState::InService),
                instance("i-new", "2", LifecycleState::InService),
            ],
        );
        assert!(is_whole(&whole, &old, "2"));
        let pending = group(
            2,
            vec![
                instance("i-old", "1", LifecycleState::InService),
                instance("i-new", "2", LifecycleState::Pending),
            ],
        );
        assert!(!is_whole(&pending, &old, "2"));
        let short = group(2, vec![instance("i-old", "1", LifecycleState::InService)]);
        assert!(!is_whole(&short, &old, "2"));
        let terminating = group(
            1,
            vec![instance("i-gone", "1", LifecycleState::Terminating)],
        );
        assert!(!is_whole(&terminating, &BTreeSet::new(), "2"));
    }

    #[test]
    fn the_control_plane_never_surges() {
        let options = RollOptions {
            max_surge: BTreeMap::from([("nodes".to_owned(), 3)]),
            ..RollOptions::default()
        };
        let status = |role, name: &str| GroupStatus {
            instance_group: name.to_owned(),
            role,
            asg_name: String::new(),
            min: 1,
            max: 1,
            desired: 1,
            target_version: String::new(),
            instances: Vec::new(),
        };
        assert_eq!(options.surge_of(&status(Role::ControlPlane, "cp")), 0);
        assert_eq!(options.surge_of(&status(Role::Node, "nodes")), 3);
        assert_eq!(options.surge_of(&status(Role::Bastion, "bastions")), 1);
    }
}
