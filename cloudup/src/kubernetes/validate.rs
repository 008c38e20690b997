//! kops's cluster validation, against the Kubernetes API.
//!
//! The caller says what the cloud holds ([`ExpectedGroup`]: each instance group's in-service
//! instances); [`validate()`] checks the cluster against it and returns every failure, each
//! named by kind and name. An empty list means the cluster is valid. The rules, in kops's
//! order:
//!
//! 1. every instance group has at least its minimum size of in-service instances;
//! 2. every instance of a control-plane or node group has joined as a Node (matched by
//!    `spec.providerID`; bastions never join);
//! 3. every such Node is Ready and its network available;
//! 4. every control-plane node runs Running and Ready `kube-apiserver-<node>`,
//!    `kube-controller-manager-<node>` and `kube-scheduler-<node>` pods in `kube-system`;
//! 5. every `kube-system` pod of priority class `system-cluster-critical` or
//!    `system-node-critical` is Running and Ready.
//!
//! Validating twice in a row, and the timeouts around it, are the rolling update's business.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::{Api, Client, api::ListParams};
use serde::Serialize;

use super::{KubeError, nodes::nodes_by_instance, nodes::not_ready_reason};
use crate::rolling::Role;

/// The namespace of the control plane and of the critical add-ons.
const KUBE_SYSTEM: &str = "kube-system";

/// The static pods every control-plane node runs, named `<component>-<node name>`.
pub const CONTROL_PLANE_COMPONENTS: [&str; 3] = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
];

/// The priority classes whose `kube-system` pods must all be Running and Ready.
pub const CRITICAL_PRIORITY_CLASSES: [&str; 2] =
    ["system-cluster-critical", "system-node-critical"];

/// What the cloud holds for one instance group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedGroup {
    /// The instance group's name.
    pub instance_group: String,
    /// What its instances do; bastions are not expected to join the cluster.
    pub role: Role,
    /// The in-service instances of its autoscaling group.
    pub instance_ids: Vec<String>,
    /// How many in-service instances it needs at least.
    pub min_size: usize,
}

/// One reason the cluster is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationFailure {
    /// What failed: `InstanceGroup`, `Machine`, `Node` or `Pod`.
    pub kind: String,
    /// Its name: the instance group, the instance id, the node name, or `namespace/pod`.
    pub name: String,
    /// What is wrong, in a sentence.
    pub reason: String,
}

impl ValidationFailure {
    fn new(kind: &str, name: impl Into<String>, reason: String) -> Self {
        Self {
            kind: kind.to_owned(),
            name: name.into(),
            reason,
        }
    }
}

impl std::fmt::Display for ValidationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.name, self.reason)
    }
}

/// Validates the cluster against what the cloud holds; an empty list means valid.
///
/// Makes two requests: list the nodes, list the `kube-system` pods.
///
/// # Errors
/// When the API server cannot be asked (an unreachable API server is an error, not a
/// failure: the caller decides whether to retry).
pub async fn validate(
    client: &Client,
    groups: &[ExpectedGroup],
) -> Result<Vec<ValidationFailure>, KubeError> {
    let (nodes, pods) = tokio::try_join!(nodes_by_instance(client), async {
        Api::<Pod>::namespaced(client.clone(), KUBE_SYSTEM)
            .list(&ListParams::default())
            .await
            .map(|list| list.items)
            .map_err(KubeError::request(
                "list",
                "pods in namespace `kube-system`",
            ))
    })?;
    Ok(check(groups, &nodes, &pods))
}

