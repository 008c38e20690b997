//! Benchmark (not a test) of `berth update cluster` for the private three-zone HA cluster
//! with a bastion, against the emulator behind a proxy that adds a fixed latency to every
//! call.
//!
//! It prints, for a fresh apply and for a no-op update: wall time, API calls by action, and
//! for the apply the critical-path bound (the plan's heaviest chain of sequential calls ×
//! the latency) next to the chains measured from the tasks' timings. The no-op update's
//! discovery is also run kind by kind to count describes per resource kind.
//!
//! ```text
//! cargo bench -p berth-cloudup --bench update_cluster -- [--latency-ms 100] [--concurrency 16]
//! ```
//!
//! The environment variables `BERTH_BENCH_LATENCY_MS` and `BERTH_BENCH_CONCURRENCY` do the
//! same. The emulator answers calls one at a time (see `report::emulator_throughput`): at
//! small latencies its own service time, not the latency, bounds the apply.

#[path = "common/args.rs"]
mod args;
#[path = "update_cluster/per_kind.rs"]
mod per_kind;
#[path = "update_cluster/report.rs"]
mod report;
#[path = "update_cluster/setup.rs"]
mod setup;
#[path = "update_cluster/timing.rs"]
mod timing;

use std::time::{Duration, Instant};

use berth_cloudup::engine::{self, ApplyOptions, DEFAULT_CONCURRENCY};
use berth_model::builders::critical_path_weight;

use crate::{setup::World, timing::TaskClock};

/// The default latency added to every call.
const DEFAULT_LATENCY: Duration = Duration::from_millis(100);

/// What the run is asked to measure.
struct Settings {
    latency: Duration,
    concurrency: usize,
}

impl Settings {
    /// From `--latency-ms N` / `--concurrency N`, else the environment, else the defaults.
    /// Other arguments (cargo passes `--bench`) are ignored.
    fn from_args() -> Settings {
        Settings {
            latency: args::number("--latency-ms", "BERTH_BENCH_LATENCY_MS")
                .map_or(DEFAULT_LATENCY, Duration::from_millis),
            concurrency: args::number("--concurrency", "BERTH_BENCH_CONCURRENCY")
                .map_or(DEFAULT_CONCURRENCY, |value| value as usize),
        }
    }
}

fn main() {
    args::block_on(run(&Settings::from_args()));
}

async fn run(settings: &Settings) {
    let world = World::start(settings.latency).await;
    let options = ApplyOptions {
        concurrency: settings.concurrency,
        abort_after_tasks: None,
        ..ApplyOptions::default()
    };
    report::heading(settings.latency, settings.concurrency);
    report::emulator_throughput(&world).await;

    // 1. Fresh apply.
    world.proxy.reset_stats();
    let facts_started = Instant::now();
    let graph = world.desired_graph().await;
    report::facts(facts_started.elapsed(), &world.proxy.stats());

    world.proxy.reset_stats();
    let started = Instant::now();
    let discovery = engine::discover_all_with(
        &graph,
        &world.clients,
        &world.store,
        setup::CLUSTER,
        &options,
    )
    .await
    .expect("discovery of an empty account");
    let plan = engine::plan(&graph, &discovery);
    let planned = started.elapsed();
    let discovery_stats = world.proxy.stats();

    world.proxy.reset_stats();
    let clock = TaskClock::start();
    let applied = engine::apply(
        &plan,
        &world.clients,
        &world.store,
        setup::CLUSTER,
        &options,
        &clock,
    )
    .await;
    let apply_stats = world.proxy.stats();
    assert!(
        applied.is_success(),
        "the apply failed: {}",
        applied.summary()
    );
    let (weight, path) = plan.critical_path(critical_path_weight);
    report::fresh_apply(&report::FreshApply {
        graph: &graph,
        plan: &plan,
        planned,
        discovery_calls: &discovery_stats,
        applied: &applied,
        apply_calls: &apply_stats,
        bound_calls: weight,
        bound_path: &path,
        latency: settings.latency,
        concurrency: settings.concurrency,
        clock: &clock,
    });

    // 2. No-op update: the same spec again.
    world.proxy.reset_stats();
    let started = Instant::now();
    let discovery = engine::discover_all_with(
        &graph,
        &world.clients,
        &world.store,
        setup::CLUSTER,
        &options,
    )
    .await
    .expect("discovery of the cluster");
    let plan = engine::plan(&graph, &discovery);
    let elapsed = started.elapsed();
    let noop_stats = world.proxy.stats();
    let per_kind = per_kind::discovery_calls_per_kind(&world, &graph).await;
    report::noop_update(&plan, elapsed, &noop_stats, &per_kind, settings.latency);
}
