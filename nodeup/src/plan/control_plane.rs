//! The control plane: certificates and keys on disk, the controllers' kubeconfigs, the
//! bootstrap token file, etcd (see [`super::etcd`]) and the static pods of
//! kube-apiserver, kube-controller-manager and kube-scheduler.
//!
//! Flags are the ones every supported Kubernetes version (1.28 to 1.36) accepts: no removed
//! flag (`--insecure-port`, in-tree `--cloud-provider=aws`) is ever written; images are the
//! cluster's exact version. The API server
//! listens on 443 as kops's does, talks to etcd `main` on 4001 and sends events to etcd
//! `events` on 4002. Bootstrap-token authentication is on so worker kubelets can ask for
//! their certificates; the controller manager signs those requests with the cluster CA,
//! whose key is on control-plane nodes only.

use berth_model::nodeup_config::{ControlPlaneConfig, NodeupConfig, render_yaml};

use super::{
    NodeTask, PlanError, etcd,
    kubeconfig::{Credential, Kubeconfig},
    paths,
    pod::{HostMount, StaticPod, command},
    rendered, role_name,
};
use crate::{facts::HostFacts, pki};

/// The API server's port.
pub const API_PORT: u16 = 443;
/// The static token file (the bootstrap token's entry).
pub const TOKEN_FILE: &str = "/etc/kubernetes/known-tokens.csv";
/// The controller manager's kubeconfig.
const CONTROLLER_MANAGER_KUBECONFIG: &str = "/etc/kubernetes/kube-controller-manager.kubeconfig";
/// The scheduler's kubeconfig.
const SCHEDULER_KUBECONFIG: &str = "/etc/kubernetes/kube-scheduler.kubeconfig";
/// The front-proxy CA certificate.
const FRONT_PROXY_CA: &str = "/etc/kubernetes/pki/front-proxy-ca.crt";
/// The cluster CA's key (the controller manager signs kubelet certificates with it).
const CA_KEY: &str = "/etc/kubernetes/pki/ca.key";
/// The service-account signing key and its certificate (public key).
const SERVICE_ACCOUNT_KEY: &str = "/etc/kubernetes/pki/service-account.key";
const SERVICE_ACCOUNT_CERTIFICATE: &str = "/etc/kubernetes/pki/service-account.crt";

const PKI_MOUNT: HostMount = HostMount {
    name: "pki",
    path: paths::PKI_DIR,
    read_only: true,
};
const SSL_CERTS_MOUNT: HostMount = HostMount {
    name: "ssl-certs",
    path: "/etc/ssl/certs",
    read_only: true,
};

/// Adds the control plane's tasks (etcd included).
pub(crate) fn tasks(
    config: &NodeupConfig,
    facts: &HostFacts,
    tasks: &mut Vec<NodeTask>,
) -> Result<(), PlanError> {
    let control_plane = config
        .control_plane
        .as_ref()
        .ok_or(PlanError::MissingField {
            field: "controlPlane",
            role: role_name(config.role),
        })?;
    key_material(facts, tasks)?;
    etcd::tasks(config, facts, &control_plane.etcd_version, tasks)?;
    for (path, user, issued) in [
        (
            CONTROLLER_MANAGER_KUBECONFIG,
            "system:kube-controller-manager",
            "kube-controller-manager",
        ),
        (
            SCHEDULER_KUBECONFIG,
            "system:kube-scheduler",
            "kube-scheduler",
        ),
    ] {
        let request = &facts.pki.issued(issued)?.request;
        let certificate = request.certificate_path();
        let key = request.key_path();
        let kubeconfig = Kubeconfig::new(
            &config.cluster_name,
            &format!("https://127.0.0.1:{API_PORT}"),
            paths::CA_CERTIFICATE,
            user,
            Credential::ClientCertificate {
                certificate: &certificate,
                key: &key,
            },
        );
        tasks.push(NodeTask::file(
            path,
            rendered(path, render_yaml(&kubeconfig))?,
            0o600,
        ));
    }
    if let Some(token) = &config.bootstrap_token {
        // token,user,uid,"groups": the kubelet-bootstrap user may only create CSRs.
        tasks.push(NodeTask::file(
            TOKEN_FILE,
            format!("{token},kubelet-bootstrap,10001,\"system:bootstrappers\"\n"),
            0o600,
        ));
    }
    let image = |component: &str| {
        format!(
            "registry.k8s.io/{component}:v{}",
            config.kubernetes_version.trim_start_matches('v')
        )
    };
    let pods = [
        StaticPod::new(
            "kube-apiserver",
            image("kube-apiserver"),
            command(
                "kube-apiserver",
                &api_server_flags(config, control_plane, facts)?,
            ),
            "150m",
            &[PKI_MOUNT, SSL_CERTS_MOUNT, KUBERNETES_MOUNT],
            Vec::new(),
        ),
        StaticPod::new(
            "kube-controller-manager",
            image("kube-controller-manager"),
            command(
                "kube-controller-manager",
                &controller_manager_flags(config, control_plane),
            ),
            "100m",
            &[PKI_MOUNT, SSL_CERTS_MOUNT, KUBERNETES_MOUNT],
            Vec::new(),
        ),
        StaticPod::new(
            "kube-scheduler",
            image("kube-scheduler"),
            command("kube-scheduler", &scheduler_flags()),
            "100m",
            &[KUBERNETES_MOUNT],
            Vec::new(),
        ),
    ];
    for (name, pod) in [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ]
    .into_iter()
    .zip(pods)
    {
        let path = format!("{}/{name}.yaml", paths::MANIFESTS_DIR);
        let text = rendered(&path, render_yaml(&pod))?;
        tasks.push(NodeTask::file(&path, text, 0o600));
    }
    Ok(())
}

