//! The Kubernetes side of a cluster that lives in the AWS emulator, for `scripts/demo`: a real
//! kube-apiserver and kube-controller-manager (v1.36.2) whose CA is the cluster's own
//! `kubernetes-ca` from a `file://` state store, and a fake kubelet and scheduler that joins
//! every running EC2 instance of the emulator as a Node, Ready two seconds after it shows up.
//!
//! ```sh
//! cargo run -p berth-test-support --example local_kubernetes -- \
//!     --store-dir /path/to/store --cluster demo.example.com
//! ```
//!
//! The emulator comes from the environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, credentials),
//! as for `berth`. Once everything is ready it prints `server=https://127.0.0.1:PORT` on
//! stdout; it runs until its stdin closes, then stops everything and removes its directory.
//! When the binaries or etcd are missing it prints `missing: …` on stderr and exits with 3.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use berth_test_support::{
    instance_nodes::{InstanceNodes, InstanceNodesOptions, ec2_running_instances},
    k8s::{CaPem, ControlPlaneOptions, K8sVersion, StartError, TestControlPlane},
    kubelet::FakeKubelet,
};

/// From an instance showing up in EC2 to its Node reporting Ready: the simulated boot.
const BOOT_TO_READY: Duration = Duration::from_secs(2);

/// The exit code when the control plane's binaries or etcd are missing.
const MISSING: u8 = 3;

const USAGE: &str = "usage: local_kubernetes --store-dir DIR --cluster NAME";

struct Args {
    store_dir: PathBuf,
    cluster: String,
}

fn parse_args() -> Result<Args, String> {
    let mut store_dir = None;
    let mut cluster = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--store-dir" => store_dir = Some(PathBuf::from(value("--store-dir")?)),
            "--cluster" => cluster = Some(value("--cluster")?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    match (store_dir, cluster) {
        (Some(store_dir), Some(cluster)) => Ok(Args { store_dir, cluster }),
        _ => Err(USAGE.to_owned()),
    }
}

/// The cluster's `kubernetes-ca` from the store directory.
fn cluster_ca(store_dir: &Path, cluster: &str) -> Result<CaPem, String> {
    let pki = store_dir.join(cluster).join("pki");
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))
    };
    Ok(CaPem {
        certificate: read(pki.join("issued/kubernetes-ca/certificate.pem"))?,
        private_key: read(pki.join("private/kubernetes-ca/key.pem"))?,
    })
}

/// Resolves when stdin reaches its end (or fails).
async fn stdin_closed() {
    let (closed, wait) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = [0_u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = closed.send(());
    });
    let _ = wait.await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let ca = match cluster_ca(&args.store_dir, &args.cluster) {
        Ok(ca) => ca,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let options = ControlPlaneOptions::new(K8sVersion::V1_36_2)
        .with_controller_manager()
        .with_ca(ca);
    let control_plane = match TestControlPlane::try_start(options).await {
        Ok(control_plane) => control_plane,
        Err(StartError::Missing(missing)) => {
            eprintln!("missing: {missing}");
            return ExitCode::from(MISSING);
        }
        Err(error) => {
            eprintln!("the control plane did not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let client = control_plane.client();
    let kubelet = Arc::new(FakeKubelet::start(client.clone()));
    let nodes = InstanceNodes::start(
        Arc::clone(&kubelet),
        client,
        InstanceNodesOptions::new(BOOT_TO_READY),
        move || {
            let ec2 = ec2.clone();
            async move { ec2_running_instances(&ec2).await }
        },
    );
    println!("server={}", control_plane.server());

    stdin_closed().await;
    // The simulation first, then the kubelet, then the control plane (its processes and
    // directory).
    drop(nodes);
    drop(kubelet);
    drop(control_plane);
    ExitCode::SUCCESS
}
