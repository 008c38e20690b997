//! [`SecurityGroupRule`] reconciliation: one ingress or egress permission of a cluster group,
//! from (or to) one CIDR or group.
//!
//! A rule is nothing but its fields, so every field is part of its identity: a rule that
//! differs is another rule, and `diff` only ever reports a replacement when a group it names
//! was itself replaced. Rules are matched by their group's and peer group's `Name` tags,
//! which `find` can compare without ids.
//!
//! Discovery: one DescribeSecurityGroups by the cluster tag, whose groups list their
//! permissions (DescribeSecurityGroupRules cannot filter by the groups' tags).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::{
    error::{ProvideErrorMetadata, SdkError},
    types::{IpPermission, IpRange, Ipv6Range, UserIdGroupPair},
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use berth_model::aws::{RuleDirection, RuleSource, SecurityGroupRule};

use super::{aws_error, missing, tags};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An existing rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSecurityGroupRule {
    /// Its group, `sg-…`.
    pub group_id: String,
    /// Its group's `Name` tag (or group name).
    pub group_name: String,
    /// Ingress or egress.
    pub direction: RuleDirection,
    /// `tcp`, `udp`, `icmp` or `-1`.
    pub protocol: String,
    /// First port (absent for all protocols).
    pub from_port: Option<i32>,
    /// Last port.
    pub to_port: Option<i32>,
    /// Who it admits.
    pub peer: ObservedPeer,
}

/// The other side of an observed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObservedPeer {
    /// An IPv4 or IPv6 CIDR.
    Cidr(String),
    /// A security group.
    Group {
        /// `sg-…`.
        id: String,
        /// Its `Name` tag or group name, when it is one of the cluster's groups.
        name: Option<String>,
    },
}

/// The error Authorize* answers for a rule that exists already.
const DUPLICATE_PERMISSION: &str = "InvalidPermission.Duplicate";
/// The protocol value meaning "all protocols" (whose ports AWS ignores).
const ALL_PROTOCOLS: &str = "-1";

