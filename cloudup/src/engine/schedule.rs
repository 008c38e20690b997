//! The DAG scheduler, independent of AWS: runs tasks as soon as their own dependencies are
//! done, a bounded number at a time, with retries, failure propagation and cancellation.
//!
//! Unlike kops's wave executor, nothing waits for unrelated siblings: the moment a task
//! finishes, every dependent whose last dependency it was is spawned. Outputs flow through
//! here: each task is handed a [`Resolver`] holding exactly its dependencies' outputs.
//!
//! Invariants: a task runs at most once per run (retries are attempts of the same task);
//! a task never starts after the run was cancelled; every task ends up in exactly one of the
//! report's lists (or counts as unchanged).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    future::Future,
    sync::Arc,
    time::Duration,
};

use berth_model::aws::NodeKey;
use berth_state_store::error_text::one_line;
use tokio::{
    sync::{Semaphore, mpsc},
    task::{Id, JoinError, JoinSet},
    time::Instant,
};

use super::{
    ApplyOptions, ApplyReport, Interruption, Output, Reporter, Resolver, SkippedTask, TaskError,
    retry::{GaveUp, RetryObserver, retry},
};

/// One node to schedule.
#[derive(Debug, Clone)]
pub struct ScheduledTask {
    /// The node.
    pub key: NodeKey,
    /// The nodes it depends on.
    pub deps: Vec<NodeKey>,
    /// `Some` when nothing needs doing: the node's output is known and no call is made.
    pub known_output: Option<Output>,
}

/// What a running task tells the scheduler loop.
enum Event {
    Started(NodeKey),
    Retrying {
        key: NodeKey,
        attempt: u32,
        error: TaskError,
        delay: Duration,
    },
}

struct EventSender {
    key: NodeKey,
    events: mpsc::UnboundedSender<Event>,
}

impl RetryObserver for EventSender {
    fn started(&mut self) {
        // The loop outlives every task it awaits, so the channel is open.
        let _ = self.events.send(Event::Started(self.key.clone()));
    }

    fn retrying(&mut self, attempt: u32, error: &TaskError, delay: Duration) {
        // `TaskError` is not `Clone` (it holds SDK sources): send a summary that keeps the
        // classification and the message.
        let summary = TaskError::Refused {
            message: one_line(error),
        };
        let _ = self.events.send(Event::Retrying {
            key: self.key.clone(),
            attempt,
            error: summary,
            delay,
        });
    }
}

/// Runs `tasks` (listed dependencies before dependents or in any order) with `run`, called
/// with the task's key, its dependencies' outputs and the 1-based attempt number.
pub async fn schedule<Run, Attempt>(
    tasks: Vec<ScheduledTask>,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
    run: Run,
) -> ApplyReport
where
    Run: Fn(NodeKey, Resolver, u32) -> Attempt + Send + Sync + 'static,
    Attempt: Future<Output = Result<Output, TaskError>> + Send + 'static,
{
    let started = Instant::now();
    let mut state = State::new(tasks);
    reporter.on_apply_start(state.runnable_count());
    let run = Arc::new(run);
    let limiter = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let cancel = options.cancel.child_token();
    let (events_sender, mut events) = mpsc::unbounded_channel();
    let mut running: JoinSet<(NodeKey, Result<Output, GaveUp>)> = JoinSet::new();
    let mut running_keys: HashMap<Id, NodeKey> = HashMap::new();
    let mut report = ApplyReport {
        unchanged: state.unchanged,
        ..ApplyReport::default()
    };

    loop {
        if !cancel.is_cancelled() {
            while let Some(key) = state.ready.pop() {
                let resolver = state.resolver_for(&key);
                let run = Arc::clone(&run);
                let limiter = Arc::clone(&limiter);
                let cancel = cancel.clone();
                let policy = options.retry;
                let mut observer = EventSender {
                    key: key.clone(),
                    events: events_sender.clone(),
                };
                let task_key = key.clone();
                let handle = running.spawn(async move {
                    let result = retry(&policy, &limiter, &cancel, &mut observer, |attempt| {
                        run(task_key.clone(), resolver.clone(), attempt)
                    })
                    .await;
                    (task_key, result)
                });
                running_keys.insert(handle.id(), key);
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            // Events first: a task's `Started` and retries are reported before its end.
            biased;
            Some(event) = events.recv() => match event {
                Event::Started(key) => reporter.on_task_start(&key),
                Event::Retrying { key, attempt, error, delay } => {
                    report.retries += 1;
                    reporter.on_retry(&key, attempt, &error, delay);
                }
            },
            Some(joined) = running.join_next_with_id() => {
                let (key, result) = match joined {
                    Ok((id, (key, result))) => {
                        running_keys.remove(&id);
                        (key, result)
                    }
                    Err(error) => match running_keys.remove(&error.id()) {
                        Some(key) => (key, Err(join_failure(error))),
                        None => continue,
                    },
                };
                match result {
                    Ok(output) => {
                        reporter.on_task_done(&key, &output);
                        state.succeeded(&key, output);
                        report.done.push(key);
                        if options.abort_after_tasks.is_some_and(|limit| report.done.len() >= limit)
                            && report.interrupted.is_none()
                        {
                            report.interrupted = Some(Interruption::AbortHook);
                            cancel.cancel();
                            running.abort_all();
                        }
                    }
                    Err(GaveUp::Failed(error)) => {
                        reporter.on_task_failed(&key, &error);
                        for skipped in state.failed(&key) {
                            reporter.on_task_skipped(&skipped, &key);
                            report.skipped.push(SkippedTask { key: skipped, failed_dependency: key.clone() });
                        }
                        report.failed.push((key, error));
                    }
                    Err(GaveUp::Cancelled) => report.not_run.push(key),
                }
            },
            () = cancel.cancelled(), if report.interrupted.is_none() => {
                report.interrupted = Some(Interruption::Cancelled);
            },
        }
    }
    while let Ok(event) = events.try_recv() {
        if let Event::Retrying { .. } = event {
            report.retries += 1;
        }
    }
    if cancel.is_cancelled() && report.interrupted.is_none() {
        report.interrupted = Some(Interruption::Cancelled);
    }
    report.not_run.extend(state.never_started());
    report.elapsed = started.elapsed();
    report
}

/// A task that ended without returning: it panicked, or the crash hook aborted it.
fn join_failure(error: JoinError) -> GaveUp {
    if error.is_cancelled() {
        return GaveUp::Cancelled;
    }
    let message = error
        .try_into_panic()
        .ok()
        .and_then(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
        })
        .unwrap_or_else(|| "unknown panic".to_owned());
    GaveUp::Failed(TaskError::Panicked { message })
}

