//! The ownership tags every resource Berth creates carries (kops's conventions).

use std::collections::BTreeMap;

/// Tags, sorted by key.
pub type Tags = BTreeMap<String, String>;

/// `KubernetesCluster=<cluster>`: the legacy ownership tag discovery filters on.
pub const CLUSTER_TAG: &str = "KubernetesCluster";

/// `kubernetes.io/cluster/<cluster>`: `owned` on what Berth created, `shared` on what it uses.
#[must_use]
pub fn cluster_owned_tag_key(cluster: &str) -> String {
    format!("kubernetes.io/cluster/{cluster}")
}
