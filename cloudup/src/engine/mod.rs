//! The engine: what every resource kind implements, and how kinds are found, diffed, planned
//! and applied in dependency order.
//!
//! A run is three steps, each usable alone:
//! 1. [`discover_all`]: one describe per kind present in the graph, all kinds at once.
//! 2. [`plan()`]: the pure diff of the graph against the [`Discovery`]; [`render_preview`] and
//!    [`Plan::to_json`] show it.
//! 3. [`apply`]: the DAG executor runs the plan's changes, each task as soon as its own
//!    dependencies are done, with retries of transient errors, and returns an
//!    [`ApplyReport`]. Progress goes to a [`Reporter`].

mod change;
mod dispatch;
mod error;
mod executor;
mod output;
mod plan;
mod preview;
mod reconcile;
mod report;
mod retry;
mod schedule;
#[cfg(test)]
mod schedule_tests;

pub use change::{Action, Change, FieldChange};
pub use dispatch::{Discovery, DiscoveryError, discover_all, discover_all_with};
pub use error::{RetryClass, TaskError};
pub use executor::apply;
pub use output::{Output, Resolver};
pub use plan::{Plan, PlanSummary, plan};
pub use preview::{render_preview, render_summary};
pub use reconcile::{ApplyCx, DiscoveryScope, Reconcile};
pub use report::{
    ABORT_AFTER_TASKS_ENV, ApplyError, ApplyOptions, ApplyReport, DEFAULT_CONCURRENCY,
    Interruption, NoopReporter, Reporter, SkippedTask,
};
pub use retry::{BACKOFF_BASE, BACKOFF_CAP, DEFAULT_TASK_DEADLINE, RetryPolicy};
pub use schedule::{ScheduledTask, schedule};
