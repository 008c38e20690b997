//! Applies a [`Plan`] to AWS through the DAG scheduler ([`super::schedule`]).
//!
//! Each changing node becomes a task whose dependencies are its graph edges; unchanged
//! nodes contribute the output discovery found, without any call. A task calls its kind's
//! `create` or `update` with an [`ApplyCx`] holding exactly its dependencies' outputs.
//! Replacements are refused (the task fails with the reason and its dependents are skipped).
//!
//! Interrupted runs (cancellation, a crash) are safe to repeat: the next run's discovery
//! re-finds what this one created, since every resource is tagged at creation.

use std::{collections::HashMap, sync::Arc};

use berth_model::aws::NodeKey;
use berth_state_store::ObjectStore;
use tracing::Instrument;

use super::{
    Action, ApplyCx, ApplyOptions, ApplyReport, Discovery, Output, Plan, Reporter, Resolver,
    TaskError,
    dispatch::apply_any,
    plan::NodeState,
    schedule::{ScheduledTask, schedule},
};
use crate::aws::AwsClients;

/// Everything the tasks of one run share.
struct Run {
    graph: berth_model::aws::Graph,
    discovery: Discovery,
    states: HashMap<NodeKey, NodeState>,
    clients: AwsClients,
    store: Arc<dyn ObjectStore>,
    cluster: String,
}

impl Run {
    async fn apply(
        &self,
        key: &NodeKey,
        deps: &Resolver,
        attempt: u32,
    ) -> Result<Output, TaskError> {
        let (Some(resource), Some(state)) = (self.graph.get(key), self.states.get(key)) else {
            return Err(TaskError::Refused {
                message: format!("`{key}` is not in the plan"),
            });
        };
        let cx = ApplyCx {
            clients: &self.clients,
            store: &self.store,
            cluster: &self.cluster,
            deps,
            attempt,
        };
        apply_any(resource, state, &self.discovery, &cx).await
    }
}

/// Applies `plan`: creates and updates what it lists, dependencies first, as many at once
/// as `options.concurrency` allows. Never fails as a whole: the report says what failed.
pub async fn apply(
    plan: &Plan,
    clients: &AwsClients,
    store: &Arc<dyn ObjectStore>,
    cluster: &str,
    options: &ApplyOptions,
    reporter: &dyn Reporter,
) -> ApplyReport {
    let mut tasks = Vec::with_capacity(plan.changes.len());
    let mut states = HashMap::with_capacity(plan.changes.len());
    for (change, state, resource) in plan.nodes() {
        let known_output = match (&change.action, &state.output) {
            (Action::Unchanged, Some(output)) => Some(output.clone()),
            _ => None,
        };
        tasks.push(ScheduledTask {
            key: change.key.clone(),
            deps: resource
                .map(berth_model::aws::AnyResource::deps)
                .unwrap_or_default(),
            known_output,
        });
        states.insert(change.key.clone(), state.clone());
    }
    let run = Arc::new(Run {
        graph: plan.graph().clone(),
        discovery: plan.discovery().clone(),
        states,
        clients: clients.clone(),
        store: Arc::clone(store),
        cluster: cluster.to_owned(),
    });
    let span = tracing::info_span!("apply", cluster = %cluster, tasks = tasks.len());
    let scheduled = schedule(tasks, options, reporter, move |key, deps, attempt| {
        let run = Arc::clone(&run);
        async move {
            let span = tracing::info_span!("task", key = %key, attempt);
            run.apply(&key, &deps, attempt).instrument(span).await
        }
    });
    scheduled.instrument(span).await
}
