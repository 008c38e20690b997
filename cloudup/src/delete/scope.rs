//! What a delete is told about the cluster beyond its name.

use std::collections::BTreeSet;

/// The cluster to delete, and what the spec (when there still is one) says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteScope {
    /// The cluster name (the value of its ownership tags).
    pub cluster: String,
    /// Ids the spec references as shared (`networkID`, subnet `id`s): never deleted, whatever
    /// their tags say; at most the cluster's tag is removed from them.
    pub protected_ids: BTreeSet<String>,
    /// DNS names the spec gives the API (`masterPublicName`, `masterInternalName`), deleted
    /// with the default ones (`api.<cluster>`, `api.internal.<cluster>`, …).
    pub dns_names: Vec<String>,
}

impl DeleteScope {
    /// A scope with the name only (the state store is gone: discovery by tags alone).
    #[must_use]
    pub fn named(cluster: impl Into<String>) -> Self {
        Self {
            cluster: cluster.into(),
            ..Self::default()
        }
    }

    /// A scope from the cluster's spec.
    #[must_use]
    pub fn from_spec(cluster: &berth_model::Cluster) -> Self {
        let spec = &cluster.spec;
        let protected_ids = spec
            .network_id
            .iter()
            .chain(spec.subnets.iter().filter_map(|subnet| subnet.id.as_ref()))
            .filter(|id| !id.is_empty())
            .cloned()
            .collect();
        let dns_names = spec
            .master_public_name
            .iter()
            .chain(&spec.master_internal_name)
            .cloned()
            .collect();
        Self {
            cluster: cluster.metadata.name.clone(),
            protected_ids,
            dns_names,
        }
    }
}
