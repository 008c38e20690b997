//! [`DnsRecord`] reconciliation: the `A` alias records pointing at the API load balancer,
//! inside a hosted zone the user owns (Berth never creates or deletes the zone, and leaves
//! its other records alone).
//!
//! Creating and updating are the same UPSERT, so both are idempotent under retry.

use async_trait::async_trait;
use aws_sdk_route53::types::{AliasTarget, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};
use berth_model::aws::DnsRecord;

use super::aws_error;
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// How Route 53 prefixes hosted zone ids in its answers.
const HOSTED_ZONE_PREFIX: &str = "/hostedzone/";

/// An existing `A` record set of one of the desired names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDnsRecord {
    /// The record's name, without the trailing dot.
    name: String,
    zone_id: String,
    /// The alias target's DNS name, normalized; `None` for a plain (non-alias) record.
    alias_dns_name: Option<String>,
    alias_zone_id: Option<String>,
}

#[async_trait]
impl Reconcile for DnsRecord {
    type Observed = ObservedDnsRecord;

    /// Per hosted zone named by the desired records, one ListHostedZonesByName (public and
    /// private zones may share a name; `private_zone` picks one); then one
    /// ListResourceRecordSets per desired record, starting at its name.
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedDnsRecord>, TaskError> {
        let route53 = &scope.clients.route53;
        let mut zones: Vec<(String, bool, String)> = Vec::new();
        let mut observed = Vec::new();
        for record in scope.desired {
            let known = zones
                .iter()
                .find(|(zone, private, _)| *zone == record.zone && *private == record.private_zone);
            let zone_id = match known {
                Some((_, _, zone_id)) => zone_id.clone(),
                None => {
                    let zone_id =
                        hosted_zone_id(route53, &record.zone, record.private_zone).await?;
                    zones.push((record.zone.clone(), record.private_zone, zone_id.clone()));
                    zone_id
                }
            };
            if let Some(found) = record_set(route53, &zone_id, &record.name).await? {
                observed.push(found);
            }
        }
        Ok(observed)
    }

    fn find<'o>(&self, observed: &'o [ObservedDnsRecord]) -> Option<&'o ObservedDnsRecord> {
        let name = normalize(&self.name);
        observed.iter().find(|record| record.name == name)
    }

    fn output(observed: &ObservedDnsRecord) -> Output {
        Output::id(&observed.name).with("zone_id", &observed.zone_id)
    }

    fn diff(&self, observed: &ObservedDnsRecord, deps: &Resolver) -> (Action, Vec<FieldChange>) {
        let (dns_name, zone_id) = alias_target(self, deps);
        let mut fields = Vec::new();
        let observed_name = observed.alias_dns_name.clone().unwrap_or_default();
        if observed_name != dns_name {
            fields.push(FieldChange::new("alias_dns_name", observed_name, dns_name));
        }
        let observed_zone = observed.alias_zone_id.clone().unwrap_or_default();
        if observed_zone != zone_id {
            fields.push(FieldChange::new("alias_zone_id", observed_zone, zone_id));
        }
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        let (dns_name, zone_id) = alias_target(self, deps);
        vec![
            FieldChange::new("name", "", &self.name),
            FieldChange::new("type", "", "A"),
            FieldChange::new("zone", "", &self.zone),
            FieldChange::new("alias_dns_name", "", dns_name),
            FieldChange::new("alias_zone_id", "", zone_id),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let zone_id = hosted_zone_id(&cx.clients.route53, &self.zone, self.private_zone).await?;
        upsert(self, &zone_id, cx).await
    }

    async fn update(
        &self,
        observed: &ObservedDnsRecord,
        _change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        upsert(self, &observed.zone_id, cx).await
    }
}

