//! The whole planned tree of a control-plane node and of a worker node, snapshotted.
//!
//! Key material is random, so PEM blocks and certificate records are shown redacted with
//! their kind; everything else is shown in full.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr},
    path::PathBuf,
};

use berth_model::nodeup_config::{Asset, NodeupConfig};
use berth_nodeup::{
    HostFacts, LocalHost, NodeTask,
    etcd_volumes::EtcdPeer,
    facts::Identity,
    hosts_file::HostEntry,
    pki,
    plan::ServiceActionKind,
    plan::{Contents, PlanError, plan},
    testing::RecordingServiceManager,
};
use time::OffsetDateTime;

use crate::fixtures::{self, CONTROL_PLANE_GROUP, NODE_GROUP};

fn identity() -> Identity {
    Identity {
        hostname: "ip-172-20-32-10.ec2.internal".to_owned(),
        internal_ip: IpAddr::V4(Ipv4Addr::new(172, 20, 32, 10)),
    }
}

fn with_assets(mut config: NodeupConfig) -> NodeupConfig {
    let asset = |name: &str, file: &str, digit: char| Asset {
        name: name.to_owned(),
        urls: vec![format!("https://dl.example.com/{file}")],
        sha256: digit.to_string().repeat(64),
    };
    config.assets = vec![
        asset("kubelet", "kubelet", '1'),
        asset("kubectl", "kubectl", '2'),
        asset("containerd", "containerd-1.7.27-linux-amd64.tar.gz", '3'),
        asset("runc", "runc.amd64", '4'),
        asset("cni-plugins", "cni-plugins-linux-amd64-v1.6.2.tgz", '5'),
    ];
    config
}

fn planned(group: &str) -> Vec<NodeTask> {
    planned_config(
        fixtures::configs("s3://berth-state/dev.example.com")
            .remove(group)
            .unwrap(),
    )
}

/// The plan of `config` (with fake assets) for a fixed identity, certificates issued from
/// fresh CAs.
pub(crate) fn planned_config(config: NodeupConfig) -> Vec<NodeTask> {
    planned_with_members(config, &BTreeMap::new()).unwrap()
}

/// [`planned_config`] for a node whose etcd volumes named `etcd_members`.
fn planned_with_members(
    config: NodeupConfig,
    etcd_members: &BTreeMap<String, String>,
) -> Result<Vec<NodeTask>, PlanError> {
    planned_with_volumes(config, etcd_members, BTreeMap::new(), Vec::new())
}

/// [`planned_with_members`] for a node whose volumes showed up as `etcd_devices`, with
/// `etcd_peers` live.
pub(crate) fn planned_with_volumes(
    config: NodeupConfig,
    etcd_members: &BTreeMap<String, String>,
    etcd_devices: BTreeMap<String, PathBuf>,
    etcd_peers: Vec<EtcdPeer>,
) -> Result<Vec<NodeTask>, PlanError> {
    planned_with_facts(config, etcd_members, etcd_devices, etcd_peers, Vec::new())
}

/// [`planned_with_volumes`] with `api_addresses` for the API server's name.
fn planned_with_facts(
    config: NodeupConfig,
    etcd_members: &BTreeMap<String, String>,
    etcd_devices: BTreeMap<String, PathBuf>,
    etcd_peers: Vec<EtcdPeer>,
    api_addresses: Vec<IpAddr>,
) -> Result<Vec<NodeTask>, PlanError> {
    let config = with_assets(config);
    let root = tempfile::tempdir().unwrap();
    let host = LocalHost::new(
        root.path().to_owned(),
        Box::new(RecordingServiceManager::new()),
    );
    let keypairs = fixtures::keypairs();
    let control_plane = config.control_plane.is_some();
    let mut cas = fixtures::cas(&keypairs, control_plane);
    let needed: Vec<String> = pki::cas_needed(&config)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    cas.retain(|name, _| needed.contains(name));
    let requests = pki::requests(&config, &identity(), etcd_members)?;
    let node_pki = pki::prepare(cas, requests, &host, OffsetDateTime::now_utc()).unwrap();
    let facts = HostFacts {
        identity: identity(),
        pki: node_pki,
        etcd_members: etcd_members.clone(),
        etcd_devices,
        etcd_peers,
        api_addresses,
    };
    plan(&config, &facts)
}

