//! The test plays kubelet and scheduler against the test control plane ([`crate::k8s`]),
//! which runs neither.
//!
//! [`FakeKubelet`] owns a background task that, every [`TICK`]:
//!
//! - keeps the status of each registered node: Ready (or not, see
//!   [`FakeKubelet::set_node_ready`]) once its `ready_after` has passed, with a heartbeat
//!   refreshed every [`HEARTBEAT`], so that the controller manager's node-lifecycle
//!   controller never marks it NotReady behind the test's back;
//! - schedules: binds each Pending pod without a node to a Ready, schedulable (not cordoned)
//!   registered node whose labels match its `nodeSelector`, round robin, through the
//!   `pods/{name}/binding` subresource, as kube-scheduler does;
//! - runs pods: writes Running and Ready (with container statuses) into the status of every
//!   pod bound to a Ready registered node;
//! - confirms deletions: force-deletes (`gracePeriodSeconds: 0`) every pod that is
//!   terminating on a registered node, as a kubelet does once the containers stopped, and
//!   every pod bound to a node removed with [`FakeKubelet::remove_node`]. Each such delete is
//!   logged ([`FakeKubelet::deleted_pods`]), so a test can tell that pods only went through
//!   eviction.
//!
//! Taints, tolerations, affinity and resources are ignored. The task stops when the handle
//! is dropped. Setup calls panic with a clear message when the API server refuses them; the
//! background task retries on the next tick.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use k8s_openapi::{
    api::core::v1::{Binding, Container, Node, NodeSpec, ObjectReference, Pod, PodSpec},
    apimachinery::pkg::apis::meta::v1::Time,
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, Preconditions},
};
use serde_json::{Value, json};
use tokio::{task::JoinHandle, time::Instant};

/// How often the background task looks at the cluster.
pub const TICK: Duration = Duration::from_millis(250);

/// How often a Ready node's heartbeat is refreshed: well inside the node-lifecycle
/// controller's grace period (40 s in v1.28, 50 s later).
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// The annotation that marks a mirror (static) pod.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Why the fake kubelet deleted a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    /// It was terminating (an eviction or a graceful delete set its `deletionTimestamp`).
    Terminating,
    /// Its node was removed.
    NodeRemoved,
}

/// A pod the fake kubelet deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedPod {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
    /// Its node, if it had one.
    pub node: Option<String>,
    /// Why it was deleted.
    pub reason: DeletionReason,
}

/// A running fake kubelet and scheduler; stops when dropped.
pub struct FakeKubelet {
    client: Client,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for FakeKubelet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeKubelet")
            .field("nodes", &lock(&self.state).nodes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    nodes: BTreeMap<String, RegisteredNode>,
    removed: BTreeSet<String>,
    next_node: usize,
    deleted: Vec<DeletedPod>,
}

#[derive(Debug, Clone)]
struct RegisteredNode {
    ready_at: Instant,
    ready: bool,
    /// What was last written, and when.
    written: Option<(bool, Instant)>,
}

impl RegisteredNode {
    /// Whether the node reports Ready now.
    fn is_ready(&self, now: Instant) -> bool {
        self.ready && now >= self.ready_at
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic elsewhere in the test must not hide behind a poisoned lock.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeKubelet {
    /// Starts the background task, with no node registered.
    pub fn start(client: Client) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let task = tokio::spawn(run(client.clone(), Arc::clone(&state)));
        Self {
            client,
            state,
            task,
        }
    }

    /// Creates Node `name` with `spec.providerID` and `labels` (plus
    /// `kubernetes.io/hostname`); it reports Ready once `ready_after` has passed.
    pub async fn register_node(
        &self,
        name: &str,
        provider_id: &str,
        labels: BTreeMap<String, String>,
        ready_after: Duration,
    ) {
        let mut labels = labels;
        labels
            .entry("kubernetes.io/hostname".to_owned())
            .or_insert_with(|| name.to_owned());
        let node = Node {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                labels: Some(labels),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec {
                provider_id: Some(provider_id.to_owned()),
                ..NodeSpec::default()
            }),
            status: None,
        };
        Api::<Node>::all(self.client.clone())
            .create(&PostParams::default(), &node)
            .await
            .unwrap_or_else(|error| panic!("fake kubelet: cannot create node `{name}`: {error}"));
        {
            let mut state = lock(&self.state);
            state.removed.remove(name);
            state.nodes.insert(
                name.to_owned(),
                RegisteredNode {
                    ready_at: Instant::now() + ready_after,
                    ready: true,
                    written: None,
                },
            );
        }
        if ready_after.is_zero() {
            self.write_node_status(name, true).await;
        }
    }

    /// Deletes Node `name` and, at once, every pod bound to it.
    pub async fn remove_node(&self, name: &str) {
        {
            let mut state = lock(&self.state);
            state.nodes.remove(name);
            state.removed.insert(name.to_owned());
        }
        match Api::<Node>::all(self.client.clone())
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => panic!("fake kubelet: cannot delete node `{name}`: {error}"),
        }
        let pods = Api::<Pod>::all(self.client.clone())
            .list(&ListParams::default().fields(&format!("spec.nodeName={name}")))
            .await
            .unwrap_or_else(|error| panic!("fake kubelet: cannot list pods on `{name}`: {error}"));
        for pod in &pods.items {
            force_delete(&self.client, &self.state, pod, DeletionReason::NodeRemoved).await;
        }
    }

