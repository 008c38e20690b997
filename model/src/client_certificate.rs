//! Short-lived client certificates signed by a cluster CA, such as the admin credential of
//! `berth export kubeconfig --admin`, and checking that one chains to its CA.
//!
//! Pure: the CA comes in as PEM text and the clock as a value; nothing here reads the state
//! store. The key of an issued certificate is fresh ECDSA P-256, and the certificate is for TLS
//! client authentication only. Kubernetes reads the subject's common name as the user and its
//! organizations as the groups. Kubeconfig files carry PEM base64-encoded in their `*-data`
//! fields; [`to_kubeconfig_data`] and [`from_kubeconfig_data`] convert.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// How far before `now` an issued certificate becomes valid, to absorb clock skew between
/// this machine and the API servers.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::minutes(5);

/// An issued client certificate and its private key, both PEM.
///
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct ClientCertificate {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The PKCS#8 private key, PEM. Never printed or logged.
    pub private_key_pem: String,
    /// When the certificate expires (whole seconds, as the certificate records it).
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("certificate_pem", &self.certificate_pem)
            .field("private_key_pem", &"<redacted>")
            .field("not_after", &self.not_after)
            .finish()
    }
}

/// What a certificate says about its holder, once its signature is checked against a CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCertificate {
    /// The subject's common name (the Kubernetes user).
    pub common_name: String,
    /// The subject's organizations (the Kubernetes groups).
    pub organizations: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Whether the extended key usage allows TLS client authentication.
    pub client_auth: bool,
}

/// Why a client certificate could not be issued or checked.
#[derive(Debug, thiserror::Error)]
pub enum ClientCertificateError {
    /// The CA certificate or key could not be read.
    #[error("the CA certificate or private key is not valid PEM of a supported key type")]
    InvalidCa {
        /// What rcgen reported.
        #[source]
        source: rcgen::Error,
    },
    /// Signing failed.
    #[error("failed to issue a client certificate for `{common_name}`")]
    Issue {
        /// The subject the certificate was for.
        common_name: String,
        /// What rcgen reported.
        #[source]
        source: rcgen::Error,
    },
    /// A validity that is not positive or reaches past what a certificate can record.
    #[error("a certificate's validity must be positive and end before the year 9999")]
    InvalidValidity,
    /// Text that is not a PEM certificate.
    #[error("the {what} is not a PEM X.509 certificate")]
    NotACertificate {
        /// Which certificate (`certificate` or `CA certificate`).
        what: &'static str,
    },
    /// The certificate was not signed by the CA's key.
    #[error("the certificate was not signed by the CA")]
    NotSignedByCa,
    /// A kubeconfig `*-data` field that is not base64 of UTF-8 text.
    #[error("a kubeconfig data field is not base64-encoded PEM")]
    InvalidKubeconfigData,
}

/// Issues a client certificate for `common_name` in `organizations`, signed by the CA,
/// valid from `now` minus [`CLOCK_SKEW_ALLOWANCE`] until `now + validity`.
pub fn issue_client_certificate(
    ca_certificate_pem: &str,
    ca_private_key_pem: &str,
    common_name: &str,
    organizations: &[&str],
    validity: Duration,
    now: OffsetDateTime,
) -> Result<ClientCertificate, ClientCertificateError> {
    if !validity.is_positive() {
        return Err(ClientCertificateError::InvalidValidity);
    }
    let not_after = now
        .checked_add(validity)
        .filter(|end| end.year() < 9999)
        .ok_or(ClientCertificateError::InvalidValidity)?
        .truncate_to_second();
    let invalid_ca = |source| ClientCertificateError::InvalidCa { source };
    let ca_key = KeyPair::from_pem(ca_private_key_pem).map_err(invalid_ca)?;
    let issuer = Issuer::from_ca_cert_pem(ca_certificate_pem, ca_key).map_err(invalid_ca)?;

    let issue_error = |source| ClientCertificateError::Issue {
        common_name: common_name.to_owned(),
        source,
    };
    let key = KeyPair::generate().map_err(issue_error)?;
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, common_name);
    for organization in organizations {
        subject.push(DnType::OrganizationName, *organization);
    }
    params.distinguished_name = subject;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = (now - CLOCK_SKEW_ALLOWANCE).truncate_to_second();
    params.not_after = not_after;
    let certificate = params.signed_by(&key, &issuer).map_err(issue_error)?;
    Ok(ClientCertificate {
        certificate_pem: certificate.pem(),
        private_key_pem: key.serialize_pem(),
        not_after,
    })
}

