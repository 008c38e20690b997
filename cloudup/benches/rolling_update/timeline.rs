//! The roll's events with their times, cut into batches and phases, and the report.

use std::{
    collections::BTreeMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use berth_cloudup::rolling::RollEvent;
use berth_test_support::fault_proxy::ProxyStats;

use crate::Settings;

/// Every event of a roll, with when it came.
pub(crate) struct Timeline {
    origin: Instant,
    events: Mutex<Vec<(Instant, RollEvent)>>,
}

impl Timeline {
    /// A timeline whose zero is now (call it right before the roll).
    pub(crate) fn start() -> Timeline {
        Timeline {
            origin: Instant::now(),
            events: Mutex::new(Vec::new()),
        }
    }

    /// Notes `event` now.
    pub(crate) fn record(&self, event: RollEvent) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((Instant::now(), event));
    }

    fn events(&self) -> Vec<(Instant, RollEvent)> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One surge batch, in time since the roll started.
#[derive(Debug, Clone, Copy)]
struct Batch {
    /// From the previous batch's termination (or the start) to this detach: wait until
    /// whole, validate.
    before: Duration,
    /// From the detach until the last replacement's node joined.
    join: Duration,
    /// From the detach until the cluster validated with the replacements Ready.
    surge: Duration,
    /// Draining the detached instances' nodes.
    drain: Duration,
    /// Terminating them and waiting until they are terminated.
    terminate: Duration,
}

impl Batch {
    fn total(&self) -> Duration {
        self.before + self.surge + self.drain + self.terminate
    }
}

/// What one run measured.
pub(crate) struct Run<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) wall: Duration,
    pub(crate) timeline: &'a Timeline,
    /// When each running instance's node joined.
    pub(crate) joined: &'a BTreeMap<String, Instant>,
    pub(crate) aws_calls: &'a ProxyStats,
    pub(crate) kube_requests: &'a BTreeMap<String, u64>,
}

pub(crate) fn heading(settings: &Settings) {
    println!(
        "rolling update: {} nodes, max surge {}, boot-to-Ready {} ms, AWS latency {} ms per call",
        settings.nodes,
        settings.surge,
        settings.boot.as_millis(),
        settings.latency.as_millis()
    );
}

/// Cuts the timeline into batches: each `Detached` starts one, followed by its `Validated`,
/// `Drained` and `Terminated`.
fn batches(timeline: &Timeline, joined: &BTreeMap<String, Instant>) -> (Vec<Batch>, Instant) {
    let events = timeline.events();
    let mut batches = Vec::new();
    let mut previous_end = timeline.origin;
    let detach_times: Vec<Instant> = events
        .iter()
        .filter(|(_, event)| matches!(event, RollEvent::Detached { .. }))
        .map(|(at, _)| *at)
        .collect();
    for (index, detached) in detach_times.iter().enumerate() {
        let after = |from: Instant, wanted: fn(&RollEvent) -> bool| {
            events
                .iter()
                .find(|(at, event)| *at >= from && wanted(event))
                .map_or(from, |(at, _)| *at)
        };
        let validated = after(*detached, |event| {
            matches!(event, RollEvent::Validated { .. })
        });
        let drained = after(validated, |event| {
            matches!(event, RollEvent::Drained { .. })
        });
        let terminated = after(drained, |event| {
            matches!(event, RollEvent::Terminated { .. })
        });
        let next = detach_times.get(index + 1).copied();
        let last_join = joined
            .values()
            .filter(|at| **at >= *detached && next.is_none_or(|next| **at < next))
            .max()
            .copied()
            .unwrap_or(*detached);
        batches.push(Batch {
            before: *detached - previous_end,
            join: last_join - *detached,
            surge: validated - *detached,
            drain: drained - validated,
            terminate: terminated - drained,
        });
        previous_end = terminated;
    }
    (batches, previous_end)
}

