//! Small builders for the objects every addon has (service accounts, RBAC, metadata).

use serde_json::{Value, json};

/// The namespace addons run in.
pub(crate) const KUBE_SYSTEM: &str = "kube-system";

/// Labels every addon object carries.
pub(crate) fn labels(addon: &str, app: &str) -> Value {
    json!({
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/managed-by": "berth",
        "addon.berth.dev/name": addon,
    })
}

/// Metadata of a namespaced object in `kube-system`.
pub(crate) fn namespaced(name: &str, addon: &str, app: &str) -> Value {
    json!({ "name": name, "namespace": KUBE_SYSTEM, "labels": labels(addon, app) })
}

/// Metadata of a cluster-scoped object.
pub(crate) fn cluster_scoped(name: &str, addon: &str, app: &str) -> Value {
    json!({ "name": name, "labels": labels(addon, app) })
}

/// A ServiceAccount in `kube-system`.
pub(crate) fn service_account(name: &str, addon: &str, app: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": namespaced(name, addon, app),
    })
}

/// A ClusterRole with `rules`.
pub(crate) fn cluster_role(name: &str, addon: &str, app: &str, rules: Value) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": cluster_scoped(name, addon, app),
        "rules": rules,
    })
}

/// A subject that is a ServiceAccount in `kube-system`.
pub(crate) fn service_account_subject(name: &str) -> Value {
    json!({ "kind": "ServiceAccount", "name": name, "namespace": KUBE_SYSTEM })
}

/// A ClusterRoleBinding of `role` to `subjects`.
pub(crate) fn cluster_role_binding(
    name: &str,
    addon: &str,
    app: &str,
    role: &str,
    subjects: Value,
) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": cluster_scoped(name, addon, app),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role,
        },
        "subjects": subjects,
    })
}

/// A rule granting `verbs` on `resources` of `groups`.
pub(crate) fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({ "apiGroups": groups, "resources": resources, "verbs": verbs })
}

/// The read verbs.
pub(crate) const READ: &[&str] = &["get", "list", "watch"];

/// Tolerates every taint: for agents that must run on every node.
pub(crate) fn tolerate_everything() -> Value {
    json!([{ "operator": "Exists" }])
}

/// A DaemonSet in `kube-system` whose pods carry `selector` as their labels and have `pod`
/// as their spec.
pub(crate) fn daemon_set(
    name: &str,
    addon: &str,
    app: &str,
    selector: &Value,
    update_strategy: Value,
    pod: Value,
) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": namespaced(name, addon, app),
        "spec": {
            "selector": { "matchLabels": selector },
            "updateStrategy": update_strategy,
            "template": { "metadata": { "labels": selector }, "spec": pod },
        },
    })
}

/// A Deployment in `kube-system` of `replicas` pods that carry `selector` as their labels and
/// have `pod` as their spec.
pub(crate) fn deployment(
    name: &str,
    addon: &str,
    app: &str,
    selector: &Value,
    replicas: u32,
    strategy: Value,
    pod: Value,
) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": namespaced(name, addon, app),
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": { "matchLabels": selector },
            "template": { "metadata": { "labels": selector }, "spec": pod },
        },
    })
}

/// A `hostPath` volume of `path`, which must be of `kind` (`File`, `DirectoryOrCreate`, …).
pub(crate) fn host_path(name: &str, path: &str, kind: &str) -> Value {
    json!({ "name": name, "hostPath": { "path": path, "type": kind } })
}

/// The node's own `/etc/hosts` as a volume, not the copy the kubelet makes at pod start:
/// before cluster DNS works, nodeup keeps the API server's name current there.
pub(crate) fn etc_hosts_volume() -> Value {
    host_path("hosts", "/etc/hosts", "File")
}

/// The mount of [`etc_hosts_volume`].
pub(crate) fn etc_hosts_mount() -> Value {
    json!({ "name": "hosts", "mountPath": "/etc/hosts", "readOnly": true })
}
