//! The etcd EBS volumes of a control-plane node: which one it takes in its zone (and so
//! which etcd member it is), attaching it, and where its peers are.
//!
//! `update cluster` creates one volume per etcd member, in the zone of the member's
//! instance group, tagged `KubernetesCluster=<cluster>` and
//! `k8s.io/etcd/<etcd cluster>=<member>/<all members>` (see `model/src/builders/etcd.rs`).
//! Every control-plane node (kops's protokube and etcd-manager do the same):
//!
//! 1. learns its instance id and zone: `--instance-id`/`--zone` (`NODEUP_INSTANCE_ID`,
//!    `NODEUP_ZONE`), else the instance metadata service (IMDSv2);
//! 2. lists the cluster's etcd volumes, in every zone, with one (paginated)
//!    `DescribeVolumes`;
//! 3. for each etcd cluster, takes the volume of its zone already attached to this instance,
//!    else the `available` one of the lowest member name, else one still attached to an
//!    instance that is stopping, stopped or shutting down (the machine this one replaces:
//!    `DetachVolume`, forced unless the holder is stopped, then waits until it is
//!    `available`). A volume attached to a pending or running instance is never taken;
//! 4. attaches it (`AttachVolume`, [`device`]) and waits until EC2 reports it attached
//!    ([`ATTACH_TIMEOUT`]);
//! 5. reports the member named by the tag (the part before `/`) to the plan, and the
//!    private address of every member whose volume is attached to a live instance
//!    ([`EtcdPeer`]): the plan writes them to `/etc/hosts` under the members' DNS names,
//!    which the etcd static pods use as peer URLs (etcd-manager keeps `/etc/hosts` the same
//!    way), so a replaced member keeps its name and its data.
//!
//! With `--dry-run` it picks the volumes but attaches and detaches nothing. What happens to
//! the attached device (formatted when blank, mounted) is [`crate::block_device`]'s.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
    time::Duration,
};

use aws_sdk_ec2::types::{Filter, InstanceStateName, Volume, VolumeAttachmentState, VolumeState};
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

/// Whether this node takes etcd volumes: a control-plane node of a cluster with etcd.
#[must_use]
pub fn needed(config: &NodeupConfig) -> bool {
    config.role == NodeRole::ControlPlane && !config.etcd_members.is_empty()
}

/// This instance, as EC2 knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The instance id (`i-…`).
    pub id: String,
    /// The availability zone (`us-east-1b`).
    pub zone: String,
}

/// One etcd cluster's volume, as found (and attached) by [`discover`].
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
    /// Whether it is attached to this instance now (false only when nothing was attached:
    /// `--dry-run`, `--sync`).
    pub held: bool,
    /// The stopped or terminating instance this run detached it from first.
    pub taken_from: Option<String>,
}

/// A member of an etcd cluster whose volume is attached to a live instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct EtcdPeer {
    /// The etcd cluster (`main`, `events`).
    pub cluster: String,
    /// The member's name.
    pub member: String,
    /// The instance its volume is attached to.
    pub instance_id: String,
    /// That instance's private address.
    pub address: IpAddr,
}

