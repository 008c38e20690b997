//! Nodes and the EC2 instances they run on.
//!
//! The link is the node's `spec.providerID`, which the AWS cloud provider (and kops's
//! nodeup) set to `aws:///<zone>/<instance id>`. Nodes without one, or with another
//! provider's, are not ours to match and are left out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeCondition};
use kube::{Api, Client, api::ListParams};

use super::KubeError;

/// The EC2 instance id in an AWS provider id: `aws:///us-east-1a/i-0abc` → `i-0abc`.
///
/// Also accepts the zone-less form `aws:////i-0abc` and a bare `i-…` path segment. Returns
/// `None` for other providers and for anything that does not end in an instance id.
#[must_use]
pub fn instance_id_of(provider_id: &str) -> Option<&str> {
    let path = provider_id.strip_prefix("aws://")?;
    let id = path.rsplit('/').next()?;
    let suffix = id.strip_prefix("i-")?;
    (!suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_alphanumeric())).then_some(id)
}

/// Every node that runs on an EC2 instance, by instance id.
///
/// # Errors
/// When the nodes cannot be listed.
pub async fn nodes_by_instance(client: &Client) -> Result<BTreeMap<String, Node>, KubeError> {
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(KubeError::request("list", "nodes"))?;
    Ok(nodes
        .items
        .into_iter()
        .filter_map(|node| {
            let provider_id = node.spec.as_ref()?.provider_id.as_deref()?;
            let instance = instance_id_of(provider_id)?.to_owned();
            Some((instance, node))
        })
        .collect())
}

/// Whether a node is Ready: its `Ready` condition is `True` and its `NetworkUnavailable`
/// condition (set by some network plugins until routes exist) is not.
#[must_use]
pub fn is_ready(node: &Node) -> bool {
    not_ready_reason(node).is_none()
}

/// Why a node is not Ready, naming the condition; `None` when it is Ready (see
/// [`is_ready`]).
#[must_use]
pub fn not_ready_reason(node: &Node) -> Option<String> {
    let conditions: &[NodeCondition] = node
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_deref())
        .unwrap_or_default();
    let find = |kind: &str| conditions.iter().find(|c| c.type_ == kind);
    match find("Ready") {
        None => return Some("it has no Ready condition yet".to_owned()),
        Some(ready) if ready.status != "True" => {
            return Some(format!(
                "condition Ready is {}{}",
                ready.status,
                detail(ready)
            ));
        }
        Some(_) => {}
    }
    match find("NetworkUnavailable") {
        Some(network) if network.status == "True" => Some(format!(
            "condition NetworkUnavailable is True{}",
            detail(network)
        )),
        _ => None,
    }
}

/// ` (reason: message)` from a condition, or nothing.
fn detail(condition: &NodeCondition) -> String {
    let reason = condition.reason.as_deref().unwrap_or_default();
    let message = condition.message.as_deref().unwrap_or_default();
    match (reason.is_empty(), message.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" ({reason})"),
        (true, false) => format!(" ({message})"),
        (false, false) => format!(" ({reason}: {message})"),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::NodeStatus;

    use super::*;

    #[test]
    fn instance_ids_come_from_aws_provider_ids() {
        assert_eq!(instance_id_of("aws:///us-east-1a/i-0abc"), Some("i-0abc"));
        assert_eq!(
            instance_id_of("aws:///eu-west-3c/i-0123456789abcdef0"),
            Some("i-0123456789abcdef0")
        );
        assert_eq!(instance_id_of("aws:////i-0abc"), Some("i-0abc"));
        assert_eq!(instance_id_of("aws:///us-east-1a/"), None);
        assert_eq!(instance_id_of("aws:///us-east-1a/i-"), None);
        assert_eq!(
            instance_id_of("aws:///us-east-1a/fargate-ip-10-0-0-1"),
            None
        );
        assert_eq!(instance_id_of("gce://project/zone/i-0abc"), None);
        assert_eq!(instance_id_of("i-0abc"), None);
        assert_eq!(instance_id_of(""), None);
    }

    fn node(conditions: &[(&str, &str)]) -> Node {
        Node {
            status: Some(NodeStatus {
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(kind, status)| NodeCondition {
                            type_: (*kind).to_owned(),
                            status: (*status).to_owned(),
                            ..NodeCondition::default()
                        })
                        .collect(),
                ),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    #[test]
    fn ready_needs_ready_true_and_network_available() {
        assert!(is_ready(&node(&[("Ready", "True")])));
        assert!(is_ready(&node(&[
            ("Ready", "True"),
            ("NetworkUnavailable", "False")
        ])));
        assert!(!is_ready(&node(&[])));
        assert!(!is_ready(&Node::default()));
        assert_eq!(
            not_ready_reason(&node(&[("Ready", "Unknown")])).as_deref(),
            Some("condition Ready is Unknown")
        );
        assert_eq!(
            not_ready_reason(&node(&[("Ready", "True"), ("NetworkUnavailable", "True")]))
                .as_deref(),
            Some("condition NetworkUnavailable is True")
        );
    }
}
