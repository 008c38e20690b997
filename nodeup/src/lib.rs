//! nodeup: the agent that turns a launched machine into a Kubernetes node.
//!
//! # Process contract
//!
//! The launch template's bootstrap script runs
//! `nodeup --conf=<state store>/<cluster>/igconfig/<role>/<group>/nodeupconfig.yaml
//! --cluster-name=<cluster>` (with `NODEUP_CONFIG_HASH` and `AWS_REGION` in the
//! environment). nodeup then:
//!
//! 1. reads its [`NodeupConfig`] from the store ([`store`]), refusing an unknown
//!    `apiVersion`/`kind`, another cluster's config, or one whose sha256 differs from the
//!    pinned `NODEUP_CONFIG_HASH`;
//! 2. learns the machine's name and address ([`facts`]); on a control-plane node whose etcd
//!    clusters have several members, attaches this zone's etcd volumes and learns its
//!    members from their tags ([`etcd_volumes`]); gathers key material
//!    ([`pki`]): the cluster CA certificate everywhere; on the control plane, CA keys from
//!    `pki/private` to issue its certificates. Workers never receive a CA private key;
//! 3. plans ([`plan::plan`], pure) the closed set of [`NodeTask`]s;
//! 4. with `--dry-run`, prints the plan on stdout and stops, changing nothing;
//! 5. downloads the hash-pinned assets in parallel ([`assets`]);
//! 6. applies the plan ([`apply`]) through a [`Host`] (a root prefix and a
//!    [`ServiceManager`]): atomic writes, skipped when unchanged, `daemon-reload` only after
//!    a unit changed, restarts only of units whose inputs changed;
//! 7. writes `<root>/var/lib/nodeup/status.json` ([`status::Status`]);
//! 8. on a control-plane node, applies the cluster's addons once the local API server is
//!    ready and any of them changed ([`addons`]). Skipped with `--skip-addons`, and under a
//!    `--root` other than `/` unless `--api-server` names the API server to use.
//!
//! Files it owns on a node: `/etc/kubernetes/**`, `/var/lib/kubelet/{config.yaml,
//! kubeconfig, bootstrap-kubeconfig}`, `/etc/containerd/config.toml`, the `kubelet` and
//! `containerd` units, `/etc/sysctl.d/99-berth-kubernetes.conf`,
//! `/etc/modules-load.d/berth-kubernetes.conf`, installed binaries, and `/var/lib/nodeup`.
//! It attaches etcd volumes but does not format or mount them yet (planned, reported as
//! skipped), nor publish DNS records.
//! It records the addons it applied in `/var/lib/nodeup/addons-applied.json`.
//!
//! Exit codes: 0 when the node is configured (a second run reports 0 changes), 1 on any
//! error, with the error chain on stderr. Logs go to stderr; stdout carries only the
//! `--dry-run` plan and the one-line summary.

pub mod addons;
pub mod apply;
pub mod assets;
pub mod atomic;
pub mod error;
pub mod etcd_volumes;
pub mod facts;
pub mod host;
pub mod pki;
pub mod plan;
pub mod status;
pub mod store;
pub mod testing;

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
};

use berth_model::nodeup_config::{NodeRole, NodeupConfig};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use error::{Error, Result};
pub use facts::HostFacts;
pub use host::{Host, LocalHost, ServiceManager, Systemd};
pub use plan::{NodeTask, plan};

use crate::{
    assets::{AssetCache, AssetFiles},
    plan::{Contents, paths},
    status::Status,
    store::{ConfigLocation, StateStore},
    testing::{RECORDING_LOG, RecordingServiceManager},
};

/// Which service manager a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceManagerKind {
    /// systemd through `systemctl`.
    #[default]
    Systemd,
    /// Records calls to `<root>/var/lib/nodeup/service-manager.log` and performs none.
    Recording,
}

