//! Benchmark (not a test) of a rolling update with surge, in a simulated world: a one-zone
//! cluster whose node group runs 20 nodes (max 25) in the emulator, behind a proxy that adds a
//! fixed latency to every AWS call; a real kube-apiserver and kube-controller-manager; and
//! the instances playing nodes that join as soon as they run and turn Ready a fixed
//! boot-to-Ready time `B` later (30 s scaled down to 3 s by default). A Deployment spread over
//! the nodes, behind a PodDisruptionBudget, makes every drain real evictions.
//!
//! The launch template changes (the group's machine type), so all 20 nodes are outdated, and
//! `rolling::roll` replaces them with surge 5 through a `KubernetesGate`. It prints the wall
//! time next to the bound `ceil(N / surge) × (B + join + drain)`, the time of each phase of
//! each batch, AWS calls per action and the gate's Kubernetes requests.
//!
//! ```text
//! cargo bench -p berth-cloudup --bench rolling_update -- \
//!     [--boot-ms 3000] [--latency-ms 20] [--nodes 20] [--surge 5] [--runs 3]
//! ```
//!
//! The environment variables `BERTH_BENCH_BOOT_MS`, `BERTH_BENCH_LATENCY_MS`,
//! `BERTH_BENCH_NODES`, `BERTH_BENCH_SURGE` and `BERTH_BENCH_RUNS` do the same. Each run
//! changes the machine type back and forth and rolls every node again; the summary gives the
//! median ratio. Without the test control plane's
//! binaries (see `berth_test_support::k8s`) it prints why and stops.

#[path = "common/args.rs"]
mod args;
#[path = "rolling_update/kube.rs"]
mod kube_side;
#[path = "rolling_update/timeline.rs"]
mod timeline;
// Shared with the `update_cluster` benchmark, which uses more of it.
#[allow(dead_code, reason = "the update_cluster benchmark uses the rest")]
#[path = "update_cluster/setup.rs"]
mod setup;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use berth_cloudup::{
    engine::{self, ApplyOptions, NoopReporter},
    kubernetes::DrainOptions,
    rolling::{self, KubernetesGate, RollOptions, ValidationPolicy},
};
use berth_model::{CreateClusterOptions, InstanceGroup, InstanceGroupRole, Topology, aws::Graph};

use crate::{kube_side::KubeSide, setup::World, timeline::Timeline};

/// The zone of the cluster (one zone: one node group).
const ZONE: &str = "us-east-1a";

/// The node group's machine type before and after the change that outdates every node.
const MACHINE_TYPES: [&str; 2] = ["t3.medium", "t3.large"];

/// How far the node group may grow beyond its size during the roll.
const HEADROOM: u32 = 5;

/// What the run is asked to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// From a node joining to its being Ready (the simulated boot).
    pub(crate) boot: Duration,
    /// Added to every AWS call.
    pub(crate) latency: Duration,
    /// The node group's size.
    pub(crate) nodes: u32,
    /// The roll's max surge.
    pub(crate) surge: u32,
    /// How many rolls to measure, one after the other.
    pub(crate) runs: u32,
}

impl Settings {
    /// From the flags, else the environment, else the defaults. Other arguments (cargo
    /// passes `--bench`) are ignored.
    fn from_args() -> Settings {
        let count = |flag: &str, env: &str, default: u32| {
            args::number(flag, env).map_or(default, |value| {
                u32::try_from(value).unwrap_or_else(|_| panic!("{flag}: too large"))
            })
        };
        Settings {
            boot: Duration::from_millis(
                args::number("--boot-ms", "BERTH_BENCH_BOOT_MS").unwrap_or(3000),
            ),
            latency: Duration::from_millis(
                args::number("--latency-ms", "BERTH_BENCH_LATENCY_MS").unwrap_or(20),
            ),
            nodes: count("--nodes", "BERTH_BENCH_NODES", 20),
            surge: count("--surge", "BERTH_BENCH_SURGE", 5).max(1),
            runs: count("--runs", "BERTH_BENCH_RUNS", 3).max(1),
        }
    }

    /// How many batches the roll takes.
    pub(crate) fn batches(&self) -> u32 {
        self.nodes.div_ceil(self.surge)
    }
}

fn main() {
    args::block_on(run(Settings::from_args()));
}