/// Checks that `certificate_pem` was signed by the CA of `ca_certificate_pem` and returns
/// what it says about its holder. Validity dates are reported, not checked.
pub fn verify_client_certificate(
    certificate_pem: &str,
    ca_certificate_pem: &str,
) -> Result<VerifiedCertificate, ClientCertificateError> {
    let certificate_der = pem_der(certificate_pem, "certificate")?;
    let ca_der = pem_der(ca_certificate_pem, "CA certificate")?;
    let (_, certificate) = x509_parser::parse_x509_certificate(&certificate_der).map_err(|_| {
        ClientCertificateError::NotACertificate {
            what: "certificate",
        }
    })?;
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).map_err(|_| {
        ClientCertificateError::NotACertificate {
            what: "CA certificate",
        }
    })?;
    certificate
        .verify_signature(Some(ca.public_key()))
        .map_err(|_| ClientCertificateError::NotSignedByCa)?;
    let text = |attribute: &x509_parser::x509::AttributeTypeAndValue<'_>| {
        attribute.as_str().unwrap_or_default().to_owned()
    };
    let subject = certificate.subject();
    Ok(VerifiedCertificate {
        common_name: subject
            .iter_common_name()
            .map(text)
            .next()
            .unwrap_or_default(),
        organizations: subject.iter_organization().map(text).collect(),
        not_before: certificate.validity().not_before.to_datetime(),
        not_after: certificate.validity().not_after.to_datetime(),
        client_auth: certificate
            .extended_key_usage()
            .ok()
            .flatten()
            .is_some_and(|usage| usage.value.client_auth),
    })
}

/// PEM text as a kubeconfig `*-data` field carries it: base64 of the PEM bytes.
#[must_use]
pub fn to_kubeconfig_data(pem: &str) -> String {
    STANDARD.encode(pem)
}

/// The PEM text in a kubeconfig `*-data` field.
pub fn from_kubeconfig_data(data: &str) -> Result<String, ClientCertificateError> {
    let bytes = STANDARD
        .decode(data.trim())
        .map_err(|_| ClientCertificateError::InvalidKubeconfigData)?;
    String::from_utf8(bytes).map_err(|_| ClientCertificateError::InvalidKubeconfigData)
}

fn pem_der(pem: &str, what: &'static str) -> Result<Vec<u8>, ClientCertificateError> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .ok()
        .filter(|(_, block)| block.label == "CERTIFICATE")
        .map(|(_, block)| block.contents)
        .ok_or(ClientCertificateError::NotACertificate { what })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CLUSTER_KEYPAIRS, GeneratedKeypair, generate_ca};

    fn ca() -> GeneratedKeypair {
        generate_ca(CLUSTER_KEYPAIRS[0], OffsetDateTime::now_utc()).unwrap()
    }

    fn issue(ca: &GeneratedKeypair, validity: Duration, now: OffsetDateTime) -> ClientCertificate {
        issue_client_certificate(
            &ca.certificate_pem,
            &ca.private_key_pem,
            "berth-admin",
            &["system:masters"],
            validity,
            now,
        )
        .unwrap()
    }

    #[test]
    fn chains_to_the_ca_with_the_subject_and_validity_asked_for() {
        let ca = ca();
        let now = OffsetDateTime::now_utc();
        let issued = issue(&ca, Duration::hours(18), now);
        let verified = verify_client_certificate(&issued.certificate_pem, &ca.certificate_pem)
            .expect("signed by the CA");
        assert_eq!(verified.common_name, "berth-admin");
        assert_eq!(verified.organizations, ["system:masters"]);
        assert!(verified.client_auth);
        assert_eq!(verified.not_after, issued.not_after);
        assert_eq!(
            verified.not_after.unix_timestamp(),
            (now + Duration::hours(18)).unix_timestamp()
        );
        assert_eq!(
            verified.not_before.unix_timestamp(),
            (now - Duration::minutes(5)).unix_timestamp()
        );
        assert!(
            issued
                .private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
    }

    #[test]
    fn another_ca_does_not_verify_it() {
        let issued = issue(&ca(), Duration::hours(1), OffsetDateTime::now_utc());
        let other = generate_ca(CLUSTER_KEYPAIRS[1], OffsetDateTime::now_utc()).unwrap();
        assert!(matches!(
            verify_client_certificate(&issued.certificate_pem, &other.certificate_pem),
            Err(ClientCertificateError::NotSignedByCa)
        ));
    }

    #[test]
    fn refuses_a_bad_ca_or_validity() {
        let ca = ca();
        let now = OffsetDateTime::now_utc();
        let attempt = |cert: &str, key: &str, validity| {
            issue_client_certificate(cert, key, "cn", &[], validity, now)
        };
        assert!(matches!(
            attempt(&ca.certificate_pem, "not a key", Duration::hours(1)),
            Err(ClientCertificateError::InvalidCa { .. })
        ));
        assert!(matches!(
            attempt("not a cert", &ca.private_key_pem, Duration::hours(1)),
            Err(ClientCertificateError::InvalidCa { .. })
        ));
        assert!(matches!(
            attempt(&ca.certificate_pem, &ca.private_key_pem, Duration::ZERO),
            Err(ClientCertificateError::InvalidValidity)
        ));
    }

    #[test]
    fn kubeconfig_data_round_trips() {
        let ca = ca();
        let data = to_kubeconfig_data(&ca.certificate_pem);
        assert!(!data.contains('\n'));
        assert_eq!(from_kubeconfig_data(&data).unwrap(), ca.certificate_pem);
        assert!(from_kubeconfig_data("%%%").is_err());
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let issued = issue(&ca(), Duration::hours(1), OffsetDateTime::now_utc());
        let shown = format!("{issued:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("PRIVATE KEY"));
    }
}