/// The bookkeeping of a run: what waits on what, what is known, what will never run.
struct State {
    deps: HashMap<NodeKey, Vec<NodeKey>>,
    dependents: HashMap<NodeKey, Vec<NodeKey>>,
    /// How many dependencies of each waiting task have not succeeded yet.
    waiting_on: HashMap<NodeKey, usize>,
    /// Tasks whose dependencies are all done, not spawned yet (popped from the end).
    ready: Vec<NodeKey>,
    outputs: BTreeMap<NodeKey, Output>,
    /// Tasks that will never run (a dependency failed).
    doomed: HashSet<NodeKey>,
    /// Tasks spawned so far.
    spawned: HashSet<NodeKey>,
    /// Tasks that need a call, in the given order.
    runnable: Vec<NodeKey>,
    unchanged: usize,
}

impl State {
    fn new(tasks: Vec<ScheduledTask>) -> Self {
        let mut outputs = BTreeMap::new();
        let mut unchanged = 0;
        let mut runnable = Vec::new();
        let mut deps = HashMap::new();
        for task in tasks {
            match task.known_output {
                Some(output) => {
                    unchanged += 1;
                    outputs.insert(task.key, output);
                }
                None => {
                    runnable.push(task.key.clone());
                    deps.insert(task.key, task.deps);
                }
            }
        }
        let mut dependents: HashMap<NodeKey, Vec<NodeKey>> = HashMap::new();
        let mut waiting_on = HashMap::new();
        for key in &runnable {
            // Dependencies with a known output (or outside the run) are already satisfied.
            let pending: Vec<&NodeKey> = deps[key]
                .iter()
                .filter(|dep| deps.contains_key(*dep))
                .collect();
            for dep in &pending {
                dependents
                    .entry((*dep).clone())
                    .or_default()
                    .push(key.clone());
            }
            waiting_on.insert(key.clone(), pending.len());
        }
        let mut ready: Vec<NodeKey> = runnable
            .iter()
            .filter(|key| waiting_on[*key] == 0)
            .cloned()
            .collect();
        ready.reverse();
        Self {
            deps,
            dependents,
            waiting_on,
            ready,
            outputs,
            doomed: HashSet::new(),
            spawned: HashSet::new(),
            runnable,
            unchanged,
        }
    }

    fn runnable_count(&self) -> usize {
        self.runnable.len()
    }

    /// Marks `key` spawned and returns exactly its dependencies' known outputs.
    fn resolver_for(&mut self, key: &NodeKey) -> Resolver {
        self.spawned.insert(key.clone());
        let outputs = self.deps.get(key).into_iter().flatten().filter_map(|dep| {
            self.outputs
                .get(dep)
                .map(|output| (dep.clone(), output.clone()))
        });
        Resolver::new(outputs.collect())
    }

    fn succeeded(&mut self, key: &NodeKey, output: Output) {
        self.outputs.insert(key.clone(), output);
        for dependent in self.dependents.get(key).into_iter().flatten() {
            if let Some(count) = self.waiting_on.get_mut(dependent) {
                *count = count.saturating_sub(1);
                if *count == 0 && !self.doomed.contains(dependent) {
                    self.ready.push(dependent.clone());
                }
            }
        }
    }

    /// Marks every transitive dependent of `key` as never running; returns the newly doomed.
    fn failed(&mut self, key: &NodeKey) -> Vec<NodeKey> {
        let mut newly = Vec::new();
        let mut stack = vec![key.clone()];
        while let Some(current) = stack.pop() {
            for dependent in self.dependents.get(&current).into_iter().flatten() {
                if self.doomed.insert(dependent.clone()) {
                    newly.push(dependent.clone());
                    stack.push(dependent.clone());
                }
            }
        }
        newly
    }

    /// Tasks neither spawned nor doomed: the run stopped before they were ready or started.
    fn never_started(&self) -> impl Iterator<Item = NodeKey> + '_ {
        self.runnable
            .iter()
            .filter(|key| !self.spawned.contains(*key) && !self.doomed.contains(*key))
            .cloned()
    }
}
