//! `berth rolling-update cluster`: list the instances that run an outdated launch template
//! version, and with `--yes` replace them: drain each node through the Eviction API, terminate
//! its instance, and validate the cluster before the next step; `--cloudonly` replaces
//! instances without any Kubernetes call. The cluster's lease is held while instances are
//! replaced.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use anyhow::Context as _;
use berth_cloudup::{
    aws::AwsClients,
    kubernetes::{self, DrainEvent, DrainOptions},
    rolling::{
        self, GroupStatus, KubernetesGate, NodeGate, Role, RollEvent, RollOptions, ValidationPolicy,
    },
};
use berth_model::{Cluster, InstanceGroup, IntOrString, RollingUpdateSpec};
use berth_state_store::lease::Lease;

use crate::{
    args::{GlobalArgs, RoleArg, RollingUpdateClusterArgs},
    aws_session,
    commands::store,
    error::CommandError,
    exit_status::ExitStatus,
    kube_access, operation_lease, printer,
    rolling_progress::RollProgress,
    spec_store::SpecStore,
};

/// Runs `berth rolling-update cluster`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &RollingUpdateClusterArgs,
) -> anyhow::Result<ExitStatus> {
    let (name, specs) = store::open_named_cluster(global, args.cluster.as_deref()).await?;
    let cluster = specs.cluster().await?.value;
    let groups = specs.instance_group_values().await?;
    let clients = aws_session::cluster_clients(&cluster).await?;

    let mut plan = rolling::status(&clients, &name, args.force).await?;
    for wanted in &args.instance_groups {
        if !plan.iter().any(|group| &group.instance_group == wanted) {
            return Err(CommandError::InstanceGroupNotFound {
                instance_group: wanted.clone(),
                cluster: name.clone(),
            }
            .into());
        }
    }
    plan.retain(|group| selected(group, args));
    printer::stdout(&table(&plan))?;
    if !plan.iter().any(GroupStatus::needs_update) {
        printer::note("\nNo rolling-update required.");
        if !args.yes {
            return Ok(ExitStatus::Success);
        }
        // Still sweep: an earlier run may have left detached instances behind.
    } else if !args.yes {
        printer::note(&format!(
            "\nMust specify --yes to rolling-update: berth rolling-update cluster {name} --yes"
        ));
        return Ok(ExitStatus::Success);
    }
    let options = RollOptions {
        max_surge: spec_counts(&groups, &plan, |spec| spec.max_surge.as_ref()),
        default_max_surge: args.max_surge.unwrap_or(1),
        max_unavailable: spec_counts(&groups, &plan, |spec| spec.max_unavailable.as_ref()),
        default_max_unavailable: args.max_unavailable,
        interval: args.interval,
        post_drain_delay: args.post_drain_delay,
        validation: ValidationPolicy {
            count: args.validate_count,
            interval: args.validate_interval,
            timeout: args.validation_timeout,
        },
        parallel_groups: usize::try_from(args.parallel_groups).unwrap_or(1),
    };
    let progress = Arc::new(RollProgress::new());
    let gate = if args.cloudonly {
        printer::note(
            "\n--cloudonly: instances are terminated without draining their nodes or validating \
             the cluster.",
        );
        None
    } else {
        Some(kubernetes_gate(&specs, &cluster, &clients, &plan, args, &progress).await?)
    };
    roll(
        &name,
        specs.store(),
        &clients,
        &plan,
        &options,
        gate.as_ref().map(|gate| gate as &dyn NodeGate),
        &progress,
    )
    .await
}