#[async_trait]
impl Reconcile for SecurityGroupRule {
    type Observed = ObservedSecurityGroupRule;

    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedSecurityGroupRule>, TaskError> {
        let groups = scope
            .clients
            .ec2
            .describe_security_groups()
            .filters(tags::ec2_cluster_filter(scope.cluster))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|error| aws_error("DescribeSecurityGroups", error))?;
        let mut names = BTreeMap::new();
        for group in &groups {
            let id = group
                .group_id()
                .ok_or_else(|| missing("DescribeSecurityGroups", "GroupId"))?;
            let name = tags::ec2_name(group.tags())
                .or(group.group_name())
                .unwrap_or(id);
            names.insert(id.to_owned(), name.to_owned());
        }
        let mut observed = Vec::new();
        for group in &groups {
            let group_id = group.group_id().unwrap_or_default();
            let group_name = names.get(group_id).cloned().unwrap_or_default();
            for (direction, permissions) in [
                (RuleDirection::Ingress, group.ip_permissions()),
                (RuleDirection::Egress, group.ip_permissions_egress()),
            ] {
                for permission in permissions {
                    let protocol = normalize_protocol(permission.ip_protocol().unwrap_or_default());
                    let peers = permission
                        .ip_ranges()
                        .iter()
                        .filter_map(IpRange::cidr_ip)
                        .chain(
                            permission
                                .ipv6_ranges()
                                .iter()
                                .filter_map(Ipv6Range::cidr_ipv6),
                        )
                        .map(|cidr| ObservedPeer::Cidr(cidr.to_owned()))
                        .chain(permission.user_id_group_pairs().iter().filter_map(|pair| {
                            let id = pair.group_id()?;
                            Some(ObservedPeer::Group {
                                id: id.to_owned(),
                                name: names.get(id).cloned(),
                            })
                        }));
                    for peer in peers {
                        observed.push(ObservedSecurityGroupRule {
                            group_id: group_id.to_owned(),
                            group_name: group_name.clone(),
                            direction,
                            protocol: protocol.clone(),
                            from_port: permission.from_port(),
                            to_port: permission.to_port(),
                            peer,
                        });
                    }
                }
            }
        }
        Ok(observed)
    }

    fn find<'o>(
        &self,
        observed: &'o [ObservedSecurityGroupRule],
    ) -> Option<&'o ObservedSecurityGroupRule> {
        let protocol = normalize_protocol(&self.protocol);
        observed.iter().find(|rule| {
            rule.group_name == self.security_group.key().name
                && rule.direction == self.direction
                && rule.protocol == protocol
                && (protocol == ALL_PROTOCOLS
                    || (rule.from_port == Some(self.from_port)
                        && rule.to_port == Some(self.to_port)))
                && match (&self.source, &rule.peer) {
                    (RuleSource::Cidr(cidr), ObservedPeer::Cidr(observed)) => cidr == observed,
                    (RuleSource::Group(group), ObservedPeer::Group { name, .. }) => {
                        name.as_deref() == Some(group.key().name.as_str())
                    }
                    _ => false,
                }
        })
    }

    fn output(observed: &ObservedSecurityGroupRule) -> Output {
        let peer = match &observed.peer {
            ObservedPeer::Cidr(cidr) => cidr.as_str(),
            ObservedPeer::Group { id, .. } => id.as_str(),
        };
        Output::id(rule_id(
            &observed.group_id,
            observed.direction,
            &observed.protocol,
            observed.from_port.unwrap_or_default(),
            observed.to_port.unwrap_or_default(),
            peer,
        ))
    }

    fn diff(
        &self,
        observed: &ObservedSecurityGroupRule,
        deps: &Resolver,
    ) -> (Action, Vec<FieldChange>) {
        // Matched by names: the ids only differ when a group of the same name was replaced.
        let group_id = deps.id_or_pending(&self.security_group);
        if observed.group_id != group_id {
            return replace("security_group", &observed.group_id, &group_id);
        }
        if let (RuleSource::Group(group), ObservedPeer::Group { id, .. }) =
            (&self.source, &observed.peer)
        {
            let peer_id = deps.id_or_pending(group);
            if *id != peer_id {
                return replace("source", id, &peer_id);
            }
        }
        (Action::Unchanged, Vec::new())
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new(
                "security_group",
                "",
                deps.id_or_pending(&self.security_group),
            ),
            FieldChange::new("direction", "", direction_name(self.direction)),
            FieldChange::new("protocol", "", &self.protocol),
            FieldChange::new("from_port", "", self.from_port),
            FieldChange::new("to_port", "", self.to_port),
            FieldChange::new("source", "", source_or_pending(&self.source, deps)),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let group_id = cx.deps.id(&self.security_group)?;
        let permission = IpPermission::builder()
            .ip_protocol(&self.protocol)
            .from_port(self.from_port)
            .to_port(self.to_port);
        let (permission, peer) = match &self.source {
            RuleSource::Cidr(cidr) if cidr.contains(':') => (
                permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build()),
                cidr.as_str(),
            ),
            RuleSource::Cidr(cidr) => (
                permission.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
                cidr.as_str(),
            ),
            RuleSource::Group(group) => {
                let peer_id = cx.deps.id(group)?;
                (
                    permission
                        .user_id_group_pairs(UserIdGroupPair::builder().group_id(peer_id).build()),
                    peer_id,
                )
            }
        };
        let permission = permission.build();
        // A rule that exists already (an earlier attempt's, or the egress-all rule AWS gives
        // every new group) is what we want: treat the duplicate as success.
        match self.direction {
            RuleDirection::Ingress => accept_duplicate(
                "AuthorizeSecurityGroupIngress",
                cx.clients
                    .ec2
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .ip_permissions(permission)
                    .send()
                    .await,
            )?,
            RuleDirection::Egress => accept_duplicate(
                "AuthorizeSecurityGroupEgress",
                cx.clients
                    .ec2
                    .authorize_security_group_egress()
                    .group_id(group_id)
                    .ip_permissions(permission)
                    .send()
                    .await,
            )?,
        }
        Ok(Output::id(rule_id(
            group_id,
            self.direction,
            &normalize_protocol(&self.protocol),
            self.from_port,
            self.to_port,
            peer,
        )))
    }

    async fn update(
        &self,
        _observed: &ObservedSecurityGroupRule,
        _change: &Change,
        _cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        Err(TaskError::Refused {
            message: format!(
                "security group rule `{}` has no field that can change in place",
                self.name
            ),
        })
    }
}

/// Success, or the error `InvalidPermission.Duplicate`, are both fine; other errors are not.
fn accept_duplicate<T, E>(
    operation: &'static str,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<(), TaskError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(DUPLICATE_PERMISSION) => Ok(()),
        Err(error) => Err(aws_error(operation, error)),
    }
}

fn replace(field: &str, old: &str, new: &str) -> (Action, Vec<FieldChange>) {
    (
        Action::Replace {
            reason: format!("{field} of a security group rule cannot change in place"),
        },
        vec![FieldChange::new(field, old, new)],
    )
}

/// AWS answers protocol names for the common numbers, and `-1` for all.
fn normalize_protocol(protocol: &str) -> String {
    match protocol.to_ascii_lowercase().as_str() {
        "6" => "tcp".to_owned(),
        "17" => "udp".to_owned(),
        "1" => "icmp".to_owned(),
        "all" => ALL_PROTOCOLS.to_owned(),
        other => other.to_owned(),
    }
}

fn direction_name(direction: RuleDirection) -> &'static str {
    match direction {
        RuleDirection::Ingress => "ingress",
        RuleDirection::Egress => "egress",
    }
}

fn source_or_pending(source: &RuleSource, deps: &Resolver) -> String {
    match source {
        RuleSource::Cidr(cidr) => cidr.clone(),
        RuleSource::Group(group) => deps.id_or_pending(group),
    }
}

/// A rule's id for dependents and plans, from the fields that make it up.
fn rule_id(
    group_id: &str,
    direction: RuleDirection,
    protocol: &str,
    from_port: i32,
    to_port: i32,
    peer: &str,
) -> String {
    format!(
        "{group_id}/{}/{protocol}/{from_port}-{to_port}/{peer}",
        direction_name(direction)
    )
}
