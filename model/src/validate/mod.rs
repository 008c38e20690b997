//! Rules a cluster and its instance groups must satisfy, checked all at once.
//!
//! [`validate`] never stops at the first problem: it returns every [`FieldError`], each
//! with a field path (`spec.subnets[1].cidr`; instance group paths are prefixed with
//! `instancegroup/<name>: `). It reads the user's spec, so fields that [`crate::complete()`]
//! would default may be absent; values that are present must be right. The rules follow
//! kops's where Berth supports the same thing.

mod cluster;
mod etcd;
mod instance_group;
mod names;
mod network;

use std::fmt;

pub(crate) use names::{
    any_cidr, dns_subdomain_problem as dns_name_problem, ipv4_cidr, region_of_zone, zone_letter,
};

use crate::{Cluster, InstanceGroup};

/// One broken rule: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Field path, for example `spec.subnets[1].cidr` or `instancegroup/nodes: spec.minSize`.
    pub path: String,
    /// What is wrong, in lowercase.
    pub message: String,
}

/// Every broken rule found by [`validate`] (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "`{}`: {}", error.path, error.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects errors while the rules run.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    list: Vec<FieldError>,
}

impl Errors {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Check `cluster` and `instance_groups` against every rule.
///
/// # Errors
/// [`ValidationErrors`] listing every broken rule.
pub fn validate(
    cluster: &Cluster,
    instance_groups: &[InstanceGroup],
) -> Result<(), ValidationErrors> {
    let mut errors = Errors::default();
    cluster::check(cluster, &mut errors);
    let network = network::check(cluster, instance_groups, &mut errors);
    etcd::check(cluster, instance_groups, &mut errors);
    instance_group::check(cluster, instance_groups, &network, &mut errors);
    if errors.list.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(errors.list))
    }
}

#[cfg(test)]
mod tests;
