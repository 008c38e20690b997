//! SSH public keys: parsing what the user gives and naming it in the store.
//!
//! The key is kept at `pki/ssh/public/admin/<fingerprint>`, where the fingerprint is the hex
//! SHA-256 of the key's wire encoding (hex rather than base64 so that it is a safe object name).

use ssh_key::{HashAlg, PublicKey};

/// A parsed OpenSSH public key, with the exact text the user gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPublicKey {
    text: String,
    fingerprint: String,
    algorithm: String,
}

/// Why a public key was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{source_name}` is not an OpenSSH public key (expected one line like `ssh-ed25519 AAAA… comment`)"
)]
pub struct SshKeyError {
    source_name: String,
    #[source]
    source: ssh_key::Error,
}

impl SshPublicKey {
    /// Parses one OpenSSH public key line; `source_name` (a file name) is used in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, SshKeyError> {
        let text = text.trim();
        let key = PublicKey::from_openssh(text).map_err(|source| SshKeyError {
            source_name: source_name.to_owned(),
            source,
        })?;
        let fingerprint = hex::encode(key.fingerprint(HashAlg::Sha256).as_bytes());
        Ok(Self {
            text: format!("{text}\n"),
            fingerprint,
            algorithm: key.algorithm().to_string(),
        })
    }

    /// The key as stored: the user's line, newline-terminated.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Hex SHA-256 fingerprint, the key's object name in the store.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key algorithm, e.g. `ssh-ed25519`.
    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";

    #[test]
    fn parses_an_openssh_key_and_names_it_by_fingerprint() {
        let key = SshPublicKey::parse(ED25519, "id_ed25519.pub").unwrap();
        assert_eq!(key.algorithm(), "ssh-ed25519");
        assert_eq!(key.fingerprint().len(), 64);
        assert!(key.fingerprint().chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(key.text(), format!("{ED25519}\n"));
    }

    #[test]
    fn refuses_a_private_key_or_garbage_naming_the_file() {
        let error =
            SshPublicKey::parse("-----BEGIN OPENSSH PRIVATE KEY-----", "id_rsa").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`id_rsa` is not an OpenSSH public key")
        );
    }
}
