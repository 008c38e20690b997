//! `berth delete cluster NAME [--yes] [-o table|json]`: list everything the cluster owns in
//! AWS and, with `--yes`, delete it, then the cluster's objects in the state store.
//!
//! The spec, when the store still has it, names the region and the shared VPC and subnets
//! (never deleted). Without it (already deleted) discovery goes by the ownership tags and the
//! name alone, in the region of the AWS configuration. The store objects go last and only
//! once a fresh discovery finds the cloud clean, so an interrupted delete can be re-run and
//! finishes the job. The cluster's lease is held throughout.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use berth_cloudup::{
    aws::AwsClients,
    delete::{self, DeleteKind, DeleteScope, Inventory},
    engine::{self, Output, Reporter, RetryPolicy, TaskError},
};
use berth_model::aws::NodeKey;
use berth_state_store::{ObjectStore, layout::ClusterKeys, lease::Lease};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    args::{DeleteClusterArgs, GlobalArgs, ListFormat},
    aws_session,
    commands::store,
    exit_status::ExitStatus,
    operation_lease, printer, settings,
    spec_store::SpecStore,
};

/// How many delete-and-rediscover rounds run before giving up on a cloud that keeps
/// showing new resources (an autoscaling group launching while it is deleted).
const MAX_ROUNDS: usize = 3;

/// Runs `berth delete cluster`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &DeleteClusterArgs,
) -> anyhow::Result<ExitStatus> {
    let name = settings::cluster_name(args.cluster.as_deref(), global)?;
    let store = store::open(global).await?;
    let spec = SpecStore::new(store.clone(), &name).find_cluster().await?;
    let (scope, region) = match &spec {
        Some(cluster) => (
            DeleteScope::from_spec(&cluster.value),
            aws_session::region_of(&cluster.value),
        ),
        None => (DeleteScope::named(&name), None),
    };
    let clients = AwsClients::new(&aws_config(region).await?);
    let retry = RetryPolicy::default();
    let inventory = delete::discover(&clients, &scope, &retry).await?;
    let store_keys = store.list(&ClusterKeys::new(&name).prefix()).await?;
    show(&inventory, &store_keys, args.output)?;
    if !args.yes {
        printer::note(&format!(
            "\nMust specify --yes to delete: berth delete cluster {name} --yes"
        ));
        return Ok(ExitStatus::Success);
    }
    if inventory.is_empty() && store_keys.is_empty() {
        printer::note(&format!("Nothing to delete for cluster `{name}`."));
        return Ok(ExitStatus::Success);
    }
    let holder = operation_lease::holder("delete cluster");
    let mut lease =
        Lease::acquire(store.clone(), &name, &holder, operation_lease::LEASE_TTL).await?;
    let options = engine::ApplyOptions {
        retry,
        ..engine::ApplyOptions::default()
    };
    let interrupt = options.cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupt.cancel();
        }
    });
    match delete_until_clean(&clients, &scope, inventory, &options, &mut lease).await {
        Ok(Ending::Clean) => {}
        // The test hook simulates a crash: the lease is left to expire.
        Ok(Ending::Aborted) => return Ok(ExitStatus::Aborted),
        Err(error) => {
            if let Err(release) = lease.release().await {
                tracing::warn!("failed to release the lease: {release}");
            }
            return Err(error);
        }
    }
    delete_store_objects(&store, &name).await?;
    lease.release().await?;
    printer::note(&format!("Deleted cluster `{name}`."));
    Ok(ExitStatus::Success)
}

/// How the cloud part of a delete ended, when it did not fail.
enum Ending {
    /// A fresh discovery found nothing left.
    Clean,
    /// The crash hook stopped it.
    Aborted,
}

/// Deletes the inventory, looks again, and repeats until nothing is left.
async fn delete_until_clean(
    clients: &AwsClients,
    scope: &DeleteScope,
    mut inventory: Inventory,
    options: &engine::ApplyOptions,
    lease: &mut berth_state_store::LeaseGuard,
) -> anyhow::Result<Ending> {
    let name = &scope.cluster;
    for _round in 0..MAX_ROUNDS {
        if inventory.is_empty() {
            return Ok(Ending::Clean);
        }
        let reporter = DeleteProgress::new(&inventory);
        let report = {
            let deletion = delete::delete(clients, &inventory, options, &reporter);
            tokio::pin!(deletion);
            let mut renew = tokio::time::interval(operation_lease::LEASE_RENEWAL);
            renew.tick().await;
            loop {
                tokio::select! {
                    report = &mut deletion => break report,
                    _ = renew.tick() => lease.renew().await?,
                }
            }
        };
        reporter.finish();
        printer::note(&report.summary());
        match report.interrupted {
            Some(engine::Interruption::AbortHook) => return Ok(Ending::Aborted),
            Some(engine::Interruption::Cancelled) => {
                anyhow::bail!(
                    "interrupted: run `berth delete cluster {name} --yes` again to finish"
                )
            }
            None => {}
        }
        report
            .into_error()
            .with_context(|| format!("delete of cluster `{name}` did not finish; run it again"))?;
        // Verify with a fresh look: the state store goes only when the cloud is clean.
        inventory = delete::discover(clients, scope, &options.retry).await?;
    }
    if inventory.is_empty() {
        return Ok(Ending::Clean);
    }
    anyhow::bail!(
        "cluster `{name}` still has {} resources after {MAX_ROUNDS} rounds; run the delete again",
        inventory.resources.len()
    )
}

