//! End to end from `berth` to a configured node: create + update a cluster against moto with
//! an S3 state store, then for the control-plane and the worker group take the launch
//! template's user data from the emulator and run that bootstrap script under bash, with
//! two test-only edits (install nodeup into a temp dir rather than `/opt`; pass nodeup
//! `--root`, the recording service manager and the node's name and address, and on the
//! control plane the instance's id and zone). The script
//! downloads the workspace's `nodeup` (beside `berth`, pinned by its sha256), which reads its
//! config from the moto-backed S3 store and downloads its assets from a local HTTP server
//! that serves files this test makes, with their real sha256 published beside them.

use std::{
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
};

use berth_model::{assets, version::DEFAULT_KUBERNETES_VERSION};
use berth_test_support::moto::{REGION, unique_bucket};
use sha2::{Digest as _, Sha256};

use super::{
    dns::create_public_zone,
    node_etcd::{instance_of, make_block_devices, private_address},
    world::World,
};
use crate::context::{ok, run};

pub(super) const ZONE: &str = "bootstrap.example.net";

/// Serves `root` over HTTP/1.1 on a loopback port (one thread per connection, GET only).
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || answer(&root, stream));
        }
    });
    format!("http://{address}")
}

fn answer(root: &Path, mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let file = root.join(path.trim_start_matches('/'));
    let (status, body) = match std::fs::read(&file) {
        Ok(body) if !path.contains("..") => ("200 OK", body),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// Writes every node asset of the default Kubernetes version under `root` at its mirror
/// path, with its real sha256 in the checksum file beside it.
fn make_assets(root: &Path, base: &str) {
    let locations = assets::node_assets(
        DEFAULT_KUBERNETES_VERSION,
        assets::DEFAULT_ARCH,
        &[base.to_owned()],
    )
    .expect("asset locations");
    let staging = root.join("staging");
    for location in locations {
        let path = root.join(
            location.urls[0]
                .strip_prefix(base)
                .expect("a mirror URL")
                .trim_start_matches('/'),
        );
        std::fs::create_dir_all(path.parent().expect("parent")).expect("asset dir");
        let script = |name: &str| format!("#!/bin/sh\necho fake {name}\n").into_bytes();
        let bytes = match location.name.as_str() {
            "containerd" => tar_gz(&staging, &[("bin/containerd", script("containerd"))]),
            "cni-plugins" => tar_gz(
                &staging,
                &[
                    ("bridge", script("bridge")),
                    ("loopback", script("loopback")),
                ],
            ),
            "crictl" => tar_gz(&staging, &[("crictl", script("crictl"))]),
            name => script(name),
        };
        std::fs::write(&path, &bytes).expect("asset");
        let checksum = root.join(
            location.checksum_urls[0]
                .strip_prefix(base)
                .expect("a mirror URL")
                .trim_start_matches('/'),
        );
        let hash = hex::encode(Sha256::digest(&bytes));
        std::fs::write(checksum, format!("{hash}  {}\n", location.file_name)).expect("checksum");
    }
}

/// A `.tar.gz` of `files`, made with the system's `tar`.
fn tar_gz(staging: &Path, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let _ = std::fs::remove_dir_all(staging);
    for (name, bytes) in files {
        let path = staging.join("content").join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("staging");
        std::fs::write(&path, bytes).expect("file");
    }
    let archive = staging.join("archive.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(staging.join("content"))
        .args(files.iter().map(|(name, _)| *name))
        .status()
        .expect("tar");
    assert!(status.success());
    std::fs::read(archive).expect("archive")
}

/// Creates `bucket` in the world's own account (moto keys buckets by the caller's key).
fn create_bucket(world: &World, bucket: &str) {
    let value = |name: &str| {
        world
            .aws_env()
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let endpoint = value("AWS_ENDPOINT_URL");
    let address = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect to moto");
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: 0\r\nX-Amz-Security-Token: {token}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={key}/20250101/{REGION}/s3/aws4_request, SignedHeaders=host, Signature=0\r\n\r\n",
        token = value("AWS_SESSION_TOKEN"),
        key = value("AWS_ACCESS_KEY_ID"),
    );
    stream.write_all(request.as_bytes()).expect("request");
    let mut status = String::new();
    BufReader::new(stream)
        .read_line(&mut status)
        .expect("response");
    assert!(status.contains(" 200 "), "CreateBucket: {status}");
}

/// The auto scaling group `group`, as the emulator describes it.
pub(super) fn auto_scaling_group(
    world: &World,
    group: &str,
) -> aws_sdk_autoscaling::types::AutoScalingGroup {
    let groups = world
        .block_on(
            world
                .aws
                .autoscaling
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(group)
                .send(),
        )
        .expect("DescribeAutoScalingGroups");
    groups.auto_scaling_groups()[0].clone()
}

/// The user data of the launch template of the auto scaling group `group`.
pub(super) fn user_data(world: &World, group: &str) -> String {
    let group = auto_scaling_group(world, group);
    let template = group
        .launch_template()
        .expect("the group has a launch template");
    let versions = world
        .block_on(
            world
                .aws
                .ec2
                .describe_launch_template_versions()
                .launch_template_id(template.launch_template_id().expect("id"))
                .versions(template.version().unwrap_or("$Latest"))
                .send(),
        )
        .expect("DescribeLaunchTemplateVersions");
    let encoded = versions.launch_template_versions()[0]
        .launch_template_data()
        .and_then(|data| data.user_data())
        .expect("user data")
        .to_owned();
    let mut decode = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("base64");
    decode
        .stdin
        .take()
        .expect("stdin")
        .write_all(encoded.as_bytes())
        .expect("write");
    let output = decode.wait_with_output().expect("base64");
    String::from_utf8(output.stdout).expect("text user data")
}

/// Runs the bootstrap `script` for a machine with `root` as its filesystem; returns stdout.
fn bootstrap(world: &World, script: &str, machine: &Path, node_ip: &str) -> String {
    bootstrap_with(world, script, machine, node_ip, "")
}

/// [`bootstrap`], with `extra` nodeup flags (e.g. the instance's id and zone).
pub(super) fn bootstrap_with(
    world: &World,
    script: &str,
    machine: &Path,
    node_ip: &str,
    extra: &str,
) -> String {
    let output = run_bootstrap(world, script, machine, node_ip, extra);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the bootstrap script failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs the edited bootstrap script and returns its output, whatever its status.
pub(super) fn run_bootstrap(
    world: &World,
    script: &str,
    machine: &Path,
    node_ip: &str,
    extra: &str,
) -> std::process::Output {
    run_bootstrap_with_env(world, script, machine, node_ip, extra, &[])
}

/// [`run_bootstrap`] with `env` added to the emulator's environment.
pub(super) fn run_bootstrap_with_env(
    world: &World,
    script: &str,
    machine: &Path,
    node_ip: &str,
    extra: &str,
    env: &[(&str, &str)],
) -> std::process::Output {
    let install = machine.join("opt-berth-bin");
    let root = machine.join("root");
    assert!(
        script.contains("INSTALL_DIR='/opt/berth/bin'\n"),
        "{script}"
    );
    let exec = "exec \"${INSTALL_DIR}/nodeup\" --conf=\"${NODEUP_CONF}\" --cluster-name=\"${CLUSTER_NAME}\"\n";
    assert!(script.ends_with(exec), "{script}");
    let script = script
        .replace(
            "INSTALL_DIR='/opt/berth/bin'\n",
            &format!("INSTALL_DIR='{}'\n", install.display()),
        )
        .replace(
            exec,
            &format!(
                "{} --root='{}' --service-manager=recording --hostname='ip-{}.ec2.internal' --node-ip='{node_ip}'{extra}\n",
                exec.trim_end(),
                root.display(),
                node_ip.replace('.', "-"),
            ),
        );
    let path = machine.join("user-data.sh");
    std::fs::create_dir_all(machine).expect("machine dir");
    std::fs::write(&path, script).expect("script");
    Command::new("bash")
        .arg(&path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(world.aws_env().iter().map(|(name, value)| (name, value)))
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .expect("bash")
}

/// Every regular file under `root`, relative.
pub(super) fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).expect("under root").to_owned());
            }
        }
    }
    out.sort();
    out
}

