//! Converting [`Tags`] to and from each service's tag types, and the discovery filters.

use berth_model::aws::{CLUSTER_OWNERSHIP_TAG_PREFIX, CLUSTER_TAG, Tags};

/// EC2 tags.
pub(crate) fn ec2_tags(tags: &Tags) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter()
        .map(|(key, value)| {
            aws_sdk_ec2::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
        })
        .collect()
}

/// EC2 tag specifications for `resource_type`, to tag at creation.
pub(crate) fn ec2_tag_specification(
    resource_type: aws_sdk_ec2::types::ResourceType,
    tags: &Tags,
) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(ec2_tags(tags)))
        .build()
}

/// Tags read back from EC2.
pub(crate) fn from_ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Tags {
    tags.iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_owned(),
                tag.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// The EC2 filter that selects everything the cluster tagged.
pub(crate) fn ec2_cluster_filter(cluster: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{CLUSTER_TAG}"))
        .values(cluster)
        .build()
}

/// The `Name` tag of an EC2 resource.
pub(crate) fn ec2_name(tags: &[aws_sdk_ec2::types::Tag]) -> Option<&str> {
    tags.iter()
        .find(|tag| tag.key() == Some("Name"))
        .and_then(|tag| tag.value())
}

/// The `tags` field change of a plan, when a tag Berth wants is missing or has another value.
///
/// Tags Berth does not want are left alone and not shown: users, cost tools and AWS itself
/// add tags of their own, and removing those would fight them on every update.
pub(crate) fn tags_change(observed: &Tags, desired: &Tags) -> Option<crate::engine::FieldChange> {
    let relevant: Tags = observed
        .iter()
        .filter(|(key, _)| desired.contains_key(*key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    (relevant != *desired)
        .then(|| crate::engine::FieldChange::new("tags", tags_line(&relevant), tags_line(desired)))
}

/// Tags as one readable line, `key=value, key=value`, in key order.
pub(crate) fn tags_line(tags: &Tags) -> String {
    tags.iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tags Berth puts on an EC2 resource called `name`: its `tags`, plus `Name` (find
/// looks resources up by it, so it must be there even when a builder left it out).
pub(crate) fn ec2_named_tags(name: &str, tags: &Tags) -> Tags {
    let mut named = tags.clone();
    named
        .entry("Name".to_owned())
        .or_insert_with(|| name.to_owned());
    named
}

/// Of a shared resource's desired tags, the only ones Berth may add:
/// `kubernetes.io/cluster/<cluster>=shared`.
pub(crate) fn shared_tags(tags: &Tags) -> Tags {
    tags.iter()
        .filter(|(key, value)| key.starts_with(CLUSTER_OWNERSHIP_TAG_PREFIX) && *value == "shared")
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Sets `tags` on the EC2 resource `resource_id` (CreateTags overwrites existing values).
pub(crate) async fn ec2_create_tags(
    clients: &crate::aws::AwsClients,
    resource_id: &str,
    tags: &Tags,
) -> Result<(), crate::engine::TaskError> {
    if tags.is_empty() {
        return Ok(());
    }
    clients
        .ec2
        .create_tags()
        .resources(resource_id)
        .set_tags(Some(ec2_tags(tags)))
        .send()
        .await
        .map_err(|error| crate::aws::aws_error("CreateTags", error))?;
    Ok(())
}

/// The diff of a shared resource, which is the user's: only the `shared` cluster tag of its
/// desired `tags` may be added, nothing else changes.
pub(crate) fn shared_diff(
    observed: &Tags,
    tags: &Tags,
) -> (crate::engine::Action, Vec<crate::engine::FieldChange>) {
    crate::engine::Action::updating(
        tags_change(observed, &shared_tags(tags))
            .into_iter()
            .collect(),
    )
}

/// The tags step of an EC2 update: sets `tags` on `resource_id` (CreateTags) when `change`
/// touches them, and does nothing otherwise.
pub(crate) async fn ec2_update_tags(
    clients: &crate::aws::AwsClients,
    change: &crate::engine::Change,
    resource_id: &str,
    tags: &Tags,
) -> Result<(), crate::engine::TaskError> {
    if change.changes("tags") {
        ec2_create_tags(clients, resource_id, tags).await?;
    }
    Ok(())
}

/// The EC2 filters that find the resource called `name` (its `Name` tag) that the cluster
/// tagged: the lookup a retried create does for what an earlier attempt made.
pub(crate) fn ec2_owned_name_filters(cluster: &str, name: &str) -> Vec<aws_sdk_ec2::types::Filter> {
    vec![ec2_cluster_filter(cluster), ec2_tag_filter("Name", name)]
}

/// The EC2 filter on one tag's value (e.g. `Name`), for the lookup a retried create does.
pub(crate) fn ec2_tag_filter(key: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}

/// An EC2 filter on a field, e.g. `vpc-id`.
pub(crate) fn ec2_filter<I, V>(name: &str, values: I) -> aws_sdk_ec2::types::Filter
where
    I: IntoIterator<Item = V>,
    V: Into<String>,
{
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}
