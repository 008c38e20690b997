//! A manifest written by kops loads with `create -f`, round-trips through `get -o yaml`, and
//! validates.

use crate::context::{TestContext, fixture, ok};

#[test]
fn kops_written_manifest_loads_round_trips_and_validates() {
    let context = TestContext::new();
    let path = fixture("fixtures/kops-minimal.yaml");
    let original_text = std::fs::read_to_string(&path).unwrap();
    let original = berth_model::parse_documents(&original_text, "kops-minimal.yaml").unwrap();
    let (cluster, groups) = split(&original);
    berth_model::validate::validate(&cluster, &groups).expect("the kops manifest validates");

    ok(context.berth().arg("create").arg("-f").arg(&path));
    let yaml =
        ok(context
            .berth()
            .args(["get", "all", "-o", "yaml", "--name", &cluster.metadata.name]));
    let read_back = berth_model::parse_documents(&yaml, "get -o yaml").unwrap();
    assert_eq!(
        original, read_back,
        "round trip changed the manifest:\n{yaml}"
    );

    // And once more through the store, from Berth's own output.
    let copy = TestContext::new();
    let file = copy.write("copy.yaml", &yaml);
    ok(copy.berth().arg("create").arg("-f").arg(&file));
    let again =
        ok(copy
            .berth()
            .args(["get", "all", "-o", "yaml", "--name", &cluster.metadata.name]));
    assert_eq!(yaml, again);

    let table =
        ok(context
            .berth()
            .args(["get", "instancegroups", "--name", &cluster.metadata.name]));
    assert!(
        table.contains("Master") || table.contains("ControlPlane"),
        "{table}"
    );
}

fn split(
    documents: &[berth_model::Document],
) -> (berth_model::Cluster, Vec<berth_model::InstanceGroup>) {
    let mut cluster = None;
    let mut groups = Vec::new();
    for document in documents {
        match document {
            berth_model::Document::Cluster(found) => cluster = Some(found.clone()),
            berth_model::Document::InstanceGroup(group) => groups.push(group.clone()),
        }
    }
    (cluster.expect("a Cluster document"), groups)
}
