//! Where each object of a cluster lives in the state store (kops-compatible where kops has
//! the object), and listing the clusters of a store.
//!
//! Only key strings are built here; what the objects contain belongs to the callers.
//!
//! ```text
//! <cluster>/config                                   the Cluster spec as the user wrote it
//! <cluster>/instancegroup/<name>                     InstanceGroup specs
//! <cluster>/cluster-completed.spec                   the spec with defaults filled in
//! <cluster>/berth-version.txt                        the Berth version that last updated it
//! <cluster>/pki/issued/<name>/certificate.pem        certificates
//! <cluster>/pki/private/<name>/key.pem               private keys
//! <cluster>/pki/ssh/public/admin/<fingerprint>       SSH public keys
//! <cluster>/secrets/<name>                           secrets
//! <cluster>/igconfig/<role>/<ig>/nodeupconfig.yaml   what nodeup reads
//! <cluster>/manifests/...                            static pods and addons
//! <cluster>/berth-lease.json                         the lease of a running update
//! ```

use crate::{error::Result, object::ObjectStore};

const CONFIG: &str = "config";

/// The keys of one cluster's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterKeys {
    cluster: String,
}

impl ClusterKeys {
    /// The keys of the cluster named `cluster_name` (a DNS name, so it has no `/`).
    pub fn new(cluster_name: impl Into<String>) -> Self {
        ClusterKeys {
            cluster: cluster_name.into(),
        }
    }

    /// The cluster's name.
    pub fn cluster_name(&self) -> &str {
        &self.cluster
    }

    /// The prefix of every key of the cluster (`<cluster>/`), for deleting it whole.
    pub fn prefix(&self) -> String {
        format!("{}/", self.cluster)
    }

    /// The Cluster spec as the user wrote it.
    pub fn config(&self) -> String {
        format!("{}/{CONFIG}", self.cluster)
    }

    /// One InstanceGroup spec.
    pub fn instance_group(&self, name: &str) -> String {
        format!("{}{name}", self.instance_groups_prefix())
    }

    /// The prefix of all InstanceGroup specs.
    pub fn instance_groups_prefix(&self) -> String {
        format!("{}/instancegroup/", self.cluster)
    }

    /// The spec with all defaults filled in.
    pub fn completed_spec(&self) -> String {
        format!("{}/cluster-completed.spec", self.cluster)
    }

    /// The Berth version that last wrote the cluster.
    pub fn berth_version(&self) -> String {
        format!("{}/berth-version.txt", self.cluster)
    }

    /// The certificate of keypair `name`.
    pub fn pki_issued(&self, name: &str) -> String {
        format!("{}/pki/issued/{name}/certificate.pem", self.cluster)
    }

    /// The prefix of every keypair's certificate (`<prefix><name>/certificate.pem`).
    pub fn pki_issued_prefix(&self) -> String {
        format!("{}/pki/issued/", self.cluster)
    }

    /// The private key of keypair `name`.
    pub fn pki_private(&self, name: &str) -> String {
        format!("{}/pki/private/{name}/key.pem", self.cluster)
    }

    /// Secret `name`.
    pub fn secret(&self, name: &str) -> String {
        format!("{}/secrets/{name}", self.cluster)
    }

    /// The prefix of every secret.
    pub fn secrets_prefix(&self) -> String {
        format!("{}/secrets/", self.cluster)
    }

    /// The admin SSH public key with this fingerprint.
    pub fn ssh_public_key(&self, fingerprint: &str) -> String {
        format!("{}{fingerprint}", self.ssh_public_keys_prefix())
    }

    /// The prefix of all admin SSH public keys.
    pub fn ssh_public_keys_prefix(&self) -> String {
        format!("{}/pki/ssh/public/admin/", self.cluster)
    }

    /// The nodeup configuration of instance group `instance_group` with role `role`.
    pub fn igconfig(&self, role: &str, instance_group: &str) -> String {
        format!(
            "{}/igconfig/{role}/{instance_group}/nodeupconfig.yaml",
            self.cluster
        )
    }

    /// The prefix of static pod and addon manifests.
    pub fn manifests_prefix(&self) -> String {
        format!("{}/manifests/", self.cluster)
    }

    /// The lease object held by long operations (see [`crate::lease`]).
    pub fn lease(&self) -> String {
        format!("{}/berth-lease.json", self.cluster)
    }
}

/// The names of the clusters in `store`: top-level names that have a `config`, sorted.
pub async fn list_clusters(store: &dyn ObjectStore) -> Result<Vec<String>> {
    let keys = store.list("").await?;
    let mut clusters: Vec<String> = keys
        .iter()
        .filter_map(|key| key.split_once('/'))
        .filter(|(_, rest)| *rest == CONFIG)
        .map(|(cluster, _)| cluster.to_owned())
        .collect();
    clusters.sort();
    clusters.dedup();
    Ok(clusters)
}

#[cfg(test)]
mod tests {
    use super::ClusterKeys;

    #[test]
    fn keys_follow_the_kops_layout() {
        let keys = ClusterKeys::new("c.example.com");
        assert_eq!(keys.config(), "c.example.com/config");
        assert_eq!(
            keys.instance_group("nodes"),
            "c.example.com/instancegroup/nodes"
        );
        assert_eq!(
            keys.completed_spec(),
            "c.example.com/cluster-completed.spec"
        );
        assert_eq!(
            keys.pki_issued("ca"),
            "c.example.com/pki/issued/ca/certificate.pem"
        );
        assert_eq!(
            keys.pki_private("ca"),
            "c.example.com/pki/private/ca/key.pem"
        );
        assert_eq!(
            keys.ssh_public_key("abcd"),
            "c.example.com/pki/ssh/public/admin/abcd"
        );
        assert_eq!(
            keys.igconfig("node", "nodes"),
            "c.example.com/igconfig/node/nodes/nodeupconfig.yaml"
        );
        assert_eq!(keys.secret("admin"), "c.example.com/secrets/admin");
        assert_eq!(keys.berth_version(), "c.example.com/berth-version.txt");
        assert_eq!(keys.manifests_prefix(), "c.example.com/manifests/");
    }
}
