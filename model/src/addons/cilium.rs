//! `cilium`: the default CNI. A reduced but complete install: the agent DaemonSet, the
//! operator Deployment (which installs Cilium's CRDs itself), their service accounts and
//! RBAC, and the `cilium-config` ConfigMap both read. With `enableNodePort` (the default)
//! Cilium replaces kube-proxy and reaches the API server by name.

use serde_json::{Value, json};

use super::{
    AddonContext, AddonManifest, images,
    objects::{
        READ, cluster_role, cluster_role_binding, daemon_set, deployment, etc_hosts_mount,
        etc_hosts_volume, host_path, namespaced, rule, service_account, service_account_subject,
        tolerate_everything,
    },
};
use crate::CiliumNetworkingSpec;

const NAME: &str = "cilium";
const AGENT: &str = "cilium";
const OPERATOR: &str = "cilium-operator";
const CONFIG: &str = "cilium-config";
const CONFIG_DIR: &str = "/tmp/cilium/config-map";
/// The API server's port (kops serves it on 443).
const API_PORT: &str = "443";
/// The agent's health endpoint's port (on the node's loopback).
const AGENT_HEALTH_PORT: u16 = 9879;
/// The operator's API and health endpoint's port (on the node's loopback).
const OPERATOR_API_PORT: u16 = 9234;

pub(super) fn render(context: &AddonContext, spec: &CiliumNetworkingSpec) -> AddonManifest {
    let version = spec
        .version
        .as_deref()
        .map_or(images::CILIUM_VERSION, |version| {
            version.strip_prefix('v').unwrap_or(version)
        })
        .to_owned();
    let settings = Settings {
        version: version.clone(),
        replace_kube_proxy: !context.kube_proxy,
        hubble: spec
            .hubble
            .as_ref()
            .and_then(|hubble| hubble.enabled)
            .unwrap_or(false),
    };
    AddonManifest {
        name: NAME.to_owned(),
        version,
        objects: vec![
            service_account(AGENT, NAME, AGENT),
            service_account(OPERATOR, NAME, OPERATOR),
            cluster_role(AGENT, NAME, AGENT, agent_rules()),
            cluster_role(OPERATOR, NAME, OPERATOR, operator_rules()),
            cluster_role_binding(
                AGENT,
                NAME,
                AGENT,
                AGENT,
                json!([service_account_subject(AGENT)]),
            ),
            cluster_role_binding(
                OPERATOR,
                NAME,
                OPERATOR,
                OPERATOR,
                json!([service_account_subject(OPERATOR)]),
            ),
            config_map(&settings),
            agent(context, &settings),
            operator(context, &settings),
        ],
    }
}

struct Settings {
    version: String,
    replace_kube_proxy: bool,
    hubble: bool,
}

fn agent_rules() -> Value {
    json!([
        rule(&["networking.k8s.io"], &["networkpolicies"], READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(
            &[""],
            &["namespaces", "services", "pods", "endpoints", "nodes"],
            READ
        ),
        rule(&[""], &["nodes/status"], &["patch"]),
        rule(&[""], &["pods"], &["delete"]),
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            READ
        ),
        rule(
            &["cilium.io"],
            &[
                "ciliumnetworkpolicies",
                "ciliumclusterwidenetworkpolicies",
                "ciliumendpoints",
                "ciliumidentities",
                "ciliumnodes",
                "ciliumnodeconfigs",
                "ciliumlocalredirectpolicies",
                "ciliumegressgatewaypolicies",
                "ciliumloadbalancerippools",
                "ciliumcidrgroups",
                "ciliumbgpnodeconfigs",
                "ciliumbgpadvertisements",
                "ciliumbgppeerconfigs",
                "ciliumbgppeeringpolicies",
                "ciliumenvoyconfigs",
                "ciliumclusterwideenvoyconfigs",
                "ciliumpodippools",
            ],
            READ,
        ),
        rule(
            &["cilium.io"],
            &["ciliumidentities", "ciliumendpoints", "ciliumnodes"],
            &["create", "update", "delete", "patch"],
        ),
        rule(
            &["cilium.io"],
            &[
                "ciliumnetworkpolicies/status",
                "ciliumclusterwidenetworkpolicies/status",
                "ciliumendpoints/status",
                "ciliumendpoints",
                "ciliumnodes/status",
                "ciliuml2announcementpolicies/status",
                "ciliumbgpnodeconfigs/status",
            ],
            &["update", "patch"],
        ),
    ])
}

