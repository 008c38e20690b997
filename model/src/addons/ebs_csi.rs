//! `aws-ebs-csi-driver`: EBS volumes for PersistentVolumeClaims. The controller Deployment
//! (driver plus provisioner, attacher, resizer sidecars), the node DaemonSet (driver plus
//! registrar), their RBAC, the `ebs.csi.aws.com` CSIDriver and the default `gp3`
//! StorageClass. Volume snapshots are left out (they need the snapshot CRDs).

use serde_json::{Value, json};

use super::{
    AddonManifest, images,
    objects::{
        READ, cluster_role, cluster_role_binding, cluster_scoped, daemon_set, deployment,
        host_path, rule, service_account, service_account_subject, tolerate_everything,
    },
};

const NAME: &str = "aws-ebs-csi-driver";
const DRIVER: &str = "ebs.csi.aws.com";
const CONTROLLER: &str = "ebs-csi-controller";
const CONTROLLER_ACCOUNT: &str = "ebs-csi-controller-sa";
const NODE: &str = "ebs-csi-node";
const NODE_ACCOUNT: &str = "ebs-csi-node-sa";
const CONTROLLER_SOCKET_DIR: &str = "/var/lib/csi/sockets/pluginproxy/";
const CONTROLLER_SOCKET: &str = "/var/lib/csi/sockets/pluginproxy/csi.sock";

pub(super) fn render() -> AddonManifest {
    let roles = [
        (
            "ebs-external-provisioner-role",
            CONTROLLER_ACCOUNT,
            provisioner_rules(),
        ),
        (
            "ebs-external-attacher-role",
            CONTROLLER_ACCOUNT,
            attacher_rules(),
        ),
        (
            "ebs-external-resizer-role",
            CONTROLLER_ACCOUNT,
            resizer_rules(),
        ),
        ("ebs-csi-node-role", NODE_ACCOUNT, node_rules()),
    ];
    let mut objects = vec![
        service_account(CONTROLLER_ACCOUNT, NAME, CONTROLLER),
        service_account(NODE_ACCOUNT, NAME, NODE),
    ];
    for (role, account, rules) in roles {
        objects.push(cluster_role(role, NAME, NAME, rules));
        objects.push(cluster_role_binding(
            &role.replace("-role", "-binding"),
            NAME,
            NAME,
            role,
            json!([service_account_subject(account)]),
        ));
    }
    objects.extend([csi_driver(), controller(), node(), storage_class()]);
    AddonManifest {
        name: NAME.to_owned(),
        version: images::EBS_CSI_VERSION.to_owned(),
        objects,
    }
}

fn leases() -> Value {
    rule(
        &["coordination.k8s.io"],
        &["leases"],
        &["get", "watch", "list", "delete", "update", "create"],
    )
}

fn events() -> Value {
    rule(
        &[""],
        &["events"],
        &["list", "watch", "create", "update", "patch"],
    )
}

fn provisioner_rules() -> Value {
    json!([
        rule(
            &[""],
            &["persistentvolumes"],
            &["get", "list", "watch", "create", "patch", "delete"]
        ),
        rule(
            &[""],
            &["persistentvolumeclaims"],
            &["get", "list", "watch", "update"]
        ),
        rule(&["storage.k8s.io"], &["storageclasses"], READ),
        events(),
        rule(&["storage.k8s.io"], &["csinodes"], READ),
        rule(&[""], &["nodes"], READ),
        leases(),
        rule(&["storage.k8s.io"], &["volumeattachments"], READ),
    ])
}

fn attacher_rules() -> Value {
    json!([
        rule(
            &[""],
            &["persistentvolumes"],
            &["get", "list", "watch", "update", "patch"]
        ),
        rule(&[""], &["nodes"], READ),
        rule(&["storage.k8s.io"], &["csinodes"], READ),
        rule(
            &["storage.k8s.io"],
            &["volumeattachments"],
            &["get", "list", "watch", "update", "patch"]
        ),
        rule(
            &["storage.k8s.io"],
            &["volumeattachments/status"],
            &["patch"]
        ),
        leases(),
    ])
}