/// `/etc/kubernetes` (kubeconfigs and the token file), read-only.
const KUBERNETES_MOUNT: HostMount = HostMount {
    name: "kubernetes",
    path: paths::KUBERNETES_DIR,
    read_only: true,
};

/// Every issued certificate with its key and record, the CA certificates the components
/// trust, the cluster CA key and the service-account keypair.
fn key_material(facts: &HostFacts, tasks: &mut Vec<NodeTask>) -> Result<(), PlanError> {
    tasks.push(NodeTask::directory(paths::NODEUP_PKI_STATE_DIR, 0o700));
    for issued in facts.pki.issued.values() {
        let request = &issued.request;
        tasks.push(NodeTask::file(
            &request.certificate_path(),
            issued.certificate_pem.clone(),
            0o644,
        ));
        tasks.push(NodeTask::file(
            &request.key_path(),
            issued.private_key.expose().to_owned(),
            0o600,
        ));
        tasks.push(NodeTask::file(
            &paths::pki_record(&request.name),
            issued.record.clone(),
            0o600,
        ));
    }
    tasks.push(NodeTask::file(
        FRONT_PROXY_CA,
        facts.pki.certificate(pki::AGGREGATOR_CA)?.to_owned(),
        0o644,
    ));
    tasks.push(NodeTask::file(
        CA_KEY,
        facts
            .pki
            .private_key(pki::KUBERNETES_CA)?
            .expose()
            .to_owned(),
        0o600,
    ));
    tasks.push(NodeTask::file(
        SERVICE_ACCOUNT_CERTIFICATE,
        facts.pki.certificate(pki::SERVICE_ACCOUNT)?.to_owned(),
        0o644,
    ));
    tasks.push(NodeTask::file(
        SERVICE_ACCOUNT_KEY,
        facts
            .pki
            .private_key(pki::SERVICE_ACCOUNT)?
            .expose()
            .to_owned(),
        0o600,
    ));
    Ok(())
}

fn pki_file(name: &str) -> String {
    format!("{}/{name}", paths::PKI_DIR)
}

