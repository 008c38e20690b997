//! Instance group rules: names, cluster label, roles, sizes, subnets and volumes.

use std::collections::BTreeSet;

use super::{Errors, names::dns_subdomain_problem, network::NetworkSummary};
use crate::{
    API_VERSION, CLUSTER_LABEL, Cluster, INSTANCE_GROUP_KIND, InstanceGroup, InstanceGroupRole,
    IntOrString, SubnetType,
};

/// Taint effects Kubernetes accepts.
const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

pub(super) fn check(
    cluster: &Cluster,
    instance_groups: &[InstanceGroup],
    network: &NetworkSummary,
    errors: &mut Errors,
) {
    if !instance_groups
        .iter()
        .any(|group| group.spec.role.is_control_plane())
    {
        errors.push(
            "instancegroups",
            "at least one instance group with role `ControlPlane` is required",
        );
    }
    let mut names = BTreeSet::new();
    for group in instance_groups {
        let name = &group.metadata.name;
        let prefix = format!("instancegroup/{name}: ");
        if let Some(problem) = dns_subdomain_problem(name) {
            errors.push(
                format!("{prefix}metadata.name"),
                format!("must be a lowercase DNS name: {problem}"),
            );
        } else if !names.insert(name.as_str()) {
            errors.push(
                format!("{prefix}metadata.name"),
                format!("duplicate instance group `{name}`"),
            );
        }
        if group.api_version != API_VERSION {
            errors.push(
                format!("{prefix}apiVersion"),
                format!("must be `{API_VERSION}`"),
            );
        }
        if group.kind != INSTANCE_GROUP_KIND {
            errors.push(
                format!("{prefix}kind"),
                format!("must be `{INSTANCE_GROUP_KIND}`"),
            );
        }
        match group.metadata.labels.get(CLUSTER_LABEL) {
            Some(value) if *value == cluster.metadata.name => {}
            Some(value) => errors.push(
                format!("{prefix}metadata.labels.{CLUSTER_LABEL}"),
                format!(
                    "`{value}` does not match the cluster name `{}`",
                    cluster.metadata.name
                ),
            ),
            None => errors.push(
                format!("{prefix}metadata.labels.{CLUSTER_LABEL}"),
                format!("is required and must be `{}`", cluster.metadata.name),
            ),
        }
        check_spec(group, &prefix, network, errors);
    }
}

fn check_spec(group: &InstanceGroup, prefix: &str, network: &NetworkSummary, errors: &mut Errors) {
    let spec = &group.spec;
    if let (Some(min), Some(max)) = (spec.min_size, spec.max_size)
        && min > max
    {
        errors.push(
            format!("{prefix}spec.minSize"),
            format!("{min} is greater than maxSize {max}"),
        );
    }
    if let Some(machine_type) = &spec.machine_type {
        let valid = machine_type
            .split_once('.')
            .is_some_and(|(family, size)| !family.is_empty() && !size.is_empty());
        if !valid {
            errors.push(
                format!("{prefix}spec.machineType"),
                format!("`{machine_type}` is not an EC2 instance type (for example t3.medium)"),
            );
        }
    }
    if spec.image.as_deref() == Some("") {
        errors.push(format!("{prefix}spec.image"), "must not be empty");
    }
    let root_size = spec.root_volume.as_ref().and_then(|volume| volume.size);
    for (path, size) in [
        ("rootVolume.size", root_size),
        ("rootVolumeSize", spec.root_volume_size),
    ] {
        if size == Some(0) {
            errors.push(format!("{prefix}spec.{path}"), "must be greater than 0");
        }
    }
    if let (Some(new), Some(legacy)) = (root_size, spec.root_volume_size)
        && new != legacy
    {
        errors.push(
            format!("{prefix}spec.rootVolumeSize"),
            format!("{legacy} conflicts with rootVolume.size {new}; set only one"),
        );
    }
    check_subnets(group, prefix, network, errors);
    for (index, taint) in spec.taints.iter().enumerate() {
        let effect = taint.rsplit_once(':');
        let valid = effect.is_some_and(|(key, effect)| {
            let key = key.split_once('=').map_or(key, |(key, _)| key);
            !key.is_empty() && TAINT_EFFECTS.contains(&effect)
        });
        if !valid {
            errors.push(
                format!("{prefix}spec.taints[{index}]"),
                format!(
                    "`{taint}` must look like `key=value:Effect` with Effect one of {}",
                    TAINT_EFFECTS.join(", ")
                ),
            );
        }
    }
    if let Some(rolling) = &spec.rolling_update {
        for (field, value) in [
            ("maxSurge", &rolling.max_surge),
            ("maxUnavailable", &rolling.max_unavailable),
        ] {
            if let Some(IntOrString::String(text)) = value
                && !is_percentage(text)
            {
                errors.push(
                    format!("{prefix}spec.rollingUpdate.{field}"),
                    format!("`{text}` must be a count or a percentage such as `25%`"),
                );
            }
        }
    }
    if let Some(metadata) = &spec.instance_metadata {
        if let Some(tokens) = &metadata.http_tokens
            && !matches!(tokens.as_str(), "required" | "optional")
        {
            errors.push(
                format!("{prefix}spec.instanceMetadata.httpTokens"),
                format!("`{tokens}` must be `required` or `optional`"),
            );
        }
        if let Some(limit) = metadata.http_put_response_hop_limit
            && !(1..=64).contains(&limit)
        {
            errors.push(
                format!("{prefix}spec.instanceMetadata.httpPutResponseHopLimit"),
                format!("{limit} must be between 1 and 64"),
            );
        }
    }
    if let Some(lifetime) = &spec.max_instance_lifetime
        && !is_duration(lifetime)
    {
        errors.push(
            format!("{prefix}spec.maxInstanceLifetime"),
            format!("`{lifetime}` is not a duration (for example `168h` or `90h30m`)"),
        );
    }
}

fn check_subnets(
    group: &InstanceGroup,
    prefix: &str,
    network: &NetworkSummary,
    errors: &mut Errors,
) {
    let spec = &group.spec;
    if spec.role.is_control_plane() && spec.subnets.len() > 1 {
        errors.push(
            format!("{prefix}spec.subnets"),
            "a control-plane instance group must use exactly one subnet (make one group per zone)",
        );
    }
    for (index, subnet) in spec.subnets.iter().enumerate() {
        let path = format!("{prefix}spec.subnets[{index}]");
        match network.subnets.get(subnet) {
            None => errors.push(
                path,
                format!("subnet `{subnet}` is not in the cluster's spec.subnets"),
            ),
            Some(SubnetType::Utility) if spec.role != InstanceGroupRole::Bastion => errors.push(
                path,
                format!(
                    "subnet `{subnet}` is a Utility subnet; only bastions may use Utility subnets"
                ),
            ),
            Some(SubnetType::Private) if spec.role == InstanceGroupRole::Bastion => errors.push(
                path,
                format!("subnet `{subnet}` is Private; a bastion needs a Utility or Public subnet"),
            ),
            Some(_) => {}
        }
    }
}

fn is_percentage(text: &str) -> bool {
    text.strip_suffix('%').is_some_and(|number| {
        !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit())
    })
}

/// A Go-style duration made of `<digits><unit>` parts, units h, m, s.
fn is_duration(text: &str) -> bool {
    let mut digits = 0;
    let mut parts = 0;
    for character in text.chars() {
        if character.is_ascii_digit() {
            digits += 1;
        } else if matches!(character, 'h' | 'm' | 's') && digits > 0 {
            digits = 0;
            parts += 1;
        } else {
            return false;
        }
    }
    digits == 0 && parts > 0
}