/// The gate that drains nodes and validates the cluster through its API server, with admin
/// credentials issued for the roll; drain progress goes to `progress`.
async fn kubernetes_gate(
    specs: &SpecStore,
    cluster: &Cluster,
    clients: &AwsClients,
    plan: &[GroupStatus],
    args: &RollingUpdateClusterArgs,
    progress: &Arc<RollProgress>,
) -> anyhow::Result<KubernetesGate> {
    // Valid long enough for the whole roll: every step may take the validation timeout.
    let steps = plan.iter().map(GroupStatus::needing_update).sum::<usize>() + plan.len();
    let validity = args
        .validation_timeout
        .saturating_add(args.drain_timeout)
        .saturating_mul(u32::try_from(steps).unwrap_or(u32::MAX))
        .clamp(
            Duration::from_secs(60 * 60),
            Duration::from_secs(7 * 24 * 60 * 60),
        );
    let client = kube_access::admin_client(
        specs,
        cluster,
        args.api.server.as_deref(),
        Some(clients),
        validity,
    )
    .await?;
    let drain = DrainOptions {
        timeout: args.drain_timeout,
        // As kops drains: DaemonSet pods stay, emptyDir data and unmanaged pods go.
        delete_emptydir_data: true,
        force: true,
        ..DrainOptions::default()
    };
    let lines = Arc::clone(progress);
    Ok(KubernetesGate::new(
        client,
        clients.clone(),
        specs.cluster_name(),
        drain,
        move |event: &DrainEvent| {
            if let Some(line) = describe_drain(event) {
                lines.line(&line);
            }
        },
    ))
}

/// Whether `--instance-group` and `--instance-group-roles` select `group`.
fn selected(group: &GroupStatus, args: &RollingUpdateClusterArgs) -> bool {
    let by_name = args.instance_groups.is_empty()
        || args
            .instance_groups
            .iter()
            .any(|name| name == &group.instance_group);
    let by_role = args.roles.is_empty()
        || args.roles.iter().any(|role| {
            matches!(
                (role, group.role),
                (RoleArg::ControlPlane, Role::ControlPlane)
                    | (RoleArg::Node, Role::Node)
                    | (RoleArg::Bastion, Role::Bastion)
            )
        });
    by_name && by_role
}

/// The counts instance groups set in `spec.rollingUpdate` (`field` picks `maxSurge` or
/// `maxUnavailable`; percentages are of the group's desired capacity, rounded up).
fn spec_counts(
    groups: &[InstanceGroup],
    plan: &[GroupStatus],
    field: impl Fn(&RollingUpdateSpec) -> Option<&IntOrString>,
) -> BTreeMap<String, u32> {
    groups
        .iter()
        .filter_map(|group| {
            let name = &group.metadata.name;
            let count = field(group.spec.rolling_update.as_ref()?)?;
            let desired = plan
                .iter()
                .find(|status| &status.instance_group == name)
                .map_or(0, |status| status.desired);
            Some((name.clone(), surge_count(count, desired)?))
        })
        .collect()
}

/// A count, or a percentage of `desired` rounded up; `None` for anything else.
fn surge_count(surge: &IntOrString, desired: i32) -> Option<u32> {
    match surge {
        IntOrString::Int(count) => Some(*count),
        IntOrString::String(text) => {
            let percent: u32 = text.strip_suffix('%')?.trim().parse().ok()?;
            let desired = u32::try_from(desired).unwrap_or(0);
            Some((desired.saturating_mul(percent)).div_ceil(100))
        }
    }
}

/// kops's rolling-update table.
fn table(plan: &[GroupStatus]) -> String {
    let rows: Vec<Vec<String>> = plan
        .iter()
        .map(|group| {
            let needing = group.needing_update();
            vec![
                group.instance_group.clone(),
                if needing > 0 { "NeedsUpdate" } else { "Ready" }.to_owned(),
                needing.to_string(),
                (group.instances.len() - needing).to_string(),
                group.min.to_string(),
                group.desired.to_string(),
                group.max.to_string(),
            ]
        })
        .collect();
    printer::table(
        &[
            "NAME",
            "STATUS",
            "NEEDUPDATE",
            "READY",
            "MIN",
            "TARGET",
            "MAX",
        ],
        &rows,
    )
}

