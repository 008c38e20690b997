//! Where each downloaded asset is installed: a closed table keyed by asset name.
//!
//! cloudup pins what to download (URLs and sha256); where a component lives on the node is
//! nodeup's business, so the table is here. An asset outside it is an error, never ignored.

use std::path::PathBuf;

use berth_model::nodeup_config::NodeupConfig;

use super::{Contents, NodeTask, PlanError, paths};

/// The asset names nodeup knows.
pub const KNOWN_ASSETS: &[&str] = &[
    "kubelet",
    "kubectl",
    "containerd",
    "runc",
    "cni-plugins",
    "crictl",
];

/// How an asset is installed.
enum Install {
    /// A single executable at this path.
    Executable(&'static str),
    /// A `.tar.gz` unpacked into this directory.
    Archive(&'static str),
}

fn install(name: &str) -> Option<Install> {
    Some(match name {
        "kubelet" => Install::Executable("/usr/local/bin/kubelet"),
        "kubectl" => Install::Executable("/usr/local/bin/kubectl"),
        // The containerd release archive holds `bin/containerd*`.
        "containerd" => Install::Archive("/usr/local"),
        "runc" => Install::Executable("/usr/local/sbin/runc"),
        "cni-plugins" => Install::Archive(paths::CNI_BIN_DIR),
        "crictl" => Install::Archive(paths::BIN_DIR),
        _ => return None,
    })
}

/// Adds one install task per asset.
pub(crate) fn tasks(config: &NodeupConfig, tasks: &mut Vec<NodeTask>) -> Result<(), PlanError> {
    for asset in &config.assets {
        let task = match install(&asset.name) {
            Some(Install::Executable(path)) => NodeTask::File {
                path: PathBuf::from(path),
                contents: Contents::Asset(asset.clone()),
                mode: 0o755,
            },
            Some(Install::Archive(destination)) => NodeTask::Archive {
                asset: asset.clone(),
                destination: PathBuf::from(destination),
            },
            None => {
                return Err(PlanError::UnknownAsset {
                    name: asset.name.clone(),
                });
            }
        };
        tasks.push(task);
    }
    Ok(())
}
