//! The kubelet: its configuration (a serde struct shaped like
//! `kubelet.config.k8s.io/v1beta1` `KubeletConfiguration`), its kubeconfig, the cluster CA
//! certificate, its systemd unit and service actions.
//!
//! Workers join by TLS bootstrapping: a bootstrap kubeconfig holding the cluster's
//! bootstrap token lets the kubelet request its client certificate, which it keeps under
//! `/var/lib/kubelet/pki` and rotates. Control-plane kubelets get a client certificate
//! issued by nodeup and talk to the local API server.
//!
//! Labels: the kubelet may only set labels outside the `kubernetes.io` and `k8s.io`
//! namespaces plus a short allowed list (the `NodeRestriction` rules), and refuses to start
//! with any other. Those (`node-role.kubernetes.io/*`, `kops.k8s.io/instancegroup`) are left
//! to a controller and not passed.

use std::collections::BTreeMap;

use berth_model::nodeup_config::{NodeRole, NodeupConfig, render_yaml};
use serde::Serialize;

use super::{
    NodeTask, PlanError, ServiceActionKind, containerd,
    kubeconfig::{Credential, Kubeconfig},
    paths, rendered, role_name, systemd,
};
use crate::{facts::HostFacts, pki};

/// The kubelet's unit.
pub const UNIT: &str = "kubelet.service";
/// The kubelet binary.
const KUBELET_BINARY: &str = "/usr/local/bin/kubelet";
/// Label namespaces the kubelet may set under `kubernetes.io`/`k8s.io`.
const ALLOWED_LABEL_NAMESPACES: &[&str] = &["kubelet.kubernetes.io", "node.kubernetes.io"];
/// Individual labels the kubelet may set under `kubernetes.io`/`k8s.io`.
const ALLOWED_LABELS: &[&str] = &[
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "beta.kubernetes.io/os",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "kubernetes.io/arch",
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
];

/// `/var/lib/kubelet/config.yaml`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeletConfiguration {
    api_version: &'static str,
    kind: &'static str,
    authentication: Authentication,
    authorization: Authorization,
    cgroup_driver: &'static str,
    #[serde(rename = "clusterDNS")]
    cluster_dns: Vec<String>,
    cluster_domain: String,
    container_runtime_endpoint: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    feature_gates: BTreeMap<String, bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_pods: Option<u32>,
    register_with_taints: Vec<Taint>,
    rotate_certificates: bool,
    static_pod_path: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Authentication {
    anonymous: Enabled,
    webhook: Enabled,
    x509: X509,
}

