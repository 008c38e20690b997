//! Key material for the node: CA certificates (public) on every node, and on the control
//! plane the certificates nodeup issues from the CAs in the state store.
//!
//! What to issue is pure ([`requests`]). Issuing is not (fresh keys, the clock), so it
//! happens before planning and its results reach the plan through
//! [`crate::facts::HostFacts`]. To stay idempotent, nodeup records each issued certificate
//! (`/var/lib/nodeup/pki/<name>.json`: a digest of the request and its CA, and the expiry)
//! and reuses the certificate on disk while the record matches and it is more than
//! [`RENEW_BEFORE`] from expiring. Worker nodes never get a CA private key: they get the
//! cluster CA certificate and join by TLS bootstrapping.

use std::{
    collections::BTreeMap,
    fmt,
    net::{IpAddr, Ipv4Addr},
};

use berth_model::nodeup_config::{NodeRole, NodeupConfig};
use ipnet::Ipv4Net;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::{
    facts::Identity,
    host::Host,
    plan::{PlanError, etcd, paths},
};

/// The cluster CA (signs API serving and client certificates, and kubelets' CSRs).
pub const KUBERNETES_CA: &str = "kubernetes-ca";
/// The front-proxy (aggregation layer) CA.
pub const AGGREGATOR_CA: &str = "apiserver-aggregator-ca";
/// The CA of etcd's client-facing certificates.
pub const ETCD_CLIENTS_CA: &str = "etcd-clients-ca";
/// The service-account signing keypair.
pub const SERVICE_ACCOUNT: &str = "service-account";
/// How long an issued certificate is valid.
pub const ISSUED_VALIDITY: Duration = Duration::days(365);
/// Reissue a certificate this long before it expires.
pub const RENEW_BEFORE: Duration = Duration::days(60);

/// The etcd peer CA of one etcd cluster.
#[must_use]
pub fn etcd_peers_ca(cluster: &str) -> String {
    format!("etcd-peers-ca-{cluster}")
}

/// What an issued certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Usage {
    /// TLS server.
    Server,
    /// TLS client.
    Client,
    /// Both (etcd members serve and dial each other).
    ServerAndClient,
}

/// One certificate nodeup issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRequest {
    /// Its name: files are `/etc/kubernetes/pki/<name>.crt` and `.key`.
    pub name: String,
    /// The store name of the CA that signs it.
    pub ca: String,
    /// Subject common name.
    pub common_name: String,
    /// Subject organization (Kubernetes reads it as the group).
    pub organization: Option<String>,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// IP subject alternative names.
    pub ip_addresses: Vec<IpAddr>,
    /// Server, client or both.
    pub usage: Usage,
}

impl IssueRequest {
    /// The certificate's path on the node.
    #[must_use]
    pub fn certificate_path(&self) -> String {
        format!("{}/{}.crt", paths::PKI_DIR, self.name)
    }

    /// The key's path on the node.
    #[must_use]
    pub fn key_path(&self) -> String {
        format!("{}/{}.key", paths::PKI_DIR, self.name)
    }
}

/// A PEM private key; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(String);

impl PrivateKeyPem {
    /// Wraps PEM text.
    #[must_use]
    pub fn new(pem: String) -> Self {
        Self(pem)
    }

    /// The PEM text.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A CA keypair read from the store (the key only on the control plane).
#[derive(Debug, Clone)]
pub struct CaKeypair {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The private key, PEM.
    pub private_key: Option<PrivateKeyPem>,
}

/// An issued certificate, its key and the record that lets the next run reuse it.
#[derive(Debug, Clone)]
pub struct IssuedKeypair {
    /// The request it answers.
    pub request: IssueRequest,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The key, PEM.
    pub private_key: PrivateKeyPem,
    /// The record's text.
    pub record: String,
}

/// The key material a node's plan uses.
#[derive(Debug, Clone, Default)]
pub struct NodePki {
    /// CA keypairs by store name (keys only on the control plane).
    pub cas: BTreeMap<String, CaKeypair>,
    /// Issued certificates by request name.
    pub issued: BTreeMap<String, IssuedKeypair>,
}

impl NodePki {
    /// A CA certificate.
    ///
    /// # Errors
    /// [`PlanError::MissingKeyMaterial`] when it was not gathered.
    pub fn certificate(&self, ca: &str) -> Result<&str, PlanError> {
        self.cas
            .get(ca)
            .map(|keypair| keypair.certificate_pem.as_str())
            .ok_or_else(|| missing(ca))
    }

