//! What an apply is told to do ([`ApplyOptions`]), tells as it goes ([`Reporter`]) and
//! returns ([`ApplyReport`]).

use std::time::Duration;

use berth_model::aws::NodeKey;
use tokio_util::sync::CancellationToken;

use super::{Output, RetryPolicy, TaskError};

/// How many tasks may call AWS at once. A private HA cluster is about 100 calls over a
/// critical path of 7: with 16 slots, the calls divided by the slots (about 6 round trips)
/// rival the critical path and the apply waits for slots (1.19x the bound at 500 ms per
/// call, 1.08x with 32; see `docs/performance.md`), so 32 leaves the critical path the
/// bottleneck. The cluster's EC2 mutating calls (about 80) stay inside EC2's burst bucket
/// (200) however fast they go, and throttling is retried anyway (kops runs every ready task
/// of a wave at once, unbounded).
pub const DEFAULT_CONCURRENCY: usize = 32;

/// The environment variable of the fault suites' crash hook: after this many completed
/// tasks the executor stops abruptly, as a crash would (see [`Interruption::AbortHook`]).
pub const ABORT_AFTER_TASKS_ENV: &str = "BERTH_ABORT_AFTER_TASKS";

/// How an apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// At most this many tasks call AWS at once.
    pub concurrency: usize,
    /// Backoff and per-task deadline for transient errors.
    pub retry: RetryPolicy,
    /// Stops the run: no new task starts, tasks waiting to retry give up, in-flight calls
    /// finish. The report lists what did not run; the next run converges from there.
    pub cancel: CancellationToken,
    /// The crash hook: stop abruptly after this many completed tasks. [`Default`] reads it
    /// from [`ABORT_AFTER_TASKS_ENV`].
    pub abort_after_tasks: Option<usize>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            retry: RetryPolicy::default(),
            cancel: CancellationToken::new(),
            abort_after_tasks: std::env::var(ABORT_AFTER_TASKS_ENV)
                .ok()
                .and_then(|value| value.trim().parse().ok()),
        }
    }
}

/// Progress of an apply, for the CLI's progress display. Every method defaults to nothing.
///
/// Called from the executor's own loop, one call at a time, in the order things happen.
pub trait Reporter: Send + Sync {
    /// The run starts with `tasks` resources to change.
    fn on_apply_start(&self, tasks: usize) {
        let _ = tasks;
    }
    /// A task got its first slot and calls AWS.
    fn on_task_start(&self, key: &NodeKey) {
        let _ = key;
    }
    /// A task succeeded.
    fn on_task_done(&self, key: &NodeKey, output: &Output) {
        let _ = (key, output);
    }
    /// A task's attempt failed with a transient error; it retries after `delay`.
    fn on_retry(&self, key: &NodeKey, attempt: u32, error: &TaskError, delay: Duration) {
        let _ = (key, attempt, error, delay);
    }
    /// A task failed for good.
    fn on_task_failed(&self, key: &NodeKey, error: &TaskError) {
        let _ = (key, error);
    }
    /// A task will not run because `failed_dependency` failed.
    fn on_task_skipped(&self, key: &NodeKey, failed_dependency: &NodeKey) {
        let _ = (key, failed_dependency);
    }
}

/// A [`Reporter`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopReporter;

impl Reporter for NoopReporter {}

/// Why a run stopped before everything ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    /// [`ApplyOptions::cancel`] fired (Ctrl-C): in-flight calls were let finish.
    Cancelled,
    /// The crash hook fired ([`ApplyOptions::abort_after_tasks`]): in-flight tasks were
    /// dropped mid-call, as a crash would. The CLI exits with status 3.
    AbortHook,
}

/// A task that did not run because a dependency failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTask {
    /// The task.
    pub key: NodeKey,
    /// The failed task it (transitively) depends on.
    pub failed_dependency: NodeKey,
}

/// The tasks that failed in an apply, as one error (B7's `Partial`): the message lists them,
/// the source is the first one's error.
#[derive(Debug)]
pub struct ApplyError {
    /// The failed tasks and their errors.
    pub failures: Vec<(NodeKey, TaskError)>,
    /// The tasks skipped because of them.
    pub skipped: Vec<SkippedTask>,
}

impl ApplyError {
    /// Whether every failure is a refusal the user can act on (a replacement Berth does not do
    /// in place, a resource of the cluster's name that another owns), rather than a failed call.
    #[must_use]
    pub fn is_user_error(&self) -> bool {
        self.failures
            .iter()
            .all(|(_, error)| matches!(error, TaskError::Refused { .. }))
    }
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<String> = self
            .failures
            .iter()
            .map(|(key, _)| format!("`{key}`"))
            .collect();
        write!(formatter, "failed to apply {}", keys.join(", "))?;
        if !self.skipped.is_empty() {
            write!(formatter, " ({} dependents skipped)", self.skipped.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ApplyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failures
            .first()
            .map(|(_, error)| error as &(dyn std::error::Error + 'static))
    }
}

/// What an apply did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Tasks that succeeded, in completion order.
    pub done: Vec<NodeKey>,
    /// Resources that needed no change (no call was made for them).
    pub unchanged: usize,
    /// Tasks that failed, with their error.
    pub failed: Vec<(NodeKey, TaskError)>,
    /// Tasks not run because a dependency failed.
    pub skipped: Vec<SkippedTask>,
    /// Tasks not run, or stopped, because the run was interrupted.
    pub not_run: Vec<NodeKey>,
    /// Retries across all tasks.
    pub retries: u32,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Set when the run stopped early.
    pub interrupted: Option<Interruption>,
}

impl ApplyReport {
    /// One line for people: `12 done, 30 unchanged, 1 failed, 2 skipped, 0 not run, 4 retries in 12.3s`.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} done, {} unchanged, {} failed, {} skipped, {} not run, {} retries in {:.1?}",
            self.done.len(),
            self.unchanged,
            self.failed.len(),
            self.skipped.len(),
            self.not_run.len(),
            self.retries,
            self.elapsed,
        );
        match self.interrupted {
            Some(Interruption::Cancelled) => line.push_str(" (cancelled)"),
            Some(Interruption::AbortHook) => line.push_str(" (aborted by the crash hook)"),
            None => {}
        }
        line
    }

    /// The failures as one error (`Ok` when nothing failed).
    pub fn into_error(self) -> Result<(), ApplyError> {
        if self.failed.is_empty() {
            return Ok(());
        }
        Err(ApplyError {
            failures: self.failed,
            skipped: self.skipped,
        })
    }

    /// Whether every task ran and succeeded.
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.failed.is_empty()
            && self.skipped.is_empty()
            && self.not_run.is_empty()
            && self.interrupted.is_none()
    }
}