fn operator_rules() -> Value {
    json!([
        rule(&[""], &["pods"], &["get", "list", "watch", "delete"]),
        rule(&[""], &["nodes"], &["list", "watch"]),
        rule(&[""], &["nodes", "nodes/status"], &["patch"]),
        rule(&[""], &["services", "endpoints", "namespaces"], READ),
        rule(&[""], &["services/status"], &["update", "patch"]),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            &["create", "get", "list", "watch", "update"],
        ),
        rule(&["cilium.io"], &["*"], &["*"]),
        rule(
            &["coordination.k8s.io"],
            &["leases"],
            &["create", "get", "update"],
        ),
    ])
}

fn config_map(settings: &Settings) -> Value {
    let mut data = json!({
        "identity-allocation-mode": "crd",
        "cluster-name": "default",
        "ipam": "kubernetes",
        "routing-mode": "tunnel",
        "tunnel-protocol": "vxlan",
        "enable-ipv4": "true",
        "enable-ipv6": "false",
        "enable-policy": "default",
        "kube-proxy-replacement": settings.replace_kube_proxy.to_string(),
        "enable-hubble": settings.hubble.to_string(),
        "write-cni-conf-when-ready": "/host/etc/cni/net.d/05-cilium.conflist",
        "cni-exclusive": "true",
        "operator-api-serve-addr": format!("127.0.0.1:{OPERATOR_API_PORT}"),
        "agent-health-port": AGENT_HEALTH_PORT.to_string(),
    });
    if settings.hubble {
        data["hubble-listen-address"] = json!(":4244");
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": namespaced(CONFIG, NAME, AGENT),
        "data": data,
    })
}

/// Environment both components share: their node, namespace and, without kube-proxy, the
/// API server's address.
fn env(context: &AddonContext, settings: &Settings) -> Value {
    let mut env = vec![
        json!({
            "name": "K8S_NODE_NAME",
            "valueFrom": { "fieldRef": { "apiVersion": "v1", "fieldPath": "spec.nodeName" } },
        }),
        json!({
            "name": "CILIUM_K8S_NAMESPACE",
            "valueFrom": {
                "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.namespace" },
            },
        }),
    ];
    if settings.replace_kube_proxy {
        env.push(json!({ "name": "KUBERNETES_SERVICE_HOST", "value": context.api_internal_name }));
        env.push(json!({ "name": "KUBERNETES_SERVICE_PORT", "value": API_PORT }));
    }
    Value::Array(env)
}

/// The `cilium-config` ConfigMap as a volume: both components read their settings from it.
fn config_volume() -> Value {
    json!({ "name": "cilium-config-path", "configMap": { "name": CONFIG } })
}

/// The mount of [`config_volume`] at [`CONFIG_DIR`].
fn config_mount() -> Value {
    json!({ "name": "cilium-config-path", "mountPath": CONFIG_DIR, "readOnly": true })
}

/// The agent's brief health check, failing after `failure_threshold` misses.
fn agent_health(failure_threshold: u32) -> Value {
    json!({
        "httpGet": {
            "host": "127.0.0.1",
            "path": "/healthz",
            "port": AGENT_HEALTH_PORT,
            "scheme": "HTTP",
            "httpHeaders": [{ "name": "brief", "value": "true" }],
        },
        "periodSeconds": 30,
        "failureThreshold": failure_threshold,
        "timeoutSeconds": 5,
    })
}

