//! Replacing a cluster's outdated instances, group by group.
//!
//! At the start of a group, the nodes of its outdated instances are tainted `PreferNoSchedule`
//! through the gate, so that pods drained from the first ones avoid the others.
//!
//! Control-plane groups replace one instance at a time: drain its node (labelled out of
//! external load balancers with its cordon), deregister it from the group's target groups,
//! then TerminateInstanceInAutoScalingGroup keeping the desired capacity, then wait until the
//! group is whole and the cluster validates. Other groups surge: up to `max_surge` old
//! instances are tagged and detached (the group launches their replacements, and detaching
//! takes them out of the group's target groups); once the group is whole and the cluster
//! validates (the replacements joined), the detached instances are drained and terminated.
//! Instances an earlier run detached but did not terminate are finished first, the same way.
//! Without a [`NodeGate`] (`--cloudonly`) nothing is tainted, drained or validated.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use aws_sdk_autoscaling::types::AutoScalingGroup;
use futures_util::{StreamExt as _, stream};
use tokio::time::Instant;

use super::{GroupStatus, NodeGate, Role, RollingError, ValidationPolicy, calls, wait_until_valid};
use crate::{aws::AwsClients, engine::RetryPolicy};

/// How a rolling update proceeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollOptions {
    /// Surge per instance group, by name; groups not listed use `default_max_surge`. The
    /// control plane never surges.
    pub max_surge: BTreeMap<String, u32>,
    /// The surge of groups not in `max_surge` (0: replace in place).
    pub default_max_surge: u32,
    /// How many instances of a group may be out of service at once, by name; groups not
    /// listed use `default_max_unavailable`. The control plane replaces one at a time.
    pub max_unavailable: BTreeMap<String, u32>,
    /// Groups not in `max_unavailable`: kops's default is 1 when a group does not surge and
    /// 0 when it does (replacements come first, so nothing goes out of service).
    pub default_max_unavailable: Option<u32>,
    /// The pause after each replacement step.
    pub interval: Duration,
    /// The pause between draining a node and terminating its instance.
    pub post_drain_delay: Duration,
    /// How the cluster must validate after each step; its timeout also bounds the waits for
    /// a group to become whole and for instances to terminate.
    pub validation: ValidationPolicy,
    /// How many node groups may roll at once (bastions and the control plane always roll
    /// one group at a time, before the node groups).
    pub parallel_groups: usize,
}

