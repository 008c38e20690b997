//! The test control plane's key material: a CA (generated, or one a test brings, such as a
//! cluster's own `kubernetes-ca` from the state store), the API server's serving certificate,
//! client certificates for the admin and the controller manager, and the service-account
//! signing key. ECDSA P-256 throughout, as Berth's own PKI.

use std::net::{IpAddr, Ipv4Addr};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// A CA in PEM: certificate and private key.
#[derive(Clone)]
pub struct CaPem {
    /// The CA certificate.
    pub certificate: String,
    /// The CA's PKCS#8 private key.
    pub private_key: String,
}

impl std::fmt::Debug for CaPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaPem").finish_non_exhaustive()
    }
}

/// A certificate and its key, PEM.
#[derive(Clone)]
pub struct Keypair {
    /// The certificate.
    pub certificate: String,
    /// The private key.
    pub private_key: String,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keypair").finish_non_exhaustive()
    }
}

impl CaPem {
    /// A fresh self-signed CA.
    pub fn generate(common_name: &str) -> CaPem {
        let key = KeyPair::generate().expect("generate a CA key");
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name, None);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let certificate = params.self_signed(&key).expect("self-sign the CA");
        CaPem {
            certificate: certificate.pem(),
            private_key: key.serialize_pem(),
        }
    }

    /// A serving certificate for the API server on loopback, with the in-cluster names.
    pub fn serving(&self, common_name: &str) -> Keypair {
        let mut sans: Vec<SanType> = [
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ]
        .into_iter()
        .map(|dns| SanType::DnsName(dns.try_into().expect("a valid DNS name")))
        .collect();
        sans.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        sans.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
        self.issue(common_name, None, sans, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate with this user name and group.
    pub fn client(&self, user: &str, group: Option<&str>) -> Keypair {
        self.issue(user, group, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(
        &self,
        common_name: &str,
        organization: Option<&str>,
        sans: Vec<SanType>,
        usage: ExtendedKeyUsagePurpose,
    ) -> Keypair {
        let ca_key = KeyPair::from_pem(&self.private_key).expect("parse the CA key");
        let issuer =
            Issuer::from_ca_cert_pem(&self.certificate, ca_key).expect("parse the CA certificate");
        let key = KeyPair::generate().expect("generate a key");
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name, organization);
        params.subject_alt_names = sans;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![usage];
        let certificate = params.signed_by(&key, &issuer).expect("sign a certificate");
        Keypair {
            certificate: certificate.pem(),
            private_key: key.serialize_pem(),
        }
    }
}

/// A service-account signing key: the private key and a self-signed certificate that carries
/// its public key (kube-apiserver's `--service-account-key-file` takes either).
pub fn service_account_keypair() -> Keypair {
    let key = KeyPair::generate().expect("generate the service-account key");
    let mut params = CertificateParams::default();
    params.distinguished_name = name("service-account", None);
    let certificate = params
        .self_signed(&key)
        .expect("self-sign the service-account key");
    Keypair {
        certificate: certificate.pem(),
        private_key: key.serialize_pem(),
    }
}

fn name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, common_name);
    if let Some(organization) = organization {
        subject.push(DnType::OrganizationName, organization);
    }
    subject
}