/// What [`discover`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdDiscovery {
    /// This node's volume of each etcd cluster.
    pub volumes: Vec<EtcdVolume>,
    /// Every member whose volume a live instance holds (this node's included once attached).
    pub peers: Vec<EtcdPeer>,
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
    #[error("failed to list the etcd volumes of cluster `{cluster_name}`")]
    Describe {
        /// The Kubernetes cluster.
        cluster_name: String,
        /// The EC2 error.
        #[source]
        source: BoxError,
    },
    /// `DescribeInstances` of the instances holding etcd volumes failed.
    #[error("failed to look up the instances holding etcd volumes ({instances})")]
    DescribeHolders {
        /// The instance ids.
        instances: String,
        /// The EC2 error.
        #[source]
        source: BoxError,
    },
    /// `DetachVolume` from a stopped or terminating instance, or the wait after, failed.
    #[error(
        "failed to detach the volume {volume_id} (etcd cluster `{cluster}`) from {holder}, which is {holder_state}; detach it in EC2 (or wait until {holder} has terminated) and run nodeup again"
    )]
    Detach {
        /// The etcd cluster.
        cluster: String,
        /// The volume.
        volume_id: String,
        /// The instance it was attached to.
        holder: String,
        /// That instance's state.
        holder_state: String,
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
        "no volume of etcd cluster `{cluster}` in zone {zone} is free for this instance ({instance_id}): {attached}; a volume attached to a running instance is never taken, so stop or terminate the instance this one replaces and run nodeup again"
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

/// For each etcd cluster of `config`, finds this instance's volume in its zone and, unless
/// `attach` is false, attaches it; also finds the live members (see the module docs).
///
/// # Errors
/// [`EtcdVolumeError`] naming the etcd cluster, the zone and what was found.
pub async fn discover(
    ec2: &aws_sdk_ec2::Client,
    config: &NodeupConfig,
    instance: &Instance,
    attach: bool,
) -> Result<EtcdDiscovery, EtcdVolumeError> {
    let listed = list(ec2, config).await?;
    let holders = describe_holders(ec2, &listed, &instance.id).await?;
    let mut volumes = Vec::new();
    for cluster in config.etcd_members.keys() {
        let candidates: Vec<&Listed> = listed
            .iter()
            .filter(|volume| volume.cluster == *cluster && volume.zone == instance.zone)
            .collect();
        volumes.push(
            take(
                ec2,
                config,
                instance,
                cluster,
                &candidates,
                &holders,
                attach,
            )
            .await?,
        );
    }
    let mut peers: Vec<EtcdPeer> = listed
        .iter()
        .filter_map(|volume| {
            let holder = volume.holder.as_ref()?;
            let (state, address) = holders.get(holder)?;
            matches!(
                state,
                InstanceStateName::Pending | InstanceStateName::Running
            )
            .then_some(EtcdPeer {
                cluster: volume.cluster.clone(),
                member: volume.member.clone(),
                instance_id: holder.clone(),
                address: (*address)?,
            })
        })
        .collect();
    peers.sort();
    Ok(EtcdDiscovery { volumes, peers })
}

/// The members named by `volumes`, by etcd cluster.
#[must_use]
pub fn members(volumes: &[EtcdVolume]) -> BTreeMap<String, String> {
    volumes
        .iter()
        .map(|volume| (volume.cluster.clone(), volume.member.clone()))
        .collect()
}

/// One of the cluster's etcd volumes, as listed.
#[derive(Debug, Clone)]
struct Listed {
    cluster: String,
    member: String,
    volume_id: String,
    zone: String,
    holder: Option<String>,
    state: Option<VolumeState>,
}

/// Every etcd volume of the cluster, in every zone (one paginated `DescribeVolumes` of the
/// cluster's volumes; the `k8s.io/etcd/<cluster>` tags are picked out here, which also
/// spares relying on a multi-value `tag-key` filter).
async fn list(
    ec2: &aws_sdk_ec2::Client,
    config: &NodeupConfig,
) -> Result<Vec<Listed>, EtcdVolumeError> {
    let mut volumes: Vec<Volume> = Vec::new();
    let mut token = None;
    loop {
        let page = ec2
            .describe_volumes()
            .filters(
                Filter::builder()
                    .name("tag:KubernetesCluster")
                    .values(&config.cluster_name)
                    .build(),
            )
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| EtcdVolumeError::Describe {
                cluster_name: config.cluster_name.clone(),
                source: Box::new(error),
            })?;
        volumes.extend(page.volumes().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut listed = Vec::new();
    for volume in &volumes {
        let volume_id = volume.volume_id().unwrap_or_default().to_owned();
        for tag in volume.tags() {
            let Some(cluster) = tag
                .key()
                .and_then(|key| key.strip_prefix("k8s.io/etcd/"))
                .filter(|cluster| config.etcd_members.contains_key(*cluster))
            else {
                continue;
            };
            let value = tag.value().unwrap_or_default();
            let member = value
                .split_once('/')
                .map(|(member, _)| member)
                .filter(|member| !member.is_empty())
                .ok_or_else(|| EtcdVolumeError::BadTag {
                    cluster: cluster.to_owned(),
                    volume_id: volume_id.clone(),
                    value: value.to_owned(),
                })?;
            listed.push(Listed {
                cluster: cluster.to_owned(),
                member: member.to_owned(),
                volume_id: volume_id.clone(),
                zone: volume.availability_zone().unwrap_or_default().to_owned(),
                holder: attached_to(volume),
                state: volume.state().cloned(),
            });
        }
    }
    listed.sort_by(|a, b| (&a.cluster, &a.member).cmp(&(&b.cluster, &b.member)));
    Ok(listed)
}

/// The state and private address of each instance (other than `this`) holding a volume;
/// an instance EC2 no longer knows is absent.
async fn describe_holders(
    ec2: &aws_sdk_ec2::Client,
    listed: &[Listed],
    this: &str,
) -> Result<BTreeMap<String, (InstanceStateName, Option<IpAddr>)>, EtcdVolumeError> {
    let ids: BTreeSet<String> = listed
        .iter()
        .filter_map(|volume| volume.holder.clone())
        .filter(|holder| holder != this)
        .collect();
    let mut holders = BTreeMap::new();
    if ids.is_empty() {
        return Ok(holders);
    }
    let ids: Vec<String> = ids.into_iter().collect();
    let mut token = None;
    loop {
        // A filter rather than InstanceIds: an id EC2 forgot is no error, just absent.
        let page = ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name("instance-id")
                    .set_values(Some(ids.clone()))
                    .build(),
            )
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| EtcdVolumeError::DescribeHolders {
                instances: ids.join(", "),
                source: Box::new(error),
            })?;
        for instance in page
            .reservations()
            .iter()
            .flat_map(|reservation| reservation.instances())
        {
            let Some(id) = instance.instance_id() else {
                continue;
            };
            let state = instance
                .state()
                .and_then(|state| state.name().cloned())
                .unwrap_or(InstanceStateName::Pending);
            let address = instance
                .private_ip_address()
                .and_then(|address| address.parse().ok());
            holders.insert(id.to_owned(), (state, address));
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(holders)
}

/// Whether a volume held by an instance in `state` (`None`: EC2 no longer knows it) may be
/// taken from it, and whether the detach must be forced.
fn released_by(state: Option<&InstanceStateName>) -> Option<bool> {
    match state {
        None | Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown) => Some(true),
        Some(InstanceStateName::Stopping) => Some(true),
        Some(InstanceStateName::Stopped) => Some(false),
        Some(_) => None,
    }
}

async fn take(
    ec2: &aws_sdk_ec2::Client,
    config: &NodeupConfig,
    instance: &Instance,
    cluster: &str,
    candidates: &[&Listed],
    holders: &BTreeMap<String, (InstanceStateName, Option<IpAddr>)>,
    attach: bool,
) -> Result<EtcdVolume, EtcdVolumeError> {
    if candidates.is_empty() {
        return Err(EtcdVolumeError::NoVolume {
            cluster: cluster.to_owned(),
            cluster_name: config.cluster_name.clone(),
            zone: instance.zone.clone(),
        });
    }
    let device = device(cluster).to_owned();
    let volume = |listed: &Listed, attached_now: bool, taken_from: Option<String>| EtcdVolume {
        cluster: cluster.to_owned(),
        member: listed.member.clone(),
        volume_id: listed.volume_id.clone(),
        device: device.clone(),
        attached_now,
        held: attached_now,
        taken_from,
    };
    if let Some(own) = candidates
        .iter()
        .find(|listed| listed.holder.as_deref() == Some(instance.id.as_str()))
    {
        tracing::info!(
            cluster,
            member = own.member,
            volume_id = own.volume_id,
            "etcd volume already attached"
        );
        return Ok(EtcdVolume {
            held: true,
            ..volume(own, false, None)
        });
    }
    if let Some(free) = candidates.iter().find(|listed| {
        listed.holder.is_none() && listed.state.as_ref() == Some(&VolumeState::Available)
    }) {
        let taken = volume(free, attach, None);
        if attach {
            attach_and_wait(ec2, &taken, &instance.id).await?;
            tracing::info!(
                cluster,
                member = taken.member,
                volume_id = taken.volume_id,
                "attached the etcd volume"
            );
        }
        return Ok(taken);
    }
    let released = candidates.iter().find_map(|listed| {
        let holder = listed.holder.as_ref()?;
        let state = holders.get(holder).map(|(state, _)| state);
        released_by(state).map(|force| (*listed, holder.clone(), state.cloned(), force))
    });
    if let Some((listed, holder, state, force)) = released {
        let holder_state = state.map_or("gone".to_owned(), |state| state.as_str().to_owned());
        let taken = volume(listed, attach, Some(holder.clone()));
        if attach {
            detach_and_wait(ec2, &taken, &holder, &holder_state, force).await?;
            attach_and_wait(ec2, &taken, &instance.id).await?;
            tracing::info!(
                cluster,
                member = taken.member,
                volume_id = taken.volume_id,
                from = holder,
                "took the etcd volume from a {holder_state} instance"
            );
        }
        return Ok(taken);
    }
    let attached = candidates
        .iter()
        .map(|listed| {
            let holder = listed.holder.clone().unwrap_or_else(|| {
                listed
                    .state
                    .as_ref()
                    .map_or("unknown state".to_owned(), |state| {
                        state.as_str().to_owned()
                    })
            });
            format!("{} (member {}) → {holder}", listed.volume_id, listed.member)
        })
        .collect::<Vec<_>>()
        .join(", ");
    Err(EtcdVolumeError::AllAttached {
        cluster: cluster.to_owned(),
        zone: instance.zone.clone(),
        instance_id: instance.id.clone(),
        attached,
    })
}

/// Detaches `volume` from `holder` and waits until it is `available`.
async fn detach_and_wait(
    ec2: &aws_sdk_ec2::Client,
    volume: &EtcdVolume,
    holder: &str,
    holder_state: &str,
    force: bool,
) -> Result<(), EtcdVolumeError> {
    let failed = |source: BoxError| EtcdVolumeError::Detach {
        cluster: volume.cluster.clone(),
        volume_id: volume.volume_id.clone(),
        holder: holder.to_owned(),
        holder_state: holder_state.to_owned(),
        source,
    };
    ec2.detach_volume()
        .volume_id(&volume.volume_id)
        .instance_id(holder)
        .force(force)
        .send()
        .await
        .map_err(|error| failed(Box::new(error)))?;
    let waited = wait_for(ec2, &volume.volume_id, |found| {
        let state = found.state();
        (
            state == Some(&VolumeState::Available),
            state.map_or("unknown".to_owned(), |state| state.as_str().to_owned()),
        )
    })
    .await
    .map_err(failed)?;
    match waited {
        None => Ok(()),
        Some(last) => Err(failed(
            format!("still {last} after {}s", ATTACH_TIMEOUT.as_secs()).into(),
        )),
    }
}

/// Describes `volume_id` every [`ATTACH_POLL`] until `observe` says it is done (it returns
/// whether, and the state to report); `None` when done, the last state after
/// [`ATTACH_TIMEOUT`].
async fn wait_for(
    ec2: &aws_sdk_ec2::Client,
    volume_id: &str,
    observe: impl Fn(&Volume) -> (bool, String),
) -> Result<Option<String>, BoxError> {
    let deadline = tokio::time::Instant::now() + ATTACH_TIMEOUT;
    loop {
        let described = ec2
            .describe_volumes()
            .volume_ids(volume_id)
            .send()
            .await
            .map_err(Box::new)?;
        let (done, state) = described
            .volumes()
            .first()
            .map_or((false, "none".to_owned()), &observe);
        if done {
            return Ok(None);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(Some(state));
        }
        tokio::time::sleep(ATTACH_POLL).await;
    }
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
    let waited = wait_for(ec2, &volume.volume_id, |found| {
        let state = found
            .attachments()
            .iter()
            .find(|attachment| attachment.instance_id() == Some(instance_id))
            .and_then(|attachment| attachment.state());
        (
            state == Some(&VolumeAttachmentState::Attached),
            state.map_or("none".to_owned(), |state| state.as_str().to_owned()),
        )
    })
    .await
    .map_err(failed)?;
    match waited {
        None => Ok(()),
        Some(state) => Err(EtcdVolumeError::AttachTimeout {
            cluster: volume.cluster.clone(),
            volume_id: volume.volume_id.clone(),
            instance_id: instance_id.to_owned(),
            state,
            timeout: ATTACH_TIMEOUT,
        }),
    }
}