impl Default for RollOptions {
    /// kops's defaults on AWS: surge 1, 15 s between instances, 5 s after a drain, two
    /// validations in a row within 15 min; one group at a time.
    fn default() -> Self {
        Self {
            max_surge: BTreeMap::new(),
            default_max_surge: 1,
            max_unavailable: BTreeMap::new(),
            default_max_unavailable: None,
            interval: Duration::from_secs(15),
            post_drain_delay: Duration::from_secs(5),
            validation: ValidationPolicy::default(),
            parallel_groups: 1,
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

    /// How many instances go out of service at once: at least 1 in place, exactly 1 for the
    /// control plane.
    fn unavailable_of(&self, group: &GroupStatus, surge: usize) -> usize {
        if group.role == Role::ControlPlane {
            return 1;
        }
        let unavailable = self
            .max_unavailable
            .get(&group.instance_group)
            .copied()
            .or(self.default_max_unavailable)
            .unwrap_or(u32::from(surge == 0));
        let unavailable = usize::try_from(unavailable).unwrap_or(usize::MAX);
        if surge == 0 {
            unavailable.max(1)
        } else {
            unavailable
        }
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
        /// How many it takes out of service at once besides those.
        unavailable: usize,
    },
    /// The nodes of a group's outdated instances were tainted `PreferNoSchedule` (only
    /// those not tainted yet are named; sent only when there is one).
    Tainted {
        /// The instance group.
        instance_group: String,
        /// The nodes' names.
        nodes: Vec<String>,
    },
    /// An instance replaced in place was deregistered from its group's target groups, so
    /// that load balancers stop sending it connections before it is terminated.
    Deregistered {
        /// The instance group.
        instance_group: String,
        /// The instance's id.
        instance: String,
        /// The target groups' ARNs.
        target_groups: Vec<String>,
    },
    /// Instances an earlier run detached were found; they are finished first.
    StraysFound {
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
    /// The cluster validated (the given number of times in a row).
    Validated {
        /// The instance group being updated.
        instance_group: String,
        /// How many validations it took.
        attempts: u32,
    },
    /// The nodes of these instances were cordoned and drained.
    Drained {
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

/// What a roll needs besides its options.
struct Roll<'a> {
    clients: &'a AwsClients,
    cluster: &'a str,
    options: &'a RollOptions,
    gate: Option<&'a dyn NodeGate>,
    on_event: &'a (dyn Fn(RollEvent) + Send + Sync),
}

/// Replaces the instances of `plan` that need an update, group by group in the plan's order
/// (see [`super::status`]; node groups `options.parallel_groups` at a time), draining and
/// validating through `gate` unless it is `None`, and returns how many were replaced.
///
/// # Errors
///
/// When an AWS or Kubernetes call fails, a drain does not finish, or a group does not become
/// whole or the cluster does not validate within the validation timeout. Instances not yet
/// replaced keep running; a later run continues where this one stopped.
pub async fn roll(
    clients: &AwsClients,
    cluster: &str,
    plan: &[GroupStatus],
    options: &RollOptions,
    gate: Option<&dyn NodeGate>,
    on_event: &(dyn Fn(RollEvent) + Send + Sync),
) -> Result<usize, RollingError> {
    let roll = Roll {
        clients,
        cluster,
        options,
        gate,
        on_event,
    };
    let mut replaced = 0;
    let (nodes, others): (Vec<&GroupStatus>, Vec<&GroupStatus>) =
        plan.iter().partition(|group| group.role == Role::Node);
    for group in others {
        replaced += roll.group(group).await?;
    }
    let mut node_rolls = stream::iter(nodes.into_iter().map(|group| roll.group(group)))
        .buffer_unordered(options.parallel_groups.max(1));
    let mut first_error = None;
    while let Some(outcome) = node_rolls.next().await {
        match outcome {
            Ok(count) => replaced += count,
            // Let the other groups finish their step rather than cut them off mid-drain.
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(replaced),
    }
}

impl Roll<'_> {
    async fn group(&self, group: &GroupStatus) -> Result<usize, RollingError> {
        let name = &group.instance_group;
        let current = describe(self.clients, &group.asg_name).await?;
        let strays =
            calls::stray_instances(&self.clients.ec2, self.cluster, name, &ids_of(&current))
                .await?;
        if !strays.is_empty() {
            (self.on_event)(RollEvent::StraysFound {
                instance_group: name.clone(),
                instances: strays.clone(),
            });
            wait_until_whole(self.clients, group, &BTreeSet::new(), self.timeout()).await?;
            self.validate(name).await?;
            self.drain_and_terminate_detached(name, strays).await?;
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
        let surge = self.options.surge_of(group);
        let unavailable = self.options.unavailable_of(group, surge);
        (self.on_event)(RollEvent::GroupStarted {
            instance_group: name.clone(),
            instances: old.len(),
            surge,
            unavailable,
        });
        self.mark_for_update(name, &old).await?;
        let mut replaced = 0;
        let mut first = true;
        loop {
            let current = wait_until_whole(self.clients, group, &old, self.timeout()).await?;
            let present = ids_of(&current);
            old.retain(|id| present.contains(id));
            let target_groups = current.target_group_arns().to_vec();
            // Between two surge batches this validation would gate only the next detach,
            // which takes no capacity away: the validation after that detach checks the
            // whole cluster (the last termination included) before anything more is
            // drained. So a surge validates before its first batch and after its last.
            if surge == 0 || first || old.is_empty() {
                self.validate(name).await?;
            }
            if old.is_empty() {
                break;
            }
            if !first && !self.options.interval.is_zero() {
                tokio::time::sleep(self.options.interval).await;
            }
            first = false;
            // The detached instances are replaced before they go; the in-place ones after.
            let detached: Vec<String> = old.iter().take(surge).cloned().collect();
            let in_place: Vec<String> = old.iter().skip(surge).take(unavailable).cloned().collect();
            old.retain(|id| !detached.contains(id) && !in_place.contains(id));
            if !detached.is_empty() {
                calls::detach(self.clients, &group.asg_name, &detached).await?;
                (self.on_event)(RollEvent::Detached {
                    instance_group: name.clone(),
                    instances: detached.clone(),
                });
                let mut waiting = old.clone();
                waiting.extend(in_place.iter().cloned());
                wait_until_whole(self.clients, group, &waiting, self.timeout()).await?;
                self.validate(name).await?;
            }
            let draining: Vec<String> = detached.iter().chain(&in_place).cloned().collect();
            self.drain(name, &draining).await?;
            // After the drain, which may need the API server behind these very target
            // groups; detached instances left them with DetachInstances already.
            for id in &in_place {
                self.deregister(name, id, &target_groups).await?;
            }
            self.after_drain().await;
            replaced += draining.len();
            if !detached.is_empty() {
                terminate_detached(self.clients, &detached, self.timeout()).await?;
            }
            for id in &in_place {
                calls::terminate_in_group(&self.clients.autoscaling, id).await?;
            }
            (self.on_event)(RollEvent::Terminated {
                instance_group: name.clone(),
                instances: draining,
            });
        }
        (self.on_event)(RollEvent::GroupDone {
            instance_group: name.clone(),
        });
        Ok(replaced)
    }

    fn timeout(&self) -> Duration {
        self.options.validation.timeout
    }

    async fn validate(&self, instance_group: &str) -> Result<(), RollingError> {
        let Some(gate) = self.gate else {
            return Ok(());
        };
        let what = format!("the cluster (updating instance group `{instance_group}`)");
        let attempts = wait_until_valid(gate, &self.options.validation, &what).await?;
        (self.on_event)(RollEvent::Validated {
            instance_group: instance_group.to_owned(),
            attempts,
        });
        Ok(())
    }

    /// Taints the nodes of `instances` through the gate (nothing without one).
    async fn mark_for_update(
        &self,
        instance_group: &str,
        instances: &BTreeSet<String>,
    ) -> Result<(), RollingError> {
        let Some(gate) = self.gate else {
            return Ok(());
        };
        let ids: Vec<String> = instances.iter().cloned().collect();
        let nodes = gate.mark_for_update(&ids).await?;
        if !nodes.is_empty() {
            (self.on_event)(RollEvent::Tainted {
                instance_group: instance_group.to_owned(),
                nodes,
            });
        }
        Ok(())
    }

    /// Drains through the gate (nothing without one); see [`Self::after_drain`].
    async fn drain(&self, instance_group: &str, instances: &[String]) -> Result<(), RollingError> {
        let Some(gate) = self.gate else {
            return Ok(());
        };
        gate.drain(instances).await?;
        (self.on_event)(RollEvent::Drained {
            instance_group: instance_group.to_owned(),
            instances: instances.to_vec(),
        });
        Ok(())
    }

    /// The pause between a drain and the termination (none without a gate: nothing was
    /// drained).
    async fn after_drain(&self) {
        if self.gate.is_some() && !self.options.post_drain_delay.is_zero() {
            tokio::time::sleep(self.options.post_drain_delay).await;
        }
    }

    /// Deregisters `instance` from `target_groups` (its group's), one DeregisterTargets
    /// each; nothing when the group has none.
    async fn deregister(
        &self,
        instance_group: &str,
        instance: &str,
        target_groups: &[String],
    ) -> Result<(), RollingError> {
        if target_groups.is_empty() {
            return Ok(());
        }
        for target_group in target_groups {
            calls::deregister_target(&self.clients.elb, target_group, instance)
                .await
                .map_err(|source| RollingError::Deregister {
                    instance: instance.to_owned(),
                    target_group: target_group.clone(),
                    source,
                })?;
        }
        (self.on_event)(RollEvent::Deregistered {
            instance_group: instance_group.to_owned(),
            instance: instance.to_owned(),
            target_groups: target_groups.to_vec(),
        });
        Ok(())
    }

    async fn drain_and_terminate_detached(
        &self,
        instance_group: &str,
        instances: Vec<String>,
    ) -> Result<(), RollingError> {
        self.drain(instance_group, &instances).await?;
        self.after_drain().await;
        terminate_detached(self.clients, &instances, self.timeout()).await?;
        (self.on_event)(RollEvent::Terminated {
            instance_group: instance_group.to_owned(),
            instances,
        });
        Ok(())
    }
}

/// Terminates instances outside their group and waits until they are terminated.
async fn terminate_detached(
    clients: &AwsClients,
    ids: &[String],
    timeout: Duration,
) -> Result<(), RollingError> {
    calls::terminate(&clients.ec2, ids).await?;
    let what = format!("instances {} to terminate", ids.join(", "));
    poll(&what, timeout, || async {
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
    // Replacements take tens of seconds to come into service on AWS: a cap of a few seconds
    // notices them soon after (a 10 s cap could overshoot each step by up to 10 s), at one
    // DescribeAutoScalingGroups every 3 s at most.
    let policy = RetryPolicy {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(3),
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

    /// An empty group of one instance.
    fn status(role: Role, name: &str) -> GroupStatus {
        GroupStatus {
            instance_group: name.to_owned(),
            role,
            asg_name: String::new(),
            min: 1,
            max: 1,
            desired: 1,
            target_version: String::new(),
            instances: Vec::new(),
        }
    }

    #[test]
    fn the_control_plane_never_surges() {
        let options = RollOptions {
            max_surge: BTreeMap::from([("nodes".to_owned(), 3)]),
            ..RollOptions::default()
        };
        assert_eq!(options.surge_of(&status(Role::ControlPlane, "cp")), 0);
        assert_eq!(options.surge_of(&status(Role::Node, "nodes")), 3);
        assert_eq!(options.surge_of(&status(Role::Bastion, "bastions")), 1);
    }

    #[test]
    fn in_place_groups_take_one_out_by_default_and_surging_groups_none() {
        let options = RollOptions {
            max_unavailable: BTreeMap::from([("wide".to_owned(), 3)]),
            ..RollOptions::default()
        };
        assert_eq!(options.unavailable_of(&status(Role::Node, "nodes"), 0), 1);
        assert_eq!(options.unavailable_of(&status(Role::Node, "nodes"), 2), 0);
        assert_eq!(options.unavailable_of(&status(Role::Node, "wide"), 2), 3);
        assert_eq!(
            options.unavailable_of(&status(Role::ControlPlane, "wide"), 0),
            1
        );
        let zero = RollOptions {
            default_max_unavailable: Some(0),
            ..RollOptions::default()
        };
        assert_eq!(
            zero.unavailable_of(&status(Role::Node, "nodes"), 0),
            1,
            "in place, one instance at least goes at a time"
        );
    }
}
