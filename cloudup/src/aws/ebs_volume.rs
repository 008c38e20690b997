//! [`EbsVolume`] reconciliation: the etcd data volumes, found by their `Name` tag among the
//! cluster's volumes.
//!
//! Size (growing only), type, IOPS and throughput change in place with ModifyVolume. A
//! smaller size, another zone or another encryption setting would need a new volume, and a
//! new volume is an empty etcd member: those are replacements Berth refuses to do itself.

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, VolumeState, VolumeType};
use berth_model::aws::{EbsVolume, Tags};

use super::tags::{
    ec2_cluster_filter, ec2_named_tags, ec2_tag_specification, ec2_update_tags, from_ec2_tags,
    tags_change, tags_line,
};
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// A volume as EC2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedEbsVolume {
    id: String,
    name: String,
    zone: String,
    size: i32,
    volume_type: String,
    iops: Option<i32>,
    throughput: Option<i32>,
    encrypted: bool,
    tags: Tags,
}

#[async_trait]
impl Reconcile for EbsVolume {
    type Observed = ObservedEbsVolume;

    /// One DescribeVolumes filtered by the cluster tag (volumes being deleted are left out).
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedEbsVolume>, TaskError> {
        describe_volumes(&scope.clients.ec2, ec2_cluster_filter(scope.cluster)).await
    }

    fn find<'o>(&self, observed: &'o [ObservedEbsVolume]) -> Option<&'o ObservedEbsVolume> {
        observed.iter().find(|volume| volume.name == self.name)
    }

    fn output(observed: &ObservedEbsVolume) -> Output {
        Output::id(&observed.id)
    }

    fn diff(&self, observed: &ObservedEbsVolume, _deps: &Resolver) -> (Action, Vec<FieldChange>) {
        let mut fields = Vec::new();
        let mut replace_reasons = Vec::new();
        if observed.zone != self.zone {
            fields.push(FieldChange::new("zone", &observed.zone, &self.zone));
            replace_reasons.push("zone: a volume cannot move to another zone");
        }
        if observed.encrypted != self.encrypted {
            fields.push(FieldChange::new(
                "encrypted",
                observed.encrypted,
                self.encrypted,
            ));
            replace_reasons.push("encrypted: a volume's encryption cannot change");
        }
        if observed.size != self.size {
            fields.push(FieldChange::new("size", observed.size, self.size));
            if self.size < observed.size {
                replace_reasons.push("size: an EBS volume cannot shrink");
            }
        }
        if observed.volume_type != self.volume_type {
            fields.push(FieldChange::new(
                "volume_type",
                &observed.volume_type,
                &self.volume_type,
            ));
        }
        // Unset means "the type's default": EC2 reports the default, which is not a change.
        if self.iops.is_some() && observed.iops != self.iops {
            fields.push(FieldChange::new(
                "iops",
                show(observed.iops),
                show(self.iops),
            ));
        }
        if self.throughput.is_some() && observed.throughput != self.throughput {
            fields.push(FieldChange::new(
                "throughput",
                show(observed.throughput),
                show(self.throughput),
            ));
        }
        fields.extend(tags_change(&observed.tags, &volume_tags(self)));
        let action = if !replace_reasons.is_empty() {
            Action::Replace {
                reason: replace_reasons.join("; "),
            }
        } else {
            Action::update_if_any(&fields)
        };
        (action, fields)
    }

    fn describe_create(&self, _deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("name", "", &self.name),
            FieldChange::new("zone", "", &self.zone),
            FieldChange::new("size", "", self.size),
            FieldChange::new("volume_type", "", &self.volume_type),
            FieldChange::new("iops", "", show(self.iops)),
            FieldChange::new("throughput", "", show(self.throughput)),
            FieldChange::new("encrypted", "", self.encrypted),
            FieldChange::new("tags", "", tags_line(&volume_tags(self))),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let ec2 = &cx.clients.ec2;
        // CreateVolume has no name to collide on: a retry must look for the volume an
        // earlier attempt made, or the cluster would get a second, empty etcd volume.
        if cx.attempt > 1 {
            let mine = describe_volumes(ec2, ec2_cluster_filter(cx.cluster)).await?;
            if let Some(existing) = self.find(&mine) {
                return Ok(Self::output(existing));
            }
        }
        let created = ec2
            .create_volume()
            .availability_zone(&self.zone)
            .size(self.size)
            .volume_type(VolumeType::from(self.volume_type.as_str()))
            .set_iops(self.iops)
            .set_throughput(self.throughput)
            .encrypted(self.encrypted)
            .tag_specifications(ec2_tag_specification(
                ResourceType::Volume,
                &volume_tags(self),
            ))
            .customize()
            .config_override(super::single_attempt::single_attempt())
            .send()
            .await
            .map_err(|error| aws_error("CreateVolume", error))?;
        let id = created
            .volume_id()
            .ok_or_else(|| missing("CreateVolume", "VolumeId"))?;
        Ok(Output::id(id))
    }

    async fn update(
        &self,
        observed: &ObservedEbsVolume,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        if ["size", "volume_type", "iops", "throughput"]
            .into_iter()
            .any(|field| change.changes(field))
        {
            cx.clients
                .ec2
                .modify_volume()
                .volume_id(&observed.id)
                .set_size((observed.size != self.size).then_some(self.size))
                .volume_type(VolumeType::from(self.volume_type.as_str()))
                .set_iops(self.iops)
                .set_throughput(self.throughput)
                .send()
                .await
                .map_err(|error| aws_error("ModifyVolume", error))?;
        }
        ec2_update_tags(cx.clients, change, &observed.id, &volume_tags(self)).await?;
        Ok(Self::output(observed))
    }
}

/// The tags a volume carries: its own plus `Name`, which finding it relies on.
fn volume_tags(volume: &EbsVolume) -> Tags {
    ec2_named_tags(&volume.name, &volume.tags)
}

async fn describe_volumes(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
) -> Result<Vec<ObservedEbsVolume>, TaskError> {
    let mut observed = Vec::new();
    let mut next_token = None;
    loop {
        let page = ec2
            .describe_volumes()
            .filters(filter.clone())
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| aws_error("DescribeVolumes", error))?;
        for volume in page.volumes() {
            if matches!(
                volume.state(),
                Some(VolumeState::Deleting | VolumeState::Deleted)
            ) {
                continue;
            }
            let tags = from_ec2_tags(volume.tags());
            // A cluster volume without a name is not one Berth made; leave it alone.
            let Some(name) = tags.get("Name").cloned() else {
                continue;
            };
            observed.push(ObservedEbsVolume {
                id: volume
                    .volume_id()
                    .ok_or_else(|| missing("DescribeVolumes", "VolumeId"))?
                    .to_owned(),
                name,
                zone: volume.availability_zone().unwrap_or_default().to_owned(),
                size: volume.size().unwrap_or_default(),
                volume_type: volume
                    .volume_type()
                    .map(|kind| kind.as_str().to_owned())
                    .unwrap_or_default(),
                iops: volume.iops(),
                throughput: volume.throughput(),
                encrypted: volume.encrypted().unwrap_or(false),
                tags,
            });
        }
        next_token = page
            .next_token()
            .filter(|token| !token.is_empty())
            .map(str::to_owned);
        if next_token.is_none() {
            return Ok(observed);
        }
    }
}

fn show(value: Option<i32>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}
