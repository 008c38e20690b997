//! An HA control plane's etcd `main` cluster, as nodeup renders it, forms one cluster: three
//! control-plane nodes (members `a`, `b`, `c`) are planned with certificates from the same
//! CAs and each other as live peers, and the real etcd runs each member with the command
//! line of the static pod nodeup wrote, each in a mount namespace of its own whose
//! `/etc/hosts` is the one nodeup wrote for that node — so the members find each other by the
//! DNS names in `--initial-cluster` and check each other's peer certificates for them.
//!
//! Only what three members on one machine must change is remapped: paths move under each
//! node's root, and the listen addresses (`0.0.0.0`) become the node's own loopback address
//! (127.0.0.21–23), the address nodeup advertises. Needs root (mount namespaces): as another
//! user the test says so and returns; under `CI=true` that, like a missing etcd,
//! fails the test.

use std::{
    collections::BTreeMap,
    net::IpAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use berth_nodeup::{
    HostFacts, LocalHost, NodeTask,
    apply::apply,
    etcd_volumes::EtcdPeer,
    facts::Identity,
    pki,
    plan::{Contents, plan},
    testing::RecordingServiceManager,
};
use berth_test_support::k8s::{find_etcd, in_ci};
use time::OffsetDateTime;

use crate::fixtures::{self, CLUSTER, CONTROL_PLANE_GROUP};

/// The members and their addresses.
const MEMBERS: [(&str, [u8; 4]); 3] = [
    ("a", [127, 0, 0, 21]),
    ("b", [127, 0, 0, 22]),
    ("c", [127, 0, 0, 23]),
];

/// How long the three members get to elect a leader.
const FORMATION_DEADLINE: Duration = Duration::from_secs(60);

/// Running etcd members, killed on drop.
struct Members(Vec<Child>);

impl Drop for Members {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Plans member `member` at `address` (the others its live peers) and writes its files
/// (certificates, manifests, the hosts block) under `root`.
async fn render(
    root: &Path,
    member: &str,
    address: IpAddr,
    cas: &BTreeMap<String, pki::CaKeypair>,
) -> Vec<String> {
    let mut config = fixtures::configs("s3://berth-state/dev.example.com")
        .remove(CONTROL_PLANE_GROUP)
        .expect("the control plane's config");
    for members in config.etcd_members.values_mut() {
        *members = MEMBERS.iter().map(|(name, _)| (*name).to_owned()).collect();
    }
    let identity = Identity {
        hostname: format!("ip-{}.ec2.internal", address.to_string().replace('.', "-")),
        internal_ip: address,
    };
    let members: BTreeMap<String, String> = config
        .etcd_members
        .keys()
        .map(|cluster| (cluster.clone(), member.to_owned()))
        .collect();
    let peers = config
        .etcd_members
        .keys()
        .flat_map(|cluster| {
            MEMBERS
                .iter()
                .filter(|(name, _)| *name != member)
                .map(move |(name, octets)| EtcdPeer {
                    cluster: cluster.clone(),
                    member: (*name).to_owned(),
                    instance_id: format!("i-{name}"),
                    address: IpAddr::from(*octets),
                })
        })
        .collect();
    let host = LocalHost::new(root.to_owned(), Box::new(RecordingServiceManager::new()));
    let requests = pki::requests(&config, &identity, &members).expect("certificate requests");
    let node_pki = pki::prepare(cas.clone(), requests, &host, OffsetDateTime::now_utc())
        .expect("certificates");
    let facts = HostFacts {
        identity,
        pki: node_pki,
        etcd_members: members,
        etcd_devices: BTreeMap::new(),
        etcd_peers: peers,
        api_addresses: Vec::new(),
    };
    let tasks: Vec<NodeTask> = plan(&config, &facts)
        .expect("a plan")
        .into_iter()
        .filter(|task| {
            matches!(
                task,
                NodeTask::Directory { .. }
                    | NodeTask::HostsBlock { .. }
                    | NodeTask::File {
                        contents: Contents::Text(_),
                        ..
                    }
            )
        })
        .collect();
    apply(&tasks, &host, &BTreeMap::new())
        .await
        .expect("the node's files");
    let manifest = std::fs::read_to_string(root.join("etc/kubernetes/manifests/etcd-main.yaml"))
        .expect("the etcd-main manifest");
    let pod: serde_json::Value = serde_saphyr::from_str(&manifest).expect("a pod");
    pod["spec"]["containers"][0]["command"]
        .as_array()
        .expect("a command")
        .iter()
        .map(|arg| arg.as_str().expect("a string").to_owned())
        .collect()
}

/// The rendered command line with paths under `root` and the listen addresses on `address`.
fn remapped(command: &[String], root: &Path, address: IpAddr) -> Vec<String> {
    command
        .iter()
        .skip(1)
        .map(|arg| {
            let moved = arg
                .replace(
                    "=/etc/kubernetes/",
                    &format!("={}/etc/kubernetes/", root.display()),
                )
                .replace("=/mnt/", &format!("={}/mnt/", root.display()));
            if moved.starts_with("--listen-") {
                moved.replace("0.0.0.0", &address.to_string())
            } else {
                moved
            }
        })
        .collect()
}

/// `GET url` with the API server's etcd client certificate of `root`; the body, if any.
fn get(root: &Path, url: &str) -> Option<String> {
    let pki = root.join("etc/kubernetes/pki");
    let output = Command::new("curl")
        .args(["--silent", "--max-time", "5", "--cacert"])
        .arg(pki.join("etcd-main/ca-clients.crt"))
        .arg("--cert")
        .arg(pki.join("apiserver-etcd-client.crt"))
        .arg("--key")
        .arg(pki.join("apiserver-etcd-client.key"))
        .arg(url)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test]
async fn real_etcd_members_find_each_other_by_name_and_form_one_cluster() {
    if !fixtures::runs_as_root("a mount namespace per etcd member") {
        return;
    }
    let etcd = match find_etcd() {
        Ok(etcd) => etcd,
        Err(missing) if in_ci() => panic!("{missing}"),
        Err(missing) => {
            eprintln!("skipped: {missing}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let keypairs = fixtures::keypairs();
    let cas = fixtures::cas(&keypairs, true);
    let mut roots: Vec<(PathBuf, IpAddr)> = Vec::new();
    let mut members = Members(Vec::new());
    for (member, octets) in MEMBERS {
        let root = dir.path().join(member);
        let address = IpAddr::from(octets);
        let command = render(&root, member, address, &cas).await;
        let args = remapped(&command, &root, address);
        // The member's own /etc/hosts (nodeup's block) in a mount namespace of its own.
        let script = format!(
            "mount --bind '{hosts}' /etc/hosts && exec '{etcd}' \"$@\"",
            hosts = root.join("etc/hosts").display(),
            etcd = etcd.display(),
        );
        let log = std::fs::File::create(dir.path().join(format!("{member}.log"))).expect("log");
        let child = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
                "etcd",
            ])
            .args(&args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("unshare");
        members.0.push(child);
        roots.push((root, address));
    }

    let (root, address) = &roots[0];
    let deadline = Instant::now() + FORMATION_DEADLINE;
    let health = loop {
        let health = get(root, &format!("https://{address}:4001/health"));
        if health
            .as_deref()
            .is_some_and(|body| body.contains("\"true\""))
        {
            break health;
        }
        for child in &mut members.0 {
            if let Ok(Some(status)) = child.try_wait() {
                let logs: Vec<String> = MEMBERS
                    .iter()
                    .map(|(member, _)| {
                        std::fs::read_to_string(dir.path().join(format!("{member}.log")))
                            .unwrap_or_default()
                    })
                    .collect();
                panic!(
                    "an etcd member exited ({status}):\n{}",
                    logs.join("\n---\n")
                );
            }
        }
        if Instant::now() >= deadline {
            let log = std::fs::read_to_string(dir.path().join("a.log")).unwrap_or_default();
            panic!("etcd did not become healthy (last: {health:?}); member a's log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(health.is_some());

    // Every member, by its DNS name, as the rendered command lines named them.
    let list = Command::new("curl")
        .args([
            "--silent",
            "--max-time",
            "5",
            "-X",
            "POST",
            "-d",
            "{}",
            "--cacert",
        ])
        .arg(root.join("etc/kubernetes/pki/etcd-main/ca-clients.crt"))
        .arg("--cert")
        .arg(root.join("etc/kubernetes/pki/apiserver-etcd-client.crt"))
        .arg("--key")
        .arg(root.join("etc/kubernetes/pki/apiserver-etcd-client.key"))
        .arg(format!("https://{address}:4001/v3/cluster/member/list"))
        .output()
        .expect("curl");
    let list: serde_json::Value =
        serde_json::from_slice(&list.stdout).expect("the member list as JSON");
    let mut names: Vec<(String, String)> = list["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|member| {
            (
                member["name"].as_str().unwrap_or_default().to_owned(),
                member["peerURLs"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    names.sort();
    let expected: Vec<(String, String)> = MEMBERS
        .iter()
        .map(|(member, _)| {
            (
                format!("etcd-main-{member}"),
                format!("https://etcd-{member}.internal.{CLUSTER}:2380"),
            )
        })
        .collect();
    assert_eq!(names, expected);
    // Each of them serves the cluster.
    for (root, address) in &roots {
        let health = get(root, &format!("https://{address}:4001/health")).unwrap_or_default();
        assert!(health.contains("\"true\""), "{address}: {health}");
    }
}
