//! The API's DNS records on a cluster that uses DNS without an API load balancer: what
//! kops's dns-controller does, run by each control-plane node.
//!
//! `update cluster` creates no records for such a cluster (see `model/src/builders/api.rs`);
//! its control-plane nodeup configs carry an [`ApiDnsConfig`] instead. [`publish`] then:
//!
//! 1. finds the Route 53 hosted zone by name and privacy (`ListHostedZonesByName`);
//! 2. lists the cluster's control-plane instances that are pending or running
//!    ([`control_plane_instances::list`]), so terminated and stopped ones drop out;
//! 3. wants an A record (TTL [`RECORD_TTL`]) of the internal name listing their private IPv4
//!    addresses, and one of the public name listing their public addresses when the
//!    instances get some ([`ApiDnsConfig::public_addresses`]), else the private ones;
//! 4. reads the current records (`ListResourceRecordSets`) and sends one
//!    `ChangeResourceRecordSets` that UPSERTs only the records whose address set differs.
//!
//! It never publishes an empty record: with no live control-plane instance (or none with
//! an address of the wanted kind) a record is left as it is, and the outcome says so. It
//! owns those two A records and nothing else in the zone; it does not wait for the change
//! to reach Route 53's servers (`GetChange`).

use std::{collections::BTreeSet, fmt, net::Ipv4Addr};

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use berth_model::nodeup_config::ApiDnsConfig;

use crate::control_plane_instances::{self, ListError};

/// The time to live of the records, in seconds (kops's dns-controller uses 60 too): short,
/// so a replaced control-plane node is reachable soon.
pub const RECORD_TTL: i64 = 60;

/// A boxed source error (AWS SDK errors are large and generic).
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the API's records could not be published.
#[derive(Debug, thiserror::Error)]
pub enum ApiDnsError {
    /// `ListHostedZonesByName` failed.
    #[error(
        "failed to look up the Route 53 hosted zone `{zone}`; check that the control-plane role may call route53:ListHostedZonesByName"
    )]
    ListZones {
        /// The zone's name.
        zone: String,
        /// The Route 53 error.
        #[source]
        source: BoxError,
    },
    /// No hosted zone has the name and privacy the config names.
    #[error(
        "no {} Route 53 hosted zone is named `{zone}`, so the API records {records} cannot be published; create the zone (or fix the cluster's `spec.dnsZone`) and run `berth update cluster`",
        if *private_zone { "private" } else { "public" }
    )]
    ZoneNotFound {
        /// The zone's name.
        zone: String,
        /// Whether a private zone was looked for.
        private_zone: bool,
        /// The records that would have gone into it.
        records: String,
    },
    /// The control-plane instances could not be listed.
    #[error(transparent)]
    DescribeInstances(#[from] ListError),
    /// `ListResourceRecordSets` failed.
    #[error(
        "failed to read the record `{name}` in hosted zone `{zone}` ({zone_id}); check that the control-plane role may call route53:ListResourceRecordSets on it"
    )]
    ListRecords {
        /// The record's name.
        name: String,
        /// The zone's name.
        zone: String,
        /// The zone's id.
        zone_id: String,
        /// The Route 53 error.
        #[source]
        source: BoxError,
    },
    /// Building or sending `ChangeResourceRecordSets` failed.
    #[error(
        "failed to upsert the record(s) {names} in hosted zone `{zone}` ({zone_id}); check that the control-plane role may call route53:ChangeResourceRecordSets on it, and run nodeup again"
    )]
    Change {
        /// The records.
        names: String,
        /// The zone's name.
        zone: String,
        /// The zone's id.
        zone_id: String,
        /// The Route 53 error.
        #[source]
        source: BoxError,
    },
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordChange {
    /// It already listed exactly these addresses; nothing was sent.
    Unchanged {
        /// The addresses.
        addresses: Vec<Ipv4Addr>,
    },
    /// It was created or replaced (UPSERT).
    Upserted {
        /// The addresses it lists now.
        addresses: Vec<Ipv4Addr>,
        /// The addresses it listed before (empty when it did not exist, or was an alias).
        previous: Vec<Ipv4Addr>,
    },
    /// No live control-plane instance has an address of the wanted kind, so the record was
    /// left as it was (a record is never emptied).
    NoAddresses,
}