pub(super) fn assert_files(root: &Path, expected: &[&str]) {
    for file in expected {
        assert!(
            root.join(file).is_file(),
            "{file} is missing under {}",
            root.display()
        );
    }
}

/// Creates the public DNS zone, an S3 state store and the asset mirror, then creates
/// `cluster` with `create_args` and updates it (`--yes`, then a check that nothing is left).
pub(super) fn create_and_update(world: &World, cluster: &str, create_args: &[&str]) {
    create_and_update_with(world, cluster, create_args, true);
}

/// [`create_and_update`], in the public zone [`ZONE`] when `dns`, else without DNS (the API
/// behind its load balancer, nodes resolving it through `/etc/hosts`).
pub(super) fn create_and_update_with(
    world: &World,
    cluster: &str,
    create_args: &[&str],
    dns: bool,
) {
    if dns {
        world.block_on(create_public_zone(&world.aws, ZONE));
    }
    let bucket = unique_bucket("berth-bootstrap");
    create_bucket(world, &bucket);
    let store = format!("s3://{bucket}/clusters");
    let served = world.context.path().join("served");
    let base = serve(served.clone());
    make_assets(&served, &base);
    let berth = || {
        let mut command = world.berth();
        command
            .env("BERTH_STATE_STORE", &store)
            .env("BERTH_ASSETS_BASE_URL", &base)
            .env_remove("BERTH_NODEUP_URL")
            .env_remove("BERTH_NODEUP_SHA256");
        command
    };
    let key = world
        .context
        .write("admin.pub", super::world::SSH_PUBLIC_KEY);
    ok(berth()
        .args(["create", "cluster", cluster])
        .args(create_args)
        .args(if dns {
            vec!["--dns-zone", ZONE]
        } else {
            Vec::new()
        })
        .arg("--ssh-public-key")
        .arg(key));
    ok(berth().args(["update", "cluster", cluster, "--yes"]));
    let again = run(berth().args(["update", "cluster", cluster, "--exit-code"]));
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

pub(super) fn nodeup_binary_is_built() {
    let nodeup = assert_cmd::cargo::cargo_bin("berth").with_file_name("nodeup");
    assert!(
        nodeup.is_file(),
        "{} is missing: build it first (`cargo build -p berth-nodeup`); the test pins the nodeup beside berth",
        nodeup.display()
    );
}

#[test]
fn control_plane_and_worker_bootstrap_from_their_user_data() {
    nodeup_binary_is_built();
    let world = World::new();
    let cluster = format!("c.{ZONE}");
    create_and_update(&world, &cluster, &["--zones", "us-east-1a"]);

    let machines = world.context.path().join("machines");

    // The worker.
    let script = user_data(&world, &format!("nodes-us-east-1a.{cluster}"));
    let worker = machines.join("worker");
    let first = bootstrap(&world, &script, &worker, "172.20.32.10");
    assert!(first.contains("nodeup: "), "{first}");
    let root = worker.join("root");
    assert_files(
        &root,
        &[
            "etc/kubernetes/pki/ca.crt",
            "var/lib/kubelet/config.yaml",
            "var/lib/kubelet/bootstrap-kubeconfig",
            "etc/containerd/config.toml",
            "etc/systemd/system/kubelet.service",
            "usr/local/bin/kubelet",
            "usr/local/bin/kubectl",
            "usr/local/sbin/runc",
            "usr/local/bin/containerd",
            "usr/local/bin/crictl",
            "opt/cni/bin/bridge",
        ],
    );
    assert!(!root.join("etc/kubernetes/pki/ca.key").exists());
    for file in files(&root) {
        let bytes = std::fs::read(root.join(&file)).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains("PRIVATE KEY"),
            "the worker's {} holds a private key",
            file.display()
        );
    }
    let second = bootstrap(&world, &script, &worker, "172.20.32.10");
    assert!(second.contains("nodeup: 0 changes"), "{second}");

    // The control plane (which takes its etcd volumes: they exist in the emulator).
    let group = format!("control-plane-us-east-1a.{cluster}");
    let script = user_data(&world, &group);
    let control_plane = machines.join("control-plane");
    make_block_devices(&world, &control_plane.join("root"), "us-east-1a");
    let flags = format!(
        " --instance-id='{}' --zone='us-east-1a'",
        instance_of(&world, &group)
    );
    bootstrap_with(&world, &script, &control_plane, "172.20.32.20", &flags);
    assert_files(
        &control_plane.join("root"),
        &[
            "etc/kubernetes/manifests/etcd-main.yaml",
            "etc/kubernetes/manifests/etcd-events.yaml",
            "etc/kubernetes/manifests/kube-apiserver.yaml",
            "etc/kubernetes/manifests/kube-controller-manager.yaml",
            "etc/kubernetes/manifests/kube-scheduler.yaml",
            "etc/kubernetes/pki/ca.crt",
            "etc/kubernetes/pki/apiserver.crt",
            "etc/kubernetes/known-tokens.csv",
            "etc/kubernetes/kube-scheduler.kubeconfig",
            "var/lib/kubelet/kubeconfig",
            "var/lib/kubelet/config.yaml",
            "usr/local/bin/kubelet",
        ],
    );
    let second = bootstrap_with(&world, &script, &control_plane, "172.20.32.20", &flags);
    assert!(second.contains("nodeup: 0 changes"), "{second}");
}