fn api_server_flags(
    config: &NodeupConfig,
    control_plane: &ControlPlaneConfig,
    facts: &HostFacts,
) -> Result<Vec<(&'static str, String)>, PlanError> {
    let issuer = control_plane
        .api_names
        .last()
        .cloned()
        .unwrap_or_else(|| config.api_server.clone());
    let mut flags = vec![
        ("advertise-address", facts.identity.internal_ip.to_string()),
        ("allow-privileged", "true".to_owned()),
        ("anonymous-auth", "false".to_owned()),
        ("authorization-mode", "Node,RBAC".to_owned()),
        ("client-ca-file", paths::CA_CERTIFICATE.to_owned()),
        ("enable-admission-plugins", "NodeRestriction".to_owned()),
        ("enable-bootstrap-token-auth", "true".to_owned()),
        (
            "etcd-cafile",
            format!("{}/ca-clients.crt", etcd::pki_dir("main")),
        ),
        ("etcd-certfile", pki_file("apiserver-etcd-client.crt")),
        ("etcd-keyfile", pki_file("apiserver-etcd-client.key")),
        ("etcd-servers", etcd::local_client_url("main")?),
    ];
    if config.etcd_members.contains_key("events") {
        flags.push((
            "etcd-servers-overrides",
            format!("/events#{}", etcd::local_client_url("events")?),
        ));
    }
    flags.extend([
        (
            "kubelet-client-certificate",
            pki_file("apiserver-kubelet-client.crt"),
        ),
        (
            "kubelet-client-key",
            pki_file("apiserver-kubelet-client.key"),
        ),
        (
            "kubelet-preferred-address-types",
            "InternalIP,Hostname,ExternalIP".to_owned(),
        ),
        ("proxy-client-cert-file", pki_file("front-proxy-client.crt")),
        ("proxy-client-key-file", pki_file("front-proxy-client.key")),
        (
            "requestheader-allowed-names",
            "front-proxy-client".to_owned(),
        ),
        ("requestheader-client-ca-file", FRONT_PROXY_CA.to_owned()),
        (
            "requestheader-extra-headers-prefix",
            "X-Remote-Extra-".to_owned(),
        ),
        ("requestheader-group-headers", "X-Remote-Group".to_owned()),
        ("requestheader-username-headers", "X-Remote-User".to_owned()),
        ("secure-port", API_PORT.to_string()),
        ("service-account-issuer", format!("https://{issuer}")),
        (
            "service-account-key-file",
            SERVICE_ACCOUNT_CERTIFICATE.to_owned(),
        ),
        (
            "service-account-signing-key-file",
            SERVICE_ACCOUNT_KEY.to_owned(),
        ),
        (
            "service-cluster-ip-range",
            control_plane.service_cluster_ip_range.clone(),
        ),
        ("tls-cert-file", pki_file("apiserver.crt")),
        ("tls-private-key-file", pki_file("apiserver.key")),
    ]);
    if config.bootstrap_token.is_some() {
        flags.push(("token-auth-file", TOKEN_FILE.to_owned()));
    }
    Ok(flags)
}

fn controller_manager_flags(
    config: &NodeupConfig,
    control_plane: &ControlPlaneConfig,
) -> Vec<(&'static str, String)> {
    vec![
        ("allocate-node-cidrs", "true".to_owned()),
        (
            "authentication-kubeconfig",
            CONTROLLER_MANAGER_KUBECONFIG.to_owned(),
        ),
        (
            "authorization-kubeconfig",
            CONTROLLER_MANAGER_KUBECONFIG.to_owned(),
        ),
        ("bind-address", "127.0.0.1".to_owned()),
        ("cloud-provider", "external".to_owned()),
        ("cluster-cidr", control_plane.pod_cidr.clone()),
        ("cluster-name", config.cluster_name.clone()),
        (
            "cluster-signing-cert-file",
            paths::CA_CERTIFICATE.to_owned(),
        ),
        ("cluster-signing-key-file", CA_KEY.to_owned()),
        ("controllers", "*,bootstrapsigner,tokencleaner".to_owned()),
        ("kubeconfig", CONTROLLER_MANAGER_KUBECONFIG.to_owned()),
        ("leader-elect", "true".to_owned()),
        ("requestheader-client-ca-file", FRONT_PROXY_CA.to_owned()),
        ("root-ca-file", paths::CA_CERTIFICATE.to_owned()),
        (
            "service-account-private-key-file",
            SERVICE_ACCOUNT_KEY.to_owned(),
        ),
        (
            "service-cluster-ip-range",
            control_plane.service_cluster_ip_range.clone(),
        ),
        ("use-service-account-credentials", "true".to_owned()),
    ]
}

fn scheduler_flags() -> Vec<(&'static str, String)> {
    vec![
        ("authentication-kubeconfig", SCHEDULER_KUBECONFIG.to_owned()),
        ("authorization-kubeconfig", SCHEDULER_KUBECONFIG.to_owned()),
        ("bind-address", "127.0.0.1".to_owned()),
        ("kubeconfig", SCHEDULER_KUBECONFIG.to_owned()),
        ("leader-elect", "true".to_owned()),
    ]
}
