//! `berth rolling-update cluster`: list the instances that run an outdated launch template
//! version, and with `--yes --cloudonly` replace them.
//!
//! Only the cloud side exists: instances are replaced without draining their nodes or
//! validating the cluster, so `--yes` requires `--cloudonly` to say so. The cluster's lease is
//! held while instances are replaced.

use std::collections::BTreeMap;

use anyhow::Context as _;
use berth_cloudup::{
    aws::AwsClients,
    rolling::{self, GroupStatus, Role, RollEvent, RollOptions},
};
use berth_model::{InstanceGroup, IntOrString};
use berth_state_store::lease::Lease;

use crate::{
    args::{GlobalArgs, RoleArg, RollingUpdateClusterArgs},
    aws_session,
    commands::store,
    error::CommandError,
    exit_status::ExitStatus,
    operation_lease, printer, settings,
};

/// Runs `berth rolling-update cluster`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &RollingUpdateClusterArgs,
) -> anyhow::Result<ExitStatus> {
    if args.yes && !args.cloudonly {
        printer::note(
            "error: draining nodes and validating the cluster between instances is not \
             available yet, so `--yes` needs `--cloudonly`.\n\
             With `--cloudonly`, instances are terminated without draining their nodes: the \
             workloads on them stop at once.",
        );
        return Ok(ExitStatus::UserError);
    }
    let name = settings::cluster_name(args.cluster.as_deref(), global)?;
    let specs = store::open_cluster(global, &name).await?;
    let cluster = specs.cluster().await?.value;
    let groups: Vec<InstanceGroup> = specs
        .instance_groups()
        .await?
        .into_iter()
        .map(|group| group.value)
        .collect();
    let region = aws_session::region_of(&cluster)
        .context("the cluster has no subnets with a zone, so its region is unknown")?;
    let clients = AwsClients::new(&aws_session::load(&region).await);

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
            "\nMust specify --yes to rolling-update: berth rolling-update cluster {name} --yes \
             --cloudonly"
        ));
        return Ok(ExitStatus::Success);
    }
    let options = RollOptions {
        max_surge: spec_surges(&groups, &plan),
        default_max_surge: args.max_surge.unwrap_or(1),
        interval: args.interval,
        validation_timeout: args.validation_timeout,
    };
    roll(&name, specs.store(), &clients, &plan, &options).await
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

/// The surge instance groups set in `spec.rollingUpdate.maxSurge` (percentages of the
/// group's desired capacity, rounded up).
fn spec_surges(groups: &[InstanceGroup], plan: &[GroupStatus]) -> BTreeMap<String, u32> {
    groups
        .iter()
        .filter_map(|group| {
            let name = &group.metadata.name;
            let surge = group.spec.rolling_update.as_ref()?.max_surge.as_ref()?;
            let desired = plan
                .iter()
                .find(|status| &status.instance_group == name)
                .map_or(0, |status| status.desired);
            Some((name.clone(), surge_count(surge, desired)?))
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
    store: &std::sync::Arc<dyn berth_state_store::ObjectStore>,
    clients: &AwsClients,
    plan: &[GroupStatus],
    options: &RollOptions,
) -> anyhow::Result<ExitStatus> {
    let holder = operation_lease::holder("rolling-update cluster");
    let mut lease =
        Lease::acquire(store.clone(), name, &holder, operation_lease::LEASE_TTL).await?;
    printer::note(
        "\n--cloudonly: instances are terminated without draining their nodes or validating \
         the cluster.",
    );
    let mut report = |event: RollEvent| printer::note(&describe(&event));
    let rolling = rolling::roll(clients, name, plan, options, &mut report);
    tokio::pin!(rolling);
    let mut renew = tokio::time::interval(operation_lease::LEASE_RENEWAL);
    renew.tick().await;
    let outcome = loop {
        tokio::select! {
            outcome = &mut rolling => break outcome,
            _ = renew.tick() => lease.renew().await?,
        }
    };
    lease.release().await?;
    let replaced = outcome.with_context(|| {
        format!(
            "rolling update of cluster `{name}` did not finish: run it again to continue \
             (instances it detached are terminated then)"
        )
    })?;
    printer::note(&format!(
        "Rolling update of cluster `{name}` done: {replaced} instances replaced."
    ));
    Ok(ExitStatus::Success)
}

/// One line of progress.
fn describe(event: &RollEvent) -> String {
    match event {
        RollEvent::GroupStarted {
            instance_group,
            instances,
            surge,
        } => {
            let how = if *surge == 0 {
                "one at a time, in place".to_owned()
            } else {
                format!("surging by up to {surge}")
            };
            format!("Updating instance group `{instance_group}`: {instances} instances, {how}.")
        }
        RollEvent::StraysTerminated {
            instance_group,
            instances,
        } => format!(
            "Terminated {} of `{instance_group}`, detached by an earlier rolling update.",
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