fn agent(context: &AddonContext, settings: &Settings) -> Value {
    let image = format!("{}:v{}", images::CILIUM_REPOSITORY, settings.version);
    daemon_set(
        AGENT,
        NAME,
        AGENT,
        &json!({ "k8s-app": AGENT }),
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 2 } }),
        json!({
            "serviceAccountName": AGENT,
            "priorityClassName": "system-node-critical",
            "hostNetwork": true,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 1,
            "nodeSelector": { "kubernetes.io/os": "linux" },
            "tolerations": tolerate_everything(),
            "initContainers": [{
                "name": "install-cni-binaries",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["/install-plugin.sh"],
                "resources": { "requests": { "cpu": "100m", "memory": "10Mi" } },
                "securityContext": { "capabilities": { "drop": ["ALL"] } },
                "volumeMounts": [{ "name": "cni-path", "mountPath": "/host/opt/cni/bin" }],
            }],
            "containers": [{
                "name": "cilium-agent",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["cilium-agent"],
                "args": [format!("--config-dir={CONFIG_DIR}")],
                "env": env(context, settings),
                "livenessProbe": agent_health(10),
                "readinessProbe": agent_health(3),
                "resources": { "requests": { "cpu": "25m", "memory": "128Mi" } },
                "securityContext": { "privileged": true },
                "volumeMounts": [
                    {
                        "name": "bpf-maps",
                        "mountPath": "/sys/fs/bpf",
                        "mountPropagation": "HostToContainer",
                    },
                    { "name": "cilium-run", "mountPath": "/var/run/cilium" },
                    { "name": "etc-cni-netd", "mountPath": "/host/etc/cni/net.d" },
                    { "name": "lib-modules", "mountPath": "/lib/modules", "readOnly": true },
                    { "name": "xtables-lock", "mountPath": "/run/xtables.lock" },
                    config_mount(),
                    etc_hosts_mount(),
                ],
            }],
            "volumes": [
                etc_hosts_volume(),
                host_path("cilium-run", "/var/run/cilium", "DirectoryOrCreate"),
                host_path("bpf-maps", "/sys/fs/bpf", "DirectoryOrCreate"),
                host_path("cni-path", "/opt/cni/bin", "DirectoryOrCreate"),
                host_path("etc-cni-netd", "/etc/cni/net.d", "DirectoryOrCreate"),
                host_path("lib-modules", "/lib/modules", "Directory"),
                host_path("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                config_volume(),
            ],
        }),
    )
}

fn operator(context: &AddonContext, settings: &Settings) -> Value {
    deployment(
        OPERATOR,
        NAME,
        OPERATOR,
        &json!({ "io.cilium/app": "operator", "name": OPERATOR }),
        1,
        json!({
            "type": "RollingUpdate",
            "rollingUpdate": { "maxSurge": 0, "maxUnavailable": 1 },
        }),
        json!({
            "serviceAccountName": OPERATOR,
            "priorityClassName": "system-cluster-critical",
            "hostNetwork": true,
            "nodeSelector": { "kubernetes.io/os": "linux" },
            "tolerations": tolerate_everything(),
            "containers": [{
                "name": OPERATOR,
                "image": format!("{}:v{}", images::CILIUM_OPERATOR_REPOSITORY, settings.version),
                "imagePullPolicy": "IfNotPresent",
                "command": ["cilium-operator-generic"],
                "args": [format!("--config-dir={CONFIG_DIR}")],
                "env": env(context, settings),
                "livenessProbe": {
                    "httpGet": {
                        "host": "127.0.0.1",
                        "path": "/healthz",
                        "port": OPERATOR_API_PORT,
                        "scheme": "HTTP",
                    },
                    "initialDelaySeconds": 60,
                    "periodSeconds": 10,
                    "timeoutSeconds": 3,
                },
                "resources": { "requests": { "cpu": "25m", "memory": "128Mi" } },
                "volumeMounts": [
                    config_mount(),
                    etc_hosts_mount(),
                ],
            }],
            "volumes": [
                config_volume(),
                etc_hosts_volume(),
            ],
        }),
    )
}
