//! Marking the nodes a rolling update is about to replace.
//!
//! At the start of a group's roll its outdated nodes get the taint
//! [`SCHEDULED_FOR_UPDATE_TAINT`] with effect `PreferNoSchedule`, kops's, so that pods evicted
//! from the first old nodes prefer the new ones over the old ones still to go. Before a node
//! is drained it gets the label [`EXCLUDE_FROM_LOAD_BALANCERS_LABEL`] (with its cordon, in one
//! patch: see [`super::drain::drain_labelled`]), which the service controller honours by
//! taking the node out of `type: LoadBalancer` services' load balancers.

use k8s_openapi::api::core::v1::{Node, Taint};
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};

use super::{KubeError, status_code};

/// kops's taint key, kept so that tolerations and tooling written for kops keep working.
pub const SCHEDULED_FOR_UPDATE_TAINT: &str = "kops.k8s.io/scheduled-for-update";

/// The effect of [`SCHEDULED_FOR_UPDATE_TAINT`]: a preference, never a refusal, so that pods
/// still schedule on old nodes when nothing else fits.
pub const SCHEDULED_FOR_UPDATE_EFFECT: &str = "PreferNoSchedule";

/// The well-known label that takes a node out of external load balancers.
pub const EXCLUDE_FROM_LOAD_BALANCERS_LABEL: &str =
    "node.kubernetes.io/exclude-from-external-load-balancers";

/// How many times a taint is written again after a conflicting change to the node.
const CONFLICT_RETRIES: usize = 5;

/// Whether `node` carries the scheduled-for-update taint.
#[must_use]
pub fn is_scheduled_for_update(node: &Node) -> bool {
    node.spec
        .as_ref()
        .and_then(|spec| spec.taints.as_deref())
        .unwrap_or_default()
        .iter()
        .any(|taint| {
            taint.key == SCHEDULED_FOR_UPDATE_TAINT && taint.effect == SCHEDULED_FOR_UPDATE_EFFECT
        })
}

/// Adds the scheduled-for-update taint to `node` (as last read: `current`), keeping its other
/// taints. Returns `false` when it was already there (nothing is written).
///
/// The node's whole taint list is written with the `resourceVersion` it was read at, so a
/// concurrent change (another taint, a kubelet update) makes the write fail with a conflict
/// rather than be lost; then the node is read again and the write repeated.
///
/// # Errors
/// When the node cannot be read or patched, or keeps changing under the write.
pub async fn taint_scheduled_for_update(client: &Client, current: Node) -> Result<bool, KubeError> {
    let api = Api::<Node>::all(client.clone());
    let name = current.metadata.name.clone().unwrap_or_default();
    let mut node = current;
    let mut attempt = 0;
    loop {
        if is_scheduled_for_update(&node) {
            return Ok(false);
        }
        let mut taints = node
            .spec
            .as_ref()
            .and_then(|spec| spec.taints.clone())
            .unwrap_or_default();
        taints.push(Taint {
            key: SCHEDULED_FOR_UPDATE_TAINT.to_owned(),
            effect: SCHEDULED_FOR_UPDATE_EFFECT.to_owned(),
            ..Taint::default()
        });
        let patch = serde_json::json!({
            "metadata": { "resourceVersion": node.metadata.resource_version },
            "spec": { "taints": taints },
        });
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => return Ok(true),
            Err(error) if status_code(&error) == Some(409) && attempt < CONFLICT_RETRIES => {
                attempt += 1;
                node = api
                    .get(&name)
                    .await
                    .map_err(KubeError::request("get", format!("node `{name}`")))?;
            }
            Err(error) => {
                return Err(KubeError::request("taint", format!("node `{name}`"))(error));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::NodeSpec;

    use super::*;

    fn node(taints: &[(&str, &str)]) -> Node {
        Node {
            spec: Some(NodeSpec {
                taints: Some(
                    taints
                        .iter()
                        .map(|(key, effect)| Taint {
                            key: (*key).to_owned(),
                            effect: (*effect).to_owned(),
                            ..Taint::default()
                        })
                        .collect(),
                ),
                ..NodeSpec::default()
            }),
            ..Node::default()
        }
    }

    #[test]
    fn only_the_key_with_its_effect_counts() {
        assert!(is_scheduled_for_update(&node(&[
            ("dedicated", "NoSchedule"),
            (SCHEDULED_FOR_UPDATE_TAINT, "PreferNoSchedule"),
        ])));
        assert!(!is_scheduled_for_update(&node(&[(
            SCHEDULED_FOR_UPDATE_TAINT,
            "NoSchedule"
        )])));
        assert!(!is_scheduled_for_update(&node(&[])));
        assert!(!is_scheduled_for_update(&Node::default()));
    }
}
