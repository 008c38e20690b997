//! The control plane's etcd clusters (`main` and `events`), one member per control-plane
//! node, each as a static pod with TLS for clients (the `etcd-clients-ca`) and peers (the
//! cluster's own `etcd-peers-ca-<cluster>`).
//!
//! Ports follow kops (the nodes' security group leaves exactly these closed): `main`
//! serves clients on 4001 and peers on 2380, `events` on 4002 and 2381. Data lives on the
//! cluster's EBS volume, found by its `k8s.io/etcd/<cluster>` tag ([`crate::etcd_volumes`],
//! which also names this node's member), formatted when blank and mounted at
//! `/mnt/etcd-<cluster>` by a systemd mount unit that the kubelet requires, so no etcd pod
//! starts on the root disk.
//!
//! Members know each other by DNS name (`etcd-<member>.internal.<cluster>`, see
//! [`member_dns_name`]), resolved through nodeup's block of `/etc/hosts` (this node's
//! members and every live peer's, see [`super::hosts`]), so a member replaced on a new
//! machine keeps its peer URL and its data. The pods mount the host's `/etc/hosts` itself
//! (the kubelet would give a host-network pod a copy made when it starts, blind to the
//! members that come later), and nodeup rewrites that file in place.

use std::{collections::BTreeMap, path::PathBuf};

use berth_model::nodeup_config::{NodeupConfig, render_yaml};

use super::{
    NodeTask, PlanError, ServiceActionKind, paths,
    pod::{HostMount, StaticPod, command},
    rendered,
    systemd::{Section, UnitFile},
};
use crate::{block_device, facts::HostFacts, pki};

/// A cluster's client and peer ports.
///
/// # Errors
/// [`PlanError::InvalidField`] for a cluster other than `main` or `events`.
pub fn ports(cluster: &str) -> Result<(u16, u16), PlanError> {
    match cluster {
        "main" => Ok((4001, 2380)),
        "events" => Ok((4002, 2381)),
        other => Err(PlanError::InvalidField {
            field: "etcdMembers",
            problem: format!("etcd cluster `{other}` is neither `main` nor `events`"),
        }),
    }
}

/// This node's member of `cluster`: the one `known` names (from the etcd volume this node
/// took, see [`crate::etcd_volumes`]), else the cluster's only member.
///
/// # Errors
/// [`PlanError::ForeignEtcdMember`] when `known` names a member the config does not list;
/// [`PlanError::UnknownEtcdMember`] when it names none and the cluster has several.
pub fn member<'a>(
    config: &'a NodeupConfig,
    known: &BTreeMap<String, String>,
    cluster: &str,
) -> Result<&'a str, PlanError> {
    let members = config
        .etcd_members
        .get(cluster)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if let Some(known) = known.get(cluster) {
        return members
            .iter()
            .find(|member| *member == known)
            .map(String::as_str)
            .ok_or_else(|| PlanError::ForeignEtcdMember {
                cluster: cluster.to_owned(),
                member: known.clone(),
                listed: members.join(", "),
            });
    }
    match members {
        [member] => Ok(member),
        _ => Err(PlanError::UnknownEtcdMember {
            cluster: cluster.to_owned(),
            members: members.len(),
        }),
    }
}

/// A member's DNS name (kops's `etcd-<member>.internal.<cluster>`, with the etcd cluster
/// in it for clusters other than `main`).
#[must_use]
pub fn member_dns_name(config: &NodeupConfig, cluster: &str, member: &str) -> String {
    let prefix = if cluster == "main" {
        format!("etcd-{member}")
    } else {
        format!("etcd-{cluster}-{member}")
    };
    format!("{prefix}.internal.{}", config.cluster_name)
}

/// The directory an etcd cluster's files live in.
#[must_use]
pub fn pki_dir(cluster: &str) -> String {
    format!("{}/etcd-{cluster}", paths::PKI_DIR)
}

/// The etcd client URL the API server uses for `cluster`.
///
/// # Errors
/// [`PlanError::InvalidField`] for an unknown cluster.
pub fn local_client_url(cluster: &str) -> Result<String, PlanError> {
    let (client, _) = ports(cluster)?;
    Ok(format!("https://127.0.0.1:{client}"))
}