async fn run(settings: Settings) {
    timeline::heading(&settings);
    let world = World::start(settings.latency).await;
    let mut groups = create(&world, &settings).await;
    let Some(kube) = KubeSide::start(&world, &settings).await else {
        return;
    };
    kube.wait_until_valid(&world).await;
    kube.spread_workload(settings.nodes).await;
    let gate = KubernetesGate::new(
        kube.bench_client().await,
        world.clients.clone(),
        setup::CLUSTER,
        DrainOptions {
            timeout: Duration::from_secs(120),
            poll_interval: Duration::from_millis(200),
            ..DrainOptions::default()
        },
        |_| {},
    );
    let options = RollOptions {
        default_max_surge: settings.surge,
        interval: Duration::ZERO,
        post_drain_delay: Duration::ZERO,
        validation: ValidationPolicy {
            count: 2,
            interval: Duration::from_millis(250),
            timeout: Duration::from_secs(120),
        },
        ..RollOptions::default()
    };

    let mut outcomes = Vec::new();
    for run in 0..settings.runs {
        kube.wait_for_workload(settings.nodes).await;
        // Outdate every node: a new launch template version (the other machine type).
        let machine_type = MACHINE_TYPES[(run as usize + 1) % MACHINE_TYPES.len()];
        for group in &mut groups.1 {
            if group.spec.role == InstanceGroupRole::Node {
                group.spec.machine_type = Some(machine_type.to_owned());
            }
        }
        let graph = world.graph_of(&groups.0, &groups.1).await;
        apply(&world, &graph).await;
        let plan = rolling::status(&world.clients, setup::CLUSTER, false)
            .await
            .expect("the cluster's groups");
        let outdated: usize = plan
            .iter()
            .map(|group| {
                group
                    .instances
                    .iter()
                    .filter(|instance| instance.needs_update)
                    .count()
            })
            .sum();
        assert_eq!(
            outdated, settings.nodes as usize,
            "every node is outdated, nothing else"
        );

        let timeline = Arc::new(Timeline::start());
        world.proxy.reset_stats();
        kube.reset_audit();
        let started = Instant::now();
        let recorder = Arc::clone(&timeline);
        let replaced = rolling::roll(
            &world.clients,
            setup::CLUSTER,
            &plan,
            &options,
            Some(&gate),
            &move |event| recorder.record(event),
        )
        .await
        .expect("the roll succeeds");
        let wall = started.elapsed();
        let aws_calls = world.proxy.stats();
        assert_eq!(replaced, settings.nodes as usize);
        println!();
        println!("run {} of {} (to {machine_type}):", run + 1, settings.runs);
        let bound = timeline::report(&timeline::Run {
            settings: &settings,
            wall,
            timeline: &timeline,
            joined: &kube.joined(),
            aws_calls: &aws_calls,
            kube_requests: &kube.audited_requests(),
        });
        outcomes.push((wall, bound));
    }
    timeline::summary(&outcomes);
}

/// Creates the cluster: one zone, one control plane, `settings.nodes` nodes (max `nodes +
/// HEADROOM`, so the surge fits), public topology; returns its spec.
async fn create(world: &World, settings: &Settings) -> (berth_model::Cluster, Vec<InstanceGroup>) {
    let options = CreateClusterOptions {
        zones: vec![ZONE.to_owned()],
        control_plane_zones: vec![ZONE.to_owned()],
        topology: Topology::Public,
        bastion: false,
        node_count: settings.nodes,
        node_size: Some(MACHINE_TYPES[0].to_owned()),
        ..setup::create_options(world.store.url())
    };
    let (cluster, mut groups) = berth_model::build_cluster(&options).expect("valid options");
    for group in &mut groups {
        if group.spec.role == InstanceGroupRole::Node {
            group.spec.max_size = Some(settings.nodes + HEADROOM.max(settings.surge));
        }
    }
    let graph = world.graph_of(&cluster, &groups).await;
    apply(world, &graph).await;
    (cluster, groups)
}

/// Discovers, plans and applies `graph`, as `update cluster --yes` does.
async fn apply(world: &World, graph: &Graph) {
    let options = ApplyOptions::default();
    let discovery = engine::discover_all_with(
        graph,
        &world.clients,
        &world.store,
        setup::CLUSTER,
        &options,
    )
    .await
    .expect("discovery");
    let plan = engine::plan(graph, &discovery);
    let applied = engine::apply(
        &plan,
        &world.clients,
        &world.store,
        setup::CLUSTER,
        &options,
        &NoopReporter,
    )
    .await;
    assert!(
        applied.is_success(),
        "the apply failed: {}",
        applied.summary()
    );
}
