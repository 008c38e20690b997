//! The etcd volumes' mount units, mounted for real: sparse files (on loop devices) stand in
//! for the EBS volumes, nodeup formats them, and a service manager that does what systemd
//! does for a mount unit's `start` (`mount -t <Type> -o <Options> <What> <Where>`) mounts
//! them from the unit files nodeup wrote. Data written under the mount point lands on the
//! volume, and a second apply neither formats again nor loses it.
//!
//! Mounting needs root (and loop devices): CI has it; as another user the test says so and
//! returns, except under `CI=true`, where it fails.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, PoisonError},
};

use async_trait::async_trait;
use berth_nodeup::{
    Host, LocalHost, NodeTask, ServiceManager,
    apply::apply,
    host::ServiceError,
    plan::{Phase, ServiceActionKind},
};

use crate::{
    fixtures::{self, CONTROL_PLANE_GROUP},
    plan::planned_with_volumes,
};

/// Does for mount units what systemd does on `start`, under `root`; records every call.
struct MountingServiceManager {
    root: PathBuf,
    calls: Mutex<Vec<String>>,
    /// Each mounted unit and its mount point.
    mounted: Mutex<Vec<(String, PathBuf)>>,
}

impl MountingServiceManager {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            calls: Mutex::default(),
            mounted: Mutex::default(),
        }
    }

    fn under_root(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn mount(&self, unit: &str) -> Result<(), ServiceError> {
        let text = std::fs::read_to_string(self.under_root(&format!("/etc/systemd/system/{unit}")))
            .map_err(ServiceError::Record)?;
        let value = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or_default()
                .to_owned()
        };
        let what = self.under_root(&value("What"));
        let place = self.under_root(&value("Where"));
        // A regular file stands in for the device: mount(8) needs `loop` for it.
        let options = format!("{},loop", value("Options"));
        let command = format!(
            "mount -t {} -o {options} {} {}",
            value("Type"),
            what.display(),
            place.display()
        );
        let output = Command::new("mount")
            .args(["-t", &value("Type"), "-o", &options])
            .arg(&what)
            .arg(&place)
            .output()
            .map_err(|source| ServiceError::Spawn {
                command: command.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(ServiceError::Failed {
                command,
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        self.mounted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((unit.to_owned(), place));
        Ok(())
    }
}

#[async_trait]
impl ServiceManager for MountingServiceManager {
    async fn daemon_reload(&self) -> Result<(), ServiceError> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push("daemon-reload".to_owned());
        Ok(())
    }

    async fn apply(&self, unit: &str, action: ServiceActionKind) -> Result<(), ServiceError> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(format!("{action} {unit}"));
        let already = self
            .mounted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|(mounted, _)| mounted == unit);
        if action == ServiceActionKind::Start && unit.ends_with(".mount") && !already {
            self.mount(unit)?;
        }
        Ok(())
    }
}

impl Drop for MountingServiceManager {
    fn drop(&mut self) {
        for (_, place) in self
            .mounted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            let _ = Command::new("umount").arg(&place).status();
        }
    }
}

/// The volume tasks of a control-plane plan whose etcd volumes showed up as `devices`.
fn volume_tasks(devices: &BTreeMap<String, PathBuf>) -> Vec<NodeTask> {
    let config = fixtures::configs("s3://berth-state/dev.example.com")
        .remove(CONTROL_PLANE_GROUP)
        .expect("the control plane's config");
    let tasks = planned_with_volumes(config, &BTreeMap::new(), devices.clone(), Vec::new())
        .expect("a plan");
    tasks
        .into_iter()
        .filter(|task| match task {
            NodeTask::Filesystem { .. } => true,
            NodeTask::Directory { path, .. } => path.starts_with("/mnt"),
            NodeTask::SystemdUnit { name, .. } | NodeTask::ServiceAction { unit: name, .. } => {
                name.ends_with(".mount")
            }
            _ => false,
        })
        .collect()
}

#[tokio::test]
async fn etcd_volumes_are_formatted_once_and_mounted_by_their_units() {
    if !fixtures::runs_as_root("mounting the etcd volumes' stand-ins") {
        return;
    }
    let root = tempfile::tempdir().expect("a temporary root");
    let mut devices = BTreeMap::new();
    for cluster in ["main", "events"] {
        let node_path = format!("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0{cluster}");
        let file = root.path().join(node_path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("dev dir");
        std::fs::File::create(&file)
            .and_then(|created| created.set_len(64 * 1024 * 1024))
            .expect("a sparse device");
        devices.insert(cluster.to_owned(), PathBuf::from(node_path));
    }
    let tasks = volume_tasks(&devices);
    assert!(
        tasks.iter().any(|task| task.phase() == Phase::Mounts),
        "{tasks:#?}"
    );

    let host = LocalHost::new(
        root.path().to_owned(),
        Box::new(MountingServiceManager::new(root.path())),
    );
    let first = apply(&tasks, &host, &BTreeMap::new())
        .await
        .expect("the first apply");
    assert!(
        first
            .changed
            .iter()
            .filter(|change| change.starts_with("filesystem ext4"))
            .count()
            == 2,
        "{first:#?}"
    );
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
    for cluster in ["main", "events"] {
        let place = host.resolve(Path::new(&format!("/mnt/etcd-{cluster}")));
        assert!(
            mounts
                .lines()
                .any(|line| line.contains(&format!(" {} ext4 ", place.display()))
                    && line.contains("noatime")),
            "{} is not mounted:\n{mounts}",
            place.display()
        );
        std::fs::create_dir_all(place.join("data")).expect("etcd's data directory");
        std::fs::write(place.join("data/member"), cluster).expect("data on the volume");
    }

    // Unmounted and applied again (a reboot): nothing is formatted, the data is there.
    drop(host);
    let host = LocalHost::new(
        root.path().to_owned(),
        Box::new(MountingServiceManager::new(root.path())),
    );
    for cluster in ["main", "events"] {
        assert!(
            !host
                .resolve(Path::new(&format!("/mnt/etcd-{cluster}/data/member")))
                .exists(),
            "still mounted"
        );
    }
    let second = apply(&tasks, &host, &BTreeMap::new())
        .await
        .expect("the second apply");
    assert!(
        !second
            .changed
            .iter()
            .any(|change| change.starts_with("filesystem")),
        "formatted again: {second:#?}"
    );
    for cluster in ["main", "events"] {
        let data = host.resolve(Path::new(&format!("/mnt/etcd-{cluster}/data/member")));
        assert_eq!(
            std::fs::read_to_string(&data).expect("the data survived"),
            cluster
        );
    }
}