/// Adds each etcd cluster's volume, CA certificates and static pod, and the members' names
/// to the hosts file.
pub(crate) fn tasks(
    config: &NodeupConfig,
    facts: &HostFacts,
    version: &str,
    tasks: &mut Vec<NodeTask>,
) -> Result<(), PlanError> {
    let ip = facts.identity.internal_ip;
    for cluster in config.etcd_members.keys() {
        let (client_port, peer_port) = ports(cluster)?;
        let member = member(config, &facts.etcd_members, cluster)?;
        let mount_point = format!("/mnt/etcd-{cluster}");
        volume_tasks(cluster, &mount_point, facts, tasks);
        let peer_url = |member: &str| {
            format!(
                "https://{}:{peer_port}",
                member_dns_name(config, cluster, member)
            )
        };
        let initial_cluster = config.etcd_members[cluster]
            .iter()
            .map(|member| format!("etcd-{cluster}-{member}={}", peer_url(member)))
            .collect::<Vec<_>>()
            .join(",");
        let dir = pki_dir(cluster);
        tasks.push(NodeTask::directory(&dir, 0o755));
        tasks.push(NodeTask::file(
            &format!("{dir}/ca-clients.crt"),
            facts.pki.certificate(pki::ETCD_CLIENTS_CA)?.to_owned(),
            0o644,
        ));
        tasks.push(NodeTask::file(
            &format!("{dir}/ca-peers.crt"),
            facts
                .pki
                .certificate(&pki::etcd_peers_ca(cluster))?
                .to_owned(),
            0o644,
        ));
        let name = format!("etcd-{cluster}");
        let flags = [
            ("name", format!("etcd-{cluster}-{member}")),
            ("data-dir", format!("{mount_point}/data")),
            (
                "listen-client-urls",
                format!("https://0.0.0.0:{client_port}"),
            ),
            (
                "advertise-client-urls",
                format!("https://{ip}:{client_port}"),
            ),
            ("listen-peer-urls", format!("https://0.0.0.0:{peer_port}")),
            ("initial-advertise-peer-urls", peer_url(member)),
            ("initial-cluster", initial_cluster),
            ("initial-cluster-state", "new".to_owned()),
            ("initial-cluster-token", format!("etcd-cluster-{cluster}")),
            ("client-cert-auth", "true".to_owned()),
            ("trusted-ca-file", format!("{dir}/ca-clients.crt")),
            ("cert-file", format!("{dir}/server.crt")),
            ("key-file", format!("{dir}/server.key")),
            ("peer-client-cert-auth", "true".to_owned()),
            ("peer-trusted-ca-file", format!("{dir}/ca-peers.crt")),
            ("peer-cert-file", format!("{dir}/peer.crt")),
            ("peer-key-file", format!("{dir}/peer.key")),
        ];
        let pod = StaticPod::new(
            &name,
            format!("registry.k8s.io/etcd:{version}-0"),
            command("etcd", &flags),
            "200m",
            &[HostMount {
                name: "pki",
                path: paths::PKI_DIR,
                read_only: true,
            }],
            vec![("data".to_owned(), mount_point.clone())],
        )
        // The members' names resolve through nodeup's block of the host's /etc/hosts, which
        // changes while etcd runs (a member replaced on a new machine).
        .with_host_file("hosts", super::hosts::HOSTS_FILE);
        let path = format!("{}/{name}.yaml", paths::MANIFESTS_DIR);
        let text = rendered(&path, render_yaml(&pod))?;
        tasks.push(NodeTask::file(&path, text, 0o600));
    }
    Ok(())
}

/// The volume of `cluster`: formatted when blank and mounted by a unit the kubelet requires
/// when this run found its device; else the planned-but-skipped [`NodeTask::EtcdVolume`].
fn volume_tasks(cluster: &str, mount_point: &str, facts: &HostFacts, tasks: &mut Vec<NodeTask>) {
    // 0755 like the root of the ext4 filesystem mounted over it, so the mode is the same
    // before and after mounting (etcd keeps its data in a 0700 `data` directory).
    tasks.push(NodeTask::directory(mount_point, 0o755));
    let Some(device) = facts.etcd_devices.get(cluster) else {
        tasks.push(NodeTask::EtcdVolume {
            cluster: cluster.to_owned(),
            tag: format!("k8s.io/etcd/{cluster}"),
            mount_point: PathBuf::from(mount_point),
        });
        return;
    };
    let label = format!("etcd-{cluster}");
    tasks.push(NodeTask::Filesystem {
        device: device.clone(),
        label: label.clone(),
    });
    let unit_name = block_device::mount_unit_name(mount_point.as_ref());
    let unit = UnitFile::new(vec![
        Section::new("Unit")
            .with("Description", format!("etcd `{cluster}` data volume"))
            .with("Before", "kubelet.service"),
        Section::new("Mount")
            .with("What", device.display().to_string())
            .with("Where", mount_point)
            .with("Type", block_device::FILESYSTEM)
            .with("Options", "defaults,noatime"),
        Section::new("Install").with("RequiredBy", "kubelet.service"),
    ]);
    tasks.push(NodeTask::SystemdUnit {
        name: unit_name.clone(),
        contents: unit.to_string(),
    });
    let unit_path = paths::unit_path(&unit_name);
    let unit_path = unit_path.to_string_lossy();
    tasks.push(NodeTask::service(
        &unit_name,
        ServiceActionKind::Enable,
        &[&unit_path],
    ));
    tasks.push(NodeTask::service(&unit_name, ServiceActionKind::Start, &[]));
}
