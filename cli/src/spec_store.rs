//! Typed access to one cluster's spec objects in the state store.
//!
//! Reads return each object with the ETag it was read at, so that a later write can be
//! conditional on nothing having changed in between. Multi-object writes go through a
//! [`WriteBatch`], which undoes what it already wrote when a later write fails, so that a
//! failed command leaves the store as it found it.

use std::sync::Arc;

use anyhow::Context as _;
use berth_model::{Cluster, Document, InstanceGroup};
use berth_state_store::{ETag, ObjectStore, WriteCondition, layout::ClusterKeys};

use crate::error::CommandError;

/// A value with the ETag of the object it was read from.
#[derive(Debug, Clone)]
pub(crate) struct Versioned<T> {
    pub(crate) value: T,
    pub(crate) etag: ETag,
    /// The object's bytes as read, for restoring them exactly.
    pub(crate) bytes: Vec<u8>,
}

/// One cluster's objects in one store.
#[derive(Debug, Clone)]
pub(crate) struct SpecStore {
    store: Arc<dyn ObjectStore>,
    cluster: String,
    keys: ClusterKeys,
}

impl SpecStore {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, cluster: &str) -> Self {
        Self {
            store,
            cluster: cluster.to_owned(),
            keys: ClusterKeys::new(cluster),
        }
    }

    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) fn keys(&self) -> &ClusterKeys {
        &self.keys
    }

    pub(crate) fn cluster_name(&self) -> &str {
        &self.cluster
    }

    /// The Cluster document, or `None` when the cluster is not in the store.
    pub(crate) async fn find_cluster(&self) -> anyhow::Result<Option<Versioned<Cluster>>> {
        let key = self.keys.config();
        let Some(object) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let value = match parse_one(&object.bytes, &key)? {
            Document::Cluster(cluster) => cluster,
            Document::InstanceGroup(_) => {
                return Err(not_of_kind(&key, "Cluster"));
            }
        };
        Ok(Some(Versioned {
            value,
            etag: object.etag,
            bytes: object.bytes,
        }))
    }

    /// The Cluster document; a missing cluster is a user error listing the clusters there are.
    pub(crate) async fn cluster(&self) -> anyhow::Result<Versioned<Cluster>> {
        match self.find_cluster().await? {
            Some(cluster) => Ok(cluster),
            None => {
                let known = berth_state_store::layout::list_clusters(self.store.as_ref()).await?;
                Err(CommandError::ClusterNotFound {
                    cluster: self.cluster.clone(),
                    store: self.store.url().to_owned(),
                    known,
                }
                .into())
            }
        }
    }

    /// Every instance group of the cluster, sorted by name.
    pub(crate) async fn instance_groups(&self) -> anyhow::Result<Vec<Versioned<InstanceGroup>>> {
        let prefix = self.keys.instance_groups_prefix();
        let mut groups = Vec::new();
        for key in self.store.list(&prefix).await? {
            let Some(object) = self.store.get(&key).await? else {
                continue;
            };
            match parse_one(&object.bytes, &key)? {
                Document::InstanceGroup(group) => {
                    groups.push(Versioned {
                        value: group,
                        etag: object.etag,
                        bytes: object.bytes,
                    });
                }
                Document::Cluster(_) => return Err(not_of_kind(&key, "InstanceGroup")),
            }
        }
        groups.sort_by(|a, b| a.value.metadata.name.cmp(&b.value.metadata.name));
        Ok(groups)
    }

    /// Every instance group of the cluster, sorted by name, without the ETags.
    pub(crate) async fn instance_group_values(&self) -> anyhow::Result<Vec<InstanceGroup>> {
        Ok(self
            .instance_groups()
            .await?
            .into_iter()
            .map(|group| group.value)
            .collect())
    }

    /// One instance group and the cluster's other groups, from one read; a missing one is a
    /// user error.
    pub(crate) async fn instance_group_and_others(
        &self,
        name: &str,
    ) -> anyhow::Result<(Versioned<InstanceGroup>, Vec<InstanceGroup>)> {
        let (mut target, others): (Vec<_>, Vec<_>) = self
            .instance_groups()
            .await?
            .into_iter()
            .partition(|group| group.value.metadata.name == name);
        let target = target
            .pop()
            .ok_or_else(|| CommandError::InstanceGroupNotFound {
                instance_group: name.to_owned(),
                cluster: self.cluster.clone(),
            })?;
        Ok((
            target,
            others.into_iter().map(|group| group.value).collect(),
        ))
    }

    /// Replaces the Cluster document if it still has `etag` (nobody changed it since it was
    /// read).
    pub(crate) async fn replace_cluster(
        &self,
        cluster: &Cluster,
        etag: ETag,
    ) -> anyhow::Result<()> {
        let yaml = berth_model::cluster_to_yaml(cluster)?;
        self.store
            .put(
                &self.keys.config(),
                yaml.into_bytes(),
                WriteCondition::Replace(etag),
            )
            .await?;
        Ok(())
    }

    /// Starts a batch of writes that is undone as a whole when one of them fails.
    pub(crate) fn batch(&self) -> WriteBatch<'_> {
        WriteBatch {
            specs: self,
            done: Vec::new(),
        }
    }
}

