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
//! 2. learns the machine's name and address ([`facts`]); on a control-plane node, attaches
//!    this zone's etcd volumes, learns its members from their tags and its peers' addresses
//!    from their attachments ([`etcd_volumes`]), and waits for the volumes' devices
//!    ([`block_device`]); gathers key material
//!    ([`pki`]): the cluster CA certificate everywhere; on the control plane, CA keys from
//!    `pki/private` to issue its certificates. Workers never receive a CA private key;
//! 3. plans ([`plan::plan`], pure) the closed set of [`NodeTask`]s;
//! 4. with `--dry-run`, prints the plan on stdout and stops, changing nothing;
//! 5. downloads the hash-pinned assets in parallel ([`assets`]);
//! 6. applies the plan ([`apply`]) through a [`Host`] (a root prefix and a
//!    [`ServiceManager`]): atomic writes, skipped when unchanged, `daemon-reload` only after
//!    a unit changed, restarts only of units whose inputs changed;
//! 7. writes `<root>/var/lib/nodeup/status.json` ([`status::Status`]);
//! 8. on a control-plane node of a cluster whose API is reached by DNS without a load
//!    balancer, points the `api`/`api.internal` records at the live control-plane
//!    instances ([`api_dns`], kops's dns-controller);
//! 9. on a control-plane node, applies the cluster's addons once the local API server is
//!    ready and any of them changed ([`addons`]). Skipped with `--skip-addons`, and under a
//!    `--root` other than `/` unless `--api-server` names the API server to use.
//!
//! `nodeup --sync` ([`sync`], run every minute by `nodeup-sync.timer`) does only what
//! changes while a node runs: the hosts block, the API's DNS records, the addons.
//!
//! Files it owns on a node: `/etc/kubernetes/**`, `/var/lib/kubelet/{config.yaml,
//! kubeconfig, bootstrap-kubeconfig}`, `/etc/containerd/config.toml`, the `kubelet` and
//! `containerd` units, `/etc/sysctl.d/99-berth-kubernetes.conf`,
//! `/etc/modules-load.d/berth-kubernetes.conf`, installed binaries, `/var/lib/nodeup`,
//! its block of `/etc/hosts`, the `nodeup-sync` service and timer, and on the control plane
//! the etcd volumes (formatted only when blank, mounted at `/mnt/etcd-<cluster>` by
//! `mnt-etcd\x2d<cluster>.mount`).
//! It records the addons it applied in `/var/lib/nodeup/addons-applied.json`.
//!
//! Exit codes: 0 when the node is configured (a second run reports 0 changes), 1 on any
//! error, with the error chain on stderr. Logs go to stderr; stdout carries only the
//! `--dry-run` plan and the one-line summary.

pub mod addons;
pub mod api_dns;
pub mod apply;
pub mod assets;
pub mod atomic;
pub mod block_device;
pub mod control_plane_instances;
pub mod error;
pub mod etcd_volumes;
pub mod facts;
pub mod host;
pub mod hosts_file;
pub mod pki;
pub mod plan;
pub mod status;
pub mod store;
pub mod sync;
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
    /// Only refresh what changes while the node runs ([`sync`]), as `nodeup-sync.timer`
    /// does every minute on the control plane.
    pub sync: bool,
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
        /// What publishing the API's DNS records did; `None` when it did not run (no
        /// `apiDns` in the config, not a control-plane node, or no AWS under `--root`).
        api_dns: Option<api_dns::ApiDnsOutcome>,
        /// What the addon step did; `None` when it did not run (not a control-plane node,
        /// `--skip-addons`, or a `--root` without `--api-server`).
        addons: Option<Box<addons::AddonsOutcome>>,
    },
    /// `--sync`: what the periodic refresh did.
    Synced(sync::SyncOutcome),
}

