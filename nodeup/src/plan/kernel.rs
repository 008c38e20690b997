//! The kernel settings container networking needs: `overlay` and `br_netfilter` loaded at
//! boot, IP forwarding and bridged traffic through iptables. systemd applies both files at
//! boot; when either changes, nodeup restarts the systemd service that applies it now.

use std::{collections::BTreeMap, path::PathBuf};

use super::{NodeTask, ServiceActionKind};

/// nodeup's `modules-load.d` file.
pub const MODULES_FILE: &str = "/etc/modules-load.d/berth-kubernetes.conf";
/// nodeup's `sysctl.d` file.
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/99-berth-kubernetes.conf";
/// The modules.
const MODULES: &[&str] = &["overlay", "br_netfilter"];
/// The parameters (`br_netfilter` must be loaded for the bridge ones to exist).
const SYSCTLS: &[(&str, &str)] = &[
    ("net.bridge.bridge-nf-call-ip6tables", "1"),
    ("net.bridge.bridge-nf-call-iptables", "1"),
    ("net.ipv4.ip_forward", "1"),
];

/// Adds the kernel tasks.
pub(crate) fn tasks(tasks: &mut Vec<NodeTask>) {
    tasks.push(NodeTask::KernelModule {
        path: PathBuf::from(MODULES_FILE),
        modules: MODULES.iter().map(|module| (*module).to_owned()).collect(),
    });
    tasks.push(NodeTask::Sysctl {
        path: PathBuf::from(SYSCTL_FILE),
        settings: SYSCTLS
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    });
    tasks.push(NodeTask::service(
        "systemd-modules-load.service",
        ServiceActionKind::Restart,
        &[MODULES_FILE],
    ));
    tasks.push(NodeTask::service(
        "systemd-sysctl.service",
        ServiceActionKind::Restart,
        &[SYSCTL_FILE, MODULES_FILE],
    ));
}

/// The `modules-load.d` text.
#[must_use]
pub fn render_modules(modules: &[String]) -> String {
    let mut text = String::from("# Written by nodeup.\n");
    for module in modules {
        text.push_str(module);
        text.push('\n');
    }
    text
}

/// The `sysctl.d` text.
#[must_use]
pub fn render_sysctls(settings: &BTreeMap<String, String>) -> String {
    let mut text = String::from("# Written by nodeup.\n");
    for (key, value) in settings {
        text.push_str(&format!("{key} = {value}\n"));
    }
    text
}
