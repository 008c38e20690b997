//! The real `nodeup` binary against a `file://` store, into a temporary root, with the
//! recording service manager.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Output,
};

use berth_model::nodeup_config::NodeupConfig;

use crate::fixtures::{self, CLUSTER, CONTROL_PLANE_GROUP, NODE_GROUP};

/// A store with both groups' configs and the CA keypairs, and file assets.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let world = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        fs_err::create_dir_all(world.store()).unwrap();
        fs_err::create_dir_all(world.path("assets")).unwrap();
        fixtures::write_keypairs(&world.store(), &fixtures::keypairs());
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// The group's config with a kubelet binary and a CNI archive as assets.
    fn config(&self, group: &str) -> NodeupConfig {
        let store_url = format!("file://{}", self.store().display());
        let mut config = fixtures::configs(&format!("{store_url}/{CLUSTER}"))
            .remove(group)
            .unwrap();
        let kubelet = self.path("assets/kubelet");
        fs_err::write(&kubelet, b"#!/bin/sh\necho kubelet\n").unwrap();
        let cni = fixtures::tar_gz(
            &self.path("assets/cni-plugins.tar.gz"),
            &[
                ("bridge", b"bridge plugin"),
                ("loopback", b"loopback plugin"),
            ],
        );
        config.assets = vec![
            fixtures::asset("kubelet", &kubelet),
            fixtures::asset("cni-plugins", &cni),
        ];
        config
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "nodeup failed\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Every regular file under `root`, relative.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

fn service_log(root: &Path) -> Vec<String> {
    fs_err::read_to_string(root.join("var/lib/nodeup/service-manager.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs_err::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn worker_node_converges_and_holds_no_ca_key() {
    let world = World::new();
    let conf = fixtures::write_config(&world.store(), &world.config(NODE_GROUP));
    let root = world.path("root");

    let first = fixtures::run_nodeup(&conf, &root);
    assert_success(&first);
    for expected in [
        "etc/kubernetes/pki/ca.crt",
        "var/lib/kubelet/config.yaml",
        "var/lib/kubelet/bootstrap-kubeconfig",
        "etc/containerd/config.toml",
        "etc/systemd/system/kubelet.service",
        "etc/systemd/system/containerd.service",
        "etc/sysctl.d/99-berth-kubernetes.conf",
        "etc/modules-load.d/berth-kubernetes.conf",
        "usr/local/bin/kubelet",
        "opt/cni/bin/bridge",
        "opt/cni/bin/loopback",
        "var/lib/nodeup/status.json",
    ] {
        assert!(root.join(expected).is_file(), "{expected} is missing");
    }
    assert_eq!(mode(&root.join("usr/local/bin/kubelet")), 0o755);
    assert_eq!(
        mode(&root.join("var/lib/kubelet/bootstrap-kubeconfig")),
        0o600
    );
    for file in files(&root) {
        let bytes = fs_err::read(root.join(&file)).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("PRIVATE KEY"),
            "{} holds a private key",
            file.display()
        );
    }
    let first_calls = service_log(&root);
    assert!(first_calls.contains(&"daemon-reload".to_owned()));
    assert!(first_calls.contains(&"restart kubelet.service".to_owned()));

    let second = fixtures::run_nodeup(&conf, &root);
    assert_success(&second);
    assert!(
        stdout(&second).contains("nodeup: 0 changes"),
        "{}",
        stdout(&second)
    );
    let second_calls = &service_log(&root)[first_calls.len()..];
    assert!(
        second_calls.iter().all(|call| call.starts_with("start ")),
        "the second run did more than start units: {second_calls:?}"
    );
    let status = fs_err::read_to_string(root.join("var/lib/nodeup/status.json")).unwrap();
    assert!(status.contains("\"changes\": 0"), "{status}");
}

#[test]
fn control_plane_node_converges() {
    let world = World::new();
    let conf = fixtures::write_config(&world.store(), &world.config(CONTROL_PLANE_GROUP));
    let root = world.path("root");

    let first = fixtures::run_nodeup(&conf, &root);
    assert_success(&first);
    for expected in [
        "etc/kubernetes/manifests/etcd-main.yaml",
        "etc/kubernetes/manifests/etcd-events.yaml",
        "etc/kubernetes/manifests/kube-apiserver.yaml",
        "etc/kubernetes/manifests/kube-controller-manager.yaml",
        "etc/kubernetes/manifests/kube-scheduler.yaml",
        "etc/kubernetes/pki/apiserver.crt",
        "etc/kubernetes/pki/apiserver.key",
        "etc/kubernetes/pki/etcd-main/server.crt",
        "etc/kubernetes/pki/etcd-events/peer.key",
        "etc/kubernetes/pki/service-account.key",
        "etc/kubernetes/known-tokens.csv",
        "etc/kubernetes/kube-controller-manager.kubeconfig",
        "var/lib/kubelet/kubeconfig",
    ] {
        assert!(root.join(expected).is_file(), "{expected} is missing");
    }
    assert_eq!(mode(&root.join("etc/kubernetes/pki/apiserver.key")), 0o600);
    assert!(
        stderr(&first)
            .contains("skipped (not looked up: no AWS region under --root): etcd-volume main"),
        "{}",
        stderr(&first)
    );

    let second = fixtures::run_nodeup(&conf, &root);
    assert_success(&second);
    assert!(
        stdout(&second).contains("nodeup: 0 changes"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn dry_run_changes_nothing() {
    let world = World::new();
    let conf = fixtures::write_config(&world.store(), &world.config(NODE_GROUP));
    let root = world.path("root");
    let output = fixtures::nodeup(&conf, &root)
        .args(["--dry-run", "--hostname=node", "--node-ip=10.0.0.1"])
        .output()
        .unwrap();
    assert_success(&output);
    assert!(stdout(&output).contains("[files] file /var/lib/kubelet/config.yaml"));
    assert!(!root.exists(), "a dry run wrote under the root");
}

#[test]
fn corrupted_asset_fails_and_leaves_no_file() {
    let world = World::new();
    let mut config = world.config(NODE_GROUP);
    // Serve other bytes than the pinned ones.
    fs_err::write(world.path("assets/kubelet"), b"tampered").unwrap();
    config.assets.retain(|asset| asset.name == "kubelet");
    let conf = fixtures::write_config(&world.store(), &config);
    let root = world.path("root");

    let output = fixtures::run_nodeup(&conf, &root);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("asset `kubelet`") && message.contains("is pinned; refusing it"),
        "{message}"
    );
    assert!(!root.join("usr/local/bin/kubelet").exists());
    let cache = root.join("var/cache/nodeup");
    let cached = if cache.exists() {
        files(&cache)
    } else {
        Vec::new()
    };
    assert!(cached.is_empty(), "left in the cache: {cached:?}");
}

#[test]
fn unreachable_store_fails_clearly() {
    let world = World::new();
    let root = world.path("root");
    let conf = format!(
        "file://{}/missing-store/{CLUSTER}/igconfig/node/{NODE_GROUP}/nodeupconfig.yaml",
        world.dir.path().display()
    );
    let output = fixtures::run_nodeup(&conf, &root);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("failed to open the state store") && message.contains("does not exist"),
        "{message}"
    );
}
