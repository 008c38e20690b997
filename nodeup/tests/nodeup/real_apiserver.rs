//! The control plane Berth renders boots: for each shipped Kubernetes version inside Berth's
//! supported range, a cluster is created in a `file://` store, the real `nodeup` renders a
//! control-plane node from it into a temporary root, and the real kube-apiserver and
//! kube-controller-manager run with the command lines of the static-pod manifests nodeup wrote
//! and the certificates it issued from the store's CA.
//!
//! Only what a test on a shared machine must change is remapped (see [`apiserver_args`] and
//! [`controller_manager_args`]): paths move under the root, the API server talks to the
//! harness's etcd and serves on a free loopback port, the controller manager reaches that port
//! and serves its own on another. Every other flag is passed as rendered, so a flag the version
//! no longer accepts stops the API server and fails the test with the server's own words.

use std::{
    net::{Ipv4Addr, TcpListener},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use berth_model::{
    CreateClusterOptions, DnsType, Document, InstanceGroup, KubernetesVersion, build_cluster,
    cluster_to_yaml, instance_group_to_yaml, parse_documents,
};
use berth_nodeup::{
    pki::KUBERNETES_CA,
    plan::{control_plane::API_PORT, paths},
};
use berth_state_store::{ClusterKeys, ObjectStore, WriteCondition};
use berth_test_support::k8s::{
    CaPem, ControlPlaneOptions, K8sVersion, Layout, StartError, TestControlPlane, binaries, in_ci,
};
use k8s_openapi::api::{
    authentication::v1::{SelfSubjectReview, TokenRequest},
    coordination::v1::Lease,
    core::v1::ServiceAccount,
    policy::v1::PodDisruptionBudget,
};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::fixtures::{self, CLUSTER, CONTROL_PLANE_GROUP};

/// The host directories whose paths a rendered command line may name; the test moves them
/// under nodeup's root.
const HOST_DIRS: [&str; 3] = ["/etc/kubernetes/", "/srv/", "/var/lib/"];

/// How long the controllers get to act once the control plane is up (the harness already
/// waited for the service-account controller; this is for the lease and the PDB status).
const CONTROLLER_DEADLINE: Duration = Duration::from_secs(90);

/// A flag kube-apiserver v1.28 accepts and v1.36 removed (the in-tree cloud providers went
/// in 1.33; kops used to pass `--cloud-provider=external` to the API server).
const REMOVED_FLAG: &str = "--cloud-provider=external";

/// A control-plane node nodeup rendered from a cluster in a `file://` store.
struct RenderedNode {
    /// Holds the store, the assets and the root; removed on drop.
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// kube-apiserver's command line as rendered, program first.
    apiserver: Vec<String>,
    /// kube-controller-manager's command line as rendered, program first.
    controller_manager: Vec<String>,
    /// The store's `kubernetes-ca`.
    ca: CaPem,
}

/// Creates a cluster of `version` in a fresh `file://` store, renders its control-plane node
/// with the real nodeup (`--root`, recording service manager) and reads back the command
/// lines of the API server's and controller manager's manifests.
async fn render(version: K8sVersion) -> RenderedNode {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    fs_err::create_dir_all(&store_dir).unwrap();
    let store_url = format!("file://{}", store_dir.display());
    let store = berth_state_store::open(&store_url).await.unwrap();
    let keys = ClusterKeys::new(CLUSTER);
    create_cluster(store.as_ref(), &keys, &store_url, version).await;

    let conf = write_nodeup_config(store.as_ref(), &keys, &store_url, dir.path()).await;
    let root = dir.path().join("root");
    let output = fixtures::run_nodeup(&conf, &root);
    assert!(
        output.status.success(),
        "nodeup failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let store = store.as_ref();
    let read = |key: String| async move {
        let object = store.get(&key).await.unwrap();
        String::from_utf8(object.unwrap_or_else(|| panic!("{key} is missing")).bytes).unwrap()
    };
    let ca = CaPem {
        certificate: read(keys.pki_issued(KUBERNETES_CA)).await,
        private_key: read(keys.pki_private(KUBERNETES_CA)).await,
    };
    RenderedNode {
        apiserver: manifest_command(&root, "kube-apiserver"),
        controller_manager: manifest_command(&root, "kube-controller-manager"),
        root,
        ca,
        _dir: dir,
    }
}

/// What `berth create cluster` writes: the CAs, the instance groups, then the Cluster.
async fn create_cluster(
    store: &dyn ObjectStore,
    keys: &ClusterKeys,
    store_url: &str,
    version: K8sVersion,
) {
    let options = CreateClusterOptions {
        name: CLUSTER.to_owned(),
        zones: vec!["us-east-1a".to_owned()],
        config_base: format!("{store_url}/{CLUSTER}"),
        dns_zone: Some("example.com".to_owned()),
        dns: DnsType::Public,
        kubernetes_version: Some(version.semver().to_owned()),
        ..CreateClusterOptions::default()
    };
    let (cluster, groups) = build_cluster(&options).unwrap();
    berth_model::validate(&cluster, &groups).unwrap();
    let create = |key: String, text: String| async move {
        store
            .put(&key, text.into_bytes(), WriteCondition::Create)
            .await
            .unwrap();
    };
    for keypair in fixtures::keypairs() {
        create(keys.pki_private(keypair.name), keypair.private_key_pem).await;
        create(keys.pki_issued(keypair.name), keypair.certificate_pem).await;
    }
    for group in &groups {
        create(
            keys.instance_group(&group.metadata.name),
            instance_group_to_yaml(group).unwrap(),
        )
        .await;
    }
    create(keys.config(), cluster_to_yaml(&cluster).unwrap()).await;
}

/// Reads the cluster back from the store, builds the control-plane group's nodeup config as
/// `update cluster` would (with a fake kubelet and CNI archive as its assets) and writes it
/// where cloudup does; returns its `--conf` URL.
async fn write_nodeup_config(
    store: &dyn ObjectStore,
    keys: &ClusterKeys,
    store_url: &str,
    dir: &Path,
) -> String {
    let documents = |key: String| async move {
        let bytes = store.get(&key).await.unwrap().unwrap().bytes;
        parse_documents(&String::from_utf8(bytes).unwrap(), &key).unwrap()
    };
    let Some(Document::Cluster(cluster)) = documents(keys.config()).await.pop() else {
        panic!("the store's cluster spec is not a Cluster");
    };
    let mut groups: Vec<InstanceGroup> = Vec::new();
    for key in store.list(&keys.instance_groups_prefix()).await.unwrap() {
        match documents(key).await.pop() {
            Some(Document::InstanceGroup(group)) => groups.push(group),
            other => panic!("not an InstanceGroup: {other:?}"),
        }
    }
    let mut config = fixtures::configs_of(&cluster, &groups)
        .remove(CONTROL_PLANE_GROUP)
        .expect("the control-plane group's config");
    let assets = dir.join("assets");
    fs_err::create_dir_all(&assets).unwrap();
    let kubelet = assets.join("kubelet");
    fs_err::write(&kubelet, b"#!/bin/sh\necho kubelet\n").unwrap();
    let cni = fixtures::tar_gz(
        &assets.join("cni-plugins.tar.gz"),
        &[("loopback", b"loopback plugin")],
    );
    config.assets = vec![
        fixtures::asset("kubelet", &kubelet),
        fixtures::asset("cni-plugins", &cni),
    ];
    let key = keys.igconfig(config.role.as_str(), &config.instance_group);
    store
        .put(
            &key,
            config.to_yaml().unwrap().into_bytes(),
            WriteCondition::Overwrite,
        )
        .await
        .unwrap();
    format!("{store_url}/{key}")
}

/// `spec.containers[0].command` of the static pod `name` nodeup wrote.
fn manifest_command(root: &Path, name: &str) -> Vec<String> {
    let path = under_root(root, &format!("{}/{name}.yaml", paths::MANIFESTS_DIR));
    let manifest: Value = serde_saphyr::from_str(&fs_err::read_to_string(&path).unwrap()).unwrap();
    let command: Vec<String> =
        serde_json::from_value(manifest["spec"]["containers"][0]["command"].clone()).unwrap();
    assert_eq!(
        command.first().map(String::as_str),
        Some(name),
        "{command:?}"
    );
    command
}

/// `path` under the root when it names one of the [`HOST_DIRS`], unchanged otherwise.
fn under_root(root: &Path, path: &str) -> String {
    if HOST_DIRS.iter().any(|dir| path.starts_with(dir)) {
        root.join(path.trim_start_matches('/'))
            .display()
            .to_string()
    } else {
        path.to_owned()
    }
}

/// `--flag=value` split in two.
fn flag(arg: &str) -> (&str, &str) {
    arg.split_once('=')
        .unwrap_or_else(|| panic!("`{arg}` is not `--flag=value`"))
}

/// The API server's rendered flags, with only these changed: paths under the root; etcd
/// (`main` and the `events` override) is the harness's plain-HTTP etcd; it serves on the
/// harness's port and advertises and binds 127.0.0.1, since tests run side by side and the
/// node's address is not this machine's.
fn apiserver_args(command: &[String], root: &Path, layout: &Layout) -> Vec<String> {
    let mut args: Vec<String> = command[1..]
        .iter()
        .map(|arg| {
            let (name, value) = flag(arg);
            let value = match name {
                "--etcd-servers" => layout.etcd_url.clone(),
                "--etcd-servers-overrides" => value
                    .split(',')
                    .map(|entry| {
                        let (resource, _) = entry.split_once('#').unwrap();
                        format!("{resource}#{}", layout.etcd_url)
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                "--secure-port" => layout.apiserver_port.to_string(),
                "--advertise-address" | "--bind-address" => "127.0.0.1".to_owned(),
                _ => under_root(root, value),
            };
            format!("{name}={value}")
        })
        .collect();
    if !args.iter().any(|arg| arg.starts_with("--bind-address=")) {
        args.push("--bind-address=127.0.0.1".to_owned());
    }
    args
}

/// The controller manager's rendered flags, with only these changed: paths under the root;
/// its kubeconfigs are a copy of the rendered one that reaches the harness's API server port;
/// it serves on a free port (the rendered default, 10257, would collide between tests).
fn controller_manager_args(command: &[String], root: &Path, layout: &Layout) -> Vec<String> {
    let kubeconfig = remapped_kubeconfig(root, layout);
    let port = free_port();
    let mut args: Vec<String> = command[1..]
        .iter()
        .map(|arg| {
            let (name, value) = flag(arg);
            let value = match name {
                "--kubeconfig" | "--authentication-kubeconfig" | "--authorization-kubeconfig" => {
                    assert_eq!(
                        value,
                        format!(
                            "{}/kube-controller-manager.kubeconfig",
                            paths::KUBERNETES_DIR
                        )
                    );
                    kubeconfig.display().to_string()
                }
                "--secure-port" => port.to_string(),
                _ => under_root(root, value),
            };
            format!("{name}={value}")
        })
        .collect();
    if !args.iter().any(|arg| arg.starts_with("--secure-port=")) {
        args.push(format!("--secure-port={port}"));
    }
    args
}

/// A copy of the controller manager's rendered kubeconfig in the harness's directory: the
/// server is the harness's port on 127.0.0.1 (rendered: 127.0.0.1:443), files under the root.
fn remapped_kubeconfig(root: &Path, layout: &Layout) -> PathBuf {
    let rendered = under_root(
        root,
        &format!(
            "{}/kube-controller-manager.kubeconfig",
            paths::KUBERNETES_DIR
        ),
    );
    let mut kubeconfig: Value =
        serde_saphyr::from_str(&fs_err::read_to_string(&rendered).unwrap()).unwrap();
    for cluster in kubeconfig["clusters"].as_array_mut().unwrap() {
        let entry = &mut cluster["cluster"];
        assert_eq!(entry["server"], format!("https://127.0.0.1:{API_PORT}"));
        entry["server"] = json!(format!("https://127.0.0.1:{}", layout.apiserver_port));
        remap_paths(root, entry, &["certificate-authority"]);
    }
    for user in kubeconfig["users"].as_array_mut().unwrap() {
        remap_paths(
            root,
            &mut user["user"],
            &["client-certificate", "client-key"],
        );
    }
    let path = layout
        .dir
        .join("rendered-kube-controller-manager.kubeconfig");
    // JSON is YAML: the controller manager reads it as a kubeconfig.
    fs_err::write(&path, serde_json::to_string_pretty(&kubeconfig).unwrap()).unwrap();
    path
}

fn remap_paths(root: &Path, entry: &mut Value, fields: &[&str]) {
    for field in fields {
        let path = entry[*field].as_str().unwrap().to_owned();
        entry[*field] = json!(under_root(root, &path));
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The harness options that run `node`'s rendered command lines (`extra_apiserver_flag`
/// appended to the API server's), with the controller manager when `with_controller_manager`.
fn options(
    version: K8sVersion,
    node: &RenderedNode,
    extra_apiserver_flag: Option<&str>,
    with_controller_manager: bool,
) -> ControlPlaneOptions {
    let (root, command) = (node.root.clone(), node.apiserver.clone());
    let extra = extra_apiserver_flag.map(str::to_owned);
    let mut options = ControlPlaneOptions::new(version)
        .with_ca(node.ca.clone())
        .with_apiserver_args(move |layout| {
            let mut args = apiserver_args(&command, &root, layout);
            args.extend(extra.clone());
            args
        });
    if with_controller_manager {
        let (root, command) = (node.root.clone(), node.controller_manager.clone());
        options = options.with_controller_manager_args(move |layout| {
            controller_manager_args(&command, &root, layout)
        });
    }
    options
}

/// The shipped versions inside Berth's supported range.
fn supported_versions() -> Vec<K8sVersion> {
    K8sVersion::ALL
        .into_iter()
        .filter(|version| {
            version
                .semver()
                .parse::<KubernetesVersion>()
                .unwrap()
                .is_supported()
        })
        .collect()
}

/// Polls `check` every 250 ms until it returns `Some`, for at most [`CONTROLLER_DEADLINE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < CONTROLLER_DEADLINE,
            "{what} within {CONTROLLER_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A client authenticating with `token` only, trusting the CA nodeup wrote.
async fn token_client(server: &str, root: &Path, token: &str) -> kube::Client {
    let ca = under_root(root, paths::CA_CERTIFICATE);
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    \
         certificate-authority: {ca}\nusers:\n- name: u\n  user:\n    token: {token}\n\
         contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
    ))
    .unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    kube::Client::try_from(config).unwrap()
}

/// Boots `version`'s rendered control plane and checks what the issue asks: `/readyz`, the
/// service-account issuer, the controller manager's leader election and disruption controller.
async fn boot(version: K8sVersion) {
    let started = Instant::now();
    let node = render(version).await;
    let rendered = started.elapsed();
    let Some(control_plane) = TestControlPlane::start(options(version, &node, None, true)).await
    else {
        return;
    };
    let booted = started.elapsed() - rendered;
    let client = control_plane.client();

    let readyz = client
        .request_text(http::Request::get("/readyz").body(Vec::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(readyz.trim(), "ok", "{version}: /readyz");

    // The issuer signs a token for a service account the controller manager created, and the
    // API server accepts it back.
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let request: TokenRequest = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"audiences": []}
    }))
    .unwrap();
    let issued: TokenRequest = accounts
        .create_subresource("token", "default", &PostParams::default(), &request)
        .await
        .unwrap_or_else(|error| panic!("{version}: the token request failed: {error}"));
    let token = issued
        .status
        .and_then(|status| status.token)
        .unwrap_or_default();
    assert!(!token.is_empty(), "{version}: an empty token");
    let reviews: Api<SelfSubjectReview> =
        Api::all(token_client(control_plane.server(), &node.root, &token).await);
    let review: SelfSubjectReview = serde_json::from_value(json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
    }))
    .unwrap();
    let review = reviews
        .create(&PostParams::default(), &review)
        .await
        .unwrap_or_else(|error| panic!("{version}: the token does not authenticate: {error}"));
    let user = review.status.and_then(|status| status.user_info);
    assert_eq!(
        user.and_then(|user| user.username).as_deref(),
        Some("system:serviceaccount:default:default"),
        "{version}"
    );

    // Leader election: the controller manager holds its lease.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let holder = eventually(
        &format!("{version}: the controller manager's lease"),
        || {
            let leases = leases.clone();
            async move {
                let lease = leases.get_opt("kube-controller-manager").await.unwrap()?;
                lease
                    .spec?
                    .holder_identity
                    .filter(|holder| !holder.is_empty())
            }
        },
    )
    .await;

    // The disruption controller observes a new PodDisruptionBudget.
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(client, "default");
    let budget: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "boot-check"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "boot-check"}}}
    }))
    .unwrap();
    let created = budgets
        .create(&PostParams::default(), &budget)
        .await
        .unwrap();
    let generation = created.metadata.generation;
    eventually(
        &format!("{version}: the disruption controller's status"),
        || {
            let budgets = budgets.clone();
            async move {
                let budget = budgets.get("boot-check").await.unwrap();
                let observed = budget.status?.observed_generation;
                (observed.is_some() && observed == generation).then_some(())
            }
        },
    )
    .await;
    eprintln!(
        "{version}: rendered in {rendered:.1?}, booted in {booted:.1?}, checked in {:.1?} \
         (lease holder {holder})",
        started.elapsed() - rendered - booted
    );
}

#[tokio::test]
async fn real_apiserver_rendered_control_plane_boots_each_supported_version() {
    let versions = supported_versions();
    assert!(
        versions.contains(&K8sVersion::V1_36_2),
        "v1.36 is inside Berth's supported range"
    );
    for version in versions {
        boot(version).await;
    }
}

#[tokio::test]
async fn real_apiserver_rendered_command_line_with_a_removed_flag_fails_with_the_servers_words() {
    let version = K8sVersion::V1_36_2;
    if let Err(missing) = binaries(version) {
        assert!(!in_ci(), "{missing}");
        eprintln!("skipping: {missing}");
        return;
    }
    let node = render(version).await;
    match TestControlPlane::try_start(options(version, &node, Some(REMOVED_FLAG), false)).await {
        Err(StartError::Exited { component, log, .. }) => {
            assert_eq!(component, "kube-apiserver");
            assert!(
                log.contains("unknown flag: --cloud-provider"),
                "the API server's own error is reported: {log}"
            );
        }
        Ok(_) => panic!("{version} accepted `{REMOVED_FLAG}`"),
        Err(error) => panic!("expected the API server to refuse `{REMOVED_FLAG}`: {error}"),
    }
}
