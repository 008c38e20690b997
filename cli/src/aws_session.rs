//! The one AWS configuration of a command: the standard credential chain, profile and endpoint
//! settings, in the cluster's region.

use anyhow::Context as _;
use aws_config::{BehaviorVersion, Region};
use berth_cloudup::aws::AwsClients;

/// Loads the AWS configuration for `region` (the cluster's, from its zones).
///
/// Everything else — credentials, profile, `AWS_ENDPOINT_URL`, retries — comes from the
/// environment and config files, as every AWS tool does.
pub(crate) async fn load(region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .load()
        .await
}

/// The region of a cluster: its zones' region (`us-east-1a` → `us-east-1`).
pub(crate) fn region_of(cluster: &berth_model::Cluster) -> Option<String> {
    cluster
        .spec
        .subnets
        .iter()
        .map(|subnet| subnet.zone.as_str())
        .find(|zone| !zone.is_empty())
        .map(|zone| {
            zone.trim_end_matches(|character: char| character.is_ascii_alphabetic())
                .to_owned()
        })
}

/// [`region_of`], or an error when the cluster has no zone to take it from.
pub(crate) fn cluster_region(cluster: &berth_model::Cluster) -> anyhow::Result<String> {
    region_of(cluster).context("the cluster has no subnets with a zone, so its region is unknown")
}

/// The AWS clients of the cluster's region (see [`cluster_region`] and [`load`]).
pub(crate) async fn cluster_clients(cluster: &berth_model::Cluster) -> anyhow::Result<AwsClients> {
    Ok(AwsClients::new(&load(&cluster_region(cluster)?).await))
}
