//! `berth update cluster`: turn the spec into the desired AWS resources, compare them with what
//! exists, show the plan, and with `--yes` apply it.
//!
//! Without `--yes` nothing changes anywhere. With it, the cluster's lease is held for the whole
//! apply so that two updates (or an update and a delete) cannot interleave.

use std::sync::Arc;

use anyhow::Context as _;
use berth_cloudup::{
    aws::AwsClients,
    engine,
    facts::{assets::AssetHashes, node_secrets},
};
use berth_model::{
    CloudFacts, CompletedCluster,
    assets::DEFAULT_ARCH,
    builders::{BuildContext, BuildFacts, HostedZoneFact, NodeBootstrap},
    ssh::SshPublicKey,
};
use berth_state_store::{ObjectStore, lease::Lease};

use crate::{
    args::{GlobalArgs, PlanFormat, Target, UpdateClusterArgs},
    aws_session,
    commands::store,
    env_vars::BERTH_ASSETS_BASE_URL,
    exit_status::ExitStatus,
    nodeup_asset, operation_lease, printer, progress,
    spec_store::SpecStore,
};

/// Runs `berth update cluster`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &UpdateClusterArgs,
) -> anyhow::Result<ExitStatus> {
    let (name, specs) = store::open_named_cluster(global, args.cluster.as_deref()).await?;
    // The bootstrap token is stored only by a run that writes (apply or Terraform output).
    let writes = args.yes || args.target == Target::Terraform;
    let desired = desired_graph(&specs, writes).await?;

    if args.target == Target::Terraform {
        let out = args
            .out
            .as_deref()
            .context("--target terraform needs --out DIR")?;
        let rendered = berth_cloudup::terraform::render(&desired.graph, &desired.region, &name)?;
        berth_cloudup::terraform::write(&rendered, out)?;
        printer::note(&format!(
            "Wrote {} files for cluster `{name}` to {} ({} resources). Nothing was changed in AWS.",
            rendered.files.len(),
            out.display(),
            desired.graph.len()
        ));
        return Ok(ExitStatus::Success);
    }

    let store = specs.store().clone();
    let discovery = engine::discover_all(&desired.graph, &desired.clients, &store, &name).await?;
    let plan = engine::plan(&desired.graph, &discovery);
    let (critical_calls, mut critical_path) =
        plan.critical_path(berth_model::builders::critical_path_weight);
    // Unchanged resources on the chain cost nothing: list only what will be called.
    let changed: std::collections::BTreeSet<_> = plan.changed().map(|change| &change.key).collect();
    critical_path.retain(|key| changed.contains(key));
    match args.output {
        PlanFormat::Json => {
            let mut document: serde_json::Value = serde_json::from_str(&plan.to_json()?)?;
            document["criticalPath"] = serde_json::json!({
                "calls": critical_calls,
                "resources": critical_path.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            printer::stdout(&format!("{}\n", serde_json::to_string_pretty(&document)?))?;
        }
        PlanFormat::Text => {
            printer::stdout(&engine::render_preview(&plan))?;
            if plan.has_changes() {
                printer::stdout(&format!(
                    "Critical path: {critical_calls} sequential AWS calls ({})\n",
                    critical_path
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" → ")
                ))?;
            }
        }
    }
    if !args.yes {
        if plan.has_changes() {
            printer::note(&format!(
                "\nMust specify --yes to apply changes: berth update cluster {name} --yes"
            ));
            if args.exit_code {
                return Ok(ExitStatus::ChangesPending);
            }
        }
        return Ok(ExitStatus::Success);
    }
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    apply(&name, &store, &desired, &plan, args.concurrency).await
}

/// The graph of everything the cluster should be, and what it took to compute it.
struct Desired {
    region: String,
    clients: AwsClients,
    graph: berth_model::aws::Graph,
}

async fn desired_graph(specs: &SpecStore, writes: bool) -> anyhow::Result<Desired> {
    let cluster = specs.cluster().await?.value;
    let groups = specs.instance_group_values().await?;
    berth_model::validate(&cluster, &groups)?;
    let region = aws_session::cluster_region(&cluster)?;
    let clients = AwsClients::new(&aws_session::load(&region).await);
    let account = berth_cloudup::facts::gather(&clients, &cluster, &groups).await?;
    let completed = berth_model::complete(
        &cluster,
        &groups,
        &CloudFacts {
            region: region.clone(),
            available_zones: account.available_zones.clone(),
            account_id: None,
            network_cidr: account.shared_vpc_cidr.clone(),
            state_store: Some(specs.store().url().to_owned()),
        },
    )?;
    let facts = BuildFacts {
        region: region.clone(),
        images: account.images.clone(),
        ssh_public_key: ssh_public_key(specs).await?,
        nodeup: nodeup_asset::resolve()?,
        hosted_zone: account
            .hosted_zone
            .clone()
            .map(|(name, private)| HostedZoneFact { name, private }),
        node_bootstrap: node_bootstrap(specs, &completed, writes).await?,
    };
    let graph = berth_model::builders::build(&BuildContext {
        cluster: &completed,
        facts: &facts,
    })?;
    Ok(Desired {
        region,
        clients,
        graph,
    })
}

/// The nodeup configs' assets (hashes from their publishers or `BERTH_ASSETS_BASE_URL`'s
/// mirrors), the cluster CA's certificate and the bootstrap token (stored when `writes`).
async fn node_bootstrap(
    specs: &SpecStore,
    completed: &CompletedCluster,
    writes: bool,
) -> anyhow::Result<NodeBootstrap> {
    let version = completed
        .cluster
        .spec
        .kubernetes_version
        .as_deref()
        .context("the completed spec has no kubernetesVersion")?;
    let mirrors: Vec<String> = std::env::var(BERTH_ASSETS_BASE_URL)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect();
    let locations = berth_model::assets::node_assets(version, DEFAULT_ARCH, &mirrors)
        .with_context(|| format!("invalid `{BERTH_ASSETS_BASE_URL}`"))?;
    let store = specs.store().as_ref();
    let hashes = AssetHashes::new();
    let (assets, certificate, token) = tokio::join!(
        hashes.pin(&locations),
        node_secrets::kubernetes_ca_certificate(store, specs.keys()),
        node_secrets::bootstrap_token(store, specs.keys(), writes),
    );
    Ok(NodeBootstrap {
        assets: assets?,
        kubernetes_ca_certificates: vec![certificate?],
        bootstrap_token: Some(token?),
    })
}

/// The cluster's admin SSH key, if it has one (the first, by fingerprint, if several).
async fn ssh_public_key(specs: &SpecStore) -> anyhow::Result<Option<SshPublicKey>> {
    let prefix = specs.keys().ssh_public_keys_prefix();
    let Some(key) = specs.store().list(&prefix).await?.into_iter().next() else {
        return Ok(None);
    };
    let Some(object) = specs.store().get(&key).await? else {
        return Ok(None);
    };
    Ok(Some(SshPublicKey::parse(
        &String::from_utf8_lossy(&object.bytes),
        &key,
    )?))
}

async fn apply(
    name: &str,
    store: &Arc<dyn ObjectStore>,
    desired: &Desired,
    plan: &engine::Plan,
    concurrency: usize,
) -> anyhow::Result<ExitStatus> {
    let holder = operation_lease::holder("update cluster");
    let mut lease =
        Lease::acquire(store.clone(), name, &holder, operation_lease::LEASE_TTL).await?;
    let options = engine::ApplyOptions {
        concurrency,
        ..engine::ApplyOptions::default()
    };
    let interrupt = options.cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupt.cancel();
        }
    });
    let reporter = progress::ApplyProgress::new(plan);
    let apply = engine::apply(plan, &desired.clients, store, name, &options, &reporter);
    tokio::pin!(apply);
    let mut renew = tokio::time::interval(operation_lease::LEASE_RENEWAL);
    renew.tick().await;
    let report = loop {
        tokio::select! {
            report = &mut apply => break report,
            _ = renew.tick() => lease.renew().await?,
        }
    };
    reporter.finish();
    if report.interrupted == Some(engine::Interruption::AbortHook) {
        // The test hook simulates a crash of the cloud calls (the state a crash leaves in AWS),
        // not of the process: the lease is released so that the next run, which must converge
        // from that state, can start at once instead of waiting out the lease's TTL.
        lease.release().await?;
        printer::note(&report.summary());
        return Ok(ExitStatus::Aborted);
    }
    lease.release().await?;
    printer::note(&report.summary());
    if report.interrupted.is_some() {
        anyhow::bail!("interrupted: run `berth update cluster {name} --yes` again to finish");
    }
    report
        .into_error()
        .with_context(|| format!("update of cluster `{name}` did not finish"))?;
    printer::note(&format!("Cluster `{name}` is up to date with its spec."));
    Ok(ExitStatus::Success)
}