/// Replaces the outdated instances of `plan` under the cluster's lease.
async fn roll(
    name: &str,
    store: &Arc<dyn berth_state_store::ObjectStore>,
    clients: &AwsClients,
    plan: &[GroupStatus],
    options: &RollOptions,
    gate: Option<&dyn NodeGate>,
    progress: &RollProgress,
) -> anyhow::Result<ExitStatus> {
    let holder = operation_lease::holder("rolling-update cluster");
    let mut lease =
        Lease::acquire(store.clone(), name, &holder, operation_lease::LEASE_TTL).await?;
    let report = |event: RollEvent| progress.on_event(&event, &describe(&event));
    let rolling = rolling::roll(clients, name, plan, options, gate, &report);
    tokio::pin!(rolling);
    let mut renew = tokio::time::interval(operation_lease::LEASE_RENEWAL);
    renew.tick().await;
    let outcome = loop {
        tokio::select! {
            outcome = &mut rolling => break outcome,
            _ = renew.tick() => lease.renew().await?,
        }
    };
    progress.finish();
    lease.release().await?;
    let replaced = outcome.with_context(|| {
        format!(
            "rolling update of cluster `{name}` did not finish: run it again to continue \
             (instances it detached are drained and terminated then)"
        )
    })?;
    printer::note(&format!(
        "Rolling update of cluster `{name}` done: {replaced} instances replaced."
    ));
    Ok(ExitStatus::Success)
}

/// One line of drain progress, for what is worth a line.
fn describe_drain(event: &DrainEvent) -> Option<String> {
    match event {
        DrainEvent::Cordoned { node } => Some(format!("Cordoned node `{node}`.")),
        DrainEvent::Evicted { pod } => Some(format!("Evicted pod {pod}.")),
        DrainEvent::Blocked { pod, pdbs, .. } => Some(format!(
            "Eviction of pod {pod} refused{}; retrying until --drain-timeout.",
            if pdbs.is_empty() {
                String::new()
            } else {
                format!(
                    " by PodDisruptionBudget {}",
                    pdbs.iter()
                        .map(|pdb| format!("`{}`", pdb.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )),
        DrainEvent::Skipped { .. } | DrainEvent::Gone { .. } => None,
    }
}

/// One line of progress.
fn describe(event: &RollEvent) -> String {
    match event {
        RollEvent::GroupStarted {
            instance_group,
            instances,
            surge,
            unavailable,
        } => {
            let how = match (*surge, *unavailable) {
                (0, 1) => "one at a time, in place".to_owned(),
                (0, n) => format!("{n} at a time, in place"),
                (s, 0) => format!("surging by up to {s}"),
                (s, n) => format!("surging by up to {s}, {n} more out of service at once"),
            };
            format!("Updating instance group `{instance_group}`: {instances} instances, {how}.")
        }
        RollEvent::Tainted {
            instance_group,
            nodes,
        } => format!(
            "Tainted the outdated nodes of `{instance_group}` with `{}:{}`: {}.",
            kubernetes::SCHEDULED_FOR_UPDATE_TAINT,
            kubernetes::SCHEDULED_FOR_UPDATE_EFFECT,
            nodes
                .iter()
                .map(|node| format!("`{node}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        RollEvent::Deregistered {
            instance_group,
            instance,
            target_groups,
        } => format!(
            "Deregistered {instance} of `{instance_group}` from target group{} {}.",
            if target_groups.len() == 1 { "" } else { "s" },
            target_groups.join(", ")
        ),
        RollEvent::StraysFound {
            instance_group,
            instances,
        } => format!(
            "Found {} of `{instance_group}`, detached by an earlier rolling update: finishing \
             them first.",
            instances.join(", ")
        ),
        RollEvent::Validated {
            instance_group,
            attempts,
        } => format!("Cluster validated while updating `{instance_group}` ({attempts} checks)."),
        RollEvent::Drained {
            instance_group,
            instances,
        } => format!(
            "Drained the nodes of {} of `{instance_group}`.",
            instances.join(", ")
        ),
        RollEvent::Detached {
            instance_group,
            instances,
        } => format!(
            "Detached {} from `{instance_group}`; waiting for replacements.",
            instances.join(", ")
        ),
        RollEvent::Terminated {
            instance_group,
            instances,
        } => format!("Terminated {} of `{instance_group}`.", instances.join(", ")),
        RollEvent::GroupDone { instance_group } => {
            format!("Instance group `{instance_group}` is up to date.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_surges_round_up() {
        assert_eq!(surge_count(&IntOrString::Int(2), 5), Some(2));
        assert_eq!(surge_count(&IntOrString::String("25%".into()), 5), Some(2));
        assert_eq!(surge_count(&IntOrString::String("0%".into()), 5), Some(0));
        assert_eq!(surge_count(&IntOrString::String("lots".into()), 5), None);
    }
}
