//! `berth upgrade cluster`: bumps `spec.kubernetesVersion` (forward, one minor release at a
//! time, inside the supported range; see `berth_model::upgrade`), validates the whole spec with
//! the new version and writes the Cluster document only if nobody changed it meanwhile. The
//! cloud is untouched: `update cluster --yes` renders the new version into launch templates and
//! `rolling-update cluster --yes` replaces the instances.

use berth_model::upgrade::{UpgradePlan, plan_upgrade};

use crate::{
    args::{GlobalArgs, UpgradeClusterArgs},
    commands::store,
    exit_status::ExitStatus,
    printer,
};

/// Runs `berth upgrade cluster`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &UpgradeClusterArgs,
) -> anyhow::Result<ExitStatus> {
    let (name, specs) = store::open_named_cluster(global, args.cluster.as_deref()).await?;
    let stored = specs.cluster().await?;
    let current = stored.value.spec.kubernetes_version.clone();
    let plan = plan_upgrade(current.as_deref(), args.kubernetes_version.as_deref())?;
    let (from, to) = match plan {
        UpgradePlan::UpToDate(version) => {
            printer::note(&format!(
                "The spec of cluster `{name}` already names Kubernetes {version}: nothing to upgrade."
            ));
            return Ok(ExitStatus::Success);
        }
        UpgradePlan::Upgrade { from, to } => (from, to),
    };
    printer::stdout(&printer::table(
        &["ITEM", "PROPERTY", "OLD", "NEW"],
        &[vec![
            "Cluster".to_owned(),
            "KubernetesVersion".to_owned(),
            from.to_string(),
            to.to_string(),
        ]],
    ))?;
    if !args.yes {
        printer::note(&format!(
            "\nMust specify --yes to perform the upgrade: berth upgrade cluster {name} \
             --kubernetes-version {to} --yes"
        ));
        return Ok(ExitStatus::Success);
    }
    let mut cluster = stored.value;
    cluster.spec.kubernetes_version = Some(to.as_semver().to_string());
    let groups = specs.instance_group_values().await?;
    berth_model::validate::validate(&cluster, &groups)?;
    specs.replace_cluster(&cluster, stored.etag).await?;
    printer::note(&format!(
        "\nCluster `{name}` now asks for Kubernetes {to}. Roll it out with:\n  \
         berth update cluster {name} --yes\n  berth rolling-update cluster {name} --yes"
    ));
    Ok(ExitStatus::Success)
}
