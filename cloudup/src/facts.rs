//! Facts about the account the model needs as data: zones, images, a shared VPC's CIDR, the
//! hosted zone. Gathered once per command, before completion and building, in a few calls.
//! What the nodeup configs carry beyond the spec is gathered by the submodules: the assets'
//! hashes from their publishers ([`assets`]) and the cluster CA's certificate and bootstrap
//! token from the state store ([`node_secrets`]).

pub mod assets;
pub mod node_secrets;

use std::collections::BTreeMap;

use berth_model::{Cluster, InstanceGroup};

use crate::{
    aws::{AwsClients, aws_error, missing},
    engine::{RetryClass, RetryPolicy, TaskError},
};

/// What [`gather`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFacts {
    /// Zones of the region that are available.
    pub available_zones: Vec<String>,
    /// Each image as written in an instance group (`ami-…` or `owner/name`) → its AMI id.
    pub images: BTreeMap<String, String>,
    /// The CIDR of the shared VPC (`spec.networkID`), if any.
    pub shared_vpc_cidr: Option<String>,
    /// The hosted zone for the cluster's DNS names: its name and whether it is private.
    pub hosted_zone: Option<(String, bool)>,
}

/// Why facts could not be gathered; each names what is missing and what to do.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// An AWS call failed.
    #[error("failed to look up {what}")]
    Lookup {
        /// What was being looked up.
        what: String,
        /// The failure.
        #[source]
        source: TaskError,
    },
    /// No image matches an instance group's `image`.
    #[error(
        "instance group `{instance_group}`: no image `{image}` in region {region}; use an AMI id or `owner/name` of an image that exists"
    )]
    ImageNotFound {
        /// The instance group.
        instance_group: String,
        /// The image as written.
        image: String,
        /// The region.
        region: String,
    },
    /// The shared VPC does not exist.
    #[error("spec.networkID: VPC `{id}` does not exist in region {region}")]
    VpcNotFound {
        /// The VPC id.
        id: String,
        /// The region.
        region: String,
    },
    /// The hosted zone does not exist.
    #[error("spec.dnsZone: no {kind} Route 53 hosted zone `{zone}`; create it or use `--dns none`")]
    HostedZoneNotFound {
        /// The zone name.
        zone: String,
        /// `public` or `private`.
        kind: &'static str,
    },
}

impl FactsError {
    /// Whether the user can fix it (everything but a failed call that was not refused).
    #[must_use]
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Self::Lookup { .. })
    }
}

/// How many times fact gathering is tried when its calls fail transiently (throttling, 5xx,
/// a dropped connection): as the engine's tasks are, with the same jittered backoff.
const GATHER_ATTEMPTS: u32 = 6;

