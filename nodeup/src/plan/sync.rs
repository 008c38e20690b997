//! The periodic `nodeup --sync` (`nodeup-sync.timer`, every minute): what changes while a
//! node runs, kept current without replacing it — on the control plane the etcd members'
//! addresses in `/etc/hosts` (a member replaced elsewhere comes back at a new address), the
//! API's DNS records (kops's dns-controller) and the cluster's addons (kops's channels); on
//! every node of a cluster without DNS, the API server's addresses in `/etc/hosts`.
//! See [`crate::sync`] for what a sync run does.

use berth_model::nodeup_config::{NODEUP_INSTALL_DIR, NodeRole, NodeupConfig};

use super::{
    NodeTask, ServiceActionKind, paths,
    systemd::{Section, UnitFile},
};

/// The service a sync run is.
pub const SERVICE: &str = "nodeup-sync.service";
/// The timer that starts it.
pub const TIMER: &str = "nodeup-sync.timer";

/// Whether the node runs the sync timer: every control-plane node, and every node of a
/// cluster without DNS (its hosts block names the API server).
#[must_use]
pub fn needed(config: &NodeupConfig) -> bool {
    match config.role {
        NodeRole::ControlPlane => true,
        NodeRole::Node => config.api_server_in_hosts,
        NodeRole::Bastion => false,
    }
}

/// Adds the sync service, its timer, and enabling and starting the timer.
pub(crate) fn tasks(config: &NodeupConfig, tasks: &mut Vec<NodeTask>) {
    let exec = format!(
        "{NODEUP_INSTALL_DIR}/nodeup --conf={} --cluster-name={} --sync",
        config.location(),
        config.cluster_name
    );
    let service = UnitFile::new(vec![
        Section::new("Unit")
            .with(
                "Description",
                "nodeup sync: keeps /etc/hosts, the API's DNS records and the addons current",
            )
            .with("After", "network-online.target")
            .with("Wants", "network-online.target"),
        Section::new("Service")
            .with("Type", "oneshot")
            .with("ExecStart", exec)
            .with("TimeoutStartSec", "10min"),
    ]);
    let timer = UnitFile::new(vec![
        Section::new("Unit").with("Description", "Runs nodeup --sync every minute"),
        Section::new("Timer")
            .with("OnBootSec", "1min")
            .with("OnUnitInactiveSec", "1min")
            .with("RandomizedDelaySec", "10s"),
        Section::new("Install").with("WantedBy", "timers.target"),
    ]);
    tasks.push(NodeTask::SystemdUnit {
        name: SERVICE.to_owned(),
        contents: service.to_string(),
    });
    tasks.push(NodeTask::SystemdUnit {
        name: TIMER.to_owned(),
        contents: timer.to_string(),
    });
    let timer_path = paths::unit_path(TIMER);
    let timer_path = timer_path.to_string_lossy();
    tasks.push(NodeTask::service(
        TIMER,
        ServiceActionKind::Enable,
        &[&timer_path],
    ));
    tasks.push(NodeTask::service(
        TIMER,
        ServiceActionKind::Restart,
        &[&timer_path],
    ));
    tasks.push(NodeTask::service(TIMER, ServiceActionKind::Start, &[]));
}
