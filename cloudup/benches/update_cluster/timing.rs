//! When each task of an apply got its slot and finished, and the chain of tasks that really
//! decided the apply's wall time.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use berth_cloudup::engine::{Output, Plan, Reporter};
use berth_model::aws::NodeKey;

/// A [`Reporter`] that notes the time of every task's start and end.
pub(crate) struct TaskClock {
    origin: Instant,
    spans: Mutex<HashMap<NodeKey, (Duration, Option<Duration>)>>,
}

impl TaskClock {
    /// A clock whose zero is now (call it right before the apply).
    pub(crate) fn start() -> TaskClock {
        TaskClock {
            origin: Instant::now(),
            spans: Mutex::new(HashMap::new()),
        }
    }

    /// Every finished task: from getting its slot to its end, since the clock's zero.
    pub(crate) fn spans(&self) -> HashMap<NodeKey, (Duration, Duration)> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(|(key, (start, end))| end.map(|end| (key.clone(), (*start, end))))
            .collect()
    }
}

impl Reporter for TaskClock {
    fn on_task_start(&self, key: &NodeKey) {
        let now = self.origin.elapsed();
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), (now, None));
    }

    fn on_task_done(&self, key: &NodeKey, _output: &Output) {
        let now = self.origin.elapsed();
        if let Some((_, end)) = self
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(key)
        {
            *end = Some(now);
        }
    }
}

/// One task of the chain that decided the wall time.
pub(crate) struct ChainLink {
    /// The task.
    pub(crate) key: NodeKey,
    /// From its last dependency's end (or the apply's start) to getting a slot.
    pub(crate) waited: Duration,
    /// From getting its slot to its end.
    pub(crate) ran: Duration,
}

/// The chain that ends at the last task to finish, following at each step the dependency
/// that finished last (the one the task was waiting for): the measured longest chain.
pub(crate) fn deciding_chain(plan: &Plan, clock: &TaskClock) -> Vec<ChainLink> {
    let spans = clock.spans();
    let Some(mut cursor) = spans
        .iter()
        .max_by_key(|(_, (_, end))| *end)
        .map(|(key, _)| key.clone())
    else {
        return Vec::new();
    };
    let mut chain = Vec::new();
    loop {
        let (start, end) = spans[&cursor];
        let gating = plan.graph().get(&cursor).and_then(|resource| {
            resource
                .deps()
                .into_iter()
                .filter_map(|dep| spans.get(&dep).map(|(_, dep_end)| (dep, *dep_end)))
                .max_by_key(|(_, dep_end)| *dep_end)
        });
        let ready = gating
            .as_ref()
            .map_or(Duration::ZERO, |(_, dep_end)| *dep_end);
        chain.push(ChainLink {
            key: cursor.clone(),
            waited: start.saturating_sub(ready),
            ran: end - start,
        });
        match gating {
            Some((dep, _)) => cursor = dep,
            None => break,
        }
    }
    chain.reverse();
    chain
}

/// The heaviest chain of the plan when each task weighs what it took to run (queueing left
/// out): what the wall time would be with unlimited concurrency and these call times.
pub(crate) fn heaviest_measured_chain(plan: &Plan, clock: &TaskClock) -> (Duration, Vec<NodeKey>) {
    let spans = clock.spans();
    let (micros, path) = plan.critical_path(|resource| {
        spans
            .get(&resource.key())
            .map_or(0, |(start, end)| (*end - *start).as_micros() as u64)
    });
    (Duration::from_micros(micros), path)
}

/// The sum of every task's running time (what a concurrency limit has to share out).
pub(crate) fn total_task_time(clock: &TaskClock) -> Duration {
    clock
        .spans()
        .values()
        .map(|(start, end)| *end - *start)
        .sum()
}