fn resizer_rules() -> Value {
    json!([
        rule(
            &[""],
            &["persistentvolumes"],
            &["get", "list", "watch", "update", "patch"]
        ),
        rule(&[""], &["persistentvolumeclaims"], READ),
        rule(
            &[""],
            &["persistentvolumeclaims/status"],
            &["update", "patch"]
        ),
        events(),
        rule(&[""], &["pods"], READ),
        leases(),
    ])
}

fn node_rules() -> Value {
    json!([
        rule(&[""], &["nodes"], &["get", "patch"]),
        rule(&["storage.k8s.io"], &["volumeattachments"], READ),
        rule(&["storage.k8s.io"], &["csinodes"], &["get"]),
    ])
}

fn csi_driver() -> Value {
    json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": cluster_scoped(DRIVER, NAME, NAME),
        "spec": {
            "attachRequired": true,
            "podInfoOnMount": false,
            "fsGroupPolicy": "File",
        },
    })
}

fn node_name_env() -> Value {
    json!({ "name": "CSI_NODE_NAME", "valueFrom": { "fieldRef": { "fieldPath": "spec.nodeName" } } })
}

/// What every container of the driver asks for.
fn requests() -> Value {
    json!({ "requests": { "cpu": "10m", "memory": "40Mi" } })
}

/// The security context of every container but the node plugin.
fn unprivileged() -> Value {
    json!({ "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true })
}

fn healthz() -> Value {
    json!({
        "httpGet": { "path": "/healthz", "port": "healthz" },
        "initialDelaySeconds": 10,
        "timeoutSeconds": 3,
        "periodSeconds": 10,
        "failureThreshold": 5,
    })
}

/// A sidecar of the controller talking to the driver's socket.
fn sidecar(name: &str, image: &str, extra_args: &[&str]) -> Value {
    let mut args = vec![
        "--csi-address=$(ADDRESS)",
        "--v=2",
        "--leader-election=true",
    ];
    args.extend_from_slice(extra_args);
    json!({
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": [{ "name": "ADDRESS", "value": CONTROLLER_SOCKET }],
        "resources": requests(),
        "securityContext": unprivileged(),
        "volumeMounts": [{ "name": "socket-dir", "mountPath": CONTROLLER_SOCKET_DIR }],
    })
}

fn liveness_probe(socket_dir: &str) -> Value {
    json!({
        "name": "liveness-probe",
        "image": images::CSI_LIVENESS_PROBE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--csi-address=/csi/csi.sock"],
        "resources": requests(),
        "securityContext": unprivileged(),
        "volumeMounts": [{ "name": socket_dir, "mountPath": "/csi" }],
    })
}

fn controller() -> Value {
    deployment(
        CONTROLLER,
        NAME,
        CONTROLLER,
        &json!({ "app": CONTROLLER }),
        2,
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 1 } }),
        json!({
            "serviceAccountName": CONTROLLER_ACCOUNT,
            "priorityClassName": "system-cluster-critical",
            "nodeSelector": { "kubernetes.io/os": "linux" },
            "tolerations": [
                { "key": "CriticalAddonsOnly", "operator": "Exists" },
                { "effect": "NoExecute", "operator": "Exists", "tolerationSeconds": 300 },
            ],
            "securityContext": {
                "runAsNonRoot": true,
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "fsGroup": 1000,
            },
            "containers": [
                {
                    "name": "ebs-plugin",
                    "image": images::EBS_CSI_DRIVER,
                    "imagePullPolicy": "IfNotPresent",
                    "args": [
                        "controller",
                        "--endpoint=$(CSI_ENDPOINT)",
                        "--logging-format=text",
                        "--v=2",
                    ],
                    "env": [
                        { "name": "CSI_ENDPOINT", "value": format!("unix://{CONTROLLER_SOCKET}") },
                        node_name_env(),
                    ],
                    "ports": [{ "name": "healthz", "containerPort": 9808, "protocol": "TCP" }],
                    "livenessProbe": healthz(),
                    "readinessProbe": healthz(),
                    "resources": requests(),
                    "securityContext": unprivileged(),
                    "volumeMounts": [{ "name": "socket-dir", "mountPath": CONTROLLER_SOCKET_DIR }],
                },
                sidecar("csi-provisioner", images::CSI_PROVISIONER, &[
                    "--timeout=60s",
                    "--feature-gates=Topology=true",
                    "--extra-create-metadata",
                    "--default-fstype=ext4",
                ]),
                sidecar("csi-attacher", images::CSI_ATTACHER, &["--timeout=60s"]),
                sidecar("csi-resizer", images::CSI_RESIZER, &[
                    "--timeout=60s",
                    "--handle-volume-inuse-error=false",
                ]),
                liveness_probe("socket-dir"),
            ],
            "volumes": [{ "name": "socket-dir", "emptyDir": {} }],
        }),
    )
}

