//! ELBv2 tags (load balancers and target groups): conversion, DescribeTags by ARN and
//! AddTags.

use std::collections::BTreeMap;

use berth_model::aws::Tags;

use super::aws_error;
use crate::engine::TaskError;

/// How many ARNs DescribeTags accepts at once.
const DESCRIBE_TAGS_BATCH: usize = 20;

/// ELBv2 tags.
pub(crate) fn elb_tags(tags: &Tags) -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
    tags.iter()
        .map(|(key, value)| {
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
        })
        .collect()
}

/// The tags of each of `arns` (load balancers or target groups), in batches of 20.
pub(crate) async fn describe_tags(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    arns: &[String],
) -> Result<BTreeMap<String, Tags>, TaskError> {
    let mut tags = BTreeMap::new();
    for batch in arns.chunks(DESCRIBE_TAGS_BATCH) {
        let response = elb
            .describe_tags()
            .set_resource_arns(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|error| aws_error("DescribeTags", error))?;
        for description in response.tag_descriptions() {
            let Some(arn) = description.resource_arn() else {
                continue;
            };
            let resource_tags = description
                .tags()
                .iter()
                .filter_map(|tag| {
                    Some((
                        tag.key()?.to_owned(),
                        tag.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect();
            tags.insert(arn.to_owned(), resource_tags);
        }
    }
    Ok(tags)
}

/// Fills in the tags of each of `found` with one [`describe_tags`]; `slot` gives a resource's
/// ARN and its tags to fill (left empty when DescribeTags does not answer for it).
pub(crate) async fn fill_tags<T>(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    found: &mut [T],
    slot: impl Fn(&mut T) -> (&str, &mut Tags),
) -> Result<(), TaskError> {
    let arns: Vec<String> = found
        .iter_mut()
        .map(|resource| slot(resource).0.to_owned())
        .collect();
    let mut tags = describe_tags(elb, &arns).await?;
    for resource in found {
        let (arn, resource_tags) = slot(resource);
        *resource_tags = tags.remove(arn).unwrap_or_default();
    }
    Ok(())
}

/// AddTags (overwrites values of existing keys).
pub(crate) async fn add_tags(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    arn: &str,
    tags: &Tags,
) -> Result<(), TaskError> {
    elb.add_tags()
        .resource_arns(arn)
        .set_tags(Some(elb_tags(tags)))
        .send()
        .await
        .map_err(|error| aws_error("AddTags", error))?;
    Ok(())
}
