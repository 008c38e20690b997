//! The desired-resource graph: nodes keyed by kind and name, edges from typed [`Ref`]s.
//!
//! A node can only be added after everything it depends on, so insertion order is a
//! topological order and the graph can never hold a cycle or a dangling edge.

use std::collections::{BTreeMap, HashMap};

use super::{AnyResource, NodeKey, Ref, Resource};

/// Why a node could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The key is taken by a different resource.
    #[error("`{key}` is defined twice with different content")]
    Conflict {
        /// The key.
        key: String,
    },
    /// The key is taken.
    #[error("`{key}` is defined twice")]
    Duplicate {
        /// The key.
        key: String,
    },
    /// A dependency was not added first.
    #[error("`{key}` depends on `{missing}`, which is not in the graph")]
    MissingDependency {
        /// The node.
        key: String,
        /// What it points at.
        missing: String,
    },
}

/// The desired resources of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    nodes: BTreeMap<NodeKey, AnyResource>,
    order: Vec<NodeKey>,
}

impl Graph {
    /// An empty graph.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a resource whose dependencies are all in the graph, and returns a typed edge to it.
    pub fn add<T: Resource>(&mut self, resource: T) -> Result<Ref<T>, GraphError> {
        let any = resource.into_any();
        let key = any.key();
        if self.nodes.contains_key(&key) {
            return Err(GraphError::Duplicate {
                key: key.to_string(),
            });
        }
        self.insert(key, any)
    }

    /// Adds a resource, or returns the edge to an identical one already there.
    pub fn ensure<T: Resource>(&mut self, resource: T) -> Result<Ref<T>, GraphError> {
        let any = resource.into_any();
        let key = any.key();
        match self.nodes.get(&key) {
            Some(existing) if *existing == any => Ok(Ref::new(key)),
            Some(_) => Err(GraphError::Conflict {
                key: key.to_string(),
            }),
            None => self.insert(key, any),
        }
    }

    fn insert<T>(&mut self, key: NodeKey, any: AnyResource) -> Result<Ref<T>, GraphError> {
        if let Some(missing) = any
            .deps()
            .into_iter()
            .find(|dep| !self.nodes.contains_key(dep))
        {
            return Err(GraphError::MissingDependency {
                key: key.to_string(),
                missing: missing.to_string(),
            });
        }
        self.nodes.insert(key.clone(), any);
        self.order.push(key.clone());
        Ok(Ref::new(key))
    }

    /// The resource at `key`.
    #[must_use]
    pub fn get(&self, key: &NodeKey) -> Option<&AnyResource> {
        self.nodes.get(key)
    }

    /// Every node, dependencies before dependents.
    pub fn in_order(&self) -> impl Iterator<Item = (&NodeKey, &AnyResource)> {
        self.order
            .iter()
            .filter_map(|key| self.nodes.get_key_value(key))
    }

    /// Every node, sorted by key (for stable output).
    pub fn sorted(&self) -> impl Iterator<Item = (&NodeKey, &AnyResource)> {
        self.nodes.iter()
    }

    /// How many nodes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// For each node, the nodes that depend on it.
    #[must_use]
    pub fn dependents(&self) -> BTreeMap<NodeKey, Vec<NodeKey>> {
        let mut dependents: BTreeMap<NodeKey, Vec<NodeKey>> = self
            .nodes
            .keys()
            .map(|key| (key.clone(), Vec::new()))
            .collect();
        for (key, resource) in &self.nodes {
            for dep in resource.deps() {
                dependents.entry(dep).or_default().push(key.clone());
            }
        }
        dependents
    }

    /// The heaviest chain of dependent nodes under `weight`, with its total.
    ///
    /// With `weight` = the cost of a node's calls, this is the critical path: no schedule
    /// can finish faster.
    pub fn critical_path(&self, weight: impl Fn(&AnyResource) -> u64) -> (u64, Vec<NodeKey>) {
        let mut best: HashMap<&NodeKey, (u64, Option<NodeKey>)> = HashMap::new();
        for key in &self.order {
            let resource = &self.nodes[key];
            let (base, via) = resource
                .deps()
                .into_iter()
                .map(|dep| (best.get(&dep).map_or(0, |(total, _)| *total), Some(dep)))
                .max_by_key(|(total, _)| *total)
                .unwrap_or((0, None));
            best.insert(key, (base + weight(resource), via));
        }
        let Some((end, (total, _))) = best.iter().max_by_key(|(_, (total, _))| *total) else {
            return (0, Vec::new());
        };
        let total = *total;
        let mut path = vec![(*end).clone()];
        let mut cursor = best.get(*end).and_then(|(_, via)| via.clone());
        while let Some(key) = cursor {
            cursor = best.get(&key).and_then(|(_, via)| via.clone());
            path.push(key);
        }
        path.reverse();
        (total, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{InternetGateway, Subnet, Vpc};

    fn vpc() -> Vpc {
        Vpc {
            name: "c".into(),
            cidr: "10.0.0.0/16".into(),
            shared_id: None,
            tags: Default::default(),
        }
    }

    #[test]
    fn refs_point_at_added_nodes_and_order_is_topological() {
        let mut graph = Graph::new();
        let vpc = graph.add(vpc()).unwrap();
        let subnet = Subnet {
            name: "a.c".into(),
            vpc: vpc.clone(),
            cidr: "10.0.0.0/24".into(),
            zone: "us-east-1a".into(),
            shared_id: None,
            tags: Default::default(),
        };
        graph.add(subnet).unwrap();
        let order: Vec<String> = graph.in_order().map(|(key, _)| key.to_string()).collect();
        assert_eq!(order, ["Vpc/c", "Subnet/a.c"]);
        assert_eq!(graph.dependents()[vpc.key()].len(), 1);
    }

    #[test]
    fn duplicates_and_conflicts_are_errors_not_panics() {
        let mut graph = Graph::new();
        graph.add(vpc()).unwrap();
        assert!(matches!(
            graph.add(vpc()),
            Err(GraphError::Duplicate { .. })
        ));
        assert!(graph.ensure(vpc()).is_ok());
        let mut other = vpc();
        other.cidr = "10.1.0.0/16".into();
        assert!(matches!(
            graph.ensure(other),
            Err(GraphError::Conflict { .. })
        ));
    }

    #[test]
    fn critical_path_follows_the_heaviest_chain() {
        let mut graph = Graph::new();
        let vpc = graph.add(vpc()).unwrap();
        graph
            .add(InternetGateway {
                name: "c".into(),
                vpc: vpc.clone(),
                tags: Default::default(),
            })
            .unwrap();
        let (total, path) = graph.critical_path(|_| 2);
        assert_eq!(total, 4);
        assert_eq!(path.len(), 2);
    }
}
