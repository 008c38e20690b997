//! The cluster's live control-plane instances and their addresses, as EC2 lists them: what
//! the API's DNS records ([`crate::api_dns`]) and, on clusters without DNS, the API server's
//! name in `/etc/hosts` ([`crate::plan::hosts`]) point at.
//!
//! One paginated `DescribeInstances` filtered by the tags `update cluster` puts on them
//! (`KubernetesCluster=<cluster>` and [`CONTROL_PLANE_ROLE_TAG`]`=1`, see
//! `model/src/builders/compute.rs`) and the states `pending` and `running`, so stopped and
//! terminated instances drop out. Every node role may call it (`ec2:DescribeInstances`).

use std::net::Ipv4Addr;

use aws_sdk_ec2::types::Filter;

/// The tag `update cluster` puts (value `1`) on control-plane instances.
pub const CONTROL_PLANE_ROLE_TAG: &str = "k8s.io/role/control-plane";
/// The tag naming the cluster an instance belongs to.
const CLUSTER_TAG: &str = "KubernetesCluster";

/// A live control-plane instance's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceAddresses {
    /// Its private IPv4 address.
    pub private: Option<Ipv4Addr>,
    /// Its public IPv4 address, when it has one.
    pub public: Option<Ipv4Addr>,
}

/// Why the instances could not be listed.
#[derive(Debug, thiserror::Error)]
#[error(
    "failed to list the control-plane instances of cluster `{cluster_name}`; check that this instance's role may call ec2:DescribeInstances"
)]
pub struct ListError {
    /// The Kubernetes cluster.
    pub cluster_name: String,
    /// The EC2 error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The cluster's pending and running control-plane instances (every page).
///
/// # Errors
/// [`ListError`] when `DescribeInstances` fails.
pub async fn list(
    ec2: &aws_sdk_ec2::Client,
    cluster_name: &str,
) -> Result<Vec<InstanceAddresses>, ListError> {
    let filter = |name: String, values: &[&str]| {
        Filter::builder()
            .name(name)
            .set_values(Some(values.iter().map(|&value| value.to_owned()).collect()))
            .build()
    };
    let mut pages = ec2
        .describe_instances()
        .filters(filter(format!("tag:{CLUSTER_TAG}"), &[cluster_name]))
        .filters(filter(format!("tag:{CONTROL_PLANE_ROLE_TAG}"), &["1"]))
        .filters(filter(
            "instance-state-name".to_owned(),
            &["pending", "running"],
        ))
        .into_paginator()
        .send();
    let mut instances = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| ListError {
            cluster_name: cluster_name.to_owned(),
            source: error.into(),
        })?;
        for instance in page
            .reservations()
            .iter()
            .flat_map(aws_sdk_ec2::types::Reservation::instances)
        {
            let address = |text: Option<&str>| text.and_then(|text| text.parse().ok());
            instances.push(InstanceAddresses {
                private: address(instance.private_ip_address()),
                public: address(instance.public_ip_address()),
            });
        }
    }
    Ok(instances)
}