/// Prints the run's phases, its wall time next to the bound, and its calls; returns the
/// bound.
pub(crate) fn report(run: &Run<'_>) -> Duration {
    let settings = run.settings;
    let (batches, last_end) = batches(run.timeline, run.joined);
    let tail = (run.timeline.origin + run.wall).saturating_duration_since(last_end);
    let count = u32::try_from(batches.len()).unwrap_or(1).max(1);
    let mean = |pick: fn(&Batch) -> Duration| batches.iter().map(pick).sum::<Duration>() / count;
    let join = mean(|batch| batch.join);
    let drain = mean(|batch| batch.drain);
    let bound = (settings.boot + join + drain) * settings.batches();

    println!();
    println!("phases per batch (ms since the batch's start):");
    println!(
        "  {:>5}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}  {:>8}  {:>8}",
        "batch", "before", "join", "surge", "overhead", "drain", "terminate", "total"
    );
    for (index, batch) in batches.iter().enumerate() {
        // What the surge phase took beyond the node joining and booting.
        let overhead = batch.surge.saturating_sub(batch.join + settings.boot);
        println!(
            "  {:>5}  {:>8.0}  {:>8.0}  {:>8.0}  {:>8.0}  {:>9.0}  {:>8.0}  {:>8.0}",
            index + 1,
            millis(batch.before),
            millis(batch.join),
            millis(batch.surge),
            millis(overhead),
            millis(batch.drain),
            millis(batch.terminate),
            millis(batch.total()),
        );
    }
    println!(
        "  tail (last wait until whole + validation): {:.0} ms",
        millis(tail)
    );
    println!(
        "  before: wait until whole + validate; join: detach → last replacement's node \
         registered; surge: detach → validated (join + boot {} ms + validation); overhead: \
         surge − join − boot",
        settings.boot.as_millis()
    );

    println!();
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| wall time of the roll | {:.2} s |", secs(run.wall));
    println!(
        "| bound ceil({}/{}) × (B + join + drain) = {} × ({:.2} + {:.2} + {:.2}) s | {:.2} s |",
        settings.nodes,
        settings.surge,
        settings.batches(),
        secs(settings.boot),
        secs(join),
        secs(drain),
        secs(bound)
    );
    println!(
        "| ratio wall / bound | {:.2}× |",
        secs(run.wall) / secs(bound).max(f64::EPSILON)
    );
    println!(
        "| AWS calls (through the proxy) | {} |",
        run.aws_calls.total_calls()
    );
    println!(
        "| Kubernetes requests (the gate's) | {} |",
        run.kube_requests.values().sum::<u64>()
    );
    println!(
        "B is the simulated boot-to-Ready time; join is the measured mean lag from a detach \
         to the last replacement's node registering (the simulation lists instances every \
         100 ms: it stands for the join); drain is the measured mean drain of a batch."
    );

    println!();
    println!("AWS calls by action:");
    let mut actions: Vec<(&String, u64)> = run
        .aws_calls
        .by_action
        .iter()
        .map(|(action, stats)| (action, stats.calls))
        .collect();
    actions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (action, calls) in actions {
        println!("  {calls:>5}  {action}");
    }
    println!();
    println!("Kubernetes requests by verb and resource:");
    let mut requests: Vec<(&String, &u64)> = run.kube_requests.iter().collect();
    requests.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (request, count) in requests {
        println!("  {count:>5}  {request}");
    }
    bound
}

/// Every run's wall time, bound and ratio, and the median ratio.
pub(crate) fn summary(outcomes: &[(Duration, Duration)]) {
    println!();
    println!("| run | wall | bound | ratio |");
    println!("| --- | --- | --- | --- |");
    let mut ratios = Vec::new();
    for (index, (wall, bound)) in outcomes.iter().enumerate() {
        let ratio = secs(*wall) / secs(*bound).max(f64::EPSILON);
        ratios.push(ratio);
        println!(
            "| {} | {:.2} s | {:.2} s | {ratio:.2}× |",
            index + 1,
            secs(*wall),
            secs(*bound)
        );
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!("median ratio: {median:.2}× (goal: at most 1.20×)");
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}