/// Every task in order, with file and unit contents (PEM and records redacted).
fn tree(tasks: &[NodeTask]) -> String {
    let mut out = String::new();
    for task in tasks {
        // Sizes are left out: PEM lengths vary with the random keys.
        let header = match task {
            NodeTask::File {
                path,
                contents: Contents::Text(_),
                mode,
            } => format!("file {} {mode:04o}", path.display()),
            NodeTask::SystemdUnit { name, .. } => format!("unit {name}"),
            _ => task.to_string(),
        };
        out.push_str(&format!("== [{:?}] {header}\n", task.phase()));
        let text = match task {
            NodeTask::File {
                contents: Contents::Text(text),
                path,
                ..
            } => {
                if text.contains("-----BEGIN") {
                    let kinds: Vec<&str> = text
                        .lines()
                        .filter_map(|line| line.strip_prefix("-----BEGIN "))
                        .collect();
                    format!("<redacted PEM: {}>\n", kinds.join(", "))
                } else if path.starts_with("/var/lib/nodeup/pki") {
                    "<redacted certificate record>\n".to_owned()
                } else {
                    text.clone()
                }
            }
            NodeTask::SystemdUnit { contents, .. } => contents.clone(),
            _ => continue,
        };
        for line in text.lines() {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn control_plane_tree() {
    let tasks = planned(CONTROL_PLANE_GROUP);
    insta::assert_snapshot!(tree(&tasks));
}

#[test]
fn worker_tree() {
    let tasks = planned(NODE_GROUP);
    insta::assert_snapshot!(tree(&tasks));
}

#[test]
fn worker_plan_holds_no_private_key() {
    for task in planned(NODE_GROUP) {
        if let NodeTask::File {
            contents: Contents::Text(text),
            path,
            ..
        } = &task
        {
            assert!(
                !text.contains("PRIVATE KEY"),
                "{} holds a private key",
                path.display()
            );
        }
    }
}

#[test]
fn phases_are_in_order() {
    let tasks = planned(CONTROL_PLANE_GROUP);
    let phases: Vec<_> = tasks.iter().map(NodeTask::phase).collect();
    let mut sorted = phases.clone();
    sorted.sort();
    assert_eq!(phases, sorted);
}

/// The control plane's config with three members per etcd cluster (`a`, `b`, `c`).
fn three_member_config() -> NodeupConfig {
    let mut config = fixtures::configs("s3://berth-state/dev.example.com")
        .remove(CONTROL_PLANE_GROUP)
        .unwrap();
    for members in config.etcd_members.values_mut() {
        *members = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
    }
    config
}

fn manifest(tasks: &[NodeTask], name: &str) -> String {
    tasks
        .iter()
        .find_map(|task| match task {
            NodeTask::File {
                path,
                contents: Contents::Text(text),
                ..
            } if path.ends_with(name) => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {name} planned"))
}

#[test]
fn several_etcd_members_use_the_member_the_volume_named() {
    let members = BTreeMap::from([
        ("main".to_owned(), "b".to_owned()),
        ("events".to_owned(), "b".to_owned()),
    ]);
    let tasks = planned_with_members(three_member_config(), &members).unwrap();
    for cluster in ["main", "events"] {
        let pod = manifest(&tasks, &format!("etcd-{cluster}.yaml"));
        assert!(pod.contains(&format!("--name=etcd-{cluster}-b")), "{pod}");
        let prefix = if cluster == "main" {
            "etcd".to_owned()
        } else {
            format!("etcd-{cluster}")
        };
        assert!(
            pod.contains(&format!(
                "etcd-{cluster}-b=https://{prefix}-b.internal.{}:",
                fixtures::CLUSTER
            )),
            "{pod}"
        );
    }
}

#[test]
fn several_etcd_members_without_a_volume_are_refused() {
    let error = planned_with_members(three_member_config(), &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(&error, PlanError::UnknownEtcdMember { members: 3, .. }),
        "{error}"
    );
}

#[test]
fn a_member_the_config_does_not_list_is_refused() {
    let members = BTreeMap::from([
        ("main".to_owned(), "z".to_owned()),
        ("events".to_owned(), "z".to_owned()),
    ]);
    let error = planned_with_members(three_member_config(), &members).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, PlanError::ForeignEtcdMember { .. }),
        "{message}"
    );
    assert!(
        message.contains("`z`") && message.contains("a, b, c"),
        "{message}"
    );
}

#[test]
fn found_etcd_volumes_are_formatted_mounted_before_the_kubelet_and_peers_named() {
    let members = BTreeMap::from([
        ("main".to_owned(), "b".to_owned()),
        ("events".to_owned(), "b".to_owned()),
    ]);
    let devices = BTreeMap::from([
        (
            "main".to_owned(),
            PathBuf::from("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0aaa"),
        ),
        ("events".to_owned(), PathBuf::from("/dev/xvdv")),
    ]);
    let peer = |cluster: &str, member: &str, address: [u8; 4]| EtcdPeer {
        cluster: cluster.to_owned(),
        member: member.to_owned(),
        instance_id: format!("i-{member}"),
        address: IpAddr::from(address),
    };
    // `b` is this node's own member (its volume's holder is this instance): never a peer.
    let peers = vec![
        peer("main", "a", [172, 20, 64, 11]),
        peer("events", "a", [172, 20, 64, 11]),
        peer("main", "c", [172, 20, 96, 12]),
    ];
    let tasks = planned_with_volumes(three_member_config(), &members, devices, peers).unwrap();
    assert!(
        !tasks
            .iter()
            .any(|task| matches!(task, NodeTask::EtcdVolume { .. })),
        "a found volume is not skipped"
    );
    assert!(tasks.contains(&NodeTask::Filesystem {
        device: PathBuf::from("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0aaa"),
        label: "etcd-main".to_owned(),
    }));
    let unit = tasks
        .iter()
        .find_map(|task| match task {
            NodeTask::SystemdUnit { name, contents } if name == "mnt-etcd\\x2devents.mount" => {
                Some(contents.clone())
            }
            _ => None,
        })
        .expect("the events mount unit");
    for line in [
        "What=/dev/xvdv",
        "Where=/mnt/etcd-events",
        "Type=ext4",
        "Before=kubelet.service",
        "RequiredBy=kubelet.service",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} in\n{unit}");
    }
    // Mounts are enabled and started before anything starts the kubelet.
    let position =
        |wanted: &dyn Fn(&NodeTask) -> bool| tasks.iter().position(wanted).expect("a planned task");
    let mount_started = position(
        &|task| matches!(task, NodeTask::ServiceAction { unit, action: ServiceActionKind::Start, .. } if unit == "mnt-etcd\\x2dmain.mount"),
    );
    let kubelet = position(
        &|task| matches!(task, NodeTask::ServiceAction { unit, .. } if unit == "kubelet.service"),
    );
    assert!(mount_started < kubelet, "{tasks:#?}");

    let hosts = tasks
        .iter()
        .find_map(|task| match task {
            NodeTask::HostsBlock { entries, .. } => Some(entries.clone()),
            _ => None,
        })
        .expect("the hosts block");
    let name = |prefix: &str| format!("{prefix}.internal.{}", fixtures::CLUSTER);
    assert_eq!(
        hosts,
        [
            HostEntry {
                address: IpAddr::from([172, 20, 32, 10]),
                names: vec![name("etcd-b"), name("etcd-events-b")],
            },
            HostEntry {
                address: IpAddr::from([172, 20, 64, 11]),
                names: vec![name("etcd-a"), name("etcd-events-a")],
            },
            HostEntry {
                address: IpAddr::from([172, 20, 96, 12]),
                names: vec![name("etcd-c")],
            },
        ]
    );
    let pod = manifest(&tasks, "etcd-main.yaml");
    let expected = format!(
        "--initial-cluster=etcd-main-a=https://{a}:2380,etcd-main-b=https://{b}:2380,etcd-main-c=https://{c}:2380",
        a = name("etcd-a"),
        b = name("etcd-b"),
        c = name("etcd-c"),
    );
    assert!(pod.contains(&expected), "{pod}");
    assert!(
        pod.contains(&format!(
            "--initial-advertise-peer-urls=https://{}:2380",
            name("etcd-b")
        )),
        "{pod}"
    );
}

fn hosts_entries(tasks: &[NodeTask]) -> Option<Vec<HostEntry>> {
    tasks.iter().find_map(|task| match task {
        NodeTask::HostsBlock { entries, .. } => Some(entries.clone()),
        _ => None,
    })
}

fn has_unit(tasks: &[NodeTask], wanted: &str) -> bool {
    tasks
        .iter()
        .any(|task| matches!(task, NodeTask::SystemdUnit { name, .. } if name == wanted))
}

#[test]
fn without_dns_every_node_maps_the_api_server_to_the_control_plane_in_hosts() {
    let mut configs = fixtures::configs("s3://berth-state/dev.example.com");
    let control_plane_addresses: Vec<IpAddr> = vec![
        IpAddr::from([172, 20, 32, 10]),
        IpAddr::from([172, 20, 64, 11]),
    ];
    let internal = format!("api.internal.{}", fixtures::CLUSTER);

    let mut worker = configs.remove(NODE_GROUP).unwrap();
    // With DNS a worker keeps no hosts block and runs no sync.
    let tasks = planned_config(worker.clone());
    assert_eq!(hosts_entries(&tasks), None);
    assert!(!has_unit(&tasks, "nodeup-sync.timer"));

    worker.api_server_in_hosts = true;
    let tasks = planned_with_facts(
        worker,
        &BTreeMap::new(),
        BTreeMap::new(),
        Vec::new(),
        control_plane_addresses.clone(),
    )
    .unwrap();
    assert_eq!(
        hosts_entries(&tasks).expect("a hosts block"),
        control_plane_addresses
            .iter()
            .map(|address| HostEntry {
                address: *address,
                names: vec![internal.clone()],
            })
            .collect::<Vec<_>>()
    );
    assert!(has_unit(&tasks, "nodeup-sync.timer"));
    let kubeconfig = manifest(&tasks, "bootstrap-kubeconfig");
    assert!(
        kubeconfig.contains(&format!("server: https://{internal}")),
        "{kubeconfig}"
    );

    // A control-plane node lists itself with its etcd names and the API server's.
    let mut control_plane = configs.remove(CONTROL_PLANE_GROUP).unwrap();
    control_plane.api_server_in_hosts = true;
    let tasks = planned_with_facts(
        control_plane,
        &BTreeMap::new(),
        BTreeMap::new(),
        Vec::new(),
        control_plane_addresses,
    )
    .unwrap();
    let entries = hosts_entries(&tasks).expect("a hosts block");
    assert_eq!(entries[0].address, identity().internal_ip);
    assert_eq!(
        entries[0].names,
        [
            internal.clone(),
            format!("etcd-a.internal.{}", fixtures::CLUSTER),
            format!("etcd-events-a.internal.{}", fixtures::CLUSTER),
        ]
    );
    assert_eq!(entries[1].names, [internal]);
}