fn node() -> Value {
    let plugin_dir = format!("/var/lib/kubelet/plugins/{DRIVER}/");
    daemon_set(
        NODE,
        NAME,
        NODE,
        &json!({ "app": NODE }),
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": "10%" } }),
        json!({
            "serviceAccountName": NODE_ACCOUNT,
            "priorityClassName": "system-node-critical",
            "nodeSelector": { "kubernetes.io/os": "linux" },
            "tolerations": tolerate_everything(),
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {
                    "name": "ebs-plugin",
                    "image": images::EBS_CSI_DRIVER,
                    "imagePullPolicy": "IfNotPresent",
                    "args": ["node", "--endpoint=$(CSI_ENDPOINT)", "--logging-format=text", "--v=2"],
                    "env": [
                        { "name": "CSI_ENDPOINT", "value": "unix:/csi/csi.sock" },
                        node_name_env(),
                    ],
                    "ports": [{ "name": "healthz", "containerPort": 9808, "protocol": "TCP" }],
                    "livenessProbe": healthz(),
                    "resources": requests(),
                    "securityContext": { "privileged": true, "readOnlyRootFilesystem": true },
                    "volumeMounts": [
                        {
                            "name": "kubelet-dir",
                            "mountPath": "/var/lib/kubelet",
                            "mountPropagation": "Bidirectional",
                        },
                        { "name": "plugin-dir", "mountPath": "/csi" },
                        { "name": "device-dir", "mountPath": "/dev" },
                    ],
                },
                {
                    "name": "node-driver-registrar",
                    "image": images::CSI_NODE_DRIVER_REGISTRAR,
                    "imagePullPolicy": "IfNotPresent",
                    "args": [
                        "--csi-address=$(ADDRESS)",
                        "--kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)",
                        "--v=2",
                    ],
                    "env": [
                        { "name": "ADDRESS", "value": "/csi/csi.sock" },
                        {
                            "name": "DRIVER_REG_SOCK_PATH",
                            "value": format!("{plugin_dir}csi.sock"),
                        },
                    ],
                    "resources": requests(),
                    "securityContext": unprivileged(),
                    "volumeMounts": [
                        { "name": "plugin-dir", "mountPath": "/csi" },
                        { "name": "registration-dir", "mountPath": "/registration" },
                    ],
                },
                liveness_probe("plugin-dir"),
            ],
            "volumes": [
                host_path("kubelet-dir", "/var/lib/kubelet", "Directory"),
                host_path("plugin-dir", &plugin_dir, "DirectoryOrCreate"),
                host_path("registration-dir", "/var/lib/kubelet/plugins_registry/", "Directory"),
                host_path("device-dir", "/dev", "Directory"),
            ],
        }),
    )
}

fn storage_class() -> Value {
    let mut metadata = cluster_scoped("gp3", NAME, NAME);
    metadata["annotations"] = json!({ "storageclass.kubernetes.io/is-default-class": "true" });
    json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": metadata,
        "provisioner": DRIVER,
        "parameters": { "type": "gp3", "encrypted": "true" },
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": true,
    })
}
