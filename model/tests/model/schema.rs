//! The JSON schemas: both kinds, pinned kinds, descriptions from doc comments.

use berth_model::schema::{cluster_schema, combined_schema, instance_group_schema};

#[test]
fn combined_schema_has_both_kinds() {
    let schema = combined_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let branches = schema["oneOf"].as_array().unwrap();
    assert_eq!(branches.len(), 2);
    let definitions = &schema["$defs"];
    assert_eq!(
        definitions["Cluster"]["properties"]["kind"]["const"],
        "Cluster"
    );
    assert_eq!(
        definitions["InstanceGroup"]["properties"]["kind"]["const"],
        "InstanceGroup"
    );
    assert_eq!(
        definitions["Cluster"]["properties"]["apiVersion"]["const"],
        "kops.k8s.io/v1alpha2"
    );
    for branch in branches {
        let reference = branch["$ref"].as_str().unwrap();
        let name = reference.strip_prefix("#/$defs/").unwrap();
        assert!(definitions.get(name).is_some(), "{reference}");
    }
}

#[test]
fn kind_schemas_deny_unknown_fields_and_describe_fields() {
    let cluster = cluster_schema();
    assert_eq!(cluster["additionalProperties"], false);
    assert_eq!(cluster["properties"]["kind"]["const"], "Cluster");
    let spec = &cluster["$defs"]["ClusterSpec"];
    assert_eq!(spec["additionalProperties"], false);
    let properties = spec["properties"].as_object().unwrap();
    for field in [
        "networkCIDR",
        "nonMasqueradeCIDR",
        "kubeAPIServer",
        "etcdClusters",
        "sshAccess",
    ] {
        assert!(properties.contains_key(field), "{field}");
    }
    for (name, property) in properties {
        assert!(
            property.get("description").is_some(),
            "spec.{name} has no description"
        );
    }
    let group = instance_group_schema();
    assert_eq!(group["properties"]["kind"]["const"], "InstanceGroup");
    assert!(
        group["$defs"]["InstanceGroupSpec"]["required"]
            .as_array()
            .unwrap()
            .contains(&"role".into())
    );
}
