//! Which etcd member this control-plane node is, learned from the etcd EBS volume it takes.
//!
//! `update cluster` creates one volume per etcd member, in the zone of the member's
//! instance group, tagged `KubernetesCluster=<cluster>` and
//! `k8s.io/etcd/<etcd cluster>=<member>/<all members>` (see `model/src/builders/etcd.rs`).
//! A control-plane node of a cluster whose etcd has several members (kops's protokube and
//! etcd-manager do the same):
//!
//! 1. learns its instance id and zone: `--instance-id`/`--zone` (`NODEUP_INSTANCE_ID`,
//!    `NODEUP_ZONE`), else the instance metadata service (IMDSv2);
//! 2. for each etcd cluster, lists the volumes with both tags in its zone
//!    (`DescribeVolumes`);
//! 3. takes the one already attached to this instance, else the `available` one of the
//!    lowest member name; a volume attached to another instance is never taken;
//! 4. attaches it (`AttachVolume`, [`device`]) and waits until EC2 reports it attached
//!    ([`ATTACH_TIMEOUT`]);
//! 5. reports the member named by the tag (the part before `/`) to the plan.
//!
//! With `--dry-run` it picks the volume but attaches nothing. Formatting and mounting the
//! attached volume stay planned-but-skipped tasks (`EtcdVolume`, see [`crate::plan`]).
//! Clusters whose etcd clusters have one member each need none of this, and nodeup makes
//! no AWS call for them.

use std::{collections::BTreeMap, time::Duration};

use aws_sdk_ec2::types::{Filter, Volume, VolumeAttachmentState, VolumeState};
use berth_model::nodeup_config::{NodeRole, NodeupConfig};

/// How long nodeup waits for EC2 to report a volume attached.
pub const ATTACH_TIMEOUT: Duration = Duration::from_secs(120);
/// The delay between two checks of an attachment.
const ATTACH_POLL: Duration = Duration::from_secs(2);
/// How long each instance metadata request may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// A boxed source error (AWS SDK errors are large and generic).
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The device an etcd cluster's volume is attached as: `main` on `/dev/xvdu`, `events` on
/// `/dev/xvdv` (kops's protokube assigned etcd volumes devices from `/dev/xvdu` upward);
/// any other name gets `/dev/xvdw` (the plan refuses etcd clusters other than these two).
/// On Nitro instances the kernel names them `/dev/nvme*n1`; the requested name is kept in
/// the NVMe device's vendor data.
#[must_use]
pub fn device(cluster: &str) -> &'static str {
    match cluster {
        "main" => "/dev/xvdu",
        "events" => "/dev/xvdv",
        _ => "/dev/xvdw",
    }
}

/// Whether this node must find its etcd volumes to know its members: a control-plane node
/// of a cluster with an etcd cluster of several members.
#[must_use]
pub fn needed(config: &NodeupConfig) -> bool {
    config.role == NodeRole::ControlPlane
        && config
            .etcd_members
            .values()
            .any(|members| members.len() > 1)
}

/// This instance, as EC2 knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The instance id (`i-…`).
    pub id: String,
    /// The availability zone (`us-east-1b`).
    pub zone: String,
}

/// One etcd cluster's volume, as found (and attached) by [`find_and_attach`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdVolume {
    /// The etcd cluster (`main`, `events`).
    pub cluster: String,
    /// This node's member of it, from the volume's tag.
    pub member: String,
    /// The volume id.
    pub volume_id: String,
    /// The device it is (or would be) attached as.
    pub device: String,
    /// Whether this run attached it (false: it was attached already, or `--dry-run`).
    pub attached_now: bool,
}

