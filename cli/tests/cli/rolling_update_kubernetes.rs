//! The Kubernetes side of `rolling-update cluster`, `validate cluster` and `export
//! kubeconfig`, end to end against the real thing: moto for the cloud, a real kube-apiserver
//! and kube-controller-manager (the real disruption, deployment and replica-set controllers)
//! whose CA is the cluster's own `kubernetes-ca` from the state store, and the test playing
//! kubelet and scheduler: every instance moto launches registers as a Node with the instance's
//! `providerID` and turns Ready after a delay; pods are bound to schedulable nodes and marked
//! Ready.
//!
//! The API server writes an audit log of pod deletions and evictions, so the tests can tell
//! that Berth never deletes a pod: it only evicts.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use berth_test_support::{
    instance_nodes::{InstanceNodes, InstanceNodesOptions, ec2_running_instances},
    k8s::{CaPem, ControlPlaneOptions, K8sVersion, TestControlPlane},
    kubelet::{DeletionReason, FakeKubelet},
    workload::{ProtectedDeployment, is_serving},
};
use futures_util::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
};
use serde_json::json;

use crate::{
    context::{Run, ok, run},
    rolling_update::{CLUSTER, CONTROL_PLANE, NODES, World, ids, versions},
};

/// How long a freshly launched instance takes to report a Ready node.
const BOOT_TO_READY: Duration = Duration::from_secs(1);

/// The namespace of the test workload.
const NAMESPACE: &str = "web";

/// A cluster in moto with its Kubernetes side running.
struct KubeWorld {
    world: World,
    control_plane: TestControlPlane,
    kubelet: Arc<FakeKubelet>,
    nodes: InstanceNodes,
    audit_log: PathBuf,
}

impl KubeWorld {
    /// Starts the control plane of `version` for the world's cluster (already created in the
    /// store) and the registrar that plays the instances' kubelets; `None` when the shipped
    /// binaries or etcd are missing outside CI.
    fn start(world: World, version: K8sVersion) -> Option<Self> {
        let ca = cluster_ca(&world, CLUSTER);
        let audit_log = world.context.path().join("audit.log");
        let policy = world.context.write(
            "audit-policy.yaml",
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  \
             verbs: [create, delete, deletecollection]\n  resources:\n  - group: \"\"\n    \
             resources: [pods, pods/eviction]\n- level: None\n",
        );
        let options = ControlPlaneOptions::new(version)
            .with_controller_manager()
            .with_ca(ca)
            .with_extra_apiserver_args([
                format!("--audit-policy-file={}", policy.display()),
                format!("--audit-log-path={}", audit_log.display()),
            ]);
        let control_plane = world.runtime.block_on(TestControlPlane::start(options))?;
        let (kubelet, nodes) = world.runtime.block_on(async {
            let client = control_plane.client();
            let kubelet = Arc::new(FakeKubelet::start(client.clone()));
            let aws = world.aws.clone();
            let nodes = InstanceNodes::start(
                Arc::clone(&kubelet),
                client,
                InstanceNodesOptions::new(BOOT_TO_READY),
                move || {
                    let aws = aws.clone();
                    async move { ec2_running_instances(&aws.ec2).await }
                },
            );
            (kubelet, nodes)
        });
        Some(Self {
            world,
            control_plane,
            kubelet,
            nodes,
            audit_log,
        })
    }

    fn server(&self) -> &str {
        self.control_plane.server()
    }

    fn validate(&self, extra: &[&str]) -> Run {
        run(self
            .world
            .berth()
            .args(["validate", "cluster", CLUSTER, "--server", self.server()])
            .args(["--interval", "1s"])
            .args(extra))
    }

    fn rolling_update(&self, extra: &[&str]) -> Run {
        let mut args = vec![
            "--yes",
            "--server",
            self.server(),
            "--interval",
            "0s",
            "--post-drain-delay",
            "0s",
            "--validate-interval",
            "1s",
        ];
        args.extend_from_slice(extra);
        self.world.rolling_update(&args)
    }

