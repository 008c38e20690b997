//! The cluster's certificate authorities: which ones a cluster has and how they are made.
//!
//! `berth create cluster` generates every CA the control plane needs, once, and the state
//! store keeps the certificate under `pki/issued/<name>` and the private key under
//! `pki/private/<name>`. Nothing here touches the store: this module only produces PEM text.
//! Keys are ECDSA P-256, which every supported Kubernetes version accepts for CAs, serving
//! certificates and service-account token signing.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// How long a generated CA is valid: ten years, as kops does.
pub const CA_VALIDITY: Duration = Duration::days(3650);

/// The cluster CA's keypair name: it signs the API's clients and serving certificates and the
/// nodes' client certificates; its certificate is the one nodes trust.
pub const KUBERNETES_CA: &str = "kubernetes-ca";

/// The keypairs a cluster's control plane needs, by their store name.
///
/// `service-account` is a plain signing keypair for service-account tokens; it is stored like
/// the CAs (a self-signed certificate next to its key) so that one layout serves all of them.
pub const CLUSTER_KEYPAIRS: &[KeypairSpec] = &[
    KeypairSpec {
        name: "kubernetes-ca",
        common_name: "kubernetes-ca",
    },
    KeypairSpec {
        name: "apiserver-aggregator-ca",
        common_name: "apiserver-aggregator-ca",
    },
    KeypairSpec {
        name: "etcd-clients-ca",
        common_name: "etcd-clients-ca",
    },
    KeypairSpec {
        name: "etcd-peers-ca-main",
        common_name: "etcd-peers-ca-main",
    },
    KeypairSpec {
        name: "etcd-peers-ca-events",
        common_name: "etcd-peers-ca-events",
    },
    KeypairSpec {
        name: "service-account",
        common_name: "service-account",
    },
];

/// A keypair the cluster needs: its store name and the subject of its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeypairSpec {
    /// The name under `pki/issued/` and `pki/private/`.
    pub name: &'static str,
    /// The certificate's common name.
    pub common_name: &'static str,
}

/// A generated CA: the certificate (public) and its private key, both PEM.
///
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct GeneratedKeypair {
    /// The store name, e.g. `kubernetes-ca`.
    pub name: &'static str,
    /// The self-signed CA certificate, PEM.
    pub certificate_pem: String,
    /// The PKCS#8 private key, PEM. Goes only to `pki/private/`.
    pub private_key_pem: String,
}

impl std::fmt::Debug for GeneratedKeypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKeypair")
            .field("name", &self.name)
            .field("certificate_pem", &self.certificate_pem)
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

/// Why a keypair could not be generated.
#[derive(Debug, thiserror::Error)]
#[error("failed to generate the `{name}` keypair")]
pub struct PkiError {
    name: &'static str,
    #[source]
    source: rcgen::Error,
}

/// Generates one self-signed CA valid from `now` for [`CA_VALIDITY`].
pub fn generate_ca(spec: KeypairSpec, now: OffsetDateTime) -> Result<GeneratedKeypair, PkiError> {
    let error = |source| PkiError {
        name: spec.name,
        source,
    };
    let key = KeyPair::generate().map_err(error)?;
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, spec.common_name);
    params.distinguished_name = subject;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - Duration::hours(1);
    params.not_after = now + CA_VALIDITY;
    let certificate = params.self_signed(&key).map_err(error)?;
    Ok(GeneratedKeypair {
        name: spec.name,
        certificate_pem: certificate.pem(),
        private_key_pem: key.serialize_pem(),
    })
}

/// Generates every keypair in [`CLUSTER_KEYPAIRS`].
pub fn generate_cluster_keypairs(now: OffsetDateTime) -> Result<Vec<GeneratedKeypair>, PkiError> {
    CLUSTER_KEYPAIRS
        .iter()
        .map(|spec| generate_ca(*spec, now))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_every_cluster_keypair_as_pem() {
        let keypairs = generate_cluster_keypairs(OffsetDateTime::now_utc()).unwrap();
        assert_eq!(keypairs.len(), CLUSTER_KEYPAIRS.len());
        for keypair in &keypairs {
            assert!(
                keypair
                    .certificate_pem
                    .starts_with("-----BEGIN CERTIFICATE-----")
            );
            assert!(
                keypair
                    .private_key_pem
                    .starts_with("-----BEGIN PRIVATE KEY-----")
            );
            assert!(!keypair.certificate_pem.contains("PRIVATE KEY"));
        }
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let keypair = generate_ca(CLUSTER_KEYPAIRS[0], OffsetDateTime::now_utc()).unwrap();
        let shown = format!("{keypair:?}");
        assert!(!shown.contains("PRIVATE KEY"));
        assert!(shown.contains("<redacted>"));
    }
}