/// Why the etcd volumes could not be found or attached.
#[derive(Debug, thiserror::Error)]
pub enum EtcdVolumeError {
    /// The instance metadata service did not answer.
    #[error(
        "failed to read this instance's {what} from the instance metadata service (IMDSv2); on EC2 check that the metadata service is enabled, elsewhere pass --instance-id and --zone"
    )]
    Metadata {
        /// `instance id` or `zone`.
        what: &'static str,
        /// The IMDS error.
        #[source]
        source: BoxError,
    },
    /// `DescribeVolumes` failed.
    #[error("failed to list the volumes of etcd cluster `{cluster}` in zone {zone}")]
    Describe {
        /// The etcd cluster.
        cluster: String,
        /// The zone.
        zone: String,
        /// The EC2 error.
        #[source]
        source: BoxError,
    },
    /// No volume of the etcd cluster is in this zone.
    #[error(
        "no volume of etcd cluster `{cluster}` (tags `KubernetesCluster={cluster_name}`, `k8s.io/etcd/{cluster}`) is in zone {zone}, so this node cannot tell its etcd member; create it with `berth update cluster {cluster_name} --yes`, or check that this instance group runs in a zone that has an etcd member"
    )]
    NoVolume {
        /// The etcd cluster.
        cluster: String,
        /// The Kubernetes cluster.
        cluster_name: String,
        /// The zone.
        zone: String,
    },
    /// Every volume in the zone is attached to another instance (or not `available`).
    #[error(
        "no volume of etcd cluster `{cluster}` in zone {zone} is free for this instance ({instance_id}): {attached}; a volume attached to another instance is never taken, so wait until the instance this one replaces has terminated (EC2 then releases its volume) and run nodeup again"
    )]
    AllAttached {
        /// The etcd cluster.
        cluster: String,
        /// The zone.
        zone: String,
        /// This instance.
        instance_id: String,
        /// `vol-… (member m) → i-…` (or the volume's state), for each volume found.
        attached: String,
    },
    /// A volume's tag does not name a member.
    #[error(
        "the volume {volume_id} of etcd cluster `{cluster}` has the tag `k8s.io/etcd/{cluster}={value}`, which does not name a member (`<member>/<all members>`)"
    )]
    BadTag {
        /// The etcd cluster.
        cluster: String,
        /// The volume.
        volume_id: String,
        /// The tag's value.
        value: String,
    },
    /// `AttachVolume` or the check that follows failed.
    #[error(
        "failed to attach the volume {volume_id} (etcd cluster `{cluster}`, member `{member}`) to {instance_id} as {device}"
    )]
    Attach {
        /// The etcd cluster.
        cluster: String,
        /// The member.
        member: String,
        /// The volume.
        volume_id: String,
        /// This instance.
        instance_id: String,
        /// The device.
        device: String,
        /// The EC2 error.
        #[source]
        source: BoxError,
    },
    /// The attachment did not complete in time.
    #[error(
        "the volume {volume_id} (etcd cluster `{cluster}`) was not attached to {instance_id} within {}s (last state: {state}); check the volume in EC2 and run nodeup again",
        timeout.as_secs()
    )]
    AttachTimeout {
        /// The etcd cluster.
        cluster: String,
        /// The volume.
        volume_id: String,
        /// This instance.
        instance_id: String,
        /// The last attachment state seen.
        state: String,
        /// The limit.
        timeout: Duration,
    },
}

/// Finds this instance's id and zone, preferring the given values over the instance
/// metadata service.
///
/// # Errors
/// [`EtcdVolumeError::Metadata`] when a value is not given and IMDS does not answer.
pub async fn instance(
    id: Option<String>,
    zone: Option<String>,
) -> Result<Instance, EtcdVolumeError> {
    if let (Some(id), Some(zone)) = (id.clone(), zone.clone()) {
        return Ok(Instance { id, zone });
    }
    let client = aws_config::imds::Client::builder()
        .connect_timeout(METADATA_TIMEOUT)
        .read_timeout(METADATA_TIMEOUT)
        .build();
    let read = |what: &'static str, path: &'static str| {
        let client = client.clone();
        async move {
            client
                .get(path)
                .await
                .map(|value| value.as_ref().trim().to_owned())
                .map_err(|error| EtcdVolumeError::Metadata {
                    what,
                    source: Box::new(error),
                })
        }
    };
    let id = match id {
        Some(id) => id,
        None => read("instance id", "/latest/meta-data/instance-id").await?,
    };
    let zone = match zone {
        Some(zone) => zone,
        None => read("zone", "/latest/meta-data/placement/availability-zone").await?,
    };
    Ok(Instance { id, zone })
}

/// For each etcd cluster of `config`, finds this instance's volume in its zone, attaches
/// it unless `attach` is false, and returns them (see the module docs).
///
/// # Errors
/// [`EtcdVolumeError`] naming the etcd cluster, the zone and what was found.
pub async fn find_and_attach(
    ec2: &aws_sdk_ec2::Client,
    config: &NodeupConfig,
    instance: &Instance,
    attach: bool,
) -> Result<Vec<EtcdVolume>, EtcdVolumeError> {
    let mut found = Vec::new();
    for cluster in config.etcd_members.keys() {
        found.push(find_one(ec2, config, instance, cluster, attach).await?);
    }
    Ok(found)
}

/// The members named by `volumes`, by etcd cluster.
#[must_use]
pub fn members(volumes: &[EtcdVolume]) -> BTreeMap<String, String> {
    volumes
        .iter()
        .map(|volume| (volume.cluster.clone(), volume.member.clone()))
        .collect()
}

