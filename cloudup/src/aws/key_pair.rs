//! [`KeyPair`] reconciliation: the cluster's imported SSH key.
//!
//! Key pairs are immutable: another public key under the same name is a replacement, never
//! an update. Only tags change in place.

use async_trait::async_trait;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::ResourceType;
use aws_smithy_types::Blob;
use berth_model::aws::{KeyPair, Tags};

use super::tags::{
    ec2_cluster_filter, ec2_create_tags, ec2_tag_specification, from_ec2_tags, tags_change,
    tags_line,
};
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// A key pair as EC2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedKeyPair {
    name: String,
    id: String,
    /// The OpenSSH line, when EC2 returned it.
    public_key: Option<String>,
    tags: Tags,
}

#[async_trait]
impl Reconcile for KeyPair {
    type Observed = ObservedKeyPair;

    /// One DescribeKeyPairs filtered by the cluster tag, with the public keys.
    async fn discover(scope: DiscoveryScope<'_, Self>) -> Result<Vec<ObservedKeyPair>, TaskError> {
        describe_key_pairs(&scope.clients.ec2, DescribeBy::Cluster(scope.cluster)).await
    }

    fn find<'o>(&self, observed: &'o [ObservedKeyPair]) -> Option<&'o ObservedKeyPair> {
        observed.iter().find(|key_pair| key_pair.name == self.name)
    }

    fn output(observed: &ObservedKeyPair) -> Output {
        Output::id(&observed.name).with("key_pair_id", &observed.id)
    }

    fn diff(&self, observed: &ObservedKeyPair, _deps: &Resolver) -> (Action, Vec<FieldChange>) {
        if let Some(public_key) = &observed.public_key
            && key_material(public_key) != key_material(&self.public_key)
        {
            let field = FieldChange::new("public_key", public_key, &self.public_key);
            let reason = "public_key: an EC2 key pair cannot change its key".to_owned();
            return (Action::Replace { reason }, vec![field]);
        }
        match tags_change(&observed.tags, &self.tags) {
            Some(field) => (Action::Update, vec![field]),
            None => (Action::Unchanged, Vec::new()),
        }
    }

    fn describe_create(&self, _deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("name", "", &self.name),
            FieldChange::new("public_key", "", &self.public_key),
            FieldChange::new("tags", "", tags_line(&self.tags)),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let ec2 = &cx.clients.ec2;
        if cx.attempt > 1
            && let Some(existing) = lookup(self, ec2).await?
        {
            return Ok(Self::output(&existing));
        }
        let imported = ec2
            .import_key_pair()
            .key_name(&self.name)
            .public_key_material(Blob::new(self.public_key.as_bytes()))
            .tag_specifications(ec2_tag_specification(ResourceType::KeyPair, &self.tags))
            .send()
            .await;
        match imported {
            Ok(imported) => {
                let id = imported
                    .key_pair_id()
                    .ok_or_else(|| missing("ImportKeyPair", "KeyPairId"))?;
                Ok(Output::id(&self.name).with("key_pair_id", id))
            }
            // Imported by a run that Berth did not see finish; the name carries the key's
            // fingerprint, so the same name means the same key.
            Err(error) if error.code() == Some("InvalidKeyPair.Duplicate") => {
                let existing = lookup(self, ec2)
                    .await?
                    .ok_or_else(|| missing("DescribeKeyPairs", "KeyPairs"))?;
                Ok(Self::output(&existing))
            }
            Err(error) => Err(aws_error("ImportKeyPair", error)),
        }
    }

    async fn update(
        &self,
        observed: &ObservedKeyPair,
        _change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        // Tags are the only field that changes in place.
        ec2_create_tags(cx.clients, &observed.id, &self.tags).await?;
        Ok(Self::output(observed))
    }
}

async fn lookup(
    key_pair: &KeyPair,
    ec2: &aws_sdk_ec2::Client,
) -> Result<Option<ObservedKeyPair>, TaskError> {
    let found = describe_key_pairs(ec2, DescribeBy::Name(&key_pair.name)).await?;
    Ok(found.into_iter().next())
}

/// Which key pairs to describe.
enum DescribeBy<'a> {
    Cluster(&'a str),
    Name(&'a str),
}

async fn describe_key_pairs(
    ec2: &aws_sdk_ec2::Client,
    by: DescribeBy<'_>,
) -> Result<Vec<ObservedKeyPair>, TaskError> {
    let request = ec2.describe_key_pairs().include_public_key(true);
    let request = match by {
        DescribeBy::Cluster(cluster) => request.filters(ec2_cluster_filter(cluster)),
        DescribeBy::Name(name) => request.key_names(name),
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) if error.code() == Some("InvalidKeyPair.NotFound") => return Ok(Vec::new()),
        Err(error) => return Err(aws_error("DescribeKeyPairs", error)),
    };
    response
        .key_pairs()
        .iter()
        .map(|key_pair| {
            Ok(ObservedKeyPair {
                name: key_pair
                    .key_name()
                    .ok_or_else(|| missing("DescribeKeyPairs", "KeyName"))?
                    .to_owned(),
                id: key_pair
                    .key_pair_id()
                    .ok_or_else(|| missing("DescribeKeyPairs", "KeyPairId"))?
                    .to_owned(),
                public_key: key_pair.public_key().map(str::to_owned),
                tags: from_ec2_tags(key_pair.tags()),
            })
        })
        .collect()
}

/// The algorithm and key of an OpenSSH line, without its comment (EC2 may rewrite the
/// comment, e.g. to the key pair's name).
fn key_material(line: &str) -> Vec<&str> {
    line.split_whitespace().take(2).collect()
}

#[cfg(test)]
mod tests {
    use super::key_material;

    #[test]
    fn comments_do_not_count_as_a_key_change() {
        assert_eq!(
            key_material("ssh-ed25519 AAAA admin@example"),
            key_material("ssh-ed25519 AAAA c")
        );
        assert_ne!(
            key_material("ssh-ed25519 AAAA"),
            key_material("ssh-ed25519 AAAB")
        );
    }
}