/// The pure part of [`validate()`].
fn check(
    groups: &[ExpectedGroup],
    nodes: &BTreeMap<String, Node>,
    kube_system_pods: &[Pod],
) -> Vec<ValidationFailure> {
    let mut failures = Vec::new();
    let mut control_plane_nodes = Vec::new();
    for group in groups {
        if group.instance_ids.len() < group.min_size {
            failures.push(ValidationFailure::new(
                "InstanceGroup",
                &group.instance_group,
                format!(
                    "instance group `{}` has {} in-service instances, fewer than its minimum of {}",
                    group.instance_group,
                    group.instance_ids.len(),
                    group.min_size
                ),
            ));
        }
        if group.role == Role::Bastion {
            continue;
        }
        for instance in &group.instance_ids {
            let Some(node) = nodes.get(instance) else {
                failures.push(ValidationFailure::new(
                    "Machine",
                    instance,
                    format!(
                        "instance {instance} of instance group `{}` has not joined the cluster",
                        group.instance_group
                    ),
                ));
                continue;
            };
            let name = node.metadata.name.clone().unwrap_or_default();
            if let Some(why) = not_ready_reason(node) {
                failures.push(ValidationFailure::new(
                    "Node",
                    &name,
                    format!(
                        "node `{name}` (instance {instance} of instance group `{}`) is not ready: {why}",
                        group.instance_group
                    ),
                ));
            }
            if group.role == Role::ControlPlane {
                control_plane_nodes.push(name);
            }
        }
    }

    // Pods already reported, so that a control-plane pod that is also critical is named once.
    let mut reported = BTreeSet::new();
    for node in &control_plane_nodes {
        for component in CONTROL_PLANE_COMPONENTS {
            let prefix = format!("{component}-");
            let pod = kube_system_pods.iter().find(|pod| {
                pod.metadata
                    .name
                    .as_deref()
                    .is_some_and(|name| name.starts_with(&prefix))
                    && node_name_of(pod) == Some(node.as_str())
            });
            match pod {
                None => failures.push(ValidationFailure::new(
                    "Node",
                    node,
                    format!("control-plane node `{node}` has no {component} pod"),
                )),
                Some(pod) => {
                    if let Some(why) = pod_not_ready_reason(pod) {
                        let name = qualified_name(pod);
                        failures.push(ValidationFailure::new(
                            "Pod",
                            &name,
                            format!(
                                "{component} pod `{name}` on control-plane node `{node}` {why}"
                            ),
                        ));
                        reported.insert(name);
                    }
                }
            }
        }
    }

    for pod in kube_system_pods {
        let Some(class) = pod
            .spec
            .as_ref()
            .and_then(|spec| spec.priority_class_name.as_deref())
            .filter(|class| CRITICAL_PRIORITY_CLASSES.contains(class))
        else {
            continue;
        };
        // A finished pod (a completed Job's, say) is not expected to run.
        if phase_of(pod) == "Succeeded" {
            continue;
        }
        let name = qualified_name(pod);
        if reported.contains(&name) {
            continue;
        }
        if let Some(why) = pod_not_ready_reason(pod) {
            failures.push(ValidationFailure::new(
                "Pod",
                &name,
                format!("{class} pod `{name}` {why}"),
            ));
        }
    }
    failures
}

/// Why a pod is not Running and Ready, as the end of a sentence (`is Pending`, `is Running
/// but not Ready: …`); `None` when it is.
#[must_use]
pub fn pod_not_ready_reason(pod: &Pod) -> Option<String> {
    let phase = phase_of(pod);
    if phase != "Running" {
        return Some(match pending_detail(pod) {
            Some(detail) => format!("is {phase} ({detail})"),
            None => format!("is {phase}"),
        });
    }
    let status = pod.status.as_ref()?;
    let ready = status
        .conditions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|condition| condition.type_ == "Ready");
    match ready {
        Some(ready) if ready.status == "True" => None,
        condition => {
            let not_ready: Vec<&str> = status
                .container_statuses
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter(|container| !container.ready)
                .map(|container| container.name.as_str())
                .collect();
            let mut why = format!(
                "is Running but its Ready condition is {}",
                condition.map_or("missing", |c| c.status.as_str())
            );
            if let Some(reason) = condition.and_then(|c| c.reason.as_deref()) {
                why.push_str(&format!(" ({reason})"));
            }
            if !not_ready.is_empty() {
                why.push_str(&format!("; containers not ready: {}", not_ready.join(", ")));
            }
            Some(why)
        }
    }
}

/// The reason a pod's `PodScheduled` condition gives for not being scheduled, if any.
fn pending_detail(pod: &Pod) -> Option<String> {
    let scheduled = pod
        .status
        .as_ref()?
        .conditions
        .as_deref()?
        .iter()
        .find(|condition| condition.type_ == "PodScheduled" && condition.status != "True")?;
    scheduled
        .message
        .clone()
        .or_else(|| scheduled.reason.clone())
}

