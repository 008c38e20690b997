//! The benchmark's printed tables, and the emulator's own throughput as a reference floor.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use berth_cloudup::engine::{ApplyReport, Plan};
use berth_model::aws::{Graph, NodeKey, ResourceKind};
use berth_test_support::fault_proxy::ProxyStats;

use crate::{
    per_kind::KindCalls,
    setup::World,
    timing::{self, TaskClock},
};

/// Calls for the emulator calibration.
const CALIBRATION_CALLS: usize = 60;

/// The goal for a fresh apply: at most this many times the critical-path bound.
const APPLY_GOAL: f64 = 1.15;

pub(crate) fn heading(latency: Duration, concurrency: usize) {
    println!(
        "berth update cluster: private HA cluster (3 zones, 3 control planes, bastion), \
         latency {} ms per call, concurrency {concurrency}",
        latency.as_millis()
    );
}

/// Measures how fast the emulator answers without injected latency: one call at a time, and
/// 16 at a time (it serialises calls, so the second is not much faster).
pub(crate) async fn emulator_throughput(world: &World) {
    let call = || async {
        world
            .direct
            .ec2
            .describe_vpcs()
            .send()
            .await
            .expect("DescribeVpcs on the emulator");
    };
    let started = Instant::now();
    for _ in 0..CALIBRATION_CALLS {
        call().await;
    }
    let sequential = started.elapsed() / CALIBRATION_CALLS as u32;
    let started = Instant::now();
    let mut handles = tokio::task::JoinSet::new();
    let limiter = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    for _ in 0..CALIBRATION_CALLS {
        let ec2 = world.direct.ec2.clone();
        let limiter = limiter.clone();
        handles.spawn(async move {
            let _slot = limiter.acquire().await;
            ec2.describe_vpcs().send().await.expect("DescribeVpcs");
        });
    }
    while handles.join_next().await.is_some() {}
    let parallel = CALIBRATION_CALLS as f64 / started.elapsed().as_secs_f64();
    println!(
        "emulator (no proxy): {:.1} ms per call one at a time, {parallel:.0} calls/s 16 at a time",
        millis(sequential)
    );
}

pub(crate) fn facts(elapsed: Duration, stats: &ProxyStats) {
    println!(
        "facts (zones, images): {:.2} s, {} calls {}",
        elapsed.as_secs_f64(),
        stats.total_calls(),
        inline_actions(stats)
    );
}

/// What the fresh apply measured.
pub(crate) struct FreshApply<'a> {
    pub(crate) graph: &'a Graph,
    pub(crate) plan: &'a Plan,
    pub(crate) planned: Duration,
    pub(crate) discovery_calls: &'a ProxyStats,
    pub(crate) applied: &'a ApplyReport,
    pub(crate) apply_calls: &'a ProxyStats,
    pub(crate) bound_calls: u64,
    pub(crate) bound_path: &'a [NodeKey],
    pub(crate) latency: Duration,
    pub(crate) concurrency: usize,
    pub(crate) clock: &'a TaskClock,
}

pub(crate) fn fresh_apply(run: &FreshApply<'_>) {
    let summary = run.plan.summary();
    println!(
        "\n## Fresh apply: {} resources in the graph, {} to create",
        run.graph.len(),
        summary.create
    );
    println!(
        "discovery + plan      {:>8.2} s  {:>4} calls",
        run.planned.as_secs_f64(),
        run.discovery_calls.total_calls()
    );
    let wall = run.applied.elapsed;
    println!(
        "apply                 {:>8.2} s  {:>4} calls  ({})",
        wall.as_secs_f64(),
        run.apply_calls.total_calls(),
        run.applied.summary()
    );
    let bound = run.latency * run.bound_calls as u32;
    println!(
        "critical-path bound   {:>8.2} s  = {} sequential calls x {} ms: {}",
        bound.as_secs_f64(),
        run.bound_calls,
        run.latency.as_millis(),
        path_text(run.bound_path)
    );
    let apply_ratio = ratio(wall, bound);
    println!(
        "apply / bound         {apply_ratio:>8.2} x  (goal <= {APPLY_GOAL} x: {})",
        if apply_ratio <= APPLY_GOAL {
            "met"
        } else {
            "NOT met"
        }
    );
    let (heaviest, heaviest_path) = timing::heaviest_measured_chain(run.plan, run.clock);
    println!(
        "heaviest chain, measured task times, no queueing {:>6.2} s: {}",
        heaviest.as_secs_f64(),
        path_text(&heaviest_path)
    );
    let total = timing::total_task_time(run.clock);
    println!(
        "sum of task times     {:>8.2} s  / concurrency {} = {:.2} s",
        total.as_secs_f64(),
        run.concurrency,
        total.as_secs_f64() / run.concurrency.max(1) as f64
    );
    let calls = run.apply_calls.total_calls().max(1);
    println!(
        "time per call         {:>8.0} ms  (sum of task times / calls; {} ms injected, the rest \
         is the emulator and its queue)",
        millis(total) / calls as f64,
        run.latency.as_millis()
    );
    println!("chain that decided the wall time (each task: wait for a slot, then run):");
    let chain = timing::deciding_chain(run.plan, run.clock);
    for link in &chain {
        println!(
            "  {:<58} waited {:>6.0} ms  ran {:>6.0} ms  (~{:.1} x latency)",
            link.key.to_string(),
            millis(link.waited),
            millis(link.ran),
            ratio(link.ran, run.latency)
        );
    }
    let waited: Duration = chain.iter().map(|link| link.waited).sum();
    let ran: Duration = chain.iter().map(|link| link.ran).sum();
    println!(
        "  total: waited {:.2} s, ran {:.2} s",
        waited.as_secs_f64(),
        ran.as_secs_f64()
    );
    println!("calls by action (apply):");
    action_table(run.apply_calls);
}