#[derive(Debug, Serialize)]
struct Enabled {
    enabled: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct X509 {
    #[serde(rename = "clientCAFile")]
    client_ca_file: &'static str,
}

#[derive(Debug, Serialize)]
struct Authorization {
    mode: String,
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taint {
    key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    effect: String,
}

/// Parses `key=value:Effect` or `key:Effect`.
///
/// # Errors
/// [`PlanError::InvalidField`] for anything else.
pub fn parse_taint(taint: &str) -> Result<Taint, PlanError> {
    let invalid = || PlanError::InvalidField {
        field: "taints",
        problem: format!("`{taint}` is not `key=value:Effect` or `key:Effect`"),
    };
    let (key_value, effect) = taint.rsplit_once(':').ok_or_else(invalid)?;
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(invalid());
    }
    let (key, value) = key_value.split_once('=').unwrap_or((key_value, ""));
    if key.is_empty() {
        return Err(invalid());
    }
    Ok(Taint {
        key: key.to_owned(),
        value: value.to_owned(),
        effect: effect.to_owned(),
    })
}

/// Whether the kubelet may set `label` on its own node.
#[must_use]
pub fn kubelet_may_set(label: &str) -> bool {
    let Some((namespace, _)) = label.split_once('/') else {
        return true;
    };
    let reserved = |domain: &str| namespace == domain || namespace.ends_with(&format!(".{domain}"));
    if !reserved("kubernetes.io") && !reserved("k8s.io") {
        return true;
    }
    ALLOWED_LABELS.contains(&label)
        || ALLOWED_LABEL_NAMESPACES
            .iter()
            .any(|allowed| namespace == *allowed || namespace.ends_with(&format!(".{allowed}")))
}

/// The kubelet configuration of `config`.
///
/// # Errors
/// [`PlanError::InvalidField`] for a taint or feature gate it cannot read.
pub fn configuration(config: &NodeupConfig) -> Result<KubeletConfiguration, PlanError> {
    let kubelet = &config.kubelet;
    let feature_gates = kubelet
        .feature_gates
        .iter()
        .map(|(gate, value)| match value.as_str() {
            "true" => Ok((gate.clone(), true)),
            "false" => Ok((gate.clone(), false)),
            _ => Err(PlanError::InvalidField {
                field: "kubelet.featureGates",
                problem: format!("`{gate}` is `{value}`, not `true` or `false`"),
            }),
        })
        .collect::<Result<_, _>>()?;
    Ok(KubeletConfiguration {
        api_version: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        authentication: Authentication {
            anonymous: Enabled {
                enabled: kubelet.anonymous_auth,
            },
            webhook: Enabled {
                enabled: kubelet.authentication_token_webhook,
            },
            x509: X509 {
                client_ca_file: paths::CA_CERTIFICATE,
            },
        },
        authorization: Authorization {
            mode: kubelet.authorization_mode.clone(),
        },
        cgroup_driver: "systemd",
        cluster_dns: vec![kubelet.cluster_dns.clone()],
        cluster_domain: kubelet.cluster_domain.clone(),
        container_runtime_endpoint: paths::CONTAINERD_SOCKET,
        feature_gates,
        max_pods: kubelet.max_pods,
        register_with_taints: config
            .taints
            .iter()
            .map(|taint| parse_taint(taint))
            .collect::<Result<_, _>>()?,
        rotate_certificates: config.role == NodeRole::Node,
        static_pod_path: paths::MANIFESTS_DIR,
    })
}

/// `https://<api server>` for workers.
fn api_server_url(config: &NodeupConfig) -> String {
    format!("https://{}", config.api_server)
}

/// Adds the kubelet's directories, files, unit and service actions.
pub(crate) fn tasks(
    config: &NodeupConfig,
    facts: &HostFacts,
    tasks: &mut Vec<NodeTask>,
) -> Result<(), PlanError> {
    for (dir, mode) in [
        (paths::KUBERNETES_DIR, 0o755),
        (paths::PKI_DIR, 0o755),
        (paths::MANIFESTS_DIR, 0o755),
        (paths::KUBELET_DIR, 0o755),
        (paths::KUBELET_PKI_DIR, 0o700),
    ] {
        tasks.push(NodeTask::directory(dir, mode));
    }
    tasks.push(NodeTask::file(
        paths::CA_CERTIFICATE,
        facts.pki.certificate(pki::KUBERNETES_CA)?.to_owned(),
        0o644,
    ));
    let text = rendered(paths::KUBELET_CONFIG, render_yaml(&configuration(config)?))?;
    tasks.push(NodeTask::file(paths::KUBELET_CONFIG, text, 0o644));

    let mut flags = vec![
        format!("--config={}", paths::KUBELET_CONFIG),
        format!("--kubeconfig={}", paths::KUBELET_KUBECONFIG),
    ];
    let kubeconfig_path = match config.role {
        NodeRole::Node => {
            let token = config
                .bootstrap_token
                .as_deref()
                .ok_or(PlanError::MissingField {
                    field: "bootstrapToken",
                    role: role_name(config.role),
                })?;
            let kubeconfig = Kubeconfig::new(
                &config.cluster_name,
                &api_server_url(config),
                paths::CA_CERTIFICATE,
                "kubelet-bootstrap",
                Credential::Token(token),
            );
            let text = rendered(
                paths::KUBELET_BOOTSTRAP_KUBECONFIG,
                render_yaml(&kubeconfig),
            )?;
            tasks.push(NodeTask::file(
                paths::KUBELET_BOOTSTRAP_KUBECONFIG,
                text,
                0o600,
            ));
            flags.push(format!(
                "--bootstrap-kubeconfig={}",
                paths::KUBELET_BOOTSTRAP_KUBECONFIG
            ));
            flags.push(format!("--cert-dir={}", paths::KUBELET_PKI_DIR));
            paths::KUBELET_BOOTSTRAP_KUBECONFIG
        }
        NodeRole::ControlPlane | NodeRole::Bastion => {
            let client = facts.pki.issued("kubelet-client")?;
            let certificate = client.request.certificate_path();
            let key = client.request.key_path();
            let kubeconfig = Kubeconfig::new(
                &config.cluster_name,
                "https://127.0.0.1",
                paths::CA_CERTIFICATE,
                &format!("system:node:{}", facts.identity.hostname),
                Credential::ClientCertificate {
                    certificate: &certificate,
                    key: &key,
                },
            );
            let text = rendered(paths::KUBELET_KUBECONFIG, render_yaml(&kubeconfig))?;
            tasks.push(NodeTask::file(paths::KUBELET_KUBECONFIG, text, 0o600));
            paths::KUBELET_KUBECONFIG
        }
    };
    flags.push(format!("--hostname-override={}", facts.identity.hostname));
    flags.push(format!("--node-ip={}", facts.identity.internal_ip));
    let labels: Vec<String> = config
        .node_labels
        .iter()
        .filter(|(key, _)| kubelet_may_set(key))
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    if !labels.is_empty() {
        flags.push(format!("--node-labels={}", labels.join(",")));
    }
    // The in-tree AWS provider is gone in every supported version; the external cloud
    // controller manager initializes nodes.
    flags.push("--cloud-provider=external".to_owned());
    let exec_start: Vec<String> = std::iter::once(KUBELET_BINARY.to_owned())
        .chain(flags)
        .collect();
    let unit = systemd::UnitFile::service("Kubernetes kubelet", &[containerd::UNIT], &exec_start);
    tasks.push(NodeTask::SystemdUnit {
        name: UNIT.to_owned(),
        contents: unit.to_string(),
    });
    let unit_path = paths::unit_path(UNIT);
    let unit_path = unit_path.to_string_lossy();
    tasks.push(NodeTask::service(
        UNIT,
        ServiceActionKind::Enable,
        &[&unit_path],
    ));
    tasks.push(NodeTask::service(
        UNIT,
        ServiceActionKind::Restart,
        &[
            &unit_path,
            paths::KUBELET_CONFIG,
            kubeconfig_path,
            paths::CA_CERTIFICATE,
            KUBELET_BINARY,
        ],
    ));
    tasks.push(NodeTask::service(UNIT, ServiceActionKind::Start, &[]));
    Ok(())
}