    /// A Deployment of two replicas behind a PodDisruptionBudget of `minAvailable: 1`, once
    /// both pods are Ready.
    fn protected_workload(&self) {
        self.world.runtime.block_on(async {
            let client = self.control_plane.client();
            ProtectedDeployment {
                namespace: NAMESPACE,
                name: "web",
                replicas: 2,
                instance_group: NODES,
                budget: json!({"minAvailable": 1}),
            }
            .create(&client)
            .await;
            let pods: Api<Pod> = Api::namespaced(client, NAMESPACE);
            eventually("two Ready web pods", || async {
                pods.list(&ListParams::default())
                    .await
                    .is_ok_and(|list| list.items.iter().filter(|pod| is_serving(pod)).count() == 2)
            })
            .await;
        });
    }

    /// Watches the workload's pods and keeps the lowest number of them serving at once.
    fn watch_serving_pods(&self) -> Arc<AtomicUsize> {
        let lowest = Arc::new(AtomicUsize::new(usize::MAX));
        let pods: Api<Pod> = self
            .world
            .runtime
            .block_on(async { Api::namespaced(self.control_plane.client(), NAMESPACE) });
        let seen = Arc::clone(&lowest);
        self.world.runtime.spawn(async move {
            let list = pods.list(&ListParams::default()).await.expect("list pods");
            let mut serving_now: BTreeMap<String, bool> = list
                .items
                .iter()
                .map(|pod| {
                    (
                        pod.metadata.name.clone().unwrap_or_default(),
                        is_serving(pod),
                    )
                })
                .collect();
            let version = list.metadata.resource_version.unwrap_or_default();
            let record = |state: &BTreeMap<String, bool>| {
                let count = state.values().filter(|serving| **serving).count();
                seen.fetch_min(count, Ordering::SeqCst);
            };
            record(&serving_now);
            let params = WatchParams::default().timeout(290);
            let stream = pods.watch(&params, &version).await.expect("watch pods");
            let mut stream = stream.boxed();
            while let Ok(Some(event)) = stream.try_next().await {
                match event {
                    WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                        serving_now.insert(
                            pod.metadata.name.clone().unwrap_or_default(),
                            is_serving(&pod),
                        );
                    }
                    WatchEvent::Deleted(pod) => {
                        serving_now.remove(&pod.metadata.name.clone().unwrap_or_default());
                    }
                    WatchEvent::Bookmark(_) | WatchEvent::Error(_) => continue,
                }
                record(&serving_now);
            }
        });
        lowest
    }

    /// Watches the cluster's nodes and records every version of each, in the order the API
    /// server wrote them.
    fn watch_nodes(&self) -> Arc<Mutex<Vec<NodeVersion>>> {
        let versions = Arc::new(Mutex::new(Vec::new()));
        let nodes: Api<Node> = self
            .world
            .runtime
            .block_on(async { Api::all(self.control_plane.client()) });
        let seen = Arc::clone(&versions);
        let listed = self.world.runtime.block_on(async {
            let list = nodes
                .list(&ListParams::default())
                .await
                .expect("list nodes");
            for node in &list.items {
                seen.lock().unwrap().push(NodeVersion::of(node, false));
            }
            list.metadata.resource_version.unwrap_or_default()
        });
        let seen = Arc::clone(&versions);
        self.world.runtime.spawn(async move {
            let params = WatchParams::default().timeout(290);
            let stream = nodes.watch(&params, &listed).await.expect("watch nodes");
            let mut stream = stream.boxed();
            while let Ok(Some(event)) = stream.try_next().await {
                let version = match event {
                    WatchEvent::Added(node) | WatchEvent::Modified(node) => {
                        NodeVersion::of(&node, false)
                    }
                    WatchEvent::Deleted(node) => NodeVersion::of(&node, true),
                    WatchEvent::Bookmark(_) | WatchEvent::Error(_) => continue,
                };
                seen.lock().unwrap().push(version);
            }
        });
        versions
    }

    /// Adds a taint to the node `name`, as an operator would.
    fn add_taint(&self, name: &str, key: &str, effect: &str) {
        self.world.runtime.block_on(async {
            let nodes: Api<Node> = Api::all(self.control_plane.client());
            let mut node = nodes.get(name).await.expect("get the node");
            let mut taints = node
                .spec
                .as_ref()
                .and_then(|spec| spec.taints.clone())
                .unwrap_or_default();
            taints.push(
                serde_json::from_value(json!({"key": key, "value": "yes", "effect": effect}))
                    .unwrap(),
            );
            node.spec.get_or_insert_with(Default::default).taints = Some(taints);
            let patch = json!({
                "metadata": {"resourceVersion": node.metadata.resource_version},
                "spec": {"taints": node.spec.as_ref().and_then(|spec| spec.taints.clone())},
            });
            nodes
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .expect("taint the node");
        });
    }

    /// From now on, instances launched later never report a Ready node.
    fn stop_new_nodes_from_becoming_ready(&self) {
        let running = self
            .world
            .runtime
            .block_on(ec2_running_instances(&self.world.aws.ec2));
        self.nodes
            .only_ready(running.into_iter().map(|instance| instance.id).collect());
    }

    /// The audit log's pod requests by `user`: `(verb, subresource)`.
    fn audited(&self, user: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.audit_log).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|event| event["stage"] == "ResponseComplete")
            .filter(|event| event["user"]["username"] == user)
            .map(|event| {
                (
                    event["verb"].as_str().unwrap_or_default().to_owned(),
                    event["objectRef"]["subresource"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }
}

/// The taint Berth (as kops) puts on nodes about to be replaced.
const SCHEDULED_FOR_UPDATE: &str = "kops.k8s.io/scheduled-for-update:PreferNoSchedule";

/// The label that takes a node out of external load balancers.
const EXCLUDE_FROM_LBS: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// An operator's taint on the old nodes, which must survive Berth's.
const OPERATORS_TAINT: &str = "example.com/dedicated:PreferNoSchedule";

/// One version of a node, as a watch saw it.
#[derive(Debug, Clone)]
struct NodeVersion {
    name: String,
    deleted: bool,
    unschedulable: bool,
    /// `key:effect`, in the node's order.
    taints: Vec<String>,
    /// The value of [`EXCLUDE_FROM_LBS`], if set.
    excluded: Option<String>,
}

impl NodeVersion {
    fn of(node: &Node, deleted: bool) -> Self {
        let spec = node.spec.as_ref();
        Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            deleted,
            unschedulable: spec.and_then(|spec| spec.unschedulable).unwrap_or(false),
            taints: spec
                .and_then(|spec| spec.taints.as_deref())
                .unwrap_or_default()
                .iter()
                .map(|taint| format!("{}:{}", taint.key, taint.effect))
                .collect(),
            excluded: node
                .metadata
                .labels
                .as_ref()
                .and_then(|labels| labels.get(EXCLUDE_FROM_LBS).cloned()),
        }
    }

    fn scheduled_for_update(&self) -> bool {
        self.taints
            .iter()
            .any(|taint| taint == SCHEDULED_FOR_UPDATE)
    }
}

/// Checks the node history of a worker group's roll: every old node was tainted before the
/// first one was cordoned, kept its operator's taint, had the taint once, and was labelled
/// out of load balancers with its cordon; no other node got either.
fn check_node_history(history: &[NodeVersion], old: &BTreeSet<String>) {
    let dump = || {
        history
            .iter()
            .map(|version| format!("{version:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let first_cordon = history
        .iter()
        .position(|version| old.contains(&version.name) && version.unschedulable)
        .unwrap_or_else(|| panic!("no old node was cordoned:\n{}", dump()));
    let mut latest: BTreeMap<&str, &NodeVersion> = BTreeMap::new();
    for version in &history[..=first_cordon] {
        latest.insert(&version.name, version);
    }
    for name in old {
        let version = latest
            .get(name.as_str())
            .unwrap_or_else(|| panic!("old node {name} not seen:\n{}", dump()));
        assert!(
            version.scheduled_for_update(),
            "old node {name} was not tainted when the first old node was cordoned:\n{}",
            dump()
        );
        assert!(
            version.taints.iter().any(|taint| taint == OPERATORS_TAINT),
            "old node {name} lost its operator's taint:\n{}",
            dump()
        );
    }
    for version in history {
        let count = version
            .taints
            .iter()
            .filter(|taint| *taint == SCHEDULED_FOR_UPDATE)
            .count();
        assert!(count <= 1, "a duplicated taint: {version:?}");
        if old.contains(&version.name) {
            if version.scheduled_for_update() {
                assert!(
                    version.taints.iter().any(|taint| taint == OPERATORS_TAINT),
                    "{version:?}"
                );
            }
            if version.deleted {
                // Removed with its instance: it went tainted, cordoned and labelled.
                assert!(
                    version.scheduled_for_update()
                        && version.unschedulable
                        && version.excluded.as_deref() == Some("true"),
                    "{version:?}"
                );
            }
            if version.unschedulable {
                assert_eq!(
                    version.excluded.as_deref(),
                    Some("true"),
                    "a cordoned old node without the load balancer label: {version:?}"
                );
            }
        } else {
            assert!(
                !version.scheduled_for_update() && version.excluded.is_none(),
                "node {} is not an old node: {version:?}",
                version.name
            );
        }
    }
    for name in old {
        assert!(
            history.iter().any(|version| &version.name == name
                && version.unschedulable
                && version.excluded.as_deref() == Some("true")),
            "old node {name} was never drained:\n{}",
            dump()
        );
    }
    let new: BTreeSet<&str> = history
        .iter()
        .filter(|version| !old.contains(&version.name))
        .map(|version| version.name.as_str())
        .collect();
    assert!(
        new.len() >= 3,
        "the control plane and two replacements: {new:?}"
    );
}

/// Polls `check` every 200 ms for up to a minute.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The cluster's `kubernetes-ca` from the world's file:// store.
fn cluster_ca(world: &World, cluster: &str) -> CaPem {
    let pki = world.context.store_dir().join(cluster).join("pki");
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
    };
    CaPem {
        certificate: read(pki.join("issued/kubernetes-ca/certificate.pem")),
        private_key: read(pki.join("private/kubernetes-ca/key.pem")),
    }
}

/// The rolling update of a node group whose workload a PodDisruptionBudget protects: every
/// old instance is drained through evictions (never a delete), the budget is never violated,
/// validation gates each step, and the group ends with only new instances.
fn rolls_nodes_through_a_budget(version: K8sVersion) {
    let world = World::new();
    world.cluster_with_outdated_nodes();
    let Some(kube) = KubeWorld::start(world, version) else {
        return;
    };
    let world = &kube.world;
    let valid = kube.validate(&["--wait", "60s"]);
    valid.assert_code(0, "");
    assert!(valid.stdout.contains("is ready"), "{}", valid.stdout);

    kube.protected_workload();
    let lowest_serving = kube.watch_serving_pods();
    let old_nodes = ids(&world.group(NODES));
    let old_control_plane = ids(&world.group(CONTROL_PLANE));
    for node in &old_nodes {
        let (key, effect) = OPERATORS_TAINT.split_once(':').unwrap();
        kube.add_taint(node, key, effect);
    }
    let node_history = kube.watch_nodes();

    let rolled = kube.rolling_update(&["--validation-timeout", "90s", "--drain-timeout", "90s"]);
    rolled.assert_code(0, "");
    let nodes = world.group(NODES);
    let latest = world.latest_version(NODES);
    assert!(world.alive(&old_nodes).is_empty(), "{}", rolled.stderr);
    assert!(ids(&nodes).is_disjoint(&old_nodes));
    assert_eq!(versions(&nodes), [latest.clone(), latest]);
    assert_eq!(ids(&world.group(CONTROL_PLANE)), old_control_plane);
    for expected in [
        "Tainted the outdated nodes of `nodes-us-east-1a` with \
         `kops.k8s.io/scheduled-for-update:PreferNoSchedule`",
        "Cordoned node",
        "Evicted pod web/",
        "Cluster validated",
    ] {
        assert!(
            rolled.stderr.contains(expected),
            "{expected}:\n{}",
            rolled.stderr
        );
    }

    assert_eq!(
        lowest_serving.load(Ordering::SeqCst),
        1,
        "the budget allows one web pod down, never two, and the drain needed that one"
    );
    let berth = kube.audited("berth-admin");
    let evictions = berth
        .iter()
        .filter(|(verb, subresource)| verb == "create" && subresource == "eviction")
        .count();
    assert!(evictions >= 2, "both web pods were evicted: {berth:?}");
    assert!(
        !berth.iter().any(|(verb, _)| verb.starts_with("delete")),
        "berth deleted a pod instead of evicting it: {berth:?}"
    );
    let web_pods_lost_with_their_node: Vec<_> = kube
        .kubelet
        .deleted_pods()
        .into_iter()
        .filter(|pod| pod.namespace == NAMESPACE && pod.reason == DeletionReason::NodeRemoved)
        .collect();
    assert!(
        web_pods_lost_with_their_node.is_empty(),
        "pods still ran on a terminated instance: {web_pods_lost_with_their_node:?}"
    );

    let history = node_history.lock().unwrap().clone();
    check_node_history(&history, &old_nodes);
    assert!(
        !rolled.stderr.contains("Deregistered"),
        "node groups have no target groups, and surging ones leave them by DetachInstances:\n{}",
        rolled.stderr
    );

    let valid = kube.validate(&["--wait", "30s"]);
    assert_eq!(valid.code, 0, "{}\n{}", valid.stdout, valid.stderr);
}

#[test]
fn real_apiserver_rolling_update_drains_through_a_pdb_v1_28() {
    rolls_nodes_through_a_budget(K8sVersion::V1_28_0);
}

#[test]
fn real_apiserver_rolling_update_drains_through_a_pdb_v1_36() {
    rolls_nodes_through_a_budget(K8sVersion::V1_36_2);
}

/// `(target id, state, reason code)` of the targets the target group reports: the registered
/// ones, and `also` whatever their state.
fn target_health(
    world: &World,
    target_group: &str,
    also: &[String],
) -> Vec<(String, String, String)> {
    let describe = |targets: Option<Vec<TargetDescription>>| {
        world
            .runtime
            .block_on(
                world
                    .aws
                    .elb
                    .describe_target_health()
                    .target_group_arn(target_group)
                    .set_targets(targets)
                    .send(),
            )
            .expect("DescribeTargetHealth")
    };
    let mut answers = vec![describe(None)];
    if !also.is_empty() {
        answers.push(describe(Some(
            also.iter()
                .map(|id| TargetDescription::builder().id(id).build())
                .collect(),
        )));
    }
    let mut found: Vec<(String, String, String)> = answers
        .iter()
        .flat_map(|answer| answer.target_health_descriptions())
        .map(|description| {
            let health = description.target_health();
            (
                description
                    .target()
                    .and_then(|target| target.id())
                    .unwrap_or_default()
                    .to_owned(),
                health
                    .and_then(|health| health.state())
                    .map(|state| state.as_str().to_owned())
                    .unwrap_or_default(),
                health
                    .and_then(|health| health.reason())
                    .map(|reason| reason.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// A control-plane roll in a cluster with an API load balancer: the old instance is drained,
/// then deregistered from the group's target group, then terminated; its replacement is
/// registered by the group.
#[test]
fn real_apiserver_rolling_update_deregisters_the_control_plane_from_its_target_group() {
    let world = World::new();
    let key = world.context.write(
        "admin.pub",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV a@b",
    );
    ok(world
        .berth()
        .args(["create", "cluster", CLUSTER, "--zones", "us-east-1a"])
        .args(["--api-loadbalancer-type", "public", "--ssh-public-key"])
        .arg(&key));
    ok(world.berth().args(["update", "cluster", CLUSTER, "--yes"]));
    let Some(kube) = KubeWorld::start(world, K8sVersion::V1_36_2) else {
        return;
    };
    let world = &kube.world;
    let valid = kube.validate(&["--wait", "60s"]);
    assert_eq!(valid.code, 0, "{}\n{}", valid.stdout, valid.stderr);
    let group = world.group(CONTROL_PLANE);
    let target_groups = group.target_group_arns().to_vec();
    assert_eq!(target_groups.len(), 1, "the API target group: {group:?}");
    let target_group = &target_groups[0];
    let old: Vec<String> = ids(&group).into_iter().collect();
    assert_eq!(old.len(), 1);
    let registered = target_health(world, target_group, &[]);
    assert!(
        registered.iter().any(|(id, _, _)| id == &old[0]),
        "the control-plane instance is registered before the roll: {registered:?}"
    );
    let old_nodes = ids(&world.group(NODES));

    let rolled = kube.rolling_update(&[
        "--force",
        "--instance-group-roles",
        "ControlPlane",
        "--validation-timeout",
        "90s",
        "--drain-timeout",
        "60s",
    ]);
    rolled.assert_code(0, "");
    let new: Vec<String> = ids(&world.group(CONTROL_PLANE)).into_iter().collect();
    assert_eq!(new.len(), 1);
    assert_ne!(new, old);
    assert!(world.alive(&old.iter().cloned().collect()).is_empty());
    assert_eq!(
        ids(&world.group(NODES)),
        old_nodes,
        "only the control plane rolls"
    );

    // The steps, in order.
    let position = |needle: &str| {
        rolled
            .stderr
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}:\n{}", rolled.stderr))
    };
    let drained = position(&format!("Drained the nodes of {}", old[0]));
    let deregistered = position(&format!(
        "Deregistered {} of `{CONTROL_PLANE}` from target group {target_group}.",
        old[0]
    ));
    let terminated = position(&format!("Terminated {} of `{CONTROL_PLANE}`", old[0]));
    assert!(
        drained < deregistered && deregistered < terminated,
        "{}",
        rolled.stderr
    );

    // moto keeps a target deregistered by DeregisterTargets apart from one that went with its
    // terminated instance (`draining`): so the deregistration came before the termination.
    let health = target_health(world, target_group, &old);
    assert!(
        health.contains(&(
            old[0].clone(),
            "unused".to_owned(),
            "Target.NotRegistered".to_owned()
        )),
        "the old instance was deregistered, not dropped at its termination: {health:?}"
    );
    assert!(
        health.iter().any(|(id, _, _)| id == &new[0]),
        "the replacement is registered: {health:?}"
    );
}

#[test]
fn real_apiserver_rolling_update_stops_when_a_new_node_never_becomes_ready() {
    let world = World::new();
    world.cluster_with_outdated_nodes();
    let Some(kube) = KubeWorld::start(world, K8sVersion::V1_36_2) else {
        return;
    };
    let world = &kube.world;
    let valid = kube.validate(&["--wait", "60s"]);
    assert_eq!(valid.code, 0, "{}\n{}", valid.stdout, valid.stderr);
    let old_nodes = ids(&world.group(NODES));
    kube.stop_new_nodes_from_becoming_ready();

    let rolled = kube.rolling_update(&["--validation-timeout", "8s", "--drain-timeout", "30s"]);
    assert_ne!(rolled.code, 0, "{}", rolled.stderr);
    assert!(
        rolled.stderr.contains("did not validate within"),
        "{}",
        rolled.stderr
    );
    assert!(
        rolled.stderr.contains("has no Ready condition") || rolled.stderr.contains("Ready is"),
        "the failure names the node that is not Ready:\n{}",
        rolled.stderr
    );
    assert_eq!(
        world.alive(&old_nodes),
        old_nodes,
        "no old instance may be terminated while its replacement is not Ready"
    );
    assert!(
        !rolled.stderr.contains("Evicted pod"),
        "nothing is drained before validation passes:\n{}",
        rolled.stderr
    );

    let invalid = kube.validate(&[]);
    assert_eq!(invalid.code, 5, "{}\n{}", invalid.stdout, invalid.stderr);
    assert!(
        invalid.stdout.contains("VALIDATION ERRORS"),
        "{}",
        invalid.stdout
    );
    let json = kube.validate(&["-o", "json"]);
    let outcome: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(outcome["valid"], false);
    assert!(
        outcome["failures"]
            .as_array()
            .is_some_and(|failures| failures.iter().any(|failure| failure["kind"] == "Node")),
        "{outcome}"
    );
}

#[test]
fn real_apiserver_export_kubeconfig_admin_is_a_cluster_admin_and_other_cas_are_refused() {
    let world = World::new();
    let key = world.context.write(
        "admin.pub",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV a@b",
    );
    for cluster in [CLUSTER, "b.example.com"] {
        ok(world
            .berth()
            .args(["create", "cluster", cluster, "--zones", "us-east-1a"])
            .arg("--ssh-public-key")
            .arg(&key));
    }
    for version in K8sVersion::ALL {
        let options = ControlPlaneOptions::new(version).with_ca(cluster_ca(&world, CLUSTER));
        let Some(control_plane) = world.runtime.block_on(TestControlPlane::start(options)) else {
            return;
        };
        let export = |cluster: &str| {
            let out = world
                .context
                .path()
                .join(format!("{cluster}-{version}.kubeconfig"));
            ok(world
                .berth()
                .args(["export", "kubeconfig", cluster, "--admin=1h", "--server"])
                .arg(control_plane.server())
                .arg("--out")
                .arg(&out));
            out
        };
        let ours = export(CLUSTER);
        let theirs = export("b.example.com");
        world.runtime.block_on(async {
            let client = client_from(&ours).await;
            let namespace: Namespace =
                serde_json::from_value(json!({"metadata": {"name": "exported"}})).unwrap();
            Api::<Namespace>::all(client.clone())
                .create(&PostParams::default(), &namespace)
                .await
                .expect("the exported admin may create namespaces");
            let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client);
            nodes
                .list(&ListParams::default())
                .await
                .expect("and list nodes");

            // A kubeconfig's `tls-server-name` (what Berth writes for a cluster reached through
            // its load balancer) is the name the serving certificate is checked for: this one
            // names `localhost` and 127.0.0.1, not `api.<cluster>`.
            for (tls_server_name, verifies) in [("localhost", true), ("api.k.example.com", false)] {
                let mut kubeconfig = kube::config::Kubeconfig::read_from(&ours).unwrap();
                kubeconfig.clusters[0]
                    .cluster
                    .as_mut()
                    .unwrap()
                    .tls_server_name = Some(tls_server_name.to_owned());
                let config = kube::Config::from_custom_kubeconfig(
                    kubeconfig,
                    &kube::config::KubeConfigOptions::default(),
                )
                .await
                .expect("a client configuration");
                let listed = Api::<Namespace>::all(kube::Client::try_from(config).unwrap())
                    .list(&ListParams::default())
                    .await;
                match listed {
                    Ok(_) => assert!(verifies, "{version}: {tls_server_name} was accepted"),
                    Err(error) => assert!(
                        !verifies && format!("{error:?}").contains("NotValidForName"),
                        "{version}: {tls_server_name}: {error:?}"
                    ),
                }
            }

            // The other cluster's client certificate, trusting this server: the server
            // itself must refuse it.
            let ours_config = kube::config::Kubeconfig::read_from(&ours).unwrap();
            let mut theirs_config = kube::config::Kubeconfig::read_from(&theirs).unwrap();
            theirs_config.clusters = ours_config.clusters.clone();
            theirs_config.contexts = ours_config.contexts.clone();
            theirs_config.current_context = ours_config.current_context.clone();
            theirs_config.auth_infos[0].name = ours_config.auth_infos[0].name.clone();
            let config = kube::Config::from_custom_kubeconfig(
                theirs_config,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .expect("a client configuration");
            let refused = Api::<Namespace>::all(kube::Client::try_from(config).unwrap())
                .list(&ListParams::default())
                .await;
            match refused {
                Err(kube::Error::Api(status)) => assert_eq!(status.code, 401, "{status:?}"),
                other => panic!("{version}: another cluster's certificate got {other:?}"),
            }
        });
    }
}

async fn client_from(path: &std::path::Path) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(path).expect("a kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("a client configuration");
    kube::Client::try_from(config).expect("a client")
}
