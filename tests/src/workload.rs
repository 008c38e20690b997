//! A workload for drains to evict: a Deployment on the nodes of one instance group behind a
//! PodDisruptionBudget, in a namespace of its own, and whether its pods serve.

use std::time::Duration;

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Namespace, Pod, ServiceAccount},
    policy::v1::PodDisruptionBudget,
};
use kube::{Api, Client, api::PostParams};
use serde_json::json;

use crate::instance_nodes::INSTANCE_GROUP_LABEL;

/// How long the namespace's default service account may take to appear.
const SERVICE_ACCOUNT_TIMEOUT: Duration = Duration::from_secs(60);

/// A Deployment `name` of `replicas` pause pods (labelled `app: <name>`) on the nodes of
/// `instance_group`, behind a PodDisruptionBudget `name`, in the namespace `namespace`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtectedDeployment<'a> {
    /// The namespace, created by [`ProtectedDeployment::create`].
    pub namespace: &'a str,
    /// The name of the Deployment, of the budget and of the pods' `app` label.
    pub name: &'a str,
    /// How many pods.
    pub replicas: u32,
    /// The instance group (`kops.k8s.io/instancegroup` label) whose nodes run the pods.
    pub instance_group: &'a str,
    /// The budget's limit: `{"minAvailable": …}` or `{"maxUnavailable": …}`.
    pub budget: serde_json::Value,
}

impl ProtectedDeployment<'_> {
    /// Creates the namespace, waits for its default service account (which the controller
    /// manager creates, so the control plane must run one), and creates the Deployment and
    /// the budget. Does not wait for the pods.
    ///
    /// # Panics
    /// When the API server refuses, or the service account does not appear within a minute.
    pub async fn create(&self, client: &Client) {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": self.namespace}}))
                .expect("a valid namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .expect("create the namespace");
        self.wait_for_default_service_account(client).await;

        let labels = json!({"app": self.name});
        let deployment: Deployment = serde_json::from_value(json!({
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "replicas": self.replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "nodeSelector": {INSTANCE_GROUP_LABEL: self.instance_group},
                        "containers": [{"name": "web", "image": "registry.k8s.io/pause:3.10"}]
                    }
                }
            }
        }))
        .expect("a valid deployment");
        Api::<Deployment>::namespaced(client.clone(), self.namespace)
            .create(&PostParams::default(), &deployment)
            .await
            .expect("create the deployment");

        let mut spec = json!({"selector": {"matchLabels": labels}});
        spec.as_object_mut()
            .expect("an object")
            .extend(self.budget.as_object().expect("a budget object").clone());
        let budget: PodDisruptionBudget = serde_json::from_value(json!({
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": spec
        }))
        .expect("a valid budget");
        Api::<PodDisruptionBudget>::namespaced(client.clone(), self.namespace)
            .create(&PostParams::default(), &budget)
            .await
            .expect("create the budget");
    }

    async fn wait_for_default_service_account(&self, client: &Client) {
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), self.namespace);
        let deadline = tokio::time::Instant::now() + SERVICE_ACCOUNT_TIMEOUT;
        while accounts.get_opt("default").await.ok().flatten().is_none() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for the default service account of `{}`",
                self.namespace
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Whether a pod serves: Ready and not being deleted.
#[must_use]
pub fn is_serving(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|status| status.conditions.as_ref())
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|condition| condition.type_ == "Ready" && condition.status == "True")
            })
}