    /// A CA's private key (control plane only).
    ///
    /// # Errors
    /// [`PlanError::MissingKeyMaterial`] when it was not gathered.
    pub fn private_key(&self, ca: &str) -> Result<&PrivateKeyPem, PlanError> {
        self.cas
            .get(ca)
            .and_then(|keypair| keypair.private_key.as_ref())
            .ok_or_else(|| missing(&format!("{ca} private key")))
    }

    /// An issued certificate.
    ///
    /// # Errors
    /// [`PlanError::MissingKeyMaterial`] when it was not issued.
    pub fn issued(&self, name: &str) -> Result<&IssuedKeypair, PlanError> {
        self.issued.get(name).ok_or_else(|| missing(name))
    }
}

fn missing(name: &str) -> PlanError {
    PlanError::MissingKeyMaterial {
        name: name.to_owned(),
    }
}

/// The store names of the CAs a role needs, and whether it needs their keys.
#[must_use]
pub fn cas_needed(config: &NodeupConfig) -> Vec<(String, bool)> {
    match config.role {
        NodeRole::Bastion => Vec::new(),
        NodeRole::Node => vec![(KUBERNETES_CA.to_owned(), false)],
        NodeRole::ControlPlane => {
            let mut cas = vec![
                (KUBERNETES_CA.to_owned(), true),
                (AGGREGATOR_CA.to_owned(), true),
                (ETCD_CLIENTS_CA.to_owned(), true),
                (SERVICE_ACCOUNT.to_owned(), true),
            ];
            cas.extend(
                config
                    .etcd_members
                    .keys()
                    .map(|cluster| (etcd_peers_ca(cluster), true)),
            );
            cas
        }
    }
}

/// The certificates the node needs issued (none outside the control plane); `etcd_members`
/// are this node's etcd members when its volumes named them (see [`etcd::member`]).
///
/// # Errors
/// [`PlanError`] when the config's ranges or etcd members are unusable.
pub fn requests(
    config: &NodeupConfig,
    identity: &Identity,
    etcd_members: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<IssueRequest>, PlanError> {
    if config.role != NodeRole::ControlPlane {
        return Ok(Vec::new());
    }
    let control_plane = config
        .control_plane
        .as_ref()
        .ok_or(PlanError::MissingField {
            field: "controlPlane",
            role: "control-plane",
        })?;
    let service_ip = first_service_address(&control_plane.service_cluster_ip_range)?;
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let domain = &config.kubelet.cluster_domain;
    let mut api_names: Vec<String> = [
        "kubernetes".to_owned(),
        "kubernetes.default".to_owned(),
        "kubernetes.default.svc".to_owned(),
        format!("kubernetes.default.svc.{domain}"),
    ]
    .into_iter()
    .chain(control_plane.api_names.iter().cloned())
    .collect();
    if !api_names.contains(&config.api_server) {
        api_names.push(config.api_server.clone());
    }
    let client =
        |name: &str, ca: &str, common_name: &str, organization: Option<&str>| IssueRequest {
            name: name.to_owned(),
            ca: ca.to_owned(),
            common_name: common_name.to_owned(),
            organization: organization.map(str::to_owned),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            usage: Usage::Client,
        };
    let mut requests = vec![
        IssueRequest {
            name: "apiserver".to_owned(),
            ca: KUBERNETES_CA.to_owned(),
            common_name: "kube-apiserver".to_owned(),
            organization: None,
            dns_names: api_names,
            ip_addresses: dedup(vec![service_ip, loopback, identity.internal_ip]),
            usage: Usage::Server,
        },
        client(
            "apiserver-kubelet-client",
            KUBERNETES_CA,
            "kube-apiserver-kubelet-client",
            Some("system:masters"),
        ),
        client(
            "apiserver-etcd-client",
            ETCD_CLIENTS_CA,
            "apiserver-etcd-client",
            None,
        ),
        client(
            "front-proxy-client",
            AGGREGATOR_CA,
            "front-proxy-client",
            None,
        ),
        client(
            "kube-controller-manager",
            KUBERNETES_CA,
            "system:kube-controller-manager",
            None,
        ),
        client(
            "kube-scheduler",
            KUBERNETES_CA,
            "system:kube-scheduler",
            None,
        ),
        client(
            "kubelet-client",
            KUBERNETES_CA,
            &format!("system:node:{}", identity.hostname),
            Some("system:nodes"),
        ),
    ];
    for cluster in config.etcd_members.keys() {
        let member = etcd::member(config, etcd_members, cluster)?;
        let dns_names = vec![
            "localhost".to_owned(),
            identity.hostname.clone(),
            etcd::member_dns_name(config, cluster, member),
        ];
        let ip_addresses = dedup(vec![loopback, identity.internal_ip]);
        for (kind, ca) in [
            ("server", ETCD_CLIENTS_CA.to_owned()),
            ("peer", etcd_peers_ca(cluster)),
        ] {
            requests.push(IssueRequest {
                name: format!("etcd-{cluster}/{kind}"),
                ca,
                common_name: format!("etcd-{cluster}-{member}"),
                organization: None,
                dns_names: dns_names.clone(),
                ip_addresses: ip_addresses.clone(),
                usage: Usage::ServerAndClient,
            });
        }
    }
    Ok(requests)
}

fn dedup(mut addresses: Vec<IpAddr>) -> Vec<IpAddr> {
    let mut seen = Vec::new();
    addresses.retain(|address| {
        let new = !seen.contains(address);
        seen.push(*address);
        new
    });
    addresses
}

/// The `kubernetes` service's address: the first address of the service range.
///
/// # Errors
/// [`PlanError::InvalidField`] when the range is not an IPv4 CIDR with room for it.
pub fn first_service_address(range: &str) -> Result<IpAddr, PlanError> {
    let invalid = |problem: &str| PlanError::InvalidField {
        field: "controlPlane.serviceClusterIPRange",
        problem: format!("`{range}` {problem}"),
    };
    let net: Ipv4Net = range.parse().map_err(|_| invalid("is not an IPv4 CIDR"))?;
    net.hosts()
        .next()
        .map(IpAddr::V4)
        .ok_or_else(|| invalid("has no host addresses"))
}

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The CA needed for a request was not gathered (or has no key).
    #[error("cannot issue `{name}`: the `{ca}` CA keypair is not available")]
    MissingCa {
        /// The request.
        name: String,
        /// The CA.
        ca: String,
    },
    /// rcgen refused.
    #[error("failed to issue `{name}` from `{ca}`")]
    Issue {
        /// The request.
        name: String,
        /// The CA.
        ca: String,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },
}

/// What a run records about an issued certificate.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueRecord {
    /// sha256 of the request and its CA certificate.
    request: String,
    /// Expiry, Unix seconds.
    not_after: i64,
}