fn parse_one(bytes: &[u8], key: &str) -> anyhow::Result<Document> {
    let text = String::from_utf8_lossy(bytes);
    let mut documents =
        berth_model::parse_documents(&text, key).map_err(|source| CommandError::CorruptObject {
            key: key.to_owned(),
            kind: "spec",
            source: Box::new(source),
        })?;
    match (documents.pop(), documents.is_empty()) {
        (Some(document), true) => Ok(document),
        _ => Err(anyhow::anyhow!(
            "`{key}` in the state store must hold exactly one document"
        )),
    }
}

fn not_of_kind(key: &str, kind: &str) -> anyhow::Error {
    anyhow::anyhow!("`{key}` in the state store is not a {kind} document")
}

/// What a write did, so that it can be undone.
#[derive(Debug)]
enum Undo {
    /// The key did not exist: delete it (if it still holds what we wrote).
    Created { key: String, etag: ETag },
    /// The key held `previous`: put it back (if it still holds what we wrote).
    Replaced {
        key: String,
        previous: Vec<u8>,
        etag: ETag,
    },
}

/// Writes that are rolled back together when one fails (see [`WriteBatch::rollback`]).
#[derive(Debug)]
pub(crate) struct WriteBatch<'a> {
    specs: &'a SpecStore,
    done: Vec<Undo>,
}

impl WriteBatch<'_> {
    /// Creates `key`; fails if it exists.
    pub(crate) async fn create(&mut self, key: String, bytes: Vec<u8>) -> anyhow::Result<()> {
        let etag = self
            .specs
            .store
            .put(&key, bytes, WriteCondition::Create)
            .await?;
        self.done.push(Undo::Created { key, etag });
        Ok(())
    }

    /// Replaces `key` if it still has `etag`; `previous` is what it held then.
    pub(crate) async fn replace(
        &mut self,
        key: String,
        bytes: Vec<u8>,
        etag: ETag,
        previous: Vec<u8>,
    ) -> anyhow::Result<()> {
        let etag = self
            .specs
            .store
            .put(&key, bytes, WriteCondition::Replace(etag))
            .await?;
        self.done.push(Undo::Replaced {
            key,
            previous,
            etag,
        });
        Ok(())
    }

    /// Writes the Cluster document.
    pub(crate) async fn create_cluster(&mut self, cluster: &Cluster) -> anyhow::Result<()> {
        let yaml = berth_model::cluster_to_yaml(cluster)?;
        self.create(self.specs.keys.config(), yaml.into_bytes())
            .await
    }

    /// Writes a new InstanceGroup document.
    pub(crate) async fn create_instance_group(
        &mut self,
        group: &InstanceGroup,
    ) -> anyhow::Result<()> {
        let yaml = berth_model::instance_group_to_yaml(group)?;
        self.create(
            self.specs.keys.instance_group(&group.metadata.name),
            yaml.into_bytes(),
        )
        .await
    }

    /// Runs `writes` and undoes everything they wrote if they fail; returns their result.
    pub(crate) async fn run<F>(mut self, writes: F) -> anyhow::Result<()>
    where
        F: AsyncFnOnce(&mut Self) -> anyhow::Result<()>,
    {
        match writes(&mut self).await {
            Ok(()) => Ok(()),
            Err(error) => {
                if let Err(rollback) = self.rollback().await {
                    return Err(error.context(format!(
                        "a write failed and undoing the earlier writes failed too ({rollback:#}); the store may need `berth replace -f`"
                    )));
                }
                Err(error)
            }
        }
    }

    /// Undoes every write of this batch, newest first, each conditional on being unchanged.
    async fn rollback(&mut self) -> anyhow::Result<()> {
        let store = &self.specs.store;
        while let Some(undo) = self.done.pop() {
            match undo {
                Undo::Created { key, etag } => store
                    .delete(&key, Some(etag))
                    .await
                    .with_context(|| format!("failed to remove `{key}`"))?,
                Undo::Replaced {
                    key,
                    previous,
                    etag,
                } => {
                    store
                        .put(&key, previous, WriteCondition::Replace(etag))
                        .await
                        .with_context(|| format!("failed to restore `{key}`"))?;
                }
            }
        }
        Ok(())
    }
}
