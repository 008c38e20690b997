//! The status file a successful run leaves at `<root>/var/lib/nodeup/status.json`: what
//! was applied and what changed, for operators and for the next stage to check.

use serde::Serialize;

use crate::apply::ApplyReport;

/// The run's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// This nodeup's version.
    pub nodeup_version: &'static str,
    /// The cluster.
    pub cluster_name: String,
    /// The instance group.
    pub instance_group: String,
    /// The role, as in the config.
    pub role: &'static str,
    /// The sha256 of the config that was applied.
    pub config_sha256: String,
    /// How many tasks the plan had.
    pub tasks: usize,
    /// How many changes the run made.
    pub changes: usize,
    /// What changed and what was skipped.
    #[serde(flatten)]
    pub report: ApplyReport,
}
