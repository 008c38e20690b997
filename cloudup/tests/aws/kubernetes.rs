//! `berth_cloudup::kubernetes` against a real kube-apiserver (and, where budgets or
//! workloads matter, the real kube-controller-manager), with the test playing kubelet and
//! scheduler ([`FakeKubelet`]). Every test runs on each shipped Kubernetes version in turn,
//! in a control plane of its own, and skips (outside CI) when the binaries are missing.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use berth_cloudup::{
    kubernetes::{
        self, DrainError, DrainEvent, DrainOptions, ExpectedGroup, PodRef, RefusalReason,
        SkipReason, ValidationFailure,
    },
    rolling::Role,
};
use berth_test_support::{
    k8s::{ControlPlaneOptions, K8sVersion, TestControlPlane},
    kubelet::{DeletionReason, FakeKubelet, MIRROR_ANNOTATION, create_control_plane_pods},
};
use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        core::v1::{Namespace, Node, Pod, ServiceAccount},
        policy::v1::PodDisruptionBudget,
    },
    serde::de::DeserializeOwned,
};
use kube::{
    Api, Client,
    api::{ListParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use serde_json::json;

/// How long anything the control plane and the fake kubelet do on their own may take.
const SETTLE: Duration = Duration::from_secs(30);

/// How often tests and drains look again.
const POLL: Duration = Duration::from_millis(250);

/// A control plane of `version` (with its controller manager if asked), Berth's client for
/// it ([`client`]) and a fake kubelet; `None` when the binaries are missing.
async fn start_cluster(
    version: K8sVersion,
    controller_manager: bool,
) -> Option<(TestControlPlane, Client, FakeKubelet)> {
    let options = ControlPlaneOptions::new(version);
    let options = if controller_manager {
        options.with_controller_manager()
    } else {
        options
    };
    let control_plane = TestControlPlane::start(options).await?;
    let client = client(&control_plane).await;
    let kubelet = FakeKubelet::start(client.clone());
    Some((control_plane, client, kubelet))
}

/// Registers node `name` of instance `instance`, without labels and Ready at once.
async fn join_node(kubelet: &FakeKubelet, name: &str, instance: &str) {
    kubelet
        .register_node(
            name,
            &provider_id(instance),
            BTreeMap::new(),
            Duration::ZERO,
        )
        .await;
}

/// A drain that refuses unmanaged pods and pods with `emptyDir` data, within `timeout`.
fn strict_drain(timeout: Duration) -> DrainOptions {
    DrainOptions {
        timeout,
        poll_interval: POLL,
        delete_emptydir_data: false,
        force: false,
        grace_period: None,
    }
}

/// A cluster-admin client that does not retry 429s itself, as Berth builds them (see
/// `kubernetes::client`).
async fn client(control_plane: &TestControlPlane) -> Client {
    let kubeconfig =
        Kubeconfig::read_from(control_plane.kubeconfig_path()).expect("read the kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a client configuration");
    kubernetes::client(config).expect("a client")
}

fn object<T: DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a valid object")
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

/// Creates a namespace and its `default` service account (which only the controller
/// manager would create).
async fn create_namespace(client: &Client, name: &str) {
    let namespace: Namespace = object(json!({ "metadata": { "name": name } }));
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create the test namespace");
    ensure_default_service_account(client, name).await;
}

async fn ensure_default_service_account(client: &Client, namespace: &str) {
    let account: ServiceAccount = object(json!({ "metadata": { "name": "default" } }));
    match Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &account)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("create service account `{namespace}/default`: {error}"),
    }
}

/// Polls `probe` until it returns `Some`, or panics after `timeout`.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && kubernetes::pod_not_ready_reason(pod).is_none()
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.node_name.as_deref()
}

async fn pods(client: &Client, namespace: &str) -> Vec<Pod> {
    Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .expect("list pods")
        .items
}

/// Waits until `count` pods of the namespace are Ready on `node`; returns them.
async fn ready_on(client: &Client, namespace: &str, node: &str, count: usize) -> Vec<Pod> {
    eventually(
        &format!("{count} ready pods on `{node}` in `{namespace}`"),
        SETTLE,
        || async {
            let ready: Vec<Pod> = pods(client, namespace)
                .await
                .into_iter()
                .filter(|pod| is_ready(pod) && node_of(pod) == Some(node))
                .collect();
            (ready.len() == count).then_some(ready)
        },
    )
    .await
}