/// Runs nodeup.
///
/// # Errors
/// [`Error`] naming the stage and object that failed.
pub async fn run(options: &Options) -> Result<Outcome> {
    let (store, config, config_sha256) = read_config(options).await?;
    let host = local_host(options);
    if options.sync {
        return sync::run(options, &store, &config, &host)
            .await
            .map(Outcome::Synced);
    }
    let identity = facts::discover(options.hostname.clone(), options.node_ip)?;
    let aws = AwsConfig::default();
    let etcd = find_etcd_volumes(options, &config, &aws, !options.dry_run).await?;
    let etcd_volumes = etcd.volumes;
    let etcd_members = etcd_volumes::members(&etcd_volumes);
    let etcd_devices = etcd_devices(options, &host, &etcd_volumes).await?;
    let api_addresses = api_addresses(options, &config, &aws, &identity).await?;
    let cas = store.cas(&config).await?;
    let requests = pki::requests(&config, &identity, &etcd_members)?;
    let node_pki = pki::prepare(cas, requests, &host, OffsetDateTime::now_utc())?;
    let facts = HostFacts {
        identity,
        pki: node_pki,
        etcd_members,
        etcd_devices,
        etcd_peers: etcd.peers,
        api_addresses,
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
                let from = volume
                    .taken_from
                    .as_ref()
                    .map(|holder| format!(", detached from {holder} first"))
                    .unwrap_or_default();
                format!(
                    "attached the etcd volume {} (etcd {} member {}) as {}{from}",
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
    let api_dns = publish_api_dns(options, &config, &aws).await?;
    let addons = apply_addons(
        options,
        &config,
        &store,
        &facts.pki.cas,
        &facts.identity.hostname,
        &host,
    )
    .await?;
    Ok(Outcome::Applied {
        status,
        api_dns,
        addons,
    })
}

/// Reads and checks the config: its pinned hash (when given), its schema, its cluster.
async fn read_config(options: &Options) -> Result<(StateStore, NodeupConfig, String)> {
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
    Ok((store, config, config_sha256))
}

/// The machine under `--root` with the chosen service manager.
fn local_host(options: &Options) -> LocalHost {
    LocalHost::new(
        options.root.clone(),
        match options.service_manager {
            ServiceManagerKind::Systemd => Box::new(Systemd),
            ServiceManagerKind::Recording => Box::new(RecordingServiceManager::with_log(
                options.root.join(RECORDING_LOG.trim_start_matches('/')),
            )),
        },
    )
}

/// On a control-plane node (unless `--skip-addons`, or under `--root` without
/// `--api-server`), applies the cluster's changed addons ([`addons`]).
pub(crate) async fn apply_addons(
    options: &Options,
    config: &NodeupConfig,
    store: &StateStore,
    cas: &std::collections::BTreeMap<String, pki::CaKeypair>,
    hostname: &str,
    host: &dyn Host,
) -> Result<Option<Box<addons::AddonsOutcome>>> {
    if !run_addons(options, config.role) {
        return Ok(None);
    }
    let ca = cas
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
        hostname.to_owned(),
        host.resolve(paths::ADDONS_APPLIED.as_ref()),
    );
    let outcome = addons::run(store, ca, &addon_options)
        .await
        .map_err(|error| Error::Addons(Box::new(error)))?;
    tracing::info!(%outcome, "addons");
    Ok(Some(Box::new(outcome)))
}

/// Whether this run may call AWS: on a node (`--root /`), or under another root when the
/// environment names a region (tests against an emulator).
pub(crate) fn aws_allowed(options: &Options) -> bool {
    options.root == Path::new("/")
        || ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|value| !value.is_empty()))
}

/// The AWS SDK's shared configuration (credential chain, region, endpoint) from the
/// environment or the instance role: loaded on first use, once per run however many steps
/// call AWS.
#[derive(Debug, Default)]
pub(crate) struct AwsConfig(tokio::sync::OnceCell<aws_config::SdkConfig>);

impl AwsConfig {
    async fn get(&self) -> &aws_config::SdkConfig {
        self.0
            .get_or_init(|| aws_config::defaults(aws_config::BehaviorVersion::latest()).load())
            .await
    }
}