/// Issues every request, reusing what an earlier run issued for the same request and CA
/// (as recorded on `host`) while it is not close to expiring.
///
/// # Errors
/// [`PkiError`] when a CA is missing or a certificate cannot be made.
pub fn prepare(
    cas: BTreeMap<String, CaKeypair>,
    requests: Vec<IssueRequest>,
    host: &dyn Host,
    now: OffsetDateTime,
) -> Result<NodePki, PkiError> {
    let mut issued = BTreeMap::new();
    for request in requests {
        let ca = cas
            .get(&request.ca)
            .and_then(|ca| ca.private_key.as_ref().map(|key| (ca, key)));
        let Some((ca, ca_key)) = ca else {
            return Err(PkiError::MissingCa {
                name: request.name,
                ca: request.ca,
            });
        };
        let digest = request_digest(&request, &ca.certificate_pem);
        let keypair = match reusable(host, &request, &digest, now) {
            Some(keypair) => keypair,
            None => issue(request.clone(), ca, ca_key, &digest, now, ISSUED_VALIDITY)?,
        };
        issued.insert(request.name, keypair);
    }
    Ok(NodePki { cas, issued })
}

fn request_digest(request: &IssueRequest, ca_certificate: &str) -> String {
    let mut hasher = Sha256::new();
    // Serializing a plain struct of strings and addresses cannot fail.
    hasher.update(serde_json::to_vec(request).unwrap_or_default());
    hasher.update(ca_certificate.as_bytes());
    hex::encode(hasher.finalize())
}

