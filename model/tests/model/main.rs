//! Integration tests of the model crate: parsing manifests, round trips, validation of
//! built and completed clusters, and the JSON schema.

mod parse;
mod schema;

use berth_model::{Cluster, Document, InstanceGroup};

/// The kops-written manifest for a minimal AWS cluster.
pub(crate) const KOPS_MINIMAL: &str = include_str!("../../../tests/fixtures/kops-minimal.yaml");

/// Split parsed documents into the cluster and its instance groups.
pub(crate) fn split(documents: Vec<Document>) -> (Cluster, Vec<InstanceGroup>) {
    let mut cluster = None;
    let mut groups = Vec::new();
    for document in documents {
        match document {
            Document::Cluster(found) => cluster = Some(found),
            Document::InstanceGroup(group) => groups.push(group),
        }
    }
    (cluster.expect("manifest has a cluster"), groups)
}
