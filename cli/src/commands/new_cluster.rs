//! Writing a brand-new cluster to the store: its CAs, SSH key, instance groups, then the
//! Cluster document last, so that a cluster only appears once all of it is there.

use berth_model::{Cluster, InstanceGroup, ssh::SshPublicKey};

use crate::{error::CommandError, spec_store::SpecStore};

/// The version marker written beside a cluster's spec.
pub(crate) const BERTH_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Writes `cluster` and `instance_groups` (already validated) with freshly generated CAs.
///
/// Fails without leaving anything behind when the cluster exists or any write fails.
pub(crate) async fn write(
    specs: &SpecStore,
    cluster: &Cluster,
    instance_groups: &[InstanceGroup],
    ssh_key: Option<&SshPublicKey>,
) -> anyhow::Result<()> {
    if specs.find_cluster().await?.is_some() {
        return Err(CommandError::ClusterExists {
            cluster: specs.cluster_name().to_owned(),
            store: specs.store().url().to_owned(),
        }
        .into());
    }
    let keypairs = berth_model::pki::generate_cluster_keypairs(time::OffsetDateTime::now_utc())?;
    let keys = specs.keys().clone();
    specs
        .batch()
        .run(async |batch| {
            for keypair in &keypairs {
                batch
                    .create(
                        keys.pki_private(keypair.name),
                        keypair.private_key_pem.clone().into_bytes(),
                    )
                    .await?;
                batch
                    .create(
                        keys.pki_issued(keypair.name),
                        keypair.certificate_pem.clone().into_bytes(),
                    )
                    .await?;
            }
            if let Some(key) = ssh_key {
                batch
                    .create(
                        keys.ssh_public_key(key.fingerprint()),
                        key.text().as_bytes().to_vec(),
                    )
                    .await?;
            }
            for group in instance_groups {
                batch.create_instance_group(group).await?;
            }
            batch
                .create(
                    keys.berth_version(),
                    format!("{BERTH_VERSION}\n").into_bytes(),
                )
                .await?;
            batch.create_cluster(cluster).await
        })
        .await
}
