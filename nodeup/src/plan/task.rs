//! The closed set of things nodeup does to a host, and the phase each belongs to.

use std::{collections::BTreeMap, fmt, path::PathBuf};

use berth_model::nodeup_config::Asset;
use serde::Serialize;

/// When a task runs; tasks run phase by phase, in plan order within a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Data volumes (etcd) are formatted when blank.
    Volumes,
    /// Directories exist with their modes.
    Directories,
    /// Kernel modules and sysctls are configured.
    Kernel,
    /// Downloaded binaries and archives are installed.
    Binaries,
    /// Configuration files, certificates, kubeconfigs and manifests are written.
    Files,
    /// systemd unit files are written (one `daemon-reload` after, if any changed).
    Units,
    /// Mount units are enabled and started, before any service that needs them.
    Mounts,
    /// Services are enabled, restarted or started.
    Services,
}

/// What a [`NodeTask::File`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Contents {
    /// Text rendered by the plan.
    Text(String),
    /// A downloaded, hash-verified asset, copied as is.
    Asset(Asset),
}

/// What to do to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceActionKind {
    /// `systemctl enable`, when one of the triggers changed.
    Enable,
    /// `systemctl restart`, when one of the triggers changed.
    Restart,
    /// `systemctl start`, always (a no-op for a running unit, so never counted as a change).
    Start,
}

impl fmt::Display for ServiceActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Enable => "enable",
            Self::Restart => "restart",
            Self::Start => "start",
        })
    }
}

/// One thing nodeup does to the host. Paths are absolute on the node; the
/// [`crate::host::Host`] maps them under its root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "task")]
pub enum NodeTask {
    /// The etcd data volume with this tag, when this run did not look it up (a `--root`
    /// run without AWS): planned so the plan says what the node needs, reported as skipped.
    /// A looked-up volume becomes a [`NodeTask::Filesystem`] and a mount unit instead.
    EtcdVolume {
        /// The etcd cluster (`main`, `events`).
        cluster: String,
        /// The volume's tag key, `k8s.io/etcd/<cluster>`.
        tag: String,
        /// Where it is mounted.
        mount_point: PathBuf,
    },
    /// The block device holds an ext4 filesystem, made (labelled `label`) only when the
    /// device is blank ([`crate::block_device`]).
    Filesystem {
        /// The device (a node path).
        device: PathBuf,
        /// The label given when formatting.
        label: String,
    },
    /// nodeup's block of a hosts file holds exactly `entries` ([`crate::hosts_file`]).
    HostsBlock {
        /// The hosts file, `/etc/hosts`.
        path: PathBuf,
        /// Its lines.
        entries: Vec<crate::hosts_file::HostEntry>,
    },
    /// A directory exists with `mode`.
    Directory {
        /// Absolute path.
        path: PathBuf,
        /// Permission bits.
        mode: u32,
    },
    /// Kernel parameters, written to a `sysctl.d` file.
    Sysctl {
        /// The `sysctl.d` file.
        path: PathBuf,
        /// Parameter → value.
        settings: BTreeMap<String, String>,
    },
    /// Kernel modules loaded at boot, written to a `modules-load.d` file.
    KernelModule {
        /// The `modules-load.d` file.
        path: PathBuf,
        /// Module names.
        modules: Vec<String>,
    },
    /// A downloaded `.tar.gz` unpacked into `destination`.
    Archive {
        /// The archive.
        asset: Asset,
        /// Where its entries go.
        destination: PathBuf,
    },
    /// A file with exactly these contents and `mode`.
    File {
        /// Absolute path.
        path: PathBuf,
        /// What it holds.
        contents: Contents,
        /// Permission bits.
        mode: u32,
    },
    /// A systemd unit file under `/etc/systemd/system`.
    SystemdUnit {
        /// The unit's name, e.g. `kubelet.service`.
        name: String,
        /// The unit file.
        contents: String,
    },
    /// A service action, run when one of `triggers` changed in this run (see
    /// [`ServiceActionKind`]).
    ServiceAction {
        /// The unit, e.g. `kubelet.service`.
        unit: String,
        /// What to do.
        action: ServiceActionKind,
        /// Paths whose change calls for the action.
        triggers: Vec<PathBuf>,
    },
}