/// A run's settings (the command line, resolved).
#[derive(Debug, Clone)]
pub struct Options {
    /// The config's location in the store.
    pub conf: String,
    /// The cluster's name.
    pub cluster_name: String,
    /// The prefix every node path is placed under.
    pub root: PathBuf,
    /// The asset cache (default `<root>/var/cache/nodeup`).
    pub cache_dir: Option<PathBuf>,
    /// Print the plan and change nothing.
    pub dry_run: bool,
    /// The config's expected sha256, when the launch pinned one.
    pub config_hash: Option<String>,
    /// The node name, instead of the kernel's hostname.
    pub hostname: Option<String>,
    /// The node's address, instead of the discovered one.
    pub node_ip: Option<IpAddr>,
    /// This EC2 instance's id, instead of asking the instance metadata service.
    pub instance_id: Option<String>,
    /// This instance's availability zone, instead of asking the instance metadata service.
    pub zone: Option<String>,
    /// The service manager.
    pub service_manager: ServiceManagerKind,
    /// Do not apply the addons on a control-plane node.
    pub skip_addons: bool,
    /// The API server the addon step uses, instead of the local one (also makes the step
    /// run under a `--root`).
    pub api_server: Option<String>,
}

/// What a run produced.
#[derive(Debug)]
pub enum Outcome {
    /// `--dry-run`: the plan, not applied.
    Planned(Vec<NodeTask>),
    /// The plan was applied.
    Applied {
        /// The status written.
        status: Status,
        /// What the addon step did; `None` when it did not run (not a control-plane node,
        /// `--skip-addons`, or a `--root` without `--api-server`).
        addons: Option<Box<addons::AddonsOutcome>>,
    },
}

/// Runs nodeup.
///
/// # Errors
/// [`Error`] naming the stage and object that failed.
pub async fn run(options: &Options) -> Result<Outcome> {
    let location = ConfigLocation::parse(&options.conf, &options.cluster_name)?;
    let store = StateStore::open(location).await?;
    let text = store.config_text().await?;
    let config_sha256 = hex::encode(Sha256::digest(text.as_bytes()));
    if let Some(expected) = options
        .config_hash
        .as_deref()
        .filter(|hash| !hash.is_empty())
        && !expected.eq_ignore_ascii_case(&config_sha256)
    {
        return Err(Error::ConfigHashMismatch {
            expected: expected.to_owned(),
            actual: config_sha256,
        });
    }
    let config = NodeupConfig::from_yaml(&text).map_err(|source| Error::Config {
        conf: options.conf.clone(),
        source,
    })?;
    if config.cluster_name != options.cluster_name {
        return Err(Error::WrongCluster {
            expected: options.cluster_name.clone(),
            found: config.cluster_name,
        });
    }
    tracing::info!(instance_group = %config.instance_group, role = config.role.as_str(), "read the nodeup config");

    let host = LocalHost::new(
        options.root.clone(),
        match options.service_manager {
            ServiceManagerKind::Systemd => Box::new(Systemd),
            ServiceManagerKind::Recording => Box::new(RecordingServiceManager::with_log(
                options.root.join(RECORDING_LOG.trim_start_matches('/')),
            )),
        },
    );
    let identity = facts::discover(options.hostname.clone(), options.node_ip)?;
    let etcd_volumes = find_etcd_volumes(options, &config).await?;
    let etcd_members = etcd_volumes::members(&etcd_volumes);
    let cas = store.cas(&config).await?;
    let requests = pki::requests(&config, &identity, &etcd_members)?;
    let node_pki = pki::prepare(cas, requests, &host, OffsetDateTime::now_utc())?;
    let facts = HostFacts {
        identity,
        pki: node_pki,
        etcd_members,
    };
    let tasks = plan(&config, &facts)?;
    if options.dry_run {
        return Ok(Outcome::Planned(tasks));
    }

    let cache_dir = options
        .cache_dir
        .clone()
        .unwrap_or_else(|| host.resolve(paths::DEFAULT_CACHE_DIR.as_ref()));
    let assets = planned_assets(&tasks);
    let files: AssetFiles = AssetCache::new(cache_dir).fetch_all(&assets).await?;
    let mut report = apply::apply(&tasks, &host, &files).await?;
    report.changed.splice(
        0..0,
        etcd_volumes
            .iter()
            .filter(|volume| volume.attached_now)
            .map(|volume| {
                format!(
                    "attached the etcd volume {} (etcd {} member {}) as {}",
                    volume.volume_id, volume.cluster, volume.member, volume.device
                )
            }),
    );
    let status = Status {
        nodeup_version: env!("CARGO_PKG_VERSION"),
        cluster_name: config.cluster_name.clone(),
        instance_group: config.instance_group.clone(),
        role: config.role.as_str(),
        config_sha256,
        tasks: tasks.len(),
        changes: report.changed.len(),
        report,
    };
    let mut text = serde_json::to_string_pretty(&status).unwrap_or_default();
    text.push('\n');
    atomic::ensure_file(
        &host.resolve(paths::STATUS_FILE.as_ref()),
        text.as_bytes(),
        0o644,
    )?;
    let addons = if run_addons(options, config.role) {
        let ca = facts
            .pki
            .cas
            .get(pki::KUBERNETES_CA)
            .ok_or(pki::PkiError::MissingCa {
                name: addons::CLIENT_COMMON_NAME.to_owned(),
                ca: pki::KUBERNETES_CA.to_owned(),
            })?;
        let addon_options = addons::AddonsOptions::new(
            options
                .api_server
                .clone()
                .unwrap_or_else(addons::default_api_server),
            facts.identity.hostname.clone(),
            host.resolve(paths::ADDONS_APPLIED.as_ref()),
        );
        let outcome = addons::run(&store, ca, &addon_options)
            .await
            .map_err(|error| Error::Addons(Box::new(error)))?;
        tracing::info!(%outcome, "addons");
        Some(Box::new(outcome))
    } else {
        None
    };
    Ok(Outcome::Applied { status, addons })
}

