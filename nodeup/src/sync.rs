//! `nodeup --sync`: the periodic refresh (`nodeup-sync.timer`, every minute, see
//! [`crate::plan::sync`]) of what changes while a node runs:
//!
//! 1. nodeup's block of `/etc/hosts` ([`crate::plan::hosts`]): on the control plane the
//!    etcd members' addresses, from the etcd volumes' attachments ([`crate::etcd_volumes`]),
//!    so a member that came up after this node, or was replaced on a new machine, is
//!    reachable by its name again; on every node of a cluster without DNS the API server's
//!    name at the live control-plane instances;
//! 2. on the control plane, the API's DNS records, when the cluster has them without a load
//!    balancer
//!    ([`crate::api_dns`]): a terminated control-plane instance's address is dropped;
//! 3. on the control plane, the cluster's addons ([`crate::addons`]): a changed addon in the
//!    store is applied.
//!
//! It attaches nothing, writes nothing else and restarts nothing. It does not pin the
//! config's hash as the first run does: the config may have moved on since this instance
//! was launched (a rolling update replaces the instance for that), and the parts a sync
//! reads — cluster name, etcd members, DNS names, where the addons are — are the cluster's,
//! not the instance's.

use berth_model::nodeup_config::{NodeRole, NodeupConfig};

use crate::{
    Error, Options, Result, api_dns, apply, assets::AssetFiles, etcd_volumes, facts, host::Host,
    plan, store::StateStore,
};

/// What a sync run did.
#[derive(Debug)]
pub struct SyncOutcome {
    /// What changed on the host (the hosts block), described.
    pub changed: Vec<String>,
    /// Why the hosts block was left alone, when it was.
    pub hosts_skipped: Option<String>,
    /// What publishing the API's DNS records did, when it ran.
    pub api_dns: Option<api_dns::ApiDnsOutcome>,
    /// What the addon step did, when it ran.
    pub addons: Option<Box<crate::addons::AddonsOutcome>>,
}

/// Runs one sync (see the module docs).
///
/// # Errors
/// [`Error::SyncRole`] off the control plane; otherwise the failing step's error.
pub async fn run(
    options: &Options,
    store: &StateStore,
    config: &NodeupConfig,
    host: &dyn Host,
) -> Result<SyncOutcome> {
    if !plan::sync::needed(config) {
        return Err(Error::SyncRole {
            role: config.role.as_str(),
        });
    }
    let control_plane = config.role == NodeRole::ControlPlane;
    let identity = facts::discover(options.hostname.clone(), options.node_ip)?;
    let mut changed = Vec::new();
    let aws = crate::AwsConfig::default();
    let etcd = if control_plane && crate::aws_allowed(options) {
        crate::find_etcd_volumes(options, config, &aws, false).await?
    } else {
        etcd_volumes::EtcdDiscovery::default()
    };
    let hosts_skipped = if !crate::aws_allowed(options) {
        Some("no AWS region under --root".to_owned())
    } else if let Some(volume) = etcd.volumes.iter().find(|volume| !volume.held) {
        Some(format!(
            "this instance holds no volume of etcd cluster `{}`; run nodeup without --sync to take one",
            volume.cluster
        ))
    } else {
        let members = etcd_volumes::members(&etcd.volumes);
        let api_addresses = crate::api_addresses(options, config, &aws, &identity).await?;
        let inputs = plan::hosts::HostsInputs {
            address: identity.internal_ip,
            etcd_members: &members,
            etcd_peers: &etcd.peers,
            api_addresses: &api_addresses,
        };
        if let Some(task) = plan::hosts::task(config, &inputs)? {
            changed = apply::apply(&[task], host, &AssetFiles::new())
                .await?
                .changed;
        }
        None
    };
    if let Some(reason) = &hosts_skipped {
        tracing::warn!("not refreshing nodeup's block of /etc/hosts: {reason}");
    }
    let api_dns = crate::publish_api_dns(options, config, &aws).await?;
    // The CA keypairs are read only when the addon step will use them.
    let addons = if crate::run_addons(options, config.role) {
        let cas = store.cas(config).await?;
        crate::apply_addons(options, config, store, &cas, &identity.hostname, host).await?
    } else {
        None
    };
    Ok(SyncOutcome {
        changed,
        hosts_skipped,
        api_dns,
        addons,
    })
}