    /// Makes a registered node report Ready or not Ready, at once.
    pub async fn set_node_ready(&self, name: &str, ready: bool) {
        {
            let mut state = lock(&self.state);
            let node = state
                .nodes
                .get_mut(name)
                .unwrap_or_else(|| panic!("fake kubelet: node `{name}` is not registered"));
            node.ready = ready;
            node.ready_at = node.ready_at.min(Instant::now());
        }
        self.write_node_status(name, ready).await;
    }

    /// Every pod this fake kubelet deleted, in order.
    pub fn deleted_pods(&self) -> Vec<DeletedPod> {
        lock(&self.state).deleted.clone()
    }

    async fn write_node_status(&self, name: &str, ready: bool) {
        patch_node_status(&self.client, name, ready)
            .await
            .unwrap_or_else(|error| {
                panic!("fake kubelet: cannot write the status of node `{name}`: {error}")
            });
        if let Some(node) = lock(&self.state).nodes.get_mut(name) {
            node.written = Some((ready, Instant::now()));
        }
    }
}

impl Drop for FakeKubelet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Creates the static pods kops runs on a control-plane node, as the API shows them (mirror
/// pods): `kube-apiserver-<node>`, `kube-controller-manager-<node>` and
/// `kube-scheduler-<node>` in `kube-system`, bound to `node`, with kops's priority class
/// (`system-cluster-critical`), and marks them Running and Ready. Returns their names.
pub async fn create_control_plane_pods(client: &Client, node: &str) -> Vec<String> {
    let pods = Api::<Pod>::namespaced(client.clone(), "kube-system");
    let mut names = Vec::new();
    for component in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ] {
        let name = format!("{component}-{node}");
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some("kube-system".to_owned()),
                labels: Some(
                    [
                        ("k8s-app".to_owned(), component.to_owned()),
                        ("tier".to_owned(), "control-plane".to_owned()),
                    ]
                    .into(),
                ),
                annotations: Some(
                    [
                        (MIRROR_ANNOTATION.to_owned(), format!("{component}-hash")),
                        ("kubernetes.io/config.source".to_owned(), "file".to_owned()),
                    ]
                    .into(),
                ),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some(node.to_owned()),
                priority_class_name: Some("system-cluster-critical".to_owned()),
                host_network: Some(true),
                containers: vec![Container {
                    name: component.to_owned(),
                    image: Some(format!("registry.k8s.io/{component}:v0.0.0")),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            status: None,
        };
        let created = pods
            .create(&PostParams::default(), &pod)
            .await
            .unwrap_or_else(|error| panic!("cannot create pod `kube-system/{name}`: {error}"));
        mark_running(client, &created)
            .await
            .unwrap_or_else(|error| {
                panic!("cannot write the status of pod `kube-system/{name}`: {error}")
            });
        names.push(name);
    }
    names
}

/// The background loop: one pass per tick, errors retried on the next.
async fn run(client: Client, state: Arc<Mutex<State>>) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // Errors are transient here (a conflict, a pod deleted meanwhile): the next pass sees
        // the new state and tries again.
        let _ = pass(&client, &state).await;
    }
}

async fn pass(client: &Client, state: &Mutex<State>) -> Result<(), kube::Error> {
    let now = Instant::now();
    let due: Vec<(String, bool)> = lock(state)
        .nodes
        .iter()
        .filter(|(_, node)| now >= node.ready_at)
        .filter(|(_, node)| {
            node.written.is_none_or(|(ready, at)| {
                ready != node.ready || now.duration_since(at) >= HEARTBEAT
            })
        })
        .map(|(name, node)| (name.clone(), node.ready))
        .collect();
    for (name, ready) in due {
        patch_node_status(client, &name, ready).await?;
        if let Some(node) = lock(state).nodes.get_mut(&name) {
            node.written = Some((ready, Instant::now()));
        }
    }

    let api_nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let (ready_nodes, removed) = {
        let state = lock(state);
        let ready: BTreeSet<String> = state
            .nodes
            .iter()
            .filter(|(_, node)| node.is_ready(now))
            .map(|(name, _)| name.clone())
            .collect();
        (ready, state.removed.clone())
    };
    let registered: BTreeSet<String> = lock(state).nodes.keys().cloned().collect();
    // Schedulable: registered, Ready, not cordoned; sorted by name for the round robin.
    let schedulable: Vec<&Node> = api_nodes
        .items
        .iter()
        .filter(|node| {
            node.metadata
                .name
                .as_ref()
                .is_some_and(|name| ready_nodes.contains(name))
                && !node
                    .spec
                    .as_ref()
                    .and_then(|spec| spec.unschedulable)
                    .unwrap_or(false)
        })
        .collect();

    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    for pod in &pods.items {
        let node = pod.spec.as_ref().and_then(|spec| spec.node_name.clone());
        let phase = pod
            .status
            .as_ref()
            .and_then(|status| status.phase.as_deref())
            .unwrap_or("Pending");
        if pod.metadata.deletion_timestamp.is_some() {
            if node
                .as_ref()
                .is_none_or(|node| registered.contains(node) || removed.contains(node))
            {
                force_delete(client, state, pod, DeletionReason::Terminating).await;
            }
            continue;
        }
        match node {
            Some(node) if removed.contains(&node) => {
                force_delete(client, state, pod, DeletionReason::NodeRemoved).await;
            }
            Some(node)
                if ready_nodes.contains(&node)
                    && !matches!(phase, "Succeeded" | "Failed")
                    && !is_running_and_ready(pod) =>
            {
                mark_running(client, pod).await?;
            }
            Some(_) => {}
            None if phase == "Pending" => {
                let fits: Vec<&Node> = schedulable
                    .iter()
                    .copied()
                    .filter(|node| selector_fits(pod, node))
                    .collect();
                if fits.is_empty() {
                    continue;
                }
                let index = {
                    let mut state = lock(state);
                    state.next_node = state.next_node.wrapping_add(1);
                    state.next_node % fits.len()
                };
                let target = fits[index].metadata.name.clone().unwrap_or_default();
                bind(client, pod, &target).await?;
                let mut bound = pod.clone();
                if let Some(spec) = bound.spec.as_mut() {
                    spec.node_name = Some(target);
                }
                mark_running(client, &bound).await?;
            }
            None => {}
        }
    }
    Ok(())
}