#[test]
fn without_dns_nodes_resolve_the_api_server_through_their_hosts_file() {
    nodeup_binary_is_built();
    let world = World::new();
    let cluster = "nodns.k8s.local";
    create_and_update_with(&world, cluster, &["--zones", "us-east-1a"], false);
    let machines = world.context.path().join("machines");
    let internal = format!("api.internal.{cluster}");

    // The control-plane node: the API server's name at its own address.
    let group = format!("control-plane-us-east-1a.{cluster}");
    let instance = instance_of(&world, &group);
    let control_plane = machines.join("control-plane");
    make_block_devices(&world, &control_plane.join("root"), "us-east-1a");
    let flags = format!(" --instance-id='{instance}' --zone='us-east-1a'");
    bootstrap_with(
        &world,
        &user_data(&world, &group),
        &control_plane,
        "172.20.32.20",
        &flags,
    );
    let hosts = std::fs::read_to_string(control_plane.join("root/etc/hosts")).expect("hosts");
    assert!(
        hosts
            .lines()
            .any(|line| line.starts_with("172.20.32.20\t") && line.contains(&internal)),
        "{hosts}"
    );

    // The worker: the API server's name at the control-plane instance's address (as EC2
    // has it), its kubelet pointed at that name, and a sync timer to keep it current.
    let worker = machines.join("worker");
    bootstrap(
        &world,
        &user_data(&world, &format!("nodes-us-east-1a.{cluster}")),
        &worker,
        "172.20.32.10",
    );
    let root = worker.join("root");
    let address = private_address(&world, &instance);
    let hosts = std::fs::read_to_string(root.join("etc/hosts")).expect("hosts");
    assert!(
        hosts.contains(&format!("{address}\t{internal}\n")),
        "{hosts}"
    );
    let kubeconfig = std::fs::read_to_string(root.join("var/lib/kubelet/bootstrap-kubeconfig"))
        .expect("kubeconfig");
    assert!(
        kubeconfig.contains(&format!("server: https://{internal}")),
        "{kubeconfig}"
    );
    assert!(root.join("etc/systemd/system/nodeup-sync.timer").exists());
}
