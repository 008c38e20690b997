//! The apply progress display: one indicatif bar with tasks done/total, what is in flight and
//! how many retries happened. Hidden when stderr is not a terminal; failures and retries are
//! always printed as lines.

use std::{
    collections::BTreeSet,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use berth_cloudup::engine::{Output, Plan, Reporter, TaskError};
use berth_model::aws::NodeKey;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows an apply's progress on stderr.
pub(crate) struct ApplyProgress {
    bar: ProgressBar,
    in_flight: Mutex<BTreeSet<NodeKey>>,
    retries: AtomicU64,
}

impl ApplyProgress {
    /// A bar sized to the plan's changes.
    pub(crate) fn new(plan: &Plan) -> Self {
        let summary = plan.summary();
        let total = (summary.create + summary.update + summary.replace) as u64;
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            bar,
            in_flight: Mutex::new(BTreeSet::new()),
            retries: AtomicU64::new(0),
        }
    }

    /// Clears the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn refresh(&self) {
        let in_flight = self.in_flight.lock().map(|set| set.len()).unwrap_or(0);
        let retries = self.retries.load(Ordering::Relaxed);
        self.bar
            .set_message(format!("{in_flight} in flight, {retries} retries"));
    }
}

impl Reporter for ApplyProgress {
    fn on_task_start(&self, key: &NodeKey) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.insert(key.clone());
        }
        self.refresh();
    }

    fn on_task_done(&self, key: &NodeKey, _output: &Output) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(key);
        }
        self.bar.inc(1);
        self.refresh();
    }

    fn on_retry(&self, key: &NodeKey, attempt: u32, error: &TaskError, delay: Duration) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        tracing::info!(%key, attempt, ?delay, "retrying after: {error}");
        self.refresh();
    }

    fn on_task_failed(&self, key: &NodeKey, error: &TaskError) {
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(key);
        }
        self.bar.println(format!("failed: {key}: {error}"));
        self.refresh();
    }

    fn on_task_skipped(&self, key: &NodeKey, failed_dependency: &NodeKey) {
        self.bar.println(format!(
            "skipped: {key} (its dependency {failed_dependency} failed)"
        ));
    }
}