fn phase_of(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|status| status.phase.as_deref())
        .unwrap_or("Pending")
}

fn node_name_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.node_name.as_deref()
}

/// `namespace/name`.
fn qualified_name(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        NodeCondition, NodeSpec, NodeStatus, PodCondition, PodSpec, PodStatus,
    };
    use kube::api::ObjectMeta;

    use super::*;

    fn node(name: &str, instance: &str, ready: &str) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec {
                provider_id: Some(format!("aws:///us-east-1a/{instance}")),
                ..NodeSpec::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".to_owned(),
                    status: ready.to_owned(),
                    ..NodeCondition::default()
                }]),
                ..NodeStatus::default()
            }),
        }
    }

    fn pod(name: &str, node: &str, class: Option<&str>, phase: &str, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(KUBE_SYSTEM.to_owned()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: Some(node.to_owned()),
                priority_class_name: class.map(str::to_owned),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.to_owned()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".to_owned(),
                    status: if ready { "True" } else { "False" }.to_owned(),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
        }
    }

    fn group(name: &str, role: Role, instances: &[&str], min_size: usize) -> ExpectedGroup {
        ExpectedGroup {
            instance_group: name.to_owned(),
            role,
            instance_ids: instances.iter().map(|i| (*i).to_owned()).collect(),
            min_size,
        }
    }

    fn by_instance(nodes: Vec<(&str, Node)>) -> BTreeMap<String, Node> {
        nodes.into_iter().map(|(i, n)| (i.to_owned(), n)).collect()
    }

    fn control_plane_pods(node: &str) -> Vec<Pod> {
        CONTROL_PLANE_COMPONENTS
            .iter()
            .map(|c| {
                pod(
                    &format!("{c}-{node}"),
                    node,
                    Some("system-cluster-critical"),
                    "Running",
                    true,
                )
            })
            .collect()
    }

    #[test]
    fn a_healthy_cluster_is_valid() {
        let groups = [
            group("control-plane-us-east-1a", Role::ControlPlane, &["i-1"], 1),
            group("nodes-us-east-1a", Role::Node, &["i-2"], 1),
            group("bastions", Role::Bastion, &["i-3"], 1),
        ];
        let nodes = by_instance(vec![
            ("i-1", node("cp", "i-1", "True")),
            ("i-2", node("n", "i-2", "True")),
        ]);
        assert_eq!(check(&groups, &nodes, &control_plane_pods("cp")), vec![]);
    }

    #[test]
    fn failures_are_named_by_kind() {
        let groups = [
            group("control-plane-us-east-1a", Role::ControlPlane, &["i-1"], 1),
            group("nodes-us-east-1a", Role::Node, &["i-2", "i-3"], 3),
        ];
        let nodes = by_instance(vec![
            ("i-1", node("cp", "i-1", "True")),
            ("i-2", node("n", "i-2", "False")),
        ]);
        let mut pods = control_plane_pods("cp");
        pods.remove(2);
        pods[0] = pod(
            "kube-apiserver-cp",
            "cp",
            Some("system-cluster-critical"),
            "Running",
            false,
        );
        pods.push(pod(
            "coredns-1",
            "n",
            Some("system-cluster-critical"),
            "Pending",
            false,
        ));
        pods.push(pod(
            "job-1",
            "n",
            Some("system-node-critical"),
            "Succeeded",
            false,
        ));
        pods.push(pod("other", "n", None, "Pending", false));
        let failures = check(&groups, &nodes, &pods);
        let kinds: Vec<(&str, &str)> = failures
            .iter()
            .map(|f| (f.kind.as_str(), f.name.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("InstanceGroup", "nodes-us-east-1a"),
                ("Node", "n"),
                ("Machine", "i-3"),
                ("Pod", "kube-system/kube-apiserver-cp"),
                ("Node", "cp"),
                ("Pod", "kube-system/coredns-1"),
            ]
        );
        assert_eq!(
            failures[2].reason,
            "instance i-3 of instance group `nodes-us-east-1a` has not joined the cluster"
        );
        assert_eq!(
            failures[4].reason,
            "control-plane node `cp` has no kube-scheduler pod"
        );
        assert_eq!(
            failures[5].reason,
            "system-cluster-critical pod `kube-system/coredns-1` is Pending"
        );
    }
}
