//! The rolling-update progress display: one indicatif bar per instance group (instances
//! replaced out of those outdated, and the current step), under which every step is also
//! printed as a line. Bars are hidden when stderr is not a terminal; the lines always show.

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use berth_cloudup::rolling::RollEvent;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::printer;

/// Shows a rolling update's progress on stderr.
pub(crate) struct RollProgress {
    bars: MultiProgress,
    groups: Mutex<BTreeMap<String, ProgressBar>>,
}

impl RollProgress {
    pub(crate) fn new() -> Self {
        Self {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            groups: Mutex::new(BTreeMap::new()),
        }
    }

    /// Prints `line` above the bars.
    pub(crate) fn line(&self, line: &str) {
        self.bars.suspend(|| printer::note(line));
    }

    /// Moves the bar of the event's group and prints the event as `line`.
    pub(crate) fn on_event(&self, event: &RollEvent, line: &str) {
        self.line(line);
        let Ok(mut groups) = self.groups.lock() else {
            return;
        };
        match event {
            RollEvent::GroupStarted {
                instance_group,
                instances,
                ..
            } => {
                let bar = self.bars.add(ProgressBar::new(*instances as u64));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix:24} [{elapsed_precise}] {bar:20} {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_prefix(instance_group.clone());
                bar.set_message("starting");
                bar.enable_steady_tick(Duration::from_millis(200));
                groups.insert(instance_group.clone(), bar);
            }
            RollEvent::Detached { instance_group, .. } => {
                set_message(&groups, instance_group, "waiting for replacements");
            }
            RollEvent::Validated { instance_group, .. } => {
                set_message(&groups, instance_group, "validated");
            }
            RollEvent::Drained { instance_group, .. } => {
                set_message(&groups, instance_group, "drained, terminating");
            }
            RollEvent::Terminated {
                instance_group,
                instances,
            } => {
                if let Some(bar) = groups.get(instance_group) {
                    bar.inc(instances.len() as u64);
                    bar.set_message("validating");
                }
            }
            RollEvent::GroupDone { instance_group } => {
                if let Some(bar) = groups.get(instance_group) {
                    bar.finish_with_message("done");
                }
            }
            RollEvent::Deregistered { instance_group, .. } => {
                set_message(&groups, instance_group, "deregistered, terminating");
            }
            RollEvent::StraysFound { .. } | RollEvent::Tainted { .. } => {}
        }
    }

    /// Clears every bar.
    pub(crate) fn finish(&self) {
        let _ = self.bars.clear();
    }
}

fn set_message(groups: &BTreeMap<String, ProgressBar>, instance_group: &str, message: &str) {
    if let Some(bar) = groups.get(instance_group) {
        bar.set_message(message.to_owned());
    }
}