pub(crate) fn noop_update(
    plan: &Plan,
    elapsed: Duration,
    stats: &ProxyStats,
    per_kind: &BTreeMap<ResourceKind, KindCalls>,
    latency: Duration,
) {
    let summary = plan.summary();
    println!(
        "\n## No-op update: {} unchanged, {} to create, {} to update, {} to replace: {}",
        summary.unchanged,
        summary.create,
        summary.update,
        summary.replace,
        if plan.has_changes() {
            "NOT a no-op"
        } else {
            "no changes"
        }
    );
    println!(
        "discovery + plan      {:>8.2} s  {:>4} calls  ({:.1} x latency)",
        elapsed.as_secs_f64(),
        stats.total_calls(),
        ratio(elapsed, latency)
    );
    println!("calls by action (discovery, all kinds at once):");
    action_table(stats);
    println!("calls per resource kind (each kind's discovery alone):");
    let mut over = Vec::new();
    for (kind, calls) in per_kind {
        let verdict = if calls.total() <= 1 { "ok" } else { "MORE" };
        println!(
            "  {:<22} {:>3} resources {:>3} calls {:>5.0} ms ({:.1} x latency)  {:<4}  {}",
            kind.as_str(),
            calls.resources,
            calls.total(),
            millis(calls.elapsed),
            ratio(calls.elapsed, latency),
            verdict,
            inline_map(&calls.by_action)
        );
        if calls.total() > 1 {
            over.push(kind.as_str());
        }
    }
    for kind in per_kind.keys().filter(|kind| per_kind[kind].total() > 1) {
        println!("  why {}: {}", kind.as_str(), why_more_than_one(*kind));
    }
    if over.is_empty() {
        println!("at most one describe per resource kind: yes");
    } else {
        println!(
            "at most one describe per resource kind: no ({})",
            over.join(", ")
        );
    }
}

/// Why a kind's discovery takes more than one call (read from the kinds' code).
fn why_more_than_one(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Vpc => {
            "DescribeVpcs returns no DNS attributes; DescribeVpcAttribute reads one attribute \
             per call (both at once): 2 round trips"
        }
        ResourceKind::DhcpOptions => {
            "the association lives on the VPC: DescribeVpcs filtered by the options' ids, \
             after DescribeDhcpOptions: 2 round trips"
        }
        ResourceKind::RouteTableAssociation => {
            "DescribeSubnets finds the cluster's subnets, then DescribeRouteTables by \
             association.subnet-id (a table the cluster does not own may hold them): 2 round trips"
        }
        ResourceKind::IamRole | ResourceKind::IamRolePolicy | ResourceKind::IamInstanceProfile => {
            "IAM has no tag filter: one Get per name, all at once: 1 round trip"
        }
        ResourceKind::LaunchTemplate => {
            "DescribeLaunchTemplates has no content; DescribeLaunchTemplateVersions reads the \
             versions in use: 2 round trips"
        }
        ResourceKind::LoadBalancer | ResourceKind::TargetGroup => {
            "ELBv2 describes return no tags: DescribeTags by ARN to keep the cluster's: \
             2 round trips"
        }
        ResourceKind::Listener => {
            "listeners are listed per load balancer: DescribeLoadBalancers first: 2 round trips"
        }
        _ => "unexpected: look at the kind's discover",
    }
}

fn action_table(stats: &ProxyStats) {
    let mut rows: Vec<(&String, u64)> = stats
        .by_action
        .iter()
        .map(|(action, stats)| (action, stats.calls))
        .collect();
    rows.sort_by(|left, right| right.1.cmp(&left.1).then(left.0.cmp(right.0)));
    for (action, calls) in rows {
        println!("  {calls:>4}  {action}");
    }
}

fn inline_actions(stats: &ProxyStats) -> String {
    inline_map(
        &stats
            .by_action
            .iter()
            .map(|(action, stats)| (action.clone(), stats.calls))
            .collect(),
    )
}

fn inline_map(calls: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = calls
        .iter()
        .map(|(action, count)| format!("{action} {count}"))
        .collect();
    format!("({})", parts.join(", "))
}

fn path_text(path: &[NodeKey]) -> String {
    let names: Vec<String> = path.iter().map(NodeKey::to_string).collect();
    names.join(" -> ")
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn ratio(value: Duration, unit: Duration) -> f64 {
    if unit.is_zero() {
        f64::INFINITY
    } else {
        value.as_secs_f64() / unit.as_secs_f64()
    }
}