/// Finds (and, unless `--dry-run`, attaches) this control-plane node's etcd volumes when an
/// etcd cluster has several members ([`etcd_volumes`]). Makes no AWS call otherwise, nor
/// under a `--root` other than `/` without `AWS_REGION`/`AWS_DEFAULT_REGION` (tests).
async fn find_etcd_volumes(
    options: &Options,
    config: &NodeupConfig,
) -> Result<Vec<etcd_volumes::EtcdVolume>> {
    if !etcd_volumes::needed(config) {
        return Ok(Vec::new());
    }
    let region_set = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.is_empty()));
    if options.root != Path::new("/") && !region_set {
        tracing::info!("not looking up etcd volumes: --root is set and no AWS region");
        return Ok(Vec::new());
    }
    let instance = etcd_volumes::instance(options.instance_id.clone(), options.zone.clone())
        .await
        .map_err(Box::new)?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    Ok(
        etcd_volumes::find_and_attach(&ec2, config, &instance, !options.dry_run)
            .await
            .map_err(Box::new)?,
    )
}

/// Whether this run applies the addons.
fn run_addons(options: &Options, role: NodeRole) -> bool {
    if role != NodeRole::ControlPlane || options.skip_addons {
        return false;
    }
    if options.root != Path::new("/") && options.api_server.is_none() {
        tracing::info!(
            "not applying addons: --root is set (pass --api-server to apply them to a cluster)"
        );
        return false;
    }
    true
}

/// The assets the plan installs (each once).
fn planned_assets(tasks: &[NodeTask]) -> Vec<berth_model::nodeup_config::Asset> {
    let mut assets: Vec<berth_model::nodeup_config::Asset> = Vec::new();
    for task in tasks {
        let asset = match task {
            NodeTask::Archive { asset, .. }
            | NodeTask::File {
                contents: Contents::Asset(asset),
                ..
            } => asset,
            _ => continue,
        };
        if !assets.iter().any(|known| known.sha256 == asset.sha256) {
            assets.push(asset.clone());
        }
    }
    assets
}