fn selector_fits(pod: &Pod, node: &Node) -> bool {
    let Some(selector) = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.node_selector.as_ref())
    else {
        return true;
    };
    let labels = node.metadata.labels.clone().unwrap_or_default();
    selector
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value))
}

fn is_running_and_ready(pod: &Pod) -> bool {
    let Some(status) = pod.status.as_ref() else {
        return false;
    };
    status.phase.as_deref() == Some("Running")
        && status
            .conditions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|condition| condition.type_ == "Ready" && condition.status == "True")
}

async fn bind(client: &Client, pod: &Pod, node: &str) -> Result<(), kube::Error> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Node".to_owned()),
            name: Some(node.to_owned()),
            ..ObjectReference::default()
        },
    };
    Api::<Pod>::namespaced(client.clone(), namespace)
        .create_subresource::<Binding, Value>("binding", name, &PostParams::default(), &binding)
        .await?;
    Ok(())
}

/// Writes a pod's status as a kubelet does once all its containers run and pass their
/// readiness probes.
async fn mark_running(client: &Client, pod: &Pod) -> Result<(), kube::Error> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let now = Time(Timestamp::now());
    let containers: Vec<Value> = pod
        .spec
        .as_ref()
        .map(|spec| spec.containers.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|container| {
            json!({
                "name": container.name,
                "image": container.image.clone().unwrap_or_default(),
                "imageID": "",
                "containerID": format!("containerd://{}-{}", name, container.name),
                "ready": true,
                "started": true,
                "restartCount": 0,
                "state": { "running": { "startedAt": now } },
            })
        })
        .collect();
    let condition = |kind: &str| json!({ "type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": now });
    let status = json!({
        "status": {
            "phase": "Running",
            "startTime": now,
            "conditions": [
                condition("Initialized"),
                condition("Ready"),
                condition("ContainersReady"),
                condition("PodScheduled"),
            ],
            "containerStatuses": containers,
        }
    });
    Api::<Pod>::namespaced(client.clone(), namespace)
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

async fn patch_node_status(client: &Client, name: &str, ready: bool) -> Result<(), kube::Error> {
    let now = Time(Timestamp::now());
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        })
    };
    let ready_condition = if ready {
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
        )
    } else {
        condition(
            "Ready",
            "False",
            "KubeletNotReady",
            "container runtime network not ready (fake kubelet)",
        )
    };
    let status = json!({
        "status": {
            "conditions": [
                condition("NetworkUnavailable", "False", "RouteCreated", "routes exist"),
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "ok"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "ok"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "ok"),
                ready_condition,
            ],
            "nodeInfo": {
                "kubeletVersion": "v0.0.0-fake",
                "kubeProxyVersion": "",
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": "fake",
                "kernelVersion": "",
                "containerRuntimeVersion": "fake://0",
                "machineID": "", "systemUUID": "", "bootID": "",
            },
        }
    });
    Api::<Node>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

/// Deletes a pod at once (`gracePeriodSeconds: 0`, only if its uid is still the same) and
/// logs it; a pod already gone is fine.
async fn force_delete(client: &Client, state: &Mutex<State>, pod: &Pod, reason: DeletionReason) {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(uid.clone()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let deleted = Api::<Pod>::namespaced(client.clone(), &namespace)
        .delete(&name, &params)
        .await;
    if deleted.is_ok() {
        let mut state = lock(state);
        if !state.deleted.iter().any(|pod| pod.uid == uid) {
            state.deleted.push(DeletedPod {
                namespace,
                name,
                uid,
                node: pod.spec.as_ref().and_then(|spec| spec.node_name.clone()),
                reason,
            });
        }
    }
}