/// Gathers the facts `cluster` and `instance_groups` need, in at most
/// 1 + images + (shared VPC ? 1 : 0) + (DNS ? 1 : 0) calls, run concurrently; retried as a
/// whole on transient failures (the calls are read-only).
pub async fn gather(
    clients: &AwsClients,
    cluster: &Cluster,
    instance_groups: &[InstanceGroup],
) -> Result<AccountFacts, FactsError> {
    let policy = RetryPolicy::default();
    let mut attempt = 1;
    loop {
        match gather_once(clients, cluster, instance_groups).await {
            Err(FactsError::Lookup { source, .. })
                if attempt < GATHER_ATTEMPTS && source.retry_class() == RetryClass::Transient =>
            {
                tokio::time::sleep(policy.backoff(attempt)).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

async fn gather_once(
    clients: &AwsClients,
    cluster: &Cluster,
    instance_groups: &[InstanceGroup],
) -> Result<AccountFacts, FactsError> {
    let zones = available_zones(clients);
    let images = images(clients, instance_groups);
    let vpc = shared_vpc_cidr(clients, cluster);
    let zone = hosted_zone(clients, cluster);
    let (zones, images, vpc, zone) = tokio::join!(zones, images, vpc, zone);
    Ok(AccountFacts {
        available_zones: zones?,
        images: images?,
        shared_vpc_cidr: vpc?,
        hosted_zone: zone?,
    })
}

async fn available_zones(clients: &AwsClients) -> Result<Vec<String>, FactsError> {
    let lookup = |source| FactsError::Lookup {
        what: "availability zones".into(),
        source,
    };
    let response = clients
        .ec2
        .describe_availability_zones()
        .send()
        .await
        .map_err(|error| lookup(aws_error("DescribeAvailabilityZones", error)))?;
    Ok(response
        .availability_zones()
        .iter()
        .filter(|zone| {
            zone.state()
                .is_none_or(|state| *state == aws_sdk_ec2::types::AvailabilityZoneState::Available)
        })
        .filter_map(|zone| zone.zone_name().map(str::to_owned))
        .collect())
}

/// Resolves every distinct image; the newest image wins when a name pattern matches several.
async fn images(
    clients: &AwsClients,
    instance_groups: &[InstanceGroup],
) -> Result<BTreeMap<String, String>, FactsError> {
    let mut wanted: BTreeMap<String, String> = BTreeMap::new();
    for group in instance_groups {
        if let Some(image) = &group.spec.image {
            wanted
                .entry(image.clone())
                .or_insert_with(|| group.metadata.name.clone());
        }
    }
    // Clusters use one or two images: one call each, in turn.
    let mut images = BTreeMap::new();
    for (image, group) in &wanted {
        images.insert(image.clone(), resolve_image(clients, image, group).await?);
    }
    Ok(images)
}

async fn resolve_image(
    clients: &AwsClients,
    image: &str,
    instance_group: &str,
) -> Result<String, FactsError> {
    let request = clients.ec2.describe_images();
    let request = if image.starts_with("ami-") {
        request.image_ids(image)
    } else {
        let (owner, name) = image.split_once('/').unwrap_or(("self", image));
        request.owners(owner).filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("name")
                .values(name)
                .build(),
        )
    };
    let lookup = |source| FactsError::Lookup {
        what: format!("image `{image}`"),
        source,
    };
    let not_found = || FactsError::ImageNotFound {
        instance_group: instance_group.to_owned(),
        image: image.to_owned(),
        region: clients.region.clone(),
    };
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            let error = aws_error("DescribeImages", error);
            if let TaskError::Aws {
                code: Some(code), ..
            } = &error
                && code.starts_with("InvalidAMIID")
            {
                return Err(not_found());
            }
            return Err(lookup(error));
        }
    };
    response
        .images()
        .iter()
        .max_by(|a, b| a.creation_date().cmp(&b.creation_date()))
        .ok_or_else(not_found)?
        .image_id()
        .map(str::to_owned)
        .ok_or_else(|| lookup(missing("DescribeImages", "ImageId")))
}

async fn shared_vpc_cidr(
    clients: &AwsClients,
    cluster: &Cluster,
) -> Result<Option<String>, FactsError> {
    let Some(id) = &cluster.spec.network_id else {
        return Ok(None);
    };
    let not_found = || FactsError::VpcNotFound {
        id: id.clone(),
        region: clients.region.clone(),
    };
    let response = match clients.ec2.describe_vpcs().vpc_ids(id).send().await {
        Ok(response) => response,
        Err(error) => {
            let error = aws_error("DescribeVpcs", error);
            if let TaskError::Aws {
                code: Some(code), ..
            } = &error
                && code == "InvalidVpcID.NotFound"
            {
                return Err(not_found());
            }
            return Err(FactsError::Lookup {
                what: format!("VPC `{id}`"),
                source: error,
            });
        }
    };
    let vpc = response.vpcs().first().ok_or_else(not_found)?;
    Ok(vpc.cidr_block().map(str::to_owned))
}

async fn hosted_zone(
    clients: &AwsClients,
    cluster: &Cluster,
) -> Result<Option<(String, bool)>, FactsError> {
    let Some(zone) = cluster
        .spec
        .dns_zone
        .as_deref()
        .filter(|zone| !zone.is_empty())
    else {
        return Ok(None);
    };
    let dns = cluster
        .spec
        .topology
        .as_ref()
        .and_then(|topology| topology.dns.as_ref());
    let private = match dns.map(|dns| dns.dns_type) {
        Some(berth_model::DnsType::None) => return Ok(None),
        Some(berth_model::DnsType::Private) => true,
        _ => false,
    };
    let wanted = format!("{}.", zone.trim_end_matches('.'));
    let response = clients
        .route53
        .list_hosted_zones_by_name()
        .dns_name(&wanted)
        .send()
        .await
        .map_err(|error| FactsError::Lookup {
            what: format!("hosted zone `{zone}`"),
            source: aws_error("ListHostedZonesByName", error),
        })?;
    let found = response.hosted_zones().iter().any(|candidate| {
        candidate.name() == wanted
            && candidate
                .config()
                .is_some_and(aws_sdk_route53::types::HostedZoneConfig::private_zone)
                == private
    });
    if !found {
        return Err(FactsError::HostedZoneNotFound {
            zone: zone.to_owned(),
            kind: if private { "private" } else { "public" },
        });
    }
    Ok(Some((zone.trim_end_matches('.').to_owned(), private)))
}
