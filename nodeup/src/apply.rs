//! Applying a plan to a [`Host`], phase by phase.
//!
//! Every task reports whether it changed the host. `daemon-reload` runs once, after the
//! unit phase, and only if a unit file changed; `enable` and `restart` run only when one of
//! the action's trigger paths changed in this run; `start` always runs (a no-op for a
//! running unit). A second run over an unchanged plan therefore changes nothing.

use std::{collections::BTreeSet, path::PathBuf};

use flate2::read::GzDecoder;

use crate::{
    assets::AssetFiles,
    atomic::{self, WriteError},
    block_device,
    host::{Host, ServiceError},
    hosts_file,
    plan::{Contents, NodeTask, Phase, ServiceActionKind, kernel, paths},
};

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Each change, described (tasks that changed the host, enables and restarts).
    pub changed: Vec<String>,
    /// Tasks that found the host already as planned.
    pub unchanged: usize,
    /// Tasks this run could not apply: an etcd volume that was not looked up (a `--root` run
    /// without an AWS region).
    pub skipped: Vec<String>,
}

/// Why applying failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A file or directory could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// A planned asset was not downloaded.
    #[error("asset `{name}` was not downloaded")]
    MissingAsset {
        /// The asset.
        name: String,
    },
    /// An archive could not be unpacked.
    #[error("failed to unpack asset `{name}` into `{}`", destination.display())]
    Unpack {
        /// The asset.
        name: String,
        /// Where it was going.
        destination: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A volume's filesystem could not be checked or made.
    #[error("failed to prepare the filesystem on {}", device.display())]
    Filesystem {
        /// The device (node path).
        device: PathBuf,
        /// Why.
        #[source]
        source: block_device::BlockDeviceError,
    },
    /// A file nodeup edits could not be read.
    #[error("failed to read `{}`", path.display())]
    Read {
        /// The file (node path).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `daemon-reload` failed.
    #[error("failed to reload the service manager")]
    DaemonReload(#[source] ServiceError),
    /// A service action failed.
    #[error("failed to {action} `{unit}`")]
    Service {
        /// The unit.
        unit: String,
        /// The action.
        action: ServiceActionKind,
        /// The service manager's error.
        #[source]
        source: ServiceError,
    },
}

/// Applies `tasks` (in plan order) to `host`, taking asset contents from `assets`.
///
/// # Errors
/// [`ApplyError`] for the first task that failed; earlier changes stay (a rerun converges).
pub async fn apply(
    tasks: &[NodeTask],
    host: &dyn Host,
    assets: &AssetFiles,
) -> Result<ApplyReport, ApplyError> {
    let mut report = ApplyReport::default();
    let mut changed_paths: BTreeSet<PathBuf> = BTreeSet::new();
    let mut units_changed = false;
    let mut reloaded = false;
    for task in tasks {
        if task.phase() >= Phase::Mounts && units_changed && !reloaded {
            host.service_manager()
                .daemon_reload()
                .await
                .map_err(ApplyError::DaemonReload)?;
            report.changed.push("daemon-reload".to_owned());
            reloaded = true;
        }
        let changed = match task {
            NodeTask::EtcdVolume { .. } => {
                tracing::warn!(task = %task, "the etcd volume was not looked up; skipped");
                report.skipped.push(task.to_string());
                continue;
            }
            NodeTask::Filesystem { device, label } => {
                block_device::ensure_filesystem(&host.resolve(device), label).map_err(|source| {
                    ApplyError::Filesystem {
                        device: device.clone(),
                        source,
                    }
                })?
            }
            NodeTask::HostsBlock { path, entries } => {
                let resolved = host.resolve(path);
                let existing = match fs_err::read_to_string(&resolved) {
                    Ok(text) => text,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
                    Err(source) => {
                        return Err(ApplyError::Read {
                            path: path.clone(),
                            source,
                        });
                    }
                };
                // In place: pods mount the host's file by its inode (see the etcd pods).
                atomic::ensure_file_in_place(
                    &resolved,
                    hosts_file::with_block(&existing, entries).as_bytes(),
                    0o644,
                )?
            }
            NodeTask::ServiceAction {
                unit,
                action,
                triggers,
            } => {
                let triggered = triggers.iter().any(|path| changed_paths.contains(path));
                let run = match action {
                    ServiceActionKind::Start => true,
                    ServiceActionKind::Enable | ServiceActionKind::Restart => triggered,
                };
                if run {
                    host.service_manager()
                        .apply(unit, *action)
                        .await
                        .map_err(|source| ApplyError::Service {
                            unit: unit.clone(),
                            action: *action,
                            source,
                        })?;
                }
                if run && *action != ServiceActionKind::Start {
                    report.changed.push(format!("{action} {unit}"));
                } else {
                    report.unchanged += 1;
                }
                continue;
            }
            NodeTask::Directory { path, mode } => {
                atomic::ensure_directory(&host.resolve(path), *mode)?
            }
            NodeTask::Sysctl { path, settings } => atomic::ensure_file(
                &host.resolve(path),
                kernel::render_sysctls(settings).as_bytes(),
                0o644,
            )?,
            NodeTask::KernelModule { path, modules } => atomic::ensure_file(
                &host.resolve(path),
                kernel::render_modules(modules).as_bytes(),
                0o644,
            )?,
            NodeTask::File {
                path,
                contents,
                mode,
            } => match contents {
                Contents::Text(text) => {
                    atomic::ensure_file(&host.resolve(path), text.as_bytes(), *mode)?
                }
                Contents::Asset(asset) => {
                    let sha256 = asset.sha256.to_ascii_lowercase();
                    let source = assets
                        .get(&sha256)
                        .ok_or_else(|| ApplyError::MissingAsset {
                            name: asset.name.clone(),
                        })?;
                    atomic::ensure_copy(&host.resolve(path), source, &sha256, *mode)?
                }
            },
            NodeTask::Archive { asset, destination } => unpack(host, asset, destination, assets)?,
            NodeTask::SystemdUnit { name, contents } => {
                let changed = atomic::ensure_file(
                    &host.resolve(&paths::unit_path(name)),
                    contents.as_bytes(),
                    0o644,
                )?;
                units_changed |= changed;
                changed
            }
        };
        if changed {
            tracing::info!(task = %task, "changed");
            report.changed.push(task.to_string());
            if let Some(path) = task.path() {
                changed_paths.insert(path);
            }
        } else {
            report.unchanged += 1;
        }
    }
    Ok(report)
}

/// Unpacks an archive unless its marker says this exact archive already was.
fn unpack(
    host: &dyn Host,
    asset: &berth_model::nodeup_config::Asset,
    destination: &std::path::Path,
    assets: &AssetFiles,
) -> Result<bool, ApplyError> {
    let sha256 = asset.sha256.to_ascii_lowercase();
    let marker = host.resolve(&paths::archive_marker(&asset.name));
    if fs_err::read_to_string(&marker).is_ok_and(|recorded| recorded.trim() == sha256) {
        return Ok(false);
    }
    let source = assets
        .get(&sha256)
        .ok_or_else(|| ApplyError::MissingAsset {
            name: asset.name.clone(),
        })?;
    let target = host.resolve(destination);
    let unpack_error = |source| ApplyError::Unpack {
        name: asset.name.clone(),
        destination: destination.to_owned(),
        source,
    };
    fs_err::create_dir_all(&target).map_err(unpack_error)?;
    let file = fs_err::File::open(source).map_err(unpack_error)?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    // `unpack` refuses entries that would land outside the destination.
    archive.unpack(&target).map_err(unpack_error)?;
    atomic::ensure_file(&marker, format!("{sha256}\n").as_bytes(), 0o644)?;
    Ok(true)
}
