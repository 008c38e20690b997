//! What applying (or finding) a resource yields, and how dependents read it.

use std::collections::BTreeMap;

use berth_model::aws::{NodeKey, Ref};

use super::TaskError;

/// A resource's cloud identity: its id and any attributes dependents need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The cloud id (`vpc-…`, an ARN, a name).
    pub id: String,
    /// Other attributes by name (e.g. a load balancer's `dns_name`, `zone_id`).
    pub attributes: BTreeMap<&'static str, String>,
}

impl Output {
    /// An output with just an id.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            attributes: BTreeMap::new(),
        }
    }

    /// Adds an attribute.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attributes.insert(name, value.into());
        self
    }
}

/// The outputs of a task's dependencies that are known (they exist already or were applied).
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    outputs: BTreeMap<NodeKey, Output>,
}

impl Resolver {
    /// A resolver over the given outputs.
    pub fn new(outputs: BTreeMap<NodeKey, Output>) -> Self {
        Self { outputs }
    }

    /// The output of `reference`, if known. At plan time a dependency that will be created
    /// has none: its dependents' fields that refer to it are "known after apply".
    pub fn get<T>(&self, reference: &Ref<T>) -> Option<&Output> {
        self.outputs.get(reference.key())
    }

    /// The output of the node at `key`, if known.
    #[must_use]
    pub fn by_key(&self, key: &NodeKey) -> Option<&Output> {
        self.outputs.get(key)
    }

    /// The keys whose outputs are known.
    pub fn keys(&self) -> impl Iterator<Item = &NodeKey> {
        self.outputs.keys()
    }

    /// The id of `reference`; an error when unknown (at apply time it never is).
    pub fn id<T>(&self, reference: &Ref<T>) -> Result<&str, TaskError> {
        self.get(reference)
            .map(|output| output.id.as_str())
            .ok_or_else(|| TaskError::MissingOutput {
                key: reference.key().clone(),
            })
    }

    /// The id of `reference` for a diff: the id, or `(known after apply)`.
    pub fn id_or_pending<T>(&self, reference: &Ref<T>) -> String {
        self.get(reference).map_or_else(
            || "(known after apply)".to_owned(),
            |output| output.id.clone(),
        )
    }

    /// An attribute of `reference`.
    pub fn attribute<T>(&self, reference: &Ref<T>, name: &'static str) -> Result<&str, TaskError> {
        self.get(reference)
            .and_then(|output| output.attributes.get(name))
            .map(String::as_str)
            .ok_or_else(|| TaskError::MissingOutput {
                key: reference.key().clone(),
            })
    }
}
