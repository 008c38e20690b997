//! Route 53 as the tests set it up and read it back: a public hosted zone created before the
//! cluster, a record that belongs to someone else, and the record names found later.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use berth_cloudup::aws::AwsClients;

/// A record in the zone that the cluster does not own and must leave alone.
pub(crate) const FOREIGN_RECORD: &str = "foreign";

/// Creates the public hosted zone `name` and returns its id.
pub(crate) async fn create_public_zone(aws: &AwsClients, name: &str) -> String {
    let created = aws
        .route53
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("update-cluster-tests-{name}"))
        .send()
        .await
        .expect("CreateHostedZone");
    created
        .hosted_zone()
        .map(|zone| zone.id().to_owned())
        .expect("the created zone has an id")
}

/// Adds the A record `foreign.<zone>` to the zone `zone_id`.
pub(crate) async fn add_foreign_record(aws: &AwsClients, zone_id: &str, zone: &str) {
    let record = ResourceRecordSet::builder()
        .name(format!("{FOREIGN_RECORD}.{zone}"))
        .r#type(RrType::A)
        .ttl(60)
        .resource_records(
            ResourceRecord::builder()
                .value("192.0.2.10")
                .build()
                .expect("record value"),
        )
        .build()
        .expect("record set");
    let change = Change::builder()
        .action(ChangeAction::Create)
        .resource_record_set(record)
        .build()
        .expect("change");
    aws.route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(change)
                .build()
                .expect("change batch"),
        )
        .send()
        .await
        .expect("ChangeResourceRecordSets");
}

/// Every record in the zone as `name type` (names with their trailing dot).
pub(crate) async fn records(aws: &AwsClients, zone_id: &str) -> Vec<String> {
    let listed = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .send()
        .await
        .expect("ListResourceRecordSets");
    listed
        .resource_record_sets()
        .iter()
        .map(|record| format!("{} {}", record.name(), record.r#type().as_str()))
        .collect()
}
