//! nodeup's block of `/etc/hosts` ([`crate::hosts_file`]): the names this node resolves
//! without DNS.
//!
//! - On the control plane, every etcd member's name (`etcd-<member>.internal.<cluster>`, see
//!   [`super::etcd::member_dns_name`]): this node's members at its own address, every other
//!   live member at the address of the instance holding its volume
//!   ([`crate::etcd_volumes::EtcdPeer`]).
//! - On clusters without DNS (`apiServerInHosts`), the API server's name
//!   (`api.internal.<cluster>`) at every live control-plane instance's private address
//!   ([`crate::control_plane_instances`]), as kops's gossip did. Go's resolver, which the
//!   kubelet, kube-proxy and the CNI use, returns every address of a name in the hosts file
//!   and tries them in turn.
//!
//! `nodeup --sync` ([`crate::sync`]) rebuilds the same block every minute.

use std::{collections::BTreeMap, net::IpAddr, path::PathBuf};

use berth_model::nodeup_config::{NodeRole, NodeupConfig};

use super::{NodeTask, PlanError, etcd};
use crate::{etcd_volumes::EtcdPeer, hosts_file::HostEntry};

/// The hosts file nodeup keeps its block in.
pub const HOSTS_FILE: &str = "/etc/hosts";

/// What the hosts block is made from.
#[derive(Debug, Clone, Copy)]
pub struct HostsInputs<'a> {
    /// This node's address.
    pub address: IpAddr,
    /// This node's member of each etcd cluster (see [`etcd::member`]).
    pub etcd_members: &'a BTreeMap<String, String>,
    /// The other live etcd members.
    pub etcd_peers: &'a [EtcdPeer],
    /// The live control-plane instances' private addresses (`apiServerInHosts` only).
    pub api_addresses: &'a [IpAddr],
}

/// The hosts block's task, when this node keeps one: a control-plane node with etcd, or
/// any Kubernetes node of a cluster without DNS.
///
/// # Errors
/// [`PlanError`] when this node's etcd member cannot be told ([`etcd::member`]).
pub fn task(
    config: &NodeupConfig,
    inputs: &HostsInputs<'_>,
) -> Result<Option<NodeTask>, PlanError> {
    let etcd = config.role == NodeRole::ControlPlane && !config.etcd_members.is_empty();
    let api = config.api_server_in_hosts && config.role != NodeRole::Bastion;
    if !etcd && !api {
        return Ok(None);
    }
    let mut hosts: BTreeMap<IpAddr, Vec<String>> = BTreeMap::new();
    if etcd {
        for cluster in config.etcd_members.keys() {
            let member = etcd::member(config, inputs.etcd_members, cluster)?;
            hosts
                .entry(inputs.address)
                .or_default()
                .push(etcd::member_dns_name(config, cluster, member));
            for peer in inputs
                .etcd_peers
                .iter()
                .filter(|peer| peer.cluster == *cluster && peer.member != member)
            {
                hosts
                    .entry(peer.address)
                    .or_default()
                    .push(etcd::member_dns_name(config, cluster, &peer.member));
            }
        }
    }
    if api {
        for address in inputs.api_addresses {
            hosts
                .entry(*address)
                .or_default()
                .push(config.api_server.clone());
        }
    }
    Ok(Some(NodeTask::HostsBlock {
        path: PathBuf::from(HOSTS_FILE),
        entries: hosts
            .into_iter()
            .map(|(address, mut names)| {
                names.sort();
                names.dedup();
                HostEntry { address, names }
            })
            .collect(),
    }))
}
