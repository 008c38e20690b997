//! `aws-cloud-controller-manager`: the external AWS cloud provider (node addresses and
//! zones, `uninitialized` taint removal, Service load balancers). Runs on control-plane
//! nodes and talks to the local API server, so it works before any CNI does.

use serde_json::{Value, json};

use super::{
    AddonContext, AddonManifest, images,
    objects::{
        cluster_role, cluster_role_binding, daemon_set, namespaced, rule, service_account,
        service_account_subject,
    },
};

const NAME: &str = "aws-cloud-controller-manager";
const ACCOUNT: &str = "cloud-controller-manager";
const ROLE: &str = "system:cloud-controller-manager";

pub(super) fn render(context: &AddonContext) -> AddonManifest {
    let version = images::cloud_controller_version(context.minor());
    AddonManifest {
        name: NAME.to_owned(),
        version: version.to_owned(),
        objects: vec![
            service_account(ACCOUNT, NAME, NAME),
            cluster_role(ROLE, NAME, NAME, rules()),
            cluster_role_binding(
                ROLE,
                NAME,
                NAME,
                ROLE,
                json!([service_account_subject(ACCOUNT)]),
            ),
            authentication_reader(),
            manager(context, version),
        ],
    }
}

fn rules() -> Value {
    json!([
        rule(&[""], &["events"], &["create", "patch", "update"]),
        rule(&[""], &["nodes"], &["*"]),
        rule(&[""], &["nodes/status"], &["patch"]),
        rule(&[""], &["services"], &["list", "patch", "update", "watch"]),
        rule(
            &[""],
            &["services/status"],
            &["list", "patch", "update", "watch"]
        ),
        rule(&[""], &["serviceaccounts"], &["create", "get"]),
        rule(&[""], &["serviceaccounts/token"], &["create"]),
        rule(
            &[""],
            &["persistentvolumes"],
            &["get", "list", "update", "watch"]
        ),
        rule(
            &[""],
            &["endpoints"],
            &["create", "get", "list", "watch", "update"]
        ),
        rule(
            &["coordination.k8s.io"],
            &["leases"],
            &["create", "get", "list", "watch", "update"],
        ),
    ])
}

/// Lets the manager read the API server's client-CA ConfigMap to authenticate requests.
fn authentication_reader() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": namespaced("cloud-controller-manager:apiserver-authentication-reader", NAME, NAME),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "extension-apiserver-authentication-reader",
        },
        "subjects": [service_account_subject(ACCOUNT)],
    })
}

fn manager(context: &AddonContext, version: &str) -> Value {
    daemon_set(
        NAME,
        NAME,
        NAME,
        &json!({ "k8s-app": NAME }),
        json!({ "type": "RollingUpdate" }),
        json!({
            "serviceAccountName": ACCOUNT,
            "priorityClassName": "system-node-critical",
            "hostNetwork": true,
            "nodeSelector": { "node-role.kubernetes.io/control-plane": "" },
            "tolerations": [
                {
                    "key": "node.cloudprovider.kubernetes.io/uninitialized",
                    "value": "true",
                    "effect": "NoSchedule",
                },
                {
                    "key": "node-role.kubernetes.io/control-plane",
                    "operator": "Exists",
                    "effect": "NoSchedule",
                },
                { "key": "node.kubernetes.io/not-ready", "operator": "Exists" },
            ],
            "containers": [{
                "name": NAME,
                "image": format!("{}:v{version}", images::CLOUD_CONTROLLER_REPOSITORY),
                "imagePullPolicy": "IfNotPresent",
                "args": [
                    "--v=2",
                    "--cloud-provider=aws",
                    format!("--cluster-name={}", context.cluster_name),
                    "--configure-cloud-routes=false",
                    "--use-service-account-credentials=true",
                ],
                "env": [
                    // The local API server: no Service routing exists yet.
                    { "name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1" },
                    { "name": "KUBERNETES_SERVICE_PORT", "value": "443" },
                ],
                "resources": { "requests": { "cpu": "200m" } },
            }],
        }),
    )
}