async fn find_one(
    ec2: &aws_sdk_ec2::Client,
    config: &NodeupConfig,
    instance: &Instance,
    cluster: &str,
    attach: bool,
) -> Result<EtcdVolume, EtcdVolumeError> {
    let tag = format!("k8s.io/etcd/{cluster}");
    let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    let mut volumes: Vec<Volume> = Vec::new();
    let mut token = None;
    loop {
        let page = ec2
            .describe_volumes()
            .filters(filter("tag:KubernetesCluster", &config.cluster_name))
            .filters(filter("tag-key", &tag))
            .filters(filter("availability-zone", &instance.zone))
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| EtcdVolumeError::Describe {
                cluster: cluster.to_owned(),
                zone: instance.zone.clone(),
                source: Box::new(error),
            })?;
        volumes.extend(page.volumes().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut candidates = Vec::new();
    for volume in &volumes {
        let volume_id = volume.volume_id().unwrap_or_default().to_owned();
        let value = volume
            .tags()
            .iter()
            .find(|t| t.key() == Some(tag.as_str()))
            .and_then(|t| t.value())
            .unwrap_or_default();
        let member = value
            .split_once('/')
            .map(|(member, _)| member)
            .filter(|member| !member.is_empty())
            .ok_or_else(|| EtcdVolumeError::BadTag {
                cluster: cluster.to_owned(),
                volume_id: volume_id.clone(),
                value: value.to_owned(),
            })?
            .to_owned();
        let holder = attached_to(volume);
        candidates.push((member, volume_id, holder, volume.state().cloned()));
    }
    if candidates.is_empty() {
        return Err(EtcdVolumeError::NoVolume {
            cluster: cluster.to_owned(),
            cluster_name: config.cluster_name.clone(),
            zone: instance.zone.clone(),
        });
    }
    candidates.sort();
    let device = device(cluster).to_owned();
    if let Some((member, volume_id, _, _)) = candidates
        .iter()
        .find(|(_, _, holder, _)| holder.as_deref() == Some(instance.id.as_str()))
    {
        tracing::info!(cluster, member, volume_id, "etcd volume already attached");
        return Ok(EtcdVolume {
            cluster: cluster.to_owned(),
            member: member.clone(),
            volume_id: volume_id.clone(),
            device,
            attached_now: false,
        });
    }
    let Some((member, volume_id, _, _)) = candidates.iter().find(|(_, _, holder, state)| {
        holder.is_none() && state.as_ref() == Some(&VolumeState::Available)
    }) else {
        let attached = candidates
            .iter()
            .map(|(member, volume_id, holder, state)| {
                let holder = holder.clone().unwrap_or_else(|| {
                    state.as_ref().map_or("unknown state".to_owned(), |state| {
                        state.as_str().to_owned()
                    })
                });
                format!("{volume_id} (member {member}) → {holder}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(EtcdVolumeError::AllAttached {
            cluster: cluster.to_owned(),
            zone: instance.zone.clone(),
            instance_id: instance.id.clone(),
            attached,
        });
    };
    let volume = EtcdVolume {
        cluster: cluster.to_owned(),
        member: member.clone(),
        volume_id: volume_id.clone(),
        device,
        attached_now: attach,
    };
    if attach {
        attach_and_wait(ec2, &volume, &instance.id).await?;
        tracing::info!(cluster, member, volume_id, "attached the etcd volume");
    }
    Ok(volume)
}

/// The instance a volume is attached (or attaching) to.
fn attached_to(volume: &Volume) -> Option<String> {
    volume
        .attachments()
        .iter()
        .find(|attachment| !matches!(attachment.state(), Some(VolumeAttachmentState::Detached)))
        .and_then(|attachment| attachment.instance_id().map(str::to_owned))
}

async fn attach_and_wait(
    ec2: &aws_sdk_ec2::Client,
    volume: &EtcdVolume,
    instance_id: &str,
) -> Result<(), EtcdVolumeError> {
    let failed = |source: BoxError| EtcdVolumeError::Attach {
        cluster: volume.cluster.clone(),
        member: volume.member.clone(),
        volume_id: volume.volume_id.clone(),
        instance_id: instance_id.to_owned(),
        device: volume.device.clone(),
        source,
    };
    ec2.attach_volume()
        .volume_id(&volume.volume_id)
        .instance_id(instance_id)
        .device(&volume.device)
        .send()
        .await
        .map_err(|error| failed(Box::new(error)))?;
    let deadline = tokio::time::Instant::now() + ATTACH_TIMEOUT;
    loop {
        let described = ec2
            .describe_volumes()
            .volume_ids(&volume.volume_id)
            .send()
            .await
            .map_err(|error| failed(Box::new(error)))?;
        let state = described
            .volumes()
            .first()
            .and_then(|found| {
                found
                    .attachments()
                    .iter()
                    .find(|attachment| attachment.instance_id() == Some(instance_id))
            })
            .and_then(|attachment| attachment.state().cloned());
        if state == Some(VolumeAttachmentState::Attached) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(EtcdVolumeError::AttachTimeout {
                cluster: volume.cluster.clone(),
                volume_id: volume.volume_id.clone(),
                instance_id: instance_id.to_owned(),
                state: state.map_or("none".to_owned(), |state| state.as_str().to_owned()),
                timeout: ATTACH_TIMEOUT,
            });
        }
        tokio::time::sleep(ATTACH_POLL).await;
    }
}
