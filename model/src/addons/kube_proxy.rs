//! `kube-proxy`: service routing on every node, when Cilium does not replace it
//! (`spec.kubeProxy.enabled`).

use serde_json::{Value, json};

use super::{
    AddonContext, AddonManifest, images,
    objects::{
        cluster_role_binding, daemon_set, etc_hosts_mount, etc_hosts_volume, host_path, namespaced,
        service_account, service_account_subject, tolerate_everything,
    },
};

const NAME: &str = "kube-proxy";
const CONFIG_DIR: &str = "/var/lib/kube-proxy";

pub(super) fn render(context: &AddonContext) -> AddonManifest {
    AddonManifest {
        name: NAME.to_owned(),
        version: context.version_number(),
        objects: vec![
            service_account(NAME, NAME, NAME),
            cluster_role_binding(
                "berth:node-proxier",
                NAME,
                NAME,
                "system:node-proxier",
                json!([service_account_subject(NAME)]),
            ),
            config_map(context),
            proxy(context),
        ],
    }
}

fn config_map(context: &AddonContext) -> Value {
    let configuration = format!(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clusterCIDR: {pod_cidr}
mode: iptables
clientConnection:
  kubeconfig: {CONFIG_DIR}/kubeconfig.conf
",
        pod_cidr = context.pod_cidr,
    );
    // kube-proxy is what makes the `kubernetes` Service address work, so it reaches the
    // API server by name, with its service-account token.
    let kubeconfig = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: default
  cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://{api}
contexts:
- name: default
  context:
    cluster: default
    namespace: default
    user: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
",
        api = context.api_internal_name,
    );
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": namespaced(NAME, NAME, NAME),
        "data": {
            "config.conf": configuration,
            "kubeconfig.conf": kubeconfig,
        },
    })
}

fn proxy(context: &AddonContext) -> Value {
    daemon_set(
        NAME,
        NAME,
        NAME,
        &json!({ "k8s-app": NAME }),
        json!({ "type": "RollingUpdate" }),
        json!({
            "serviceAccountName": NAME,
            "priorityClassName": "system-node-critical",
            "hostNetwork": true,
            "nodeSelector": { "kubernetes.io/os": "linux" },
            "tolerations": tolerate_everything(),
            "containers": [{
                "name": NAME,
                "image": format!("{}:v{}", images::KUBE_PROXY_REPOSITORY, context.version_number()),
                "imagePullPolicy": "IfNotPresent",
                "command": [
                    "/usr/local/bin/kube-proxy",
                    format!("--config={CONFIG_DIR}/config.conf"),
                    "--hostname-override=$(NODE_NAME)",
                ],
                "env": [{
                    "name": "NODE_NAME",
                    "valueFrom": { "fieldRef": { "fieldPath": "spec.nodeName" } },
                }],
                "resources": { "requests": { "cpu": "100m" } },
                "securityContext": { "privileged": true },
                "volumeMounts": [
                    { "name": NAME, "mountPath": CONFIG_DIR },
                    { "name": "xtables-lock", "mountPath": "/run/xtables.lock" },
                    { "name": "lib-modules", "mountPath": "/lib/modules", "readOnly": true },
                    etc_hosts_mount(),
                ],
            }],
            "volumes": [
                { "name": NAME, "configMap": { "name": NAME } },
                etc_hosts_volume(),
                host_path("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                { "name": "lib-modules", "hostPath": { "path": "/lib/modules" } },
            ],
        }),
    )
}
