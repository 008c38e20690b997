//! Files Berth writes into the state store for the cluster and its nodes.

use serde::Serialize;

use super::NodeKey;

/// A managed file in the state store (the completed spec, nodeup configs, manifests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedFile {
    /// The key relative to the state store root, e.g. `<c>/cluster-completed.spec`.
    pub name: String,
    /// The content.
    pub contents: String,
}

impl ManagedFile {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        Vec::new()
    }
}