/// One record's name and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    /// The record's name, e.g. `api.internal.dev.example.com`.
    pub name: String,
    /// What happened to it.
    pub change: RecordChange,
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiDnsOutcome {
    /// The hosted zone's id (without the `/hostedzone/` prefix).
    pub zone_id: String,
    /// How many pending or running control-plane instances were found.
    pub instances: usize,
    /// The public record, then the internal one (one record when both names are equal).
    pub records: Vec<RecordOutcome>,
}

impl ApiDnsOutcome {
    /// Whether a change was sent.
    #[must_use]
    pub fn changed(&self) -> bool {
        self.records
            .iter()
            .any(|record| matches!(record.change, RecordChange::Upserted { .. }))
    }

    /// The record named `name`, if any.
    #[must_use]
    pub fn record(&self, name: &str) -> Option<&RecordChange> {
        self.records
            .iter()
            .find(|record| record.name == name)
            .map(|record| &record.change)
    }
}

impl fmt::Display for ApiDnsOutcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.instances == 0 {
            let names: Vec<&str> = self
                .records
                .iter()
                .map(|record| record.name.as_str())
                .collect();
            return write!(
                formatter,
                "no pending or running control-plane instance: left {} as they were",
                names.join(" and ")
            );
        }
        for (index, record) in self.records.iter().enumerate() {
            if index > 0 {
                formatter.write_str("; ")?;
            }
            match &record.change {
                RecordChange::Unchanged { addresses } => {
                    write!(formatter, "{} unchanged ({})", record.name, join(addresses))?;
                }
                RecordChange::Upserted {
                    addresses,
                    previous,
                } => {
                    write!(formatter, "{} upserted: {}", record.name, join(addresses))?;
                    if !previous.is_empty() {
                        write!(formatter, " (was {})", join(previous))?;
                    }
                }
                RecordChange::NoAddresses => {
                    write!(
                        formatter,
                        "{} left as it was (no instance has an address for it)",
                        record.name
                    )?;
                }
            }
        }
        Ok(())
    }
}

