//! The cloud's instances as Kubernetes nodes: for every running instance the caller lists, a
//! Node joins the test control plane through a [`FakeKubelet`] (named after the instance,
//! with its `providerID` `aws:///<zone>/<id>` and `kops.k8s.io/instancegroup` label; the
//! control-plane static pods on control-plane nodes) and turns Ready after a boot-to-Ready
//! time; the Node of an instance that is no longer running is removed with its pods, as the
//! cloud controller manager does.
//!
//! The caller lists the instances ([`RunningInstance`]); [`ec2_running_instances`] lists
//! them from the emulator's EC2. A node joins within one [`InstanceNodesOptions::poll`] (plus
//! the listing's own time) of its instance showing up in that list.

use std::{
    collections::{BTreeMap, BTreeSet},
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::{task::JoinHandle, time::Instant};

use crate::kubelet::{FakeKubelet, create_control_plane_pods};

/// The label that names a node's instance group.
pub const INSTANCE_GROUP_LABEL: &str = "kops.k8s.io/instancegroup";

/// The label of control-plane nodes.
pub const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

/// How long a node that is never to become Ready waits: longer than any test.
const NEVER: Duration = Duration::from_secs(24 * 60 * 60);

/// A running (or pending) instance, as the caller's listing reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningInstance {
    /// Its id (`i-…`), also the Node's name.
    pub id: String,
    /// Its availability zone.
    pub zone: String,
    /// Its instance group (the `kops.k8s.io/instancegroup` tag), if any.
    pub instance_group: Option<String>,
    /// Whether it runs the control plane.
    pub control_plane: bool,
}

/// The running (or pending) instances EC2 reports, with their zone, instance group and role
/// from their tags; none when the call fails (the next poll tries again).
pub async fn ec2_running_instances(ec2: &aws_sdk_ec2::Client) -> Vec<RunningInstance> {
    let Ok(described) = ec2.describe_instances().send().await else {
        return Vec::new();
    };
    described
        .reservations()
        .iter()
        .flat_map(|reservation| reservation.instances())
        .filter(|instance| {
            matches!(
                instance
                    .state()
                    .and_then(|state| state.name())
                    .map(|name| name.as_str()),
                Some("pending" | "running")
            )
        })
        .filter_map(|instance| {
            let tag = |key: &str| {
                instance
                    .tags()
                    .iter()
                    .find(|tag| tag.key() == Some(key))
                    .and_then(|tag| tag.value())
                    .map(str::to_owned)
            };
            Some(RunningInstance {
                id: instance.instance_id()?.to_owned(),
                zone: instance
                    .placement()
                    .and_then(|placement| placement.availability_zone())
                    .unwrap_or_default()
                    .to_owned(),
                instance_group: tag(INSTANCE_GROUP_LABEL),
                control_plane: tag("k8s.io/role/control-plane").is_some(),
            })
        })
        .collect()
}

/// Which joined nodes become Ready, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyPolicy {
    /// From a node joining to its reporting Ready (the simulated boot).
    pub boot_to_ready: Duration,
    /// When set, only these instances ever become Ready; the others join but stay not
    /// Ready.
    pub only: Option<BTreeSet<String>>,
}

impl ReadyPolicy {
    /// Every node Ready `boot_to_ready` after it joins.
    #[must_use]
    pub fn after(boot_to_ready: Duration) -> Self {
        Self {
            boot_to_ready,
            only: None,
        }
    }

    fn ready_after(&self, id: &str) -> Duration {
        if self.only.as_ref().is_none_or(|only| only.contains(id)) {
            self.boot_to_ready
        } else {
            NEVER
        }
    }
}

/// How the simulation runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceNodesOptions {
    /// Which nodes become Ready, and when.
    pub ready: ReadyPolicy,
    /// How often the instances are listed.
    pub poll: Duration,
}

impl InstanceNodesOptions {
    /// Nodes Ready `boot_to_ready` after they join; instances listed every 300 ms.
    #[must_use]
    pub fn new(boot_to_ready: Duration) -> Self {
        Self {
            ready: ReadyPolicy::after(boot_to_ready),
            poll: Duration::from_millis(300),
        }
    }

