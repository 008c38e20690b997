//! containerd: its configuration (a serde struct rendered as TOML, config format version 2
//! as read by containerd 1.7) and its systemd unit.
//!
//! The CRI plugin uses runc with the systemd cgroup driver (matching the kubelet's
//! `cgroupDriver`), CNI from `/opt/cni/bin` and `/etc/cni/net.d`, and the pause image of
//! the cluster's Kubernetes minor version.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{MinorVersion, NodeTask, PlanError, ServiceActionKind, paths, rendered, systemd};

/// containerd's unit.
pub const UNIT: &str = "containerd.service";

/// The CRI plugin's id in the `[plugins]` table.
pub const CRI_PLUGIN: &str = "io.containerd.grpc.v1.cri";

/// `/etc/containerd/config.toml`.
#[derive(Debug, Serialize)]
pub struct ContainerdConfig {
    /// The config format version.
    pub version: u32,
    /// Plugin settings by plugin id. A map, not a struct field: the toml serializer leaves
    /// a struct field's dotted name unquoted in table headers, which would nest it.
    pub plugins: BTreeMap<&'static str, CriPlugin>,
}

/// The CRI plugin's settings.
#[derive(Debug, Serialize)]
pub struct CriPlugin {
    /// The pod sandbox image.
    pub sandbox_image: String,
    /// Runtimes.
    pub containerd: CriContainerd,
    /// CNI directories.
    pub cni: CriCni,
}

/// The CRI plugin's runtime settings.
#[derive(Debug, Serialize)]
pub struct CriContainerd {
    /// The runtime pods use unless they ask for another.
    pub default_runtime_name: String,
    /// Runtimes by name.
    pub runtimes: Runtimes,
}

/// The runtimes table.
#[derive(Debug, Serialize)]
pub struct Runtimes {
    /// runc.
    pub runc: Runtime,
}

/// One runtime.
#[derive(Debug, Serialize)]
pub struct Runtime {
    /// The shim.
    pub runtime_type: String,
    /// Shim options.
    pub options: RuncOptions,
}

/// runc's options.
#[derive(Debug, Serialize)]
pub struct RuncOptions {
    /// Use the systemd cgroup driver.
    #[serde(rename = "SystemdCgroup")]
    pub systemd_cgroup: bool,
}

/// The CNI settings.
#[derive(Debug, Serialize)]
pub struct CriCni {
    /// Plugin binaries.
    pub bin_dir: String,
    /// Network configurations.
    pub conf_dir: String,
}

/// The pause image of a Kubernetes minor version (what its kubeadm pins).
#[must_use]
pub fn sandbox_image(version: MinorVersion) -> String {
    let tag = if version.is_at_least(1, 31) {
        "3.10"
    } else {
        "3.9"
    };
    format!("registry.k8s.io/pause:{tag}")
}

/// The configuration for `version`.
#[must_use]
pub fn config(version: MinorVersion) -> ContainerdConfig {
    ContainerdConfig {
        version: 2,
        plugins: BTreeMap::from([(
            CRI_PLUGIN,
            CriPlugin {
                sandbox_image: sandbox_image(version),
                containerd: CriContainerd {
                    default_runtime_name: "runc".to_owned(),
                    runtimes: Runtimes {
                        runc: Runtime {
                            runtime_type: "io.containerd.runc.v2".to_owned(),
                            options: RuncOptions {
                                systemd_cgroup: true,
                            },
                        },
                    },
                },
                cni: CriCni {
                    bin_dir: paths::CNI_BIN_DIR.to_owned(),
                    conf_dir: paths::CNI_CONF_DIR.to_owned(),
                },
            },
        )]),
    }
}

/// Adds containerd's directories, config, unit and service actions.
pub(crate) fn tasks(version: MinorVersion, tasks: &mut Vec<NodeTask>) -> Result<(), PlanError> {
    let text = rendered(paths::CONTAINERD_CONFIG, toml::to_string(&config(version)))?;
    tasks.push(NodeTask::directory(paths::CONTAINERD_DIR, 0o755));
    tasks.push(NodeTask::directory(paths::CNI_BIN_DIR, 0o755));
    tasks.push(NodeTask::directory(paths::CNI_CONF_DIR, 0o755));
    tasks.push(NodeTask::file(paths::CONTAINERD_CONFIG, text, 0o644));
    let unit = systemd::UnitFile::service(
        "containerd container runtime",
        &["network-online.target", "local-fs.target"],
        &["/usr/local/bin/containerd".to_owned()],
    );
    tasks.push(NodeTask::SystemdUnit {
        name: UNIT.to_owned(),
        contents: unit.to_string(),
    });
    let unit_path = paths::unit_path(UNIT);
    let unit_path = unit_path.to_string_lossy();
    tasks.push(NodeTask::service(
        UNIT,
        ServiceActionKind::Enable,
        &[&unit_path],
    ));
    tasks.push(NodeTask::service(
        UNIT,
        ServiceActionKind::Restart,
        &[
            &unit_path,
            paths::CONTAINERD_CONFIG,
            // The containerd archive's destination and runc's path.
            "/usr/local",
            "/usr/local/sbin/runc",
        ],
    ));
    tasks.push(NodeTask::service(UNIT, ServiceActionKind::Start, &[]));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cri_plugin_is_one_quoted_table() {
        let text = toml::to_string(&config(MinorVersion::parse("1.32.0").unwrap())).unwrap();
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        let cri = &parsed["plugins"][CRI_PLUGIN];
        assert_eq!(
            cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"].as_bool(),
            Some(true)
        );
        assert_eq!(
            cri["sandbox_image"].as_str(),
            Some("registry.k8s.io/pause:3.10")
        );
    }
}
