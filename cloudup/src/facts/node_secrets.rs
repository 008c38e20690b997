//! What the nodeup configs carry from the state store: the cluster CA's certificate (public
//! part only; nodes never get a CA key through their config) and the cluster's bootstrap
//! token, which is generated once and kept as the secret
//! [`berth_model::nodeup_config::BOOTSTRAP_TOKEN_SECRET`].
//!
//! The token is never logged or printed. It is created only by a command that writes
//! (`update cluster --yes`, the Terraform target); a preview of a cluster that has none
//! plans with a throwaway token, which shows the configs as changing, as they will.

use berth_model::{
    nodeup_config::{BOOTSTRAP_TOKEN_SECRET, is_bootstrap_token, new_bootstrap_token},
    pki::KUBERNETES_CA,
};
use berth_state_store::{ClusterKeys, ObjectStore, WriteCondition};

/// Why the store's node secrets cannot be read or made.
#[derive(Debug, thiserror::Error)]
pub enum NodeSecretsError {
    /// A store call failed.
    #[error("failed to {action} `{key}` in the state store")]
    Store {
        /// `read` or `write`.
        action: &'static str,
        /// The object's key.
        key: String,
        /// The failure.
        #[source]
        source: Box<berth_state_store::Error>,
    },
    /// The cluster CA's certificate is missing.
    #[error(
        "the state store has no certificate for `{KUBERNETES_CA}` (`{key}`); the cluster's CAs are created by `berth create cluster`"
    )]
    MissingCa {
        /// The key looked up.
        key: String,
    },
    /// The stored token is not a bootstrap token (its value is not shown).
    #[error(
        "secret `{key}` is not a bootstrap token (`[a-z0-9]{{6}}.[a-z0-9]{{16}}`); delete it and run `berth update cluster --yes` to make a new one"
    )]
    InvalidToken {
        /// The secret's key.
        key: String,
    },
    /// The system's random source failed.
    #[error("cannot generate a bootstrap token: the system random source failed")]
    Random(#[source] getrandom::Error),
}

/// The cluster CA's PEM certificate, from `pki/issued/kubernetes-ca`.
///
/// # Errors
/// [`NodeSecretsError`] when it cannot be read or is missing.
pub async fn kubernetes_ca_certificate(
    store: &dyn ObjectStore,
    keys: &ClusterKeys,
) -> Result<String, NodeSecretsError> {
    let key = keys.pki_issued(KUBERNETES_CA);
    let object = store
        .get(&key)
        .await
        .map_err(|source| NodeSecretsError::Store {
            action: "read",
            key: key.clone(),
            source: Box::new(source),
        })?
        .ok_or_else(|| NodeSecretsError::MissingCa { key: key.clone() })?;
    Ok(String::from_utf8_lossy(&object.bytes).into_owned())
}

/// The cluster's bootstrap token. When the store has none, a new one is made; with `create`
/// it is stored (if another writer stored one first, theirs is used), without it the token
/// is only for this run's preview.
///
/// # Errors
/// [`NodeSecretsError`] when the store fails or holds something else than a token.
pub async fn bootstrap_token(
    store: &dyn ObjectStore,
    keys: &ClusterKeys,
    create: bool,
) -> Result<String, NodeSecretsError> {
    let key = keys.secret(BOOTSTRAP_TOKEN_SECRET);
    if let Some(token) = read_token(store, &key).await? {
        return Ok(token);
    }
    let token = generate()?;
    if !create {
        return Ok(token);
    }
    match store
        .put(&key, token.clone().into_bytes(), WriteCondition::Create)
        .await
    {
        Ok(_) => Ok(token),
        Err(berth_state_store::Error::AlreadyExists { .. }) => read_token(store, &key)
            .await?
            .ok_or(NodeSecretsError::InvalidToken { key }),
        Err(source) => Err(NodeSecretsError::Store {
            action: "write",
            key,
            source: Box::new(source),
        }),
    }
}

async fn read_token(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<Option<String>, NodeSecretsError> {
    let Some(object) = store
        .get(key)
        .await
        .map_err(|source| NodeSecretsError::Store {
            action: "read",
            key: key.to_owned(),
            source: Box::new(source),
        })?
    else {
        return Ok(None);
    };
    let token = String::from_utf8_lossy(&object.bytes).trim().to_owned();
    if !is_bootstrap_token(&token) {
        return Err(NodeSecretsError::InvalidToken {
            key: key.to_owned(),
        });
    }
    Ok(Some(token))
}

/// A fresh token from the operating system's random source.
fn generate() -> Result<String, NodeSecretsError> {
    // Rejection sampling discards under 2% of bytes: 64 bytes almost always suffice.
    let mut buffer = [0u8; 64];
    let mut used = buffer.len();
    let mut failure = None;
    let token = new_bootstrap_token(|| {
        if used == buffer.len() {
            if let Err(error) = getrandom::getrandom(&mut buffer) {
                failure = Some(error);
                buffer = [0; 64];
            }
            used = 0;
        }
        used += 1;
        buffer[used - 1]
    });
    match failure {
        Some(error) => Err(NodeSecretsError::Random(error)),
        None => Ok(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_token_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = berth_state_store::open_file(dir.path());
        let keys = ClusterKeys::new("dev.example.com");
        let preview = bootstrap_token(&store, &keys, false).await.unwrap();
        assert!(is_bootstrap_token(&preview));
        assert!(
            store
                .get(&keys.secret(BOOTSTRAP_TOKEN_SECRET))
                .await
                .unwrap()
                .is_none()
        );
        let first = bootstrap_token(&store, &keys, true).await.unwrap();
        let second = bootstrap_token(&store, &keys, true).await.unwrap();
        assert_eq!(first, second);
        assert_ne!(first, generate().unwrap());
    }

    #[tokio::test]
    async fn a_stored_non_token_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = berth_state_store::open_file(dir.path());
        let keys = ClusterKeys::new("dev.example.com");
        store
            .put(
                &keys.secret(BOOTSTRAP_TOKEN_SECRET),
                b"hunter2".to_vec(),
                WriteCondition::Create,
            )
            .await
            .unwrap();
        let error = bootstrap_token(&store, &keys, true).await.unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