    /// Lists the instances every `poll`.
    #[must_use]
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
}

/// The running simulation; dropping it stops it (the nodes stay).
pub struct InstanceNodes {
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for InstanceNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceNodes")
            .field("ready", &lock(&self.shared).ready)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Shared {
    ready: ReadyPolicy,
    /// When each instance's node joined, for the instances whose node is registered.
    joined: BTreeMap<String, Instant>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InstanceNodes {
    /// Starts the background task: every `options.poll` it calls `list` and registers the
    /// new instances' nodes with `kubelet` (and control-plane pods through `client`), and
    /// removes the nodes of instances no longer listed. A listing that fails should return
    /// the previous answer or an empty list (then every node is removed); the caller decides.
    pub fn start<List, Listed>(
        kubelet: Arc<FakeKubelet>,
        client: kube::Client,
        options: InstanceNodesOptions,
        list: List,
    ) -> Self
    where
        List: Fn() -> Listed + Send + Sync + 'static,
        Listed: Future<Output = Vec<RunningInstance>> + Send + 'static,
    {
        let shared = Arc::new(Mutex::new(Shared {
            ready: options.ready,
            joined: BTreeMap::new(),
        }));
        let task = tokio::spawn(run(
            kubelet,
            client,
            options.poll,
            Arc::clone(&shared),
            list,
        ));
        Self { shared, task }
    }

    /// Replaces the ready policy for instances that join from now on.
    pub fn set_ready_policy(&self, ready: ReadyPolicy) {
        lock(&self.shared).ready = ready;
    }

    /// From now on, only these instances become Ready (the ones already joined keep their
    /// state).
    pub fn only_ready(&self, instances: BTreeSet<String>) {
        lock(&self.shared).ready.only = Some(instances);
    }

    /// When each currently joined instance's node joined.
    #[must_use]
    pub fn joined(&self) -> BTreeMap<String, Instant> {
        lock(&self.shared).joined.clone()
    }
}

impl Drop for InstanceNodes {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run<List, Listed>(
    kubelet: Arc<FakeKubelet>,
    client: kube::Client,
    poll: Duration,
    shared: Arc<Mutex<Shared>>,
    list: List,
) where
    List: Fn() -> Listed + Send + Sync + 'static,
    Listed: Future<Output = Vec<RunningInstance>> + Send + 'static,
{
    let mut registered: BTreeSet<String> = BTreeSet::new();
    loop {
        let running = list().await;
        for instance in &running {
            if registered.contains(&instance.id) {
                continue;
            }
            join(&kubelet, &client, &shared, instance).await;
            registered.insert(instance.id.clone());
        }
        let listed: BTreeSet<&str> = running
            .iter()
            .map(|instance| instance.id.as_str())
            .collect();
        let gone: Vec<String> = registered
            .iter()
            .filter(|id| !listed.contains(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            kubelet.remove_node(&id).await;
            registered.remove(&id);
            lock(&shared).joined.remove(&id);
        }
        tokio::time::sleep(poll).await;
    }
}

/// Registers the instance's node (and its control-plane pods).
async fn join(
    kubelet: &FakeKubelet,
    client: &kube::Client,
    shared: &Mutex<Shared>,
    instance: &RunningInstance,
) {
    let id = &instance.id;
    let mut labels = BTreeMap::new();
    if let Some(group) = &instance.instance_group {
        labels.insert(INSTANCE_GROUP_LABEL.to_owned(), group.clone());
    }
    if instance.control_plane {
        labels.insert(CONTROL_PLANE_LABEL.to_owned(), String::new());
    }
    let ready_after = lock(shared).ready.ready_after(id);
    let provider_id = format!("aws:///{}/{id}", instance.zone);
    kubelet
        .register_node(id, &provider_id, labels, ready_after)
        .await;
    lock(shared).joined.insert(id.clone(), Instant::now());
    if instance.control_plane {
        create_control_plane_pods(client, id).await;
    }
}
