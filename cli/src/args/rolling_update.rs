//! `berth rolling-update cluster`: replace the instances that run an outdated launch template.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::kube_api::KubeApiArgs;

/// `berth rolling-update`.
#[derive(Debug, Args)]
pub(crate) struct RollingUpdateArgs {
    #[command(subcommand)]
    pub(crate) command: RollingUpdateCommand,
}

/// The nouns of `berth rolling-update`.
#[derive(Debug, Subcommand)]
pub(crate) enum RollingUpdateCommand {
    /// Show which instances run an outdated launch template, and with --yes replace them.
    Cluster(RollingUpdateClusterArgs),
}

/// `berth rolling-update cluster [NAME]`.
#[derive(Debug, Args)]
pub(crate) struct RollingUpdateClusterArgs {
    /// The cluster (default: --name).
    pub(crate) cluster: Option<String>,
    /// Replace the instances; without this the command only lists what needs replacing.
    #[arg(long, short)]
    pub(crate) yes: bool,
    /// Replace instances without draining their nodes or validating the cluster: no
    /// Kubernetes call is made, and the workloads on the instances stop at once.
    #[arg(long)]
    pub(crate) cloudonly: bool,
    /// Replace every selected instance, even those already up to date.
    #[arg(long)]
    pub(crate) force: bool,
    /// Only these instance groups (repeatable, or comma-separated).
    #[arg(long = "instance-group", value_name = "NAME", value_delimiter = ',')]
    pub(crate) instance_groups: Vec<String>,
    /// Only instance groups of these roles.
    #[arg(
        long = "instance-group-roles",
        value_name = "ROLES",
        value_delimiter = ',',
        value_enum,
        ignore_case = true
    )]
    pub(crate) roles: Vec<RoleArg>,
    /// How many extra instances a node or bastion group may run during the update (0: replace
    /// in place). An instance group's `spec.rollingUpdate.maxSurge` takes precedence; the
    /// default is 1. The control plane never surges.
    #[arg(long, value_name = "N")]
    pub(crate) max_surge: Option<u32>,
    /// How many instances of a node or bastion group may be out of service at once (default:
    /// 1 when the group does not surge, 0 when it does). An instance group's
    /// `spec.rollingUpdate.maxUnavailable` takes precedence. The control plane replaces one
    /// instance at a time.
    #[arg(long, value_name = "N")]
    pub(crate) max_unavailable: Option<u32>,
    /// The pause after each replaced instance, e.g. `15s`, `2m`.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub(crate) interval: Duration,
    /// How long the cluster may take to validate (and a group to have its instances in
    /// service again) after each step.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub(crate) validation_timeout: Duration,
    /// How many validations in a row must succeed after each step.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) validate_count: u32,
    /// The pause between two validations.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub(crate) validate_interval: Duration,
    /// How long a node's drain may wait for PodDisruptionBudgets to allow its evictions.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration)]
    pub(crate) drain_timeout: Duration,
    /// The pause between draining a node and terminating its instance.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub(crate) post_drain_delay: Duration,
    /// How many node instance groups may roll at the same time (bastions and the control
    /// plane always roll one group at a time, first).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) parallel_groups: u32,
    #[command(flatten)]
    pub(crate) api: KubeApiArgs,
}

/// Instance group roles on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    /// Control-plane groups.
    #[value(name = "ControlPlane", alias = "Master")]
    ControlPlane,
    /// Worker node groups.
    #[value(name = "Node")]
    Node,
    /// Bastion groups.
    #[value(name = "Bastion")]
    Bastion,
}

/// Parses durations such as `0s`, `500ms`, `15s`, `2m`, `1h30m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration such as 15s, 2m or 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(60 * 60),
            _ => return Err(invalid()),
        };
        let part = u32::try_from(number)
            .ok()
            .and_then(|count| unit.checked_mul(count))
            .ok_or_else(invalid)?;
        total = total.checked_add(part).ok_or_else(invalid)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go_durations() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "15", "s", "2x", "1.5s", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