fn join(addresses: &[Ipv4Addr]) -> String {
    addresses
        .iter()
        .map(Ipv4Addr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Points the API's records at the cluster's pending and running control-plane instances,
/// changing only records whose addresses differ.
///
/// # Errors
/// [`ApiDnsError`] naming the zone or record and the call that failed; a missing hosted
/// zone is [`ApiDnsError::ZoneNotFound`].
pub async fn publish(
    ec2: &aws_sdk_ec2::Client,
    route53: &aws_sdk_route53::Client,
    cluster_name: &str,
    dns: &ApiDnsConfig,
) -> Result<ApiDnsOutcome, ApiDnsError> {
    let zone_id = find_zone(route53, dns).await?;
    let instances = control_plane_instances::list(ec2, cluster_name).await?;

    let private: BTreeSet<Ipv4Addr> = instances.iter().filter_map(|i| i.private).collect();
    let public: BTreeSet<Ipv4Addr> = if dns.public_addresses {
        instances.iter().filter_map(|i| i.public).collect()
    } else {
        private.clone()
    };
    let mut wanted = vec![(dns.public_name.clone(), public)];
    if normalize(&dns.internal_name) != normalize(&dns.public_name) {
        wanted.push((dns.internal_name.clone(), private));
    }

    let mut records = Vec::new();
    let mut changes = Vec::new();
    for (name, addresses) in wanted {
        if addresses.is_empty() {
            records.push(RecordOutcome {
                name,
                change: RecordChange::NoAddresses,
            });
            continue;
        }
        let current = current_addresses(route53, dns, &zone_id, &name).await?;
        let addresses: Vec<Ipv4Addr> = addresses.into_iter().collect();
        let change = if current == addresses {
            RecordChange::Unchanged { addresses }
        } else {
            changes.push(
                upsert(&name, &addresses).map_err(|source| ApiDnsError::Change {
                    names: name.clone(),
                    zone: dns.zone.clone(),
                    zone_id: zone_id.clone(),
                    source,
                })?,
            );
            RecordChange::Upserted {
                addresses,
                previous: current,
            }
        };
        records.push(RecordOutcome { name, change });
    }

    if !changes.is_empty() {
        let names = records
            .iter()
            .filter(|record| matches!(record.change, RecordChange::Upserted { .. }))
            .map(|record| format!("`{}`", record.name))
            .collect::<Vec<_>>()
            .join(", ");
        let change_error = |source: BoxError| ApiDnsError::Change {
            names: names.clone(),
            zone: dns.zone.clone(),
            zone_id: zone_id.clone(),
            source,
        };
        let batch = ChangeBatch::builder()
            .comment(format!(
                "nodeup: API records of cluster {cluster_name} (control-plane instances)"
            ))
            .set_changes(Some(changes))
            .build()
            .map_err(|error| change_error(error.into()))?;
        route53
            .change_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|error| change_error(error.into()))?;
    }
    Ok(ApiDnsOutcome {
        zone_id,
        instances: instances.len(),
        records,
    })
}

/// A DNS name compared the way Route 53 does: lowercase, without the trailing dot.
fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The id of the hosted zone named `dns.zone` with the wanted privacy.
async fn find_zone(
    route53: &aws_sdk_route53::Client,
    dns: &ApiDnsConfig,
) -> Result<String, ApiDnsError> {
    let wanted = normalize(&dns.zone);
    let list_error = |source: BoxError| ApiDnsError::ListZones {
        zone: dns.zone.clone(),
        source,
    };
    // Zones come sorted by name from `dns_name` on; several may share the name (public and
    // private ones, several private ones), so keep paging while the name still matches.
    let mut next: Option<(String, Option<String>)> = Some((wanted.clone(), None));
    while let Some((dns_name, zone_id)) = next.take() {
        let page = route53
            .list_hosted_zones_by_name()
            .dns_name(dns_name)
            .set_hosted_zone_id(zone_id)
            .send()
            .await
            .map_err(|error| list_error(error.into()))?;
        let mut past_name = false;
        for zone in page.hosted_zones() {
            if normalize(zone.name()) != wanted {
                past_name = true;
                continue;
            }
            let private = zone
                .config()
                .is_some_and(aws_sdk_route53::types::HostedZoneConfig::private_zone);
            if private == dns.private_zone {
                return Ok(zone.id().trim_start_matches("/hostedzone/").to_owned());
            }
        }
        if page.is_truncated()
            && !past_name
            && let Some(name) = page.next_dns_name()
            && normalize(name) == wanted
        {
            next = Some((
                name.to_owned(),
                page.next_hosted_zone_id().map(str::to_owned),
            ));
        }
    }
    Err(ApiDnsError::ZoneNotFound {
        zone: dns.zone.clone(),
        private_zone: dns.private_zone,
        records: format!("`{}` and `{}`", dns.public_name, dns.internal_name),
    })
}

/// The addresses the A record `name` lists now, sorted (empty when there is no such plain
/// A record, e.g. none or an alias).
async fn current_addresses(
    route53: &aws_sdk_route53::Client,
    dns: &ApiDnsConfig,
    zone_id: &str,
    name: &str,
) -> Result<Vec<Ipv4Addr>, ApiDnsError> {
    let page = route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(name)
        .start_record_type(RrType::A)
        .max_items(10)
        .send()
        .await
        .map_err(|error| ApiDnsError::ListRecords {
            name: name.to_owned(),
            zone: dns.zone.clone(),
            zone_id: zone_id.to_owned(),
            source: error.into(),
        })?;
    let wanted = normalize(name);
    let addresses: BTreeSet<Ipv4Addr> = page
        .resource_record_sets()
        .iter()
        .filter(|set| {
            normalize(set.name()) == wanted
                && *set.r#type() == RrType::A
                && set.set_identifier().is_none()
                && set.alias_target().is_none()
        })
        .flat_map(ResourceRecordSet::resource_records)
        .filter_map(|record| record.value().parse().ok())
        .collect();
    Ok(addresses.into_iter().collect())
}

/// The UPSERT of the A record `name` listing `addresses`.
fn upsert(name: &str, addresses: &[Ipv4Addr]) -> Result<Change, BoxError> {
    let records = addresses
        .iter()
        .map(|address| ResourceRecord::builder().value(address.to_string()).build())
        .collect::<Result<Vec<_>, _>>()?;
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .ttl(RECORD_TTL)
        .set_resource_records(Some(records))
        .build()?;
    Ok(Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(set)
        .build()?)
}
