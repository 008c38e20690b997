//! The module's `locals` and `output` blocks: the ids a user needs to plug other Terraform
//! into the cluster (the VPC, subnets, security groups, roles), named as kops names them.
//!
//! Security groups are classified by their name's first label (`masters…`/`control-plane…`,
//! `nodes…`), the convention the builders and kops share; every group is also in the
//! `security_group_ids` map, so nothing depends on the convention alone.

use std::collections::BTreeMap;

use berth_model::aws::{AnyResource, Graph, NodeKey};
use serde_json::{Map, Value};

use super::{
    RenderError,
    expression::{escape, literal},
    module::TfModule,
};

/// The label prefixes of control-plane security group names.
const CONTROL_PLANE_PREFIXES: &[&str] = &["masters", "control-plane"];
/// The label prefix of node security group names.
const NODE_PREFIX: &str = "nodes";

/// The `locals` block, by name.
pub(crate) fn locals(
    graph: &Graph,
    tf: &TfModule<'_>,
    region: &str,
    cluster: &str,
) -> Result<BTreeMap<String, Value>, RenderError> {
    let origin = "locals";
    let mut locals = BTreeMap::new();
    locals.insert("cluster_name".to_owned(), literal(cluster));
    locals.insert("region".to_owned(), literal(region));

    let mut vpcs = Vec::new();
    let mut subnets = Vec::new();
    let mut control_plane_groups = Vec::new();
    let mut node_groups = Vec::new();
    let mut groups = Map::new();
    let mut roles = Map::new();
    for (key, resource) in graph.sorted() {
        let reference = |attribute| tf.key_reference(origin, key, attribute);
        match resource {
            AnyResource::Vpc(_) => vpcs.push(key),
            AnyResource::Subnet(_) => subnets.push(reference("id")?),
            AnyResource::SecurityGroup(group) => {
                let id = reference("id")?;
                if has_prefix(&group.name, CONTROL_PLANE_PREFIXES) {
                    control_plane_groups.push(id.clone());
                } else if has_prefix(&group.name, &[NODE_PREFIX]) {
                    node_groups.push(id.clone());
                }
                groups.insert(escape(&group.name), id);
            }
            AnyResource::IamRole(role) => {
                roles.insert(escape(&role.name), reference("arn")?);
            }
            _ => {}
        }
    }
    // One VPC is the only meaningful `vpc_id`; a graph with none (or several) has no such local.
    if let [vpc] = vpcs.as_slice() {
        insert_vpc(&mut locals, tf, vpc)?;
    }
    locals.insert("subnet_ids".to_owned(), Value::Array(subnets));
    locals.insert(
        "master_security_group_ids".to_owned(),
        Value::Array(control_plane_groups),
    );
    locals.insert(
        "node_security_group_ids".to_owned(),
        Value::Array(node_groups),
    );
    locals.insert("security_group_ids".to_owned(), Value::Object(groups));
    locals.insert("iam_role_arns".to_owned(), Value::Object(roles));
    Ok(locals)
}

fn insert_vpc(
    locals: &mut BTreeMap<String, Value>,
    tf: &TfModule<'_>,
    vpc: &NodeKey,
) -> Result<(), RenderError> {
    locals.insert("vpc_id".to_owned(), tf.key_reference("locals", vpc, "id")?);
    locals.insert(
        "vpc_cidr_block".to_owned(),
        tf.key_reference("locals", vpc, "cidr_block")?,
    );
    Ok(())
}

/// Whether the first label of `name` (up to the first `.` or `-`) is one of `prefixes`.
fn has_prefix(name: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '-']))
    })
}

/// One `output` per local, whose value is the local.
pub(crate) fn outputs(locals: &BTreeMap<String, Value>) -> Value {
    Value::Object(
        locals
            .keys()
            .map(|name| {
                let value = Value::String(format!("${{local.{name}}}"));
                (
                    name.clone(),
                    Value::Object(Map::from_iter([("value".to_owned(), value)])),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use berth_model::aws::Graph;
    use serde_json::json;

    use super::has_prefix;
    use crate::terraform::{fixture, rendered};

    #[test]
    fn prefixes_match_whole_labels_only() {
        assert!(has_prefix("masters.dev.example.com", &["masters"]));
        assert!(has_prefix("nodes-gpu.dev.example.com", &["nodes"]));
        assert!(!has_prefix("nodesx.dev.example.com", &["nodes"]));
    }

    #[test]
    fn locals_and_outputs_expose_network_and_security_ids() {
        let mut graph = Graph::new();
        let vpc = fixture::vpc(&mut graph, None);
        fixture::subnet(&mut graph, &vpc, "us-east-1a", None);
        fixture::security_groups(&mut graph, &vpc);
        let document = rendered(&graph);
        let locals = &document["locals"];
        assert_eq!(locals["cluster_name"], json!("dev.example.com"));
        assert_eq!(locals["region"], json!("us-east-1"));
        assert_eq!(
            locals["vpc_cidr_block"],
            json!("${aws_vpc.dev-example-com.cidr_block}")
        );
        assert_eq!(
            locals["subnet_ids"],
            json!(["${aws_subnet.us-east-1a-dev-example-com.id}"])
        );
        assert_eq!(
            locals["node_security_group_ids"],
            json!(["${aws_security_group.nodes-dev-example-com.id}"])
        );
        assert_eq!(
            locals["master_security_group_ids"],
            json!(["${aws_security_group.masters-dev-example-com.id}"])
        );
        assert_eq!(
            document["output"]["vpc_id"],
            json!({ "value": "${local.vpc_id}" })
        );
    }
}
