//! The ownership tags every resource Berth creates carries (kops's conventions).

use std::collections::BTreeMap;

/// Tags, sorted by key.
pub type Tags = BTreeMap<String, String>;

/// `KubernetesCluster=<cluster>`: the legacy ownership tag discovery filters on.
pub const CLUSTER_TAG: &str = "KubernetesCluster";

/// The prefix of the `kubernetes.io/cluster/<cluster>` tag keys.
pub const CLUSTER_OWNERSHIP_TAG_PREFIX: &str = "kubernetes.io/cluster/";

/// `kubernetes.io/cluster/<cluster>`: `owned` on what Berth created, `shared` on what it uses.
#[must_use]
pub fn cluster_owned_tag_key(cluster: &str) -> String {
    format!("{CLUSTER_OWNERSHIP_TAG_PREFIX}{cluster}")
}

/// Whether `tags` mark the resource as created for `cluster`
/// (`kubernetes.io/cluster/<cluster>=owned`).
#[must_use]
pub fn owned_by(tags: &Tags, cluster: &str) -> bool {
    tags.get(&cluster_owned_tag_key(cluster))
        .is_some_and(|value| value == "owned")
}

/// The cluster `tags` mark the resource as created for, if any.
#[must_use]
pub fn owning_cluster(tags: &Tags) -> Option<&str> {
    tags.iter().find_map(|(key, value)| {
        let cluster = key.strip_prefix(CLUSTER_OWNERSHIP_TAG_PREFIX)?;
        (value == "owned").then_some(cluster)
    })
}
