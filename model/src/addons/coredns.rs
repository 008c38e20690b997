//! `coredns`: cluster DNS, behind the `kube-dns` Service at the 10th address of the service
//! range (the address kubelets are given as `clusterDNS`).

use serde_json::{Value, json};

use super::{
    AddonContext, AddonManifest, images,
    objects::{
        READ, cluster_role, cluster_role_binding, deployment, namespaced, rule, service_account,
        service_account_subject,
    },
};

const NAME: &str = "coredns";

pub(super) fn render(context: &AddonContext) -> AddonManifest {
    AddonManifest {
        name: NAME.to_owned(),
        version: images::COREDNS_VERSION.to_owned(),
        objects: vec![
            service_account(NAME, NAME, NAME),
            cluster_role(
                "system:coredns",
                NAME,
                NAME,
                json!([
                    rule(
                        &[""],
                        &["endpoints", "services", "pods", "namespaces"],
                        &["list", "watch"]
                    ),
                    rule(&[""], &["nodes"], &["get"]),
                    rule(&["discovery.k8s.io"], &["endpointslices"], READ),
                ]),
            ),
            cluster_role_binding(
                "system:coredns",
                NAME,
                NAME,
                "system:coredns",
                json!([service_account_subject(NAME)]),
            ),
            config_map(context),
            server(),
            service(context),
        ],
    }
}

fn corefile(domain: &str) -> String {
    format!(
        ".:53 {{
    errors
    health {{
        lameduck 5s
    }}
    ready
    kubernetes {domain} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    prometheus :9153
    forward . /etc/resolv.conf {{
        max_concurrent 1000
    }}
    cache 30
    loop
    reload
    loadbalance
}}
"
    )
}

fn config_map(context: &AddonContext) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": namespaced(NAME, NAME, NAME),
        "data": { "Corefile": corefile(&context.cluster_domain) },
    })
}

fn server() -> Value {
    let selector = json!({ "k8s-app": "kube-dns" });
    deployment(
        NAME,
        NAME,
        NAME,
        &selector,
        2,
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 1 } }),
        json!({
            "serviceAccountName": NAME,
            "priorityClassName": "system-cluster-critical",
            "dnsPolicy": "Default",
            "nodeSelector": { "kubernetes.io/os": "linux" },
            "tolerations": [
                { "key": "CriticalAddonsOnly", "operator": "Exists" },
                {
                    "key": "node-role.kubernetes.io/control-plane",
                    "operator": "Exists",
                    "effect": "NoSchedule",
                },
            ],
            "affinity": {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": { "matchLabels": selector },
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }],
                },
            },
            "containers": [{
                "name": NAME,
                "image": images::COREDNS,
                "imagePullPolicy": "IfNotPresent",
                "args": ["-conf", "/etc/coredns/Corefile"],
                "resources": {
                    "limits": { "memory": "170Mi" },
                    "requests": { "cpu": "100m", "memory": "70Mi" },
                },
                "ports": [
                    { "name": "dns", "containerPort": 53, "protocol": "UDP" },
                    { "name": "dns-tcp", "containerPort": 53, "protocol": "TCP" },
                    { "name": "metrics", "containerPort": 9153, "protocol": "TCP" },
                ],
                "livenessProbe": {
                    "httpGet": { "path": "/health", "port": 8080, "scheme": "HTTP" },
                    "initialDelaySeconds": 60,
                    "timeoutSeconds": 5,
                    "successThreshold": 1,
                    "failureThreshold": 5,
                },
                "readinessProbe": {
                    "httpGet": { "path": "/ready", "port": 8181, "scheme": "HTTP" },
                },
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true,
                    "capabilities": { "add": ["NET_BIND_SERVICE"], "drop": ["ALL"] },
                },
                "volumeMounts": [
                    { "name": "config-volume", "mountPath": "/etc/coredns", "readOnly": true },
                ],
            }],
            "volumes": [{
                "name": "config-volume",
                "configMap": {
                    "name": NAME,
                    "items": [{ "key": "Corefile", "path": "Corefile" }],
                },
            }],
        }),
    )
}

fn service(context: &AddonContext) -> Value {
    let mut metadata = namespaced("kube-dns", NAME, NAME);
    metadata["labels"]["k8s-app"] = json!("kube-dns");
    metadata["labels"]["kubernetes.io/name"] = json!("CoreDNS");
    metadata["annotations"] = json!({
        "prometheus.io/port": "9153",
        "prometheus.io/scrape": "true",
    });
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "selector": { "k8s-app": "kube-dns" },
            "clusterIP": context.dns_ip.to_string(),
            "ports": [
                { "name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53 },
                { "name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53 },
                { "name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153 },
            ],
        },
    })
}