/// The alias target the record should have: the load balancer's DNS name (normalized) and
/// canonical hosted zone, or "known after apply".
fn alias_target(record: &DnsRecord, deps: &Resolver) -> (String, String) {
    let pending = || "(known after apply)".to_owned();
    let attribute = |name| {
        deps.attribute(&record.load_balancer, name)
            .ok()
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    (
        attribute("dns_name").map_or_else(pending, |name| normalize(&name)),
        attribute("zone_id").unwrap_or_else(pending),
    )
}

async fn upsert(record: &DnsRecord, zone_id: &str, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
    // A load balancer has both from its creation on; an empty one (some emulators leave them
    // blank) cannot make a valid alias, so wait for it rather than write a broken record.
    let not_ready = || TaskError::NotReady {
        what: format!(
            "the DNS name of load balancer `{}`",
            record.load_balancer.key().name
        ),
    };
    let dns_name = cx
        .deps
        .attribute(&record.load_balancer, "dns_name")
        .ok()
        .filter(|name| !name.is_empty())
        .ok_or_else(not_ready)?;
    let alias_zone = cx
        .deps
        .attribute(&record.load_balancer, "zone_id")
        .ok()
        .filter(|zone| !zone.is_empty())
        .ok_or_else(not_ready)?;
    let invalid = |_| TaskError::Refused {
        message: format!(
            "the record `{}` cannot be expressed as a Route 53 change",
            record.name
        ),
    };
    let alias = AliasTarget::builder()
        .dns_name(dns_name)
        .hosted_zone_id(alias_zone)
        .evaluate_target_health(false)
        .build()
        .map_err(invalid)?;
    let record_set = ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(RrType::A)
        .alias_target(alias)
        .build()
        .map_err(invalid)?;
    let change = aws_sdk_route53::types::Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(record_set)
        .build()
        .map_err(invalid)?;
    let batch = ChangeBatch::builder()
        .changes(change)
        .build()
        .map_err(invalid)?;
    cx.clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|error| aws_error("ChangeResourceRecordSets", error))?;
    Ok(Output::id(normalize(&record.name)).with("zone_id", zone_id))
}

/// The id of the public or private hosted zone called `zone`.
async fn hosted_zone_id(
    route53: &aws_sdk_route53::Client,
    zone: &str,
    private: bool,
) -> Result<String, TaskError> {
    let wanted = normalize(zone);
    let mut start = Some(wanted.clone());
    let mut start_id = None;
    // Zones come sorted by name from `start`: page on only while they still have its name.
    while let Some(dns_name) = start {
        let page = route53
            .list_hosted_zones_by_name()
            .dns_name(dns_name)
            .set_hosted_zone_id(start_id)
            .send()
            .await
            .map_err(|error| aws_error("ListHostedZonesByName", error))?;
        let mut past_name = false;
        for hosted_zone in page.hosted_zones() {
            if normalize(hosted_zone.name()) != wanted {
                past_name = true;
                break;
            }
            let is_private = hosted_zone
                .config()
                .is_some_and(|config| config.private_zone());
            if is_private == private {
                return Ok(hosted_zone
                    .id()
                    .trim_start_matches(HOSTED_ZONE_PREFIX)
                    .to_owned());
            }
        }
        if past_name || !page.is_truncated() {
            break;
        }
        start = page.next_dns_name().map(str::to_owned);
        start_id = page.next_hosted_zone_id().map(str::to_owned);
    }
    let visibility = if private { "private" } else { "public" };
    Err(TaskError::Refused {
        message: format!("there is no {visibility} hosted zone `{wanted}`: create it first"),
    })
}

/// The `A` record set called `name` in the zone, if any.
async fn record_set(
    route53: &aws_sdk_route53::Client,
    zone_id: &str,
    name: &str,
) -> Result<Option<ObservedDnsRecord>, TaskError> {
    let page = route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(name)
        .start_record_type(RrType::A)
        .max_items(1)
        .send()
        .await
        .map_err(|error| aws_error("ListResourceRecordSets", error))?;
    let wanted = normalize(name);
    let Some(found) = page
        .resource_record_sets()
        .iter()
        .find(|set| normalize(set.name()) == wanted && set.r#type() == &RrType::A)
    else {
        return Ok(None);
    };
    let alias = found.alias_target();
    Ok(Some(ObservedDnsRecord {
        name: wanted,
        zone_id: zone_id.to_owned(),
        alias_dns_name: alias.map(|alias| normalize(alias.dns_name())),
        alias_zone_id: alias.map(|alias| alias.hosted_zone_id().to_owned()),
    }))
}

/// A DNS name as compared: lower case, without the trailing dot, and without the
/// `dualstack.` prefix Route 53 may add to load balancer aliases.
fn normalize(name: &str) -> String {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    lower
        .strip_prefix("dualstack.")
        .map(str::to_owned)
        .unwrap_or(lower)
}
