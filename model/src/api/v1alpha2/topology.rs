//! `spec.topology`: where nodes live (public or private subnets), the bastion, and DNS.

use std::{fmt, str::FromStr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Cluster topology (kops's legacy `topology.masters` / `topology.nodes`, and the
/// `--topology` flag of `create cluster`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// Instances sit in public subnets with public addresses.
    #[default]
    Public,
    /// Instances sit in private subnets behind NAT; utility subnets hold load balancers.
    Private,
}

/// DNS mode for the cluster (`topology.dns.type`, the `--dns` flag).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DnsType {
    /// Records in a public Route 53 hosted zone.
    Public,
    /// Records in a private Route 53 hosted zone.
    Private,
    /// No DNS: the API is reached through its load balancer's name.
    #[default]
    None,
}

/// A `--topology` or `--dns` value that is not one of the known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`: expected one of {expected}")]
pub struct ParseNameError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl FromStr for Topology {
    type Err = ParseNameError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            _ => Err(ParseNameError {
                what: "topology",
                value: value.to_owned(),
                expected: "public, private",
            }),
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::Private => "private",
        })
    }
}

impl FromStr for DnsType {
    type Err = ParseNameError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            "none" => Ok(Self::None),
            _ => Err(ParseNameError {
                what: "dns type",
                value: value.to_owned(),
                expected: "public, private, none",
            }),
        }
    }
}

impl fmt::Display for DnsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "Public",
            Self::Private => "Private",
            Self::None => "None",
        })
    }
}

/// `spec.topology`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySpec {
    /// Legacy: topology of the control plane (`public` or `private`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masters: Option<Topology>,
    /// Legacy: topology of the nodes (`public` or `private`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Topology>,
    /// Bastion settings (private topology only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bastion: Option<BastionSpec>,
    /// DNS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSpec>,
}

/// `spec.topology.bastion`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BastionSpec {
    /// DNS name for the bastion (for example `bastion.<cluster>`).
    #[serde(
        default,
        rename = "bastionPublicName",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_name: Option<String>,
}

/// `spec.topology.dns`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsSpec {
    /// `Public`, `Private` or `None`.
    #[serde(rename = "type")]
    pub dns_type: DnsType,
}

pub(super) fn load_balancer_type_error(value: &str) -> ParseNameError {
    ParseNameError {
        what: "load balancer type",
        value: value.to_owned(),
        expected: "public, internal",
    }
}