impl NodeTask {
    /// The phase the task runs in.
    #[must_use]
    pub fn phase(&self) -> Phase {
        match self {
            Self::EtcdVolume { .. } | Self::Filesystem { .. } => Phase::Volumes,
            Self::ServiceAction { unit, .. } if unit.ends_with(".mount") => Phase::Mounts,
            Self::Directory { .. } => Phase::Directories,
            Self::Sysctl { .. } | Self::KernelModule { .. } => Phase::Kernel,
            Self::Archive { .. }
            | Self::File {
                contents: Contents::Asset(_),
                ..
            } => Phase::Binaries,
            Self::File { .. } | Self::HostsBlock { .. } => Phase::Files,
            Self::SystemdUnit { .. } => Phase::Units,
            Self::ServiceAction { .. } => Phase::Services,
        }
    }

    /// The path the task writes, when it writes one (what service triggers name).
    #[must_use]
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            Self::Directory { path, .. }
            | Self::Sysctl { path, .. }
            | Self::KernelModule { path, .. }
            | Self::File { path, .. }
            | Self::HostsBlock { path, .. } => Some(path.clone()),
            Self::SystemdUnit { name, .. } => Some(super::paths::unit_path(name)),
            Self::Archive { destination, .. } => Some(destination.clone()),
            Self::Filesystem { device, .. } => Some(device.clone()),
            Self::EtcdVolume { .. } | Self::ServiceAction { .. } => None,
        }
    }

    /// A text file.
    pub(crate) fn file(path: &str, contents: String, mode: u32) -> Self {
        Self::File {
            path: PathBuf::from(path),
            contents: Contents::Text(contents),
            mode,
        }
    }

    /// A directory.
    pub(crate) fn directory(path: &str, mode: u32) -> Self {
        Self::Directory {
            path: PathBuf::from(path),
            mode,
        }
    }

    /// A service action triggered by `triggers`.
    pub(crate) fn service(unit: &str, action: ServiceActionKind, triggers: &[&str]) -> Self {
        Self::ServiceAction {
            unit: unit.to_owned(),
            action,
            triggers: triggers.iter().map(PathBuf::from).collect(),
        }
    }
}

impl fmt::Display for NodeTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EtcdVolume {
                cluster,
                tag,
                mount_point,
            } => write!(
                f,
                "etcd-volume {cluster} (tag {tag}) at {}",
                mount_point.display()
            ),
            Self::Filesystem { device, label } => write!(
                f,
                "filesystem {} labelled {label} on {} (formatted only when blank)",
                crate::block_device::FILESYSTEM,
                device.display()
            ),
            Self::HostsBlock { path, entries } => write!(
                f,
                "hosts {} ({} entries: {})",
                path.display(),
                entries.len(),
                entries
                    .iter()
                    .map(|entry| format!("{} {}", entry.address, entry.names.join(" ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::Directory { path, mode } => write!(f, "directory {} {mode:04o}", path.display()),
            Self::Sysctl { path, settings } => {
                write!(f, "sysctl {} ({} settings)", path.display(), settings.len())
            }
            Self::KernelModule { path, modules } => write!(
                f,
                "kernel-modules {} ({})",
                path.display(),
                modules.join(", ")
            ),
            Self::Archive { asset, destination } => write!(
                f,
                "archive {} sha256:{} into {}",
                asset.name,
                asset.sha256,
                destination.display()
            ),
            Self::File {
                path,
                contents,
                mode,
            } => match contents {
                Contents::Text(text) => write!(
                    f,
                    "file {} {mode:04o} ({} bytes)",
                    path.display(),
                    text.len()
                ),
                Contents::Asset(asset) => write!(
                    f,
                    "file {} {mode:04o} (asset {} sha256:{})",
                    path.display(),
                    asset.name,
                    asset.sha256
                ),
            },
            Self::SystemdUnit { name, contents } => {
                write!(f, "unit {name} ({} bytes)", contents.len())
            }
            Self::ServiceAction {
                unit,
                action,
                triggers,
            } => {
                write!(f, "service {action} {unit}")?;
                if !triggers.is_empty() {
                    let triggers: Vec<String> = triggers
                        .iter()
                        .map(|path| path.display().to_string())
                        .collect();
                    write!(f, " when changed: {}", triggers.join(", "))?;
                }
                Ok(())
            }
        }
    }
}