/// The AWS configuration: the spec's region, else the environment's.
async fn aws_config(region: Option<String>) -> anyhow::Result<aws_config::SdkConfig> {
    if let Some(region) = region {
        return Ok(aws_session::load(&region).await);
    }
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    if config.region().is_none() {
        anyhow::bail!(
            "the cluster's spec is not in the state store, so its region is unknown: set AWS_REGION"
        );
    }
    Ok(config)
}

/// Every object under `<cluster>/` except the lease (released last by its holder).
async fn delete_store_objects(store: &Arc<dyn ObjectStore>, cluster: &str) -> anyhow::Result<()> {
    let keys = ClusterKeys::new(cluster);
    let lease = keys.lease();
    for key in store.list(&keys.prefix()).await? {
        if key != lease {
            store
                .delete(&key, None)
                .await
                .with_context(|| format!("failed to delete `{key}` from the state store"))?;
        }
    }
    Ok(())
}

fn show(inventory: &Inventory, store_keys: &[String], format: ListFormat) -> anyhow::Result<()> {
    match format {
        ListFormat::Json => {
            let json = serde_json::json!({
                "cluster": inventory.cluster,
                "resources": inventory.resources,
                "stateStoreObjects": store_keys,
            });
            printer::stdout(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
        }
        ListFormat::Table => {
            let mut rows: Vec<Vec<String>> = inventory
                .resources
                .iter()
                .map(|resource| {
                    vec![
                        resource.kind.to_string(),
                        resource.id.clone(),
                        resource.name.clone(),
                        resource.disposal.as_str().to_owned(),
                    ]
                })
                .collect();
            rows.extend(store_keys.iter().map(|key| {
                vec![
                    "StateStoreObject".to_owned(),
                    key.clone(),
                    String::new(),
                    "delete".to_owned(),
                ]
            }));
            if rows.is_empty() {
                printer::note(&format!(
                    "No resources or state-store objects of cluster `{}`.",
                    inventory.cluster
                ));
            } else {
                printer::stdout(&printer::table(&["KIND", "ID", "NAME", "ACTION"], &rows))?;
            }
        }
    }
    Ok(())
}

/// Shows a delete's progress on stderr: a bar, and how many of each kind remain.
struct DeleteProgress {
    bar: ProgressBar,
    kinds: BTreeMap<NodeKey, DeleteKind>,
    remaining: Mutex<BTreeMap<DeleteKind, usize>>,
}

impl DeleteProgress {
    fn new(inventory: &Inventory) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(inventory.resources.len() as u64),
            ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        let mut remaining = BTreeMap::new();
        for resource in &inventory.resources {
            *remaining.entry(resource.kind).or_insert(0) += 1;
        }
        let progress = Self {
            bar,
            kinds: inventory
                .resources
                .iter()
                .map(|resource| (resource.key(), resource.kind))
                .collect(),
            remaining: Mutex::new(remaining),
        };
        progress.refresh();
        progress
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn refresh(&self) {
        let Ok(remaining) = self.remaining.lock() else {
            return;
        };
        let left: Vec<String> = remaining
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        self.bar.set_message(format!("left: {}", left.join(", ")));
    }

    fn settle(&self, key: &NodeKey) {
        if let (Some(kind), Ok(mut remaining)) = (self.kinds.get(key), self.remaining.lock())
            && let Some(count) = remaining.get_mut(kind)
        {
            *count = count.saturating_sub(1);
        }
        self.refresh();
    }
}

impl Reporter for DeleteProgress {
    fn on_task_done(&self, key: &NodeKey, _output: &Output) {
        self.bar.inc(1);
        self.settle(key);
    }

    fn on_retry(&self, key: &NodeKey, attempt: u32, error: &TaskError, delay: Duration) {
        tracing::info!(%key, attempt, ?delay, "retrying after: {error}");
    }

    fn on_task_failed(&self, key: &NodeKey, error: &TaskError) {
        self.bar
            .println(format!("failed: {}: {error}", describe(&self.kinds, key)));
        self.settle(key);
    }

    fn on_task_skipped(&self, key: &NodeKey, failed_dependency: &NodeKey) {
        self.bar.println(format!(
            "skipped: {} (waits for {}, which failed)",
            describe(&self.kinds, key),
            describe(&self.kinds, failed_dependency)
        ));
        self.settle(key);
    }
}

/// `Kind id` for a task key (its name is `<disposal>:<kind>:<id>`).
fn describe(kinds: &BTreeMap<NodeKey, DeleteKind>, key: &NodeKey) -> String {
    let id = key.name.splitn(3, ':').nth(2).unwrap_or(&key.name);
    match kinds.get(key) {
        Some(kind) => format!("{kind} {id}"),
        None => key.to_string(),
    }
}
