//! The plan: a pure diff of the desired graph against what discovery found.
//!
//! [`plan`] walks the graph in dependency order. A node that was not found is a
//! [`Action::Create`]; one that was is diffed against a [`Resolver`] holding the outputs of
//! its dependencies that already exist (dependencies still to be created are "known after
//! apply"). The plan keeps the graph and the typed discovery, so [`super::apply`] acts on
//! exactly what was shown.

use std::collections::BTreeMap;

use berth_model::aws::{AnyResource, Graph, NodeKey};
use serde::Serialize;

use super::{Action, Change, Discovery, FieldChange, Output, Resolver, dispatch::plan_any};

/// What planning concluded about one node, with what the executor needs to act on it.
#[derive(Debug, Clone)]
pub(crate) struct NodeState {
    pub(crate) action: Action,
    pub(crate) fields: Vec<FieldChange>,
    /// The index of the node's observed state in its kind's slot of the [`Discovery`].
    pub(crate) observed: Option<usize>,
    /// The output of the existing resource.
    pub(crate) output: Option<Output>,
}

/// How many resources each action touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// To create.
    pub create: usize,
    /// To update in place.
    pub update: usize,
    /// That would need a replacement (refused).
    pub replace: usize,
    /// Already as desired.
    pub unchanged: usize,
    /// Named like something of another owner, which Berth leaves alone (refused).
    #[serde(skip_serializing_if = "is_zero")]
    pub conflict: usize,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// Desired vs existing, for every node of the graph.
#[derive(Debug, Clone)]
pub struct Plan {
    /// One entry per node of the graph, dependencies first, unchanged ones included.
    pub changes: Vec<Change>,
    states: Vec<NodeState>,
    graph: Graph,
    discovery: Discovery,
}

/// The machine-readable form: the summary and the entries that change something.
#[derive(Serialize)]
struct PlanDocument<'a> {
    summary: PlanSummary,
    changes: Vec<&'a Change>,
}

/// Diffs `graph` against `discovery` (pure; the plan keeps copies of both).
#[must_use]
pub fn plan(graph: &Graph, discovery: &Discovery) -> Plan {
    let mut existing: BTreeMap<NodeKey, Output> = BTreeMap::new();
    let mut changes = Vec::with_capacity(graph.len());
    let mut states = Vec::with_capacity(graph.len());
    for (key, resource) in graph.in_order() {
        let deps = Resolver::new(
            resource
                .deps()
                .into_iter()
                .filter_map(|dep| existing.get(&dep).map(|output| (dep, output.clone())))
                .collect(),
        );
        let state = plan_any(resource, discovery, &deps);
        if let Some(output) = &state.output {
            existing.insert(key.clone(), output.clone());
        }
        changes.push(Change {
            key: key.clone(),
            action: state.action.clone(),
            fields: state.fields.clone(),
        });
        states.push(state);
    }
    Plan {
        changes,
        states,
        graph: graph.clone(),
        discovery: discovery.clone(),
    }
}

impl Plan {
    /// Counts by action.
    #[must_use]
    pub fn summary(&self) -> PlanSummary {
        let mut summary = PlanSummary::default();
        for change in &self.changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Replace { .. } => summary.replace += 1,
                Action::Unchanged => summary.unchanged += 1,
                Action::Conflict { .. } => summary.conflict += 1,
            }
        }
        summary
    }

    /// Whether anything would change.
    #[must_use]
    pub fn has_changes(&self) -> bool {
        self.changed().next().is_some()
    }

    /// The entries that change something, dependencies first.
    pub fn changed(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|change| change.action != Action::Unchanged)
    }

    /// The plan as JSON: `{"summary": {...}, "changes": [...]}`, unchanged entries left out.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(&PlanDocument {
            summary: self.summary(),
            changes: self.changed().collect(),
        })
    }

    /// The graph the plan was made from.
    #[must_use]
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// What discovery found.
    #[must_use]
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The heaviest chain of changing nodes under `weight` (unchanged nodes weigh 0): the
    /// lower bound of any apply's wall time when `weight` is a node's call latency.
    pub fn critical_path(&self, weight: impl Fn(&AnyResource) -> u64) -> (u64, Vec<NodeKey>) {
        let unchanged: std::collections::HashSet<&NodeKey> = self
            .changes
            .iter()
            .filter(|change| change.action == Action::Unchanged)
            .map(|change| &change.key)
            .collect();
        self.graph.critical_path(|resource| {
            if unchanged.contains(&resource.key()) {
                0
            } else {
                weight(resource)
            }
        })
    }

    /// Every node with its planned state, dependencies first.
    pub(crate) fn nodes(
        &self,
    ) -> impl Iterator<Item = (&Change, &NodeState, Option<&AnyResource>)> {
        self.changes
            .iter()
            .zip(&self.states)
            .map(|(change, state)| (change, state, self.graph.get(&change.key)))
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::{InternetGateway, Subnet, Vpc};

    use super::*;

    fn network() -> Graph {
        let mut graph = Graph::new();
        let vpc = graph
            .add(Vpc {
                name: "dev.example.com".into(),
                cidr: "10.0.0.0/16".into(),
                shared_id: None,
                tags: Default::default(),
            })
            .unwrap();
        graph
            .add(Subnet {
                name: "a.dev.example.com".into(),
                vpc: vpc.clone(),
                cidr: "10.0.0.0/24".into(),
                zone: "us-east-1a".into(),
                shared_id: None,
                tags: Default::default(),
            })
            .unwrap();
        graph
            .add(InternetGateway {
                name: "dev.example.com".into(),
                vpc,
                tags: Default::default(),
            })
            .unwrap();
        graph
    }

    #[test]
    fn against_an_empty_account_everything_is_created_in_dependency_order() {
        let plan = plan(&network(), &Discovery::default());
        assert_eq!(
            plan.summary(),
            PlanSummary {
                create: 3,
                ..PlanSummary::default()
            }
        );
        assert!(plan.has_changes());
        let keys: Vec<String> = plan
            .changes
            .iter()
            .map(|change| change.key.to_string())
            .collect();
        assert_eq!(
            keys,
            [
                "Vpc/dev.example.com",
                "Subnet/a.dev.example.com",
                "InternetGateway/dev.example.com"
            ]
        );
        let json: serde_json::Value = serde_json::from_str(&plan.to_json().unwrap()).unwrap();
        assert_eq!(json["summary"]["create"], 3);
        assert_eq!(json["changes"][0]["action"], "create");
        assert_eq!(json["changes"][0]["key"], "Vpc/dev.example.com");
    }

    #[test]
    fn the_critical_path_of_a_fresh_network_runs_through_the_vpc() {
        let (total, path) = plan(&network(), &Discovery::default()).critical_path(|_| 1);
        assert_eq!(total, 2);
        assert_eq!(path[0].to_string(), "Vpc/dev.example.com");
    }
}