fn provider_id(instance: &str) -> String {
    format!("aws:///us-east-1a/{instance}")
}

async fn create_deployment(client: &Client, namespace: &str, name: &str, replicas: i32) {
    let deployment: Deployment = object(json!({
        "metadata": { "name": name },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "app", "image": "registry.k8s.io/pause:3.9" }] },
            },
        },
    }));
    Api::<Deployment>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &deployment)
        .await
        .expect("create the deployment");
}

/// Creates a budget and waits until the disruption controller has processed it and allows
/// `allowed` disruptions.
async fn create_pdb(
    client: &Client,
    namespace: &str,
    name: &str,
    budget: serde_json::Value,
    allowed: i32,
) {
    let mut spec = json!({ "selector": { "matchLabels": { "app": name } } });
    spec.as_object_mut()
        .expect("an object")
        .extend(budget.as_object().expect("an object").clone());
    let pdb: PodDisruptionBudget = object(json!({ "metadata": { "name": name }, "spec": spec }));
    let api = Api::<PodDisruptionBudget>::namespaced(client.clone(), namespace);
    api.create(&PostParams::default(), &pdb)
        .await
        .expect("create the budget");
    eventually(
        &format!("budget `{name}` to allow {allowed} disruptions"),
        SETTLE,
        || async {
            let pdb = api.get(name).await.ok()?;
            let status = pdb.status?;
            (status.observed_generation == pdb.metadata.generation
                && status.disruptions_allowed == Some(allowed))
            .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn real_apiserver_validate_reports_machines_nodes_and_pods() {
    for version in K8sVersion::ALL {
        let Some((_control_plane, client, kubelet)) = start_cluster(version, false).await else {
            return;
        };
        kubelet
            .register_node(
                "control-plane-a",
                &provider_id("i-0c1"),
                labels(&[("node-role.kubernetes.io/control-plane", "")]),
                Duration::ZERO,
            )
            .await;
        join_node(&kubelet, "node-a", "i-0a1").await;
        // Ready only after a while: validation must see it join, then turn Ready.
        kubelet
            .register_node(
                "node-b",
                &provider_id("i-0b1"),
                BTreeMap::new(),
                Duration::from_secs(5),
            )
            .await;
        create_control_plane_pods(&client, "control-plane-a").await;
        ensure_default_service_account(&client, "kube-system").await;

        let mut groups = vec![
            ExpectedGroup {
                instance_group: "control-plane-us-east-1a".to_owned(),
                role: Role::ControlPlane,
                instance_ids: vec!["i-0c1".to_owned()],
                min_size: 1,
            },
            ExpectedGroup {
                instance_group: "nodes-us-east-1a".to_owned(),
                role: Role::Node,
                instance_ids: vec!["i-0a1".to_owned(), "i-0b1".to_owned()],
                min_size: 2,
            },
            ExpectedGroup {
                instance_group: "bastions".to_owned(),
                role: Role::Bastion,
                instance_ids: vec!["i-0ba".to_owned()],
                min_size: 1,
            },
        ];
        let validate = |groups: Vec<ExpectedGroup>| {
            let client = client.clone();
            async move {
                kubernetes::validate(&client, &groups)
                    .await
                    .expect("validate")
            }
        };
        let names = |failures: &[ValidationFailure]| -> Vec<(String, String)> {
            failures
                .iter()
                .map(|failure| (failure.kind.clone(), failure.name.clone()))
                .collect()
        };

        let first = validate(groups.clone()).await;
        assert_eq!(
            names(&first),
            [("Node".to_owned(), "node-b".to_owned())],
            "{version}: {first:#?}"
        );
        eventually(&format!("{version}: a valid cluster"), SETTLE, || {
            let validate = validate(groups.clone());
            async move { validate.await.is_empty().then_some(()) }
        })
        .await;

        // An instance that never joined.
        groups[1].instance_ids.push("i-0d1".to_owned());
        let failures = validate(groups.clone()).await;
        assert_eq!(
            failures,
            [ValidationFailure {
                kind: "Machine".to_owned(),
                name: "i-0d1".to_owned(),
                reason:
                    "instance i-0d1 of instance group `nodes-us-east-1a` has not joined the cluster"
                        .to_owned(),
            }],
            "{version}"
        );
        groups[1].instance_ids.pop();

        // A node that is not Ready.
        kubelet.set_node_ready("node-a", false).await;
        let failures = validate(groups.clone()).await;
        assert_eq!(
            names(&failures),
            [("Node".to_owned(), "node-a".to_owned())],
            "{version}"
        );
        assert!(
            failures[0]
                .reason
                .contains("condition Ready is False (KubeletNotReady"),
            "{version}: {}",
            failures[0].reason
        );
        kubelet.set_node_ready("node-a", true).await;

        // A critical add-on that cannot be scheduled.
        let coredns: Pod = object(json!({
            "metadata": { "name": "coredns-7d8f", "namespace": "kube-system" },
            "spec": {
                "priorityClassName": "system-cluster-critical",
                "nodeSelector": { "berth.dev/no-such-node": "true" },
                "containers": [{ "name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.1" }],
            },
        }));
        Api::<Pod>::namespaced(client.clone(), "kube-system")
            .create(&PostParams::default(), &coredns)
            .await
            .expect("create the coredns pod");
        let failures = validate(groups.clone()).await;
        assert_eq!(
            names(&failures),
            [("Pod".to_owned(), "kube-system/coredns-7d8f".to_owned())],
            "{version}"
        );
        assert_eq!(
            failures[0].reason, "system-cluster-critical pod `kube-system/coredns-7d8f` is Pending",
            "{version}"
        );

        // Too few instances, and a control-plane pod gone.
        groups[1].min_size = 3;
        Api::<Pod>::namespaced(client.clone(), "kube-system")
            .delete(
                "kube-scheduler-control-plane-a",
                &kube::api::DeleteParams {
                    grace_period_seconds: Some(0),
                    ..kube::api::DeleteParams::default()
                },
            )
            .await
            .expect("delete the scheduler pod");
        let failures = validate(groups.clone()).await;
        assert_eq!(
            names(&failures),
            [
                ("InstanceGroup".to_owned(), "nodes-us-east-1a".to_owned()),
                ("Node".to_owned(), "control-plane-a".to_owned()),
                ("Pod".to_owned(), "kube-system/coredns-7d8f".to_owned()),
            ],
            "{version}"
        );
        assert_eq!(
            failures[1].reason, "control-plane node `control-plane-a` has no kube-scheduler pod",
            "{version}"
        );
        eprintln!("{version}: validate reported {failures:#?}");
    }
}

#[tokio::test]
async fn real_apiserver_drain_waits_for_the_budget() {
    for version in K8sVersion::ALL {
        let Some((_control_plane, client, kubelet)) = start_cluster(version, true).await else {
            return;
        };
        let namespace = "drain-budget";
        create_namespace(&client, namespace).await;
        join_node(&kubelet, "node-a", "i-0a1").await;
        create_deployment(&client, namespace, "web", 2).await;
        let originals = ready_on(&client, namespace, "node-a", 2).await;
        create_pdb(&client, namespace, "web", json!({ "minAvailable": 1 }), 1).await;
        join_node(&kubelet, "node-b", "i-0b1").await;

        let t0 = std::time::Instant::now();
        // Watch the workload while draining: (when, ready pods, ready pods on node-b).
        let samples = Arc::new(Mutex::new(Vec::<(Duration, usize, usize)>::new()));
        let monitor = tokio::spawn({
            let client = client.clone();
            let samples = Arc::clone(&samples);
            async move {
                loop {
                    let pods = pods(&client, namespace).await;
                    let ready: Vec<&Pod> = pods.iter().filter(|pod| is_ready(pod)).collect();
                    let on_b = ready
                        .iter()
                        .filter(|pod| node_of(pod) == Some("node-b"))
                        .count();
                    samples
                        .lock()
                        .unwrap()
                        .push((t0.elapsed(), ready.len(), on_b));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });

        let options = strict_drain(SETTLE);
        // (when, event)
        let mut events = Vec::new();
        let report = kubernetes::drain(&client, "node-a", &options, &mut |event| {
            events.push((t0.elapsed(), event));
        })
        .await
        .unwrap_or_else(|error| panic!("{version}: drain failed: {error}"));
        monitor.abort();
        let samples = samples.lock().unwrap().clone();

        let mut evicted: Vec<String> = originals
            .iter()
            .map(|pod| pod.metadata.name.clone().unwrap())
            .collect();
        evicted.sort();
        assert_eq!(
            report
                .evicted
                .iter()
                .map(|pod| pod.name.clone())
                .collect::<Vec<_>>(),
            evicted,
            "{version}"
        );

        // The budget held: ready pods never dropped below 1, and the second eviction was
        // accepted only after the first one's replacement was Ready on node-b.
        let lowest = samples.iter().map(|(_, ready, _)| *ready).min().unwrap();
        assert!(
            lowest >= 1,
            "{version}: ready pods dropped to {lowest}: {samples:?}"
        );
        let evictions: Vec<Duration> = events
            .iter()
            .filter(|(_, event)| matches!(event, DrainEvent::Evicted { .. }))
            .map(|(at, _)| *at)
            .collect();
        assert_eq!(evictions.len(), 2, "{version}: {events:#?}");
        let replacement_ready = samples
            .iter()
            .find(|(_, _, on_b)| *on_b >= 1)
            .map(|(at, _, _)| *at)
            .unwrap_or_else(|| panic!("{version}: no replacement seen: {samples:?}"));
        assert!(
            replacement_ready < evictions[1],
            "{version}: the second eviction came before a replacement was Ready: \
             {events:#?} {samples:?}"
        );
        // Whether the premature eviction is answered 429 (and the drain names the budget)
        // depends on timing: when the disruption controller rewrites the budget's status
        // meanwhile, the API server's own retry on the conflict (500 ms steps) holds the
        // request until the budget allows it, and it is answered 201. Both versions do both.
        let blocked: Vec<&Vec<kubernetes::BlockingPdb>> = events
            .iter()
            .filter_map(|(_, event)| match event {
                DrainEvent::Blocked { pdbs, .. } => Some(pdbs),
                _ => None,
            })
            .collect();
        for pdbs in &blocked {
            assert_eq!(pdbs.len(), 1, "{version}");
            assert_eq!(pdbs[0].name, "drain-budget/web", "{version}");
        }

        // Both replacements run on node-b; node-a is cordoned.
        ready_on(&client, namespace, "node-b", 2).await;
        let node = Api::<Node>::all(client.clone())
            .get("node-a")
            .await
            .expect("get node-a");
        assert_eq!(
            node.spec.and_then(|spec| spec.unschedulable),
            Some(true),
            "{version}"
        );

        // Nothing but evictions removed pods: the only deletes were the fake kubelet's, of
        // terminating pods, and exactly of the evicted ones.
        let deleted = kubelet.deleted_pods();
        assert!(
            deleted
                .iter()
                .all(|pod| pod.reason == DeletionReason::Terminating),
            "{version}: {deleted:#?}"
        );
        let mut deleted_uids: Vec<String> = deleted.iter().map(|pod| pod.uid.clone()).collect();
        deleted_uids.sort();
        let mut original_uids: Vec<String> = originals
            .iter()
            .map(|pod| pod.metadata.uid.clone().unwrap())
            .collect();
        original_uids.sort();
        assert_eq!(deleted_uids, original_uids, "{version}");
        eprintln!(
            "{version}: drained in {:?}; {} samples, lowest ready {lowest}, {} blocked events",
            report.elapsed,
            samples.len(),
            blocked.len()
        );
    }
}

#[tokio::test]
async fn real_apiserver_drain_blocked_by_a_budget_names_pod_and_budget() {
    for version in K8sVersion::ALL {
        let Some((control_plane, client, kubelet)) = start_cluster(version, true).await else {
            return;
        };
        let namespace = "drain-blocked";
        create_namespace(&client, namespace).await;
        join_node(&kubelet, "node-a", "i-0a1").await;
        create_deployment(&client, namespace, "db", 1).await;
        let pod = ready_on(&client, namespace, "node-a", 1).await.remove(0);
        let pod_name = pod.metadata.name.clone().unwrap();
        create_pdb(&client, namespace, "db", json!({ "maxUnavailable": 0 }), 0).await;

        // Berth's client first; then kube's default one, which retries 429s itself: the
        // drain must keep its deadline with both.
        for (retrying, client) in [(false, client.clone()), (true, control_plane.client())] {
            let options = strict_drain(Duration::from_secs(5));
            let started = std::time::Instant::now();
            let mut events = Vec::new();
            let error = kubernetes::drain(&client, "node-a", &options, &mut |event| {
                events.push(event);
            })
            .await
            .expect_err("the budget allows no disruption");
            let elapsed = started.elapsed();
            assert!(
                (Duration::from_secs(5)..Duration::from_secs(10)).contains(&elapsed),
                "{version}, retrying client {retrying}: {elapsed:?}: {error:?} {events:#?}"
            );
            let message = error.to_string();
            let DrainError::Blocked { pod, pdbs, waited } = error else {
                panic!("{version}: {message}")
            };
            assert_eq!(
                pod,
                PodRef {
                    namespace: namespace.to_owned(),
                    name: pod_name.clone()
                },
                "{version}"
            );
            assert_eq!(pdbs.len(), 1, "{version}");
            assert_eq!(pdbs[0].name, "drain-blocked/db", "{version}");
            assert_eq!(pdbs[0].disruptions_allowed, 0, "{version}");
            assert!(waited >= Duration::from_secs(4), "{version}: {waited:?}");
            assert!(
                message.contains(&format!("pod `drain-blocked/{pod_name}`"))
                    && message.contains("PodDisruptionBudget `drain-blocked/db`")
                    && message.contains("--drain-timeout"),
                "{version}: {message}"
            );
            let blocked: Vec<Duration> = events
                .iter()
                .filter_map(|event| match event {
                    DrainEvent::Blocked { waited, .. } => Some(*waited),
                    _ => None,
                })
                .collect();
            if !retrying {
                // Reported at once, and once, not on every retry.
                assert_eq!(blocked.len(), 1, "{version}: {events:#?}");
                assert!(
                    blocked[0] < Duration::from_secs(2),
                    "{version}: {events:#?}"
                );
            }
            // The pod is untouched.
            let current = Api::<Pod>::namespaced(client.clone(), namespace)
                .get(&pod_name)
                .await
                .expect("the pod still exists");
            assert!(current.metadata.deletion_timestamp.is_none(), "{version}");
            assert!(kubelet.deleted_pods().is_empty(), "{version}");
            eprintln!("{version}, retrying client {retrying}: {message}");
        }
    }
}

/// A pod bound to `node` in `namespace`, owned by a controller of `owner_kind` (none if
/// `None`), with an `emptyDir` if asked, and the given annotations.
fn bound_pod(
    namespace: &str,
    name: &str,
    node: &str,
    owner_kind: Option<&str>,
    empty_dir: bool,
    annotations: &[(&str, &str)],
) -> Pod {
    let mut pod: Pod = object(json!({
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "nodeName": node,
            "containers": [{ "name": "app", "image": "registry.k8s.io/pause:3.9" }],
        },
    }));
    pod.metadata.annotations = Some(labels(annotations));
    if let Some(kind) = owner_kind {
        pod.metadata.owner_references = Some(vec![object(json!({
            "apiVersion": "apps/v1",
            "kind": kind,
            "name": format!("{name}-owner"),
            "uid": "00000000-0000-0000-0000-000000000001",
            "controller": true,
        }))]);
    }
    if empty_dir {
        let spec = pod.spec.as_mut().unwrap();
        spec.volumes = Some(vec![object(json!({ "name": "scratch", "emptyDir": {} }))]);
        spec.containers[0].volume_mounts = Some(vec![object(
            json!({ "name": "scratch", "mountPath": "/scratch" }),
        )]);
    }
    pod
}

#[tokio::test]
async fn real_apiserver_drain_skips_daemonset_and_mirror_pods_and_refuses_unmanaged() {
    for version in K8sVersion::ALL {
        // No controller manager: it would garbage-collect pods whose owners do not exist.
        let Some((_control_plane, client, kubelet)) = start_cluster(version, false).await else {
            return;
        };
        let namespace = "drain-kinds";
        create_namespace(&client, namespace).await;
        join_node(&kubelet, "node-a", "i-0a1").await;
        let api = Api::<Pod>::namespaced(client.clone(), namespace);
        for pod in [
            bound_pod(namespace, "agent", "node-a", Some("DaemonSet"), true, &[]),
            bound_pod(
                namespace,
                "static-web",
                "node-a",
                None,
                false,
                &[(MIRROR_ANNOTATION, "0123abcd")],
            ),
            bound_pod(namespace, "web", "node-a", Some("ReplicaSet"), false, &[]),
            bound_pod(namespace, "cache", "node-a", Some("ReplicaSet"), true, &[]),
            bound_pod(namespace, "bare", "node-a", None, false, &[]),
        ] {
            api.create(&PostParams::default(), &pod)
                .await
                .unwrap_or_else(|error| {
                    panic!("{version}: create {:?}: {error}", pod.metadata.name)
                });
        }
        ready_on(&client, namespace, "node-a", 5).await;

        let strict = strict_drain(Duration::from_secs(20));
        let error = kubernetes::drain(&client, "node-a", &strict, &mut |_| {})
            .await
            .expect_err("unmanaged and emptyDir pods are refused");
        let message = error.to_string();
        let DrainError::Refused {
            node,
            pods: refused,
        } = error
        else {
            panic!("{version}: {message}")
        };
        assert_eq!(node, "node-a");
        let refused: Vec<(String, Vec<RefusalReason>)> = refused
            .into_iter()
            .map(|refused| (refused.pod.name, refused.reasons))
            .collect();
        assert_eq!(
            refused,
            [
                ("bare".to_owned(), vec![RefusalReason::Unmanaged]),
                ("cache".to_owned(), vec![RefusalReason::LocalStorage]),
            ],
            "{version}"
        );
        assert_eq!(
            message,
            "cannot drain node `node-a`: pods with local storage (emptyDir) (allowed by \
             --delete-emptydir-data): drain-kinds/cache; pods not managed by a controller \
             (allowed by --force): drain-kinds/bare",
            "{version}"
        );
        // Refused up front: nothing was evicted.
        assert_eq!(ready_on(&client, namespace, "node-a", 5).await.len(), 5);

        let allowed = DrainOptions {
            force: true,
            delete_emptydir_data: true,
            ..strict
        };
        let mut events = Vec::new();
        let report = kubernetes::drain(&client, "node-a", &allowed, &mut |event| {
            events.push(event);
        })
        .await
        .unwrap_or_else(|error| panic!("{version}: drain failed: {error}"));
        let names =
            |pods: &[PodRef]| -> Vec<String> { pods.iter().map(|pod| pod.name.clone()).collect() };
        assert_eq!(
            names(&report.evicted),
            ["bare", "cache", "web"],
            "{version}"
        );
        assert_eq!(
            report
                .skipped
                .iter()
                .map(|(pod, reason)| (pod.name.as_str(), *reason))
                .collect::<Vec<_>>(),
            [
                ("agent", SkipReason::DaemonSet),
                ("static-web", SkipReason::Mirror)
            ],
            "{version}"
        );
        let left: Vec<String> = pods(&client, namespace)
            .await
            .iter()
            .map(|pod| pod.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(left, ["agent", "static-web"], "{version}");
        assert!(
            kubelet
                .deleted_pods()
                .iter()
                .all(|pod| pod.reason == DeletionReason::Terminating),
            "{version}"
        );
        assert!(
            events
                .iter()
                .any(|event| matches!(event, DrainEvent::Cordoned { node } if node == "node-a")),
            "{version}"
        );
    }
}

/// The taints of a node, as `key:effect`.
fn taints_of(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|spec| spec.taints.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|taint| format!("{}:{}", taint.key, taint.effect))
        .collect()
}

#[tokio::test]
async fn real_apiserver_scheduled_for_update_taint_keeps_other_taints_and_is_idempotent() {
    for version in K8sVersion::ALL {
        let Some((_control_plane, client, kubelet)) = start_cluster(version, false).await else {
            return;
        };
        join_node(&kubelet, "node-a", "i-0a1").await;
        let nodes = Api::<Node>::all(client.clone());
        let add_taint = |key: &'static str| {
            let nodes = nodes.clone();
            async move {
                let mut node = nodes.get("node-a").await.expect("get node-a");
                let spec = node.spec.get_or_insert_with(Default::default);
                spec.taints.get_or_insert_with(Vec::new).push(object(
                    json!({ "key": key, "value": "yes", "effect": "NoSchedule" }),
                ));
                nodes
                    .replace("node-a", &PostParams::default(), &node)
                    .await
                    .expect("replace node-a");
            }
        };
        add_taint("example.com/dedicated").await;
        // Read now: the write below makes this copy stale, so the taint's first write
        // conflicts and must be retried on a fresh read, keeping the taint added meanwhile.
        let stale = nodes.get("node-a").await.expect("get node-a");
        add_taint("example.com/added-meanwhile").await;

        let tainted = kubernetes::taint_scheduled_for_update(&client, stale)
            .await
            .unwrap_or_else(|error| panic!("{version}: taint failed: {error:?}"));
        assert!(tainted, "{version}");
        let node = nodes.get("node-a").await.expect("get node-a");
        // The API server's own (`node.kubernetes.io/not-ready` at registration) aside.
        let ours = |node: &Node| -> Vec<String> {
            taints_of(node)
                .into_iter()
                .filter(|taint| !taint.starts_with("node.kubernetes.io/"))
                .collect()
        };
        let all = taints_of(&node);
        assert_eq!(
            ours(&node),
            [
                "example.com/dedicated:NoSchedule",
                "example.com/added-meanwhile:NoSchedule",
                "kops.k8s.io/scheduled-for-update:PreferNoSchedule",
            ],
            "{version}"
        );
        assert!(kubernetes::is_scheduled_for_update(&node), "{version}");

        // Again: nothing to do, nothing written.
        let version_before = node.metadata.resource_version.clone();
        let again = kubernetes::taint_scheduled_for_update(&client, node)
            .await
            .expect("taint again");
        assert!(!again, "{version}");
        let node = nodes.get("node-a").await.expect("get node-a");
        assert_eq!(taints_of(&node), all, "{version}");
        assert_eq!(node.metadata.resource_version, version_before, "{version}");

        // The drain of a rolling update labels the node with its cordon, keeping its labels.
        let labels_before = node.metadata.labels.clone().unwrap_or_default();
        let exclude = BTreeMap::from([(
            kubernetes::EXCLUDE_FROM_LOAD_BALANCERS_LABEL.to_owned(),
            "true".to_owned(),
        )]);
        let options = DrainOptions {
            timeout: SETTLE,
            poll_interval: POLL,
            ..DrainOptions::default()
        };
        kubernetes::drain_labelled(&client, "node-a", &exclude, &options, &mut |_| {})
            .await
            .unwrap_or_else(|error| panic!("{version}: drain failed: {error}"));
        let node = nodes.get("node-a").await.expect("get node-a");
        let labels = node.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels
                .get(kubernetes::EXCLUDE_FROM_LOAD_BALANCERS_LABEL)
                .map(String::as_str),
            Some("true"),
            "{version}"
        );
        for (key, value) in &labels_before {
            assert_eq!(labels.get(key), Some(value), "{version}: label {key}");
        }
        assert_eq!(
            node.spec.as_ref().and_then(|spec| spec.unschedulable),
            Some(true),
            "{version}"
        );
        assert_eq!(
            ours(&node),
            [
                "example.com/dedicated:NoSchedule",
                "example.com/added-meanwhile:NoSchedule",
                "kops.k8s.io/scheduled-for-update:PreferNoSchedule",
            ],
            "{version}"
        );
    }
}