/// On a control-plane node of a cluster whose API has DNS records but no load balancer,
/// points them at the live control-plane instances ([`api_dns`]).
pub(crate) async fn publish_api_dns(
    options: &Options,
    config: &NodeupConfig,
    aws: &AwsConfig,
) -> Result<Option<api_dns::ApiDnsOutcome>> {
    let Some(dns) = config.api_dns.as_ref() else {
        return Ok(None);
    };
    if config.role != NodeRole::ControlPlane || options.dry_run || !aws_allowed(options) {
        return Ok(None);
    }
    let sdk = aws.get().await;
    let outcome = api_dns::publish(
        &aws_sdk_ec2::Client::new(sdk),
        &aws_sdk_route53::Client::new(sdk),
        &config.cluster_name,
        dns,
    )
    .await
    .map_err(|error| Error::ApiDns(Box::new(error)))?;
    tracing::info!(%outcome, "api dns");
    Ok(Some(outcome))
}

/// Finds (and when `attach`, attaches) this control-plane node's etcd volumes and
/// its peers ([`etcd_volumes`]). Makes no AWS call on other nodes, nor under a `--root`
/// other than `/` without `AWS_REGION`/`AWS_DEFAULT_REGION` (tests).
pub(crate) async fn find_etcd_volumes(
    options: &Options,
    config: &NodeupConfig,
    aws: &AwsConfig,
    attach: bool,
) -> Result<etcd_volumes::EtcdDiscovery> {
    if !etcd_volumes::needed(config) {
        return Ok(etcd_volumes::EtcdDiscovery::default());
    }
    if !aws_allowed(options) {
        tracing::info!("not looking up etcd volumes: --root is set and no AWS region");
        return Ok(etcd_volumes::EtcdDiscovery::default());
    }
    let instance = etcd_volumes::instance(options.instance_id.clone(), options.zone.clone())
        .await
        .map_err(Box::new)?;
    let ec2 = aws_sdk_ec2::Client::new(aws.get().await);
    Ok(etcd_volumes::discover(&ec2, config, &instance, attach)
        .await
        .map_err(Box::new)?)
}

/// On a cluster without DNS, the addresses the API server's name maps to in `/etc/hosts`:
/// the live control-plane instances' private addresses, and a control-plane node's own
/// ([`control_plane_instances`]). Without AWS (a `--root` run without a region) only a
/// control-plane node's own.
pub(crate) async fn api_addresses(
    options: &Options,
    config: &NodeupConfig,
    aws: &AwsConfig,
    identity: &facts::Identity,
) -> Result<Vec<IpAddr>> {
    if !config.api_server_in_hosts || config.role == NodeRole::Bastion {
        return Ok(Vec::new());
    }
    let mut addresses: Vec<IpAddr> = Vec::new();
    if config.role == NodeRole::ControlPlane {
        addresses.push(identity.internal_ip);
    }
    if aws_allowed(options) {
        let ec2 = aws_sdk_ec2::Client::new(aws.get().await);
        let instances = control_plane_instances::list(&ec2, &config.cluster_name).await?;
        addresses.extend(
            instances
                .iter()
                .filter_map(|instance| instance.private.map(IpAddr::V4)),
        );
    } else {
        tracing::info!("not listing the control-plane instances: --root is set and no AWS region");
    }
    addresses.sort();
    addresses.dedup();
    Ok(addresses)
}

/// Where each attached etcd volume shows up on this machine ([`block_device::wait_for`]);
/// with `--dry-run` (nothing attached) its preferred name, without waiting.
async fn etcd_devices(
    options: &Options,
    host: &dyn Host,
    volumes: &[etcd_volumes::EtcdVolume],
) -> Result<std::collections::BTreeMap<String, PathBuf>> {
    let mut devices = std::collections::BTreeMap::new();
    for volume in volumes {
        let device = if options.dry_run {
            block_device::candidates(&volume.volume_id, &volume.device).swap_remove(0)
        } else {
            block_device::wait_for(
                host,
                &volume.volume_id,
                &volume.device,
                block_device::DEVICE_TIMEOUT,
            )
            .await?
        };
        devices.insert(volume.cluster.clone(), device);
    }
    Ok(devices)
}

/// Whether this run applies the addons.
pub(crate) fn run_addons(options: &Options, role: NodeRole) -> bool {
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
