//! What nodeup reads from the state store: its instance group's config and the cluster's
//! CA keypairs (certificates for every role, private keys for the control plane only).
//!
//! The store and the key come from `--conf`, which the bootstrap script passes as
//! `<state store>/<cluster>/igconfig/<role>/<instance group>/nodeupconfig.yaml`.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use berth_model::nodeup_config::NodeupConfig;
use berth_state_store::ObjectStore;

use crate::{
    error::Error,
    pki::{self, CaKeypair, PrivateKeyPem},
};

/// How long one store read may take (the S3 client retries within it).
pub const STORE_READ_TIMEOUT: Duration = Duration::from_secs(120);

/// `--conf` split into the store and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    /// The store's URL (`s3://bucket/prefix`, `file:///path`).
    pub store_url: String,
    /// The config's key in it (`<cluster>/igconfig/…/nodeupconfig.yaml`).
    pub key: String,
    /// The cluster's name.
    pub cluster: String,
}

impl ConfigLocation {
    /// Splits `conf` at `/<cluster>/igconfig/`.
    ///
    /// # Errors
    /// [`Error::ConfLocation`] when `conf` does not have that shape.
    pub fn parse(conf: &str, cluster: &str) -> Result<Self, Error> {
        let marker = format!("/{cluster}/igconfig/");
        let invalid = || Error::ConfLocation {
            conf: conf.to_owned(),
            cluster: cluster.to_owned(),
        };
        let index = conf.find(&marker).ok_or_else(invalid)?;
        let store_url = conf[..index].to_owned();
        let key = conf[index + 1..].to_owned();
        if store_url.is_empty() || !key.ends_with(".yaml") {
            return Err(invalid());
        }
        Ok(Self {
            store_url,
            key,
            cluster: cluster.to_owned(),
        })
    }

    fn pki_key(&self, kind: &str, name: &str, file: &str) -> String {
        format!("{}/pki/{kind}/{name}/{file}", self.cluster)
    }
}

/// An open store and the location read from it.
pub struct StateStore {
    store: Arc<dyn ObjectStore>,
    location: ConfigLocation,
}

impl StateStore {
    /// Opens the store `location` names and checks that it is reachable.
    ///
    /// # Errors
    /// [`Error::OpenStore`] when it cannot be opened or reached.
    pub async fn open(location: ConfigLocation) -> Result<Self, Error> {
        let open_error = |source| Error::OpenStore {
            url: location.store_url.clone(),
            source: Box::new(source),
        };
        let store = berth_state_store::open(&location.store_url)
            .await
            .map_err(open_error)?;
        tokio::time::timeout(STORE_READ_TIMEOUT, store.check())
            .await
            .map_err(|_| Error::StoreTimeout {
                key: String::new(),
                timeout: STORE_READ_TIMEOUT,
            })?
            .map_err(open_error)?;
        Ok(Self { store, location })
    }

    /// Reads an object that must exist.
    async fn read(&self, key: &str) -> Result<Vec<u8>, Error> {
        let object = tokio::time::timeout(STORE_READ_TIMEOUT, self.store.get(key))
            .await
            .map_err(|_| Error::StoreTimeout {
                key: key.to_owned(),
                timeout: STORE_READ_TIMEOUT,
            })?
            .map_err(|source| Error::ReadStore {
                store: self.location.store_url.clone(),
                key: key.to_owned(),
                source: Box::new(source),
            })?;
        object
            .map(|object| object.bytes)
            .ok_or_else(|| Error::MissingObject {
                store: self.location.store_url.clone(),
                key: key.to_owned(),
            })
    }

    async fn read_text(&self, key: &str) -> Result<String, Error> {
        String::from_utf8(self.read(key).await?).map_err(|_| Error::NotText {
            key: key.to_owned(),
        })
    }

    /// The text of `<cluster>/<key>`, or `None` when the store has no such object.
    ///
    /// # Errors
    /// [`Error`] when it cannot be read or is not text.
    pub async fn cluster_text(&self, key: &str) -> Result<Option<String>, Error> {
        let key = format!("{}/{key}", self.location.cluster);
        match self.read_text(&key).await {
            Ok(text) => Ok(Some(text)),
            Err(Error::MissingObject { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The store's URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.location.store_url
    }

    /// The config's text.
    ///
    /// # Errors
    /// [`Error`] when it cannot be read.
    pub async fn config_text(&self) -> Result<String, Error> {
        self.read_text(&self.location.key).await
    }

    /// The CA keypairs `config`'s role needs. The cluster CA certificate comes from the
    /// config when it carries one, else from `pki/issued`; keys only where the role needs
    /// them.
    ///
    /// # Errors
    /// [`Error`] when a needed object cannot be read.
    pub async fn cas(&self, config: &NodeupConfig) -> Result<BTreeMap<String, CaKeypair>, Error> {
        let mut cas = BTreeMap::new();
        for (name, with_key) in pki::cas_needed(config) {
            let certificate_pem =
                if name == pki::KUBERNETES_CA && !config.ca_certificates.is_empty() {
                    config.ca_certificates.concat()
                } else {
                    self.read_text(&self.location.pki_key("issued", &name, "certificate.pem"))
                        .await?
                };
            let private_key = if with_key {
                Some(PrivateKeyPem::new(
                    self.read_text(&self.location.pki_key("private", &name, "key.pem"))
                        .await?,
                ))
            } else {
                None
            };
            cas.insert(
                name,
                CaKeypair {
                    certificate_pem,
                    private_key,
                },
            );
        }
        Ok(cas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_conf_location() {
        let location = ConfigLocation::parse(
            "s3://state/prefix/dev.example.com/igconfig/node/nodes/nodeupconfig.yaml",
            "dev.example.com",
        )
        .unwrap();
        assert_eq!(location.store_url, "s3://state/prefix");
        assert_eq!(
            location.key,
            "dev.example.com/igconfig/node/nodes/nodeupconfig.yaml"
        );
        assert!(
            ConfigLocation::parse("s3://state/other/igconfig/x.yaml", "dev.example.com").is_err()
        );
    }
}