/// The certificate an earlier run issued for this request, if it may be kept.
fn reusable(
    host: &dyn Host,
    request: &IssueRequest,
    digest: &str,
    now: OffsetDateTime,
) -> Option<IssuedKeypair> {
    let read = |path: &str| fs_err::read_to_string(host.resolve(path.as_ref())).ok();
    let record_text = read(&paths::pki_record(&request.name))?;
    let record: IssueRecord = serde_json::from_str(&record_text).ok()?;
    let renew_at = OffsetDateTime::from_unix_timestamp(record.not_after).ok()? - RENEW_BEFORE;
    if record.request != digest || now >= renew_at {
        return None;
    }
    Some(IssuedKeypair {
        request: request.clone(),
        certificate_pem: read(&request.certificate_path())?,
        private_key: PrivateKeyPem::new(read(&request.key_path())?),
        record: record_text,
    })
}

/// Issues `request` from `ca` for `validity`, recording nothing: for a certificate a run
/// uses in memory and never writes (nodeup's own client certificate, see
/// [`crate::addons`]).
///
/// # Errors
/// [`PkiError`] when `ca` has no key or the certificate cannot be made.
pub fn issue_ephemeral(
    request: IssueRequest,
    ca: &CaKeypair,
    now: OffsetDateTime,
    validity: Duration,
) -> Result<IssuedKeypair, PkiError> {
    let Some(ca_key) = ca.private_key.as_ref() else {
        return Err(PkiError::MissingCa {
            name: request.name,
            ca: request.ca,
        });
    };
    let digest = request_digest(&request, &ca.certificate_pem);
    issue(request, ca, ca_key, &digest, now, validity)
}

fn issue(
    request: IssueRequest,
    ca: &CaKeypair,
    ca_key: &PrivateKeyPem,
    digest: &str,
    now: OffsetDateTime,
    validity: Duration,
) -> Result<IssuedKeypair, PkiError> {
    let error = |source| PkiError::Issue {
        name: request.name.clone(),
        ca: request.ca.clone(),
        source,
    };
    let ca_key = KeyPair::from_pem(ca_key.expose()).map_err(error)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.certificate_pem, ca_key).map_err(error)?;
    let key = KeyPair::generate().map_err(error)?;
    let mut params = CertificateParams::new(request.dns_names.clone()).map_err(error)?;
    params.subject_alt_names.extend(
        request
            .ip_addresses
            .iter()
            .map(|ip| SanType::IpAddress(*ip)),
    );
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, request.common_name.as_str());
    if let Some(organization) = &request.organization {
        subject.push(DnType::OrganizationName, organization.as_str());
    }
    params.distinguished_name = subject;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = match request.usage {
        Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
        Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        Usage::ServerAndClient => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    };
    params.not_before = now - Duration::hours(1);
    params.not_after = now + validity;
    let certificate = params.signed_by(&key, &issuer).map_err(error)?;
    let record = IssueRecord {
        request: digest.to_owned(),
        not_after: params.not_after.unix_timestamp(),
    };
    let record = format!(
        "{}\n",
        serde_json::to_string_pretty(&record).unwrap_or_default()
    );
    Ok(IssuedKeypair {
        request,
        certificate_pem: certificate.pem(),
        private_key: PrivateKeyPem::new(key.serialize_pem()),
        record,
    })
}
