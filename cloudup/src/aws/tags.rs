//! Converting [`Tags`] to and from each service's tag types, and the discovery filters.

use berth_model::aws::{CLUSTER_TAG, Tags};

/// EC2 tags.
pub(crate) fn ec2_tags(tags: &Tags) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter()
        .map(|(key, value)| aws_sdk_ec2::types::Tag::builder().key(key).value(value).build())
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
        .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value().unwrap_or_default().to_owned())))
        .collect()
}

/// The EC2 filter that selects everything the cluster tagged.
pub(crate) fn ec2_cluster_filter(cluster: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name(format!("tag:{CLUSTER_TAG}")).values(cluster).build()
}

/// The `Name` tag of an EC2 resource.
pub(crate) fn ec2_name(tags: &[aws_sdk_ec2::types::Tag]) -> Option<&str> {
    tags.iter().find(|tag| tag.key() == Some("Name")).and_then(|tag| tag.value())
}
