//! Finding the cluster's EC2 resources: one describe per kind, filtered by the
//! `kubernetes.io/cluster/<cluster>` tag (`owned` or `shared`); key pairs by tag or name.

use aws_sdk_ec2::types::{Filter, Tag};
use berth_model::aws::cluster_owned_tag_key;

use super::{CloudResource, DeleteKind, Detail, Disposal, scope::DeleteScope};
use crate::{
    aws::{AwsClients, aws_error, tags::ec2_name},
    engine::TaskError,
};

/// The filter on the cluster's ownership tag, either value.
fn ownership_filter(cluster: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{}", cluster_owned_tag_key(cluster)))
        .values("owned")
        .values("shared")
        .build()
}

/// What to do with a resource, from its tags: `owned` deletes, `shared` untags; ids the spec
/// names as shared are never deleted, whatever their tags say.
pub(crate) fn disposal_of(scope: &DeleteScope, id: &str, tags: &[Tag]) -> Option<Disposal> {
    let key = cluster_owned_tag_key(&scope.cluster);
    let value = tags
        .iter()
        .find(|tag| tag.key() == Some(key.as_str()))
        .and_then(Tag::value)?;
    match value {
        "owned" if !scope.protected_ids.contains(id) => Some(Disposal::Delete),
        "owned" | "shared" => Some(Disposal::Untag),
        _ => None,
    }
}

fn found(
    scope: &DeleteScope,
    kind: DeleteKind,
    id: Option<&str>,
    tags: &[Tag],
) -> Option<CloudResource> {
    let id = id?;
    let disposal = disposal_of(scope, id, tags)?;
    Some(CloudResource::new(
        kind,
        id,
        ec2_name(tags).unwrap_or_default(),
        disposal,
    ))
}

/// VPCs, subnets, route tables, internet gateways, DHCP options, NAT gateways, addresses.
pub(crate) async fn network(
    clients: &AwsClients,
    scope: &DeleteScope,
) -> Result<Vec<CloudResource>, TaskError> {
    let ec2 = &clients.ec2;
    let filter = ownership_filter(&scope.cluster);
    let (vpcs, subnets, tables, gateways, dhcp, nats, addresses) = tokio::join!(
        ec2.describe_vpcs()
            .filters(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_subnets()
            .filters(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_route_tables()
            .filters(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_internet_gateways()
            .filters(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_dhcp_options()
            .filters(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_nat_gateways()
            .filter(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_addresses().filters(filter.clone()).send(),
    );
    let mut resources = Vec::new();
    for vpc in vpcs.map_err(|error| aws_error("DescribeVpcs", error))? {
        resources.extend(found(scope, DeleteKind::Vpc, vpc.vpc_id(), vpc.tags()));
    }
    for subnet in subnets.map_err(|error| aws_error("DescribeSubnets", error))? {
        resources.extend(found(
            scope,
            DeleteKind::Subnet,
            subnet.subnet_id(),
            subnet.tags(),
        ));
    }
    for table in tables.map_err(|error| aws_error("DescribeRouteTables", error))? {
        let main = table
            .associations()
            .iter()
            .any(|association| association.main() == Some(true));
        if !main {
            resources.extend(found(
                scope,
                DeleteKind::RouteTable,
                table.route_table_id(),
                table.tags(),
            ));
        }
    }
    for gateway in gateways.map_err(|error| aws_error("DescribeInternetGateways", error))? {
        if let Some(mut resource) = found(
            scope,
            DeleteKind::InternetGateway,
            gateway.internet_gateway_id(),
            gateway.tags(),
        ) {
            let vpc_ids = gateway
                .attachments()
                .iter()
                .filter_map(|attachment| attachment.vpc_id().map(str::to_owned))
                .collect();
            resource.detail = Detail::AttachedTo { vpc_ids };
            resources.push(resource);
        }
    }
    for options in dhcp.map_err(|error| aws_error("DescribeDhcpOptions", error))? {
        resources.extend(found(
            scope,
            DeleteKind::DhcpOptions,
            options.dhcp_options_id(),
            options.tags(),
        ));
    }
    for nat in nats.map_err(|error| aws_error("DescribeNatGateways", error))? {
        let gone = matches!(
            nat.state(),
            Some(
                aws_sdk_ec2::types::NatGatewayState::Deleted
                    | aws_sdk_ec2::types::NatGatewayState::Failed
            )
        );
        if !gone {
            resources.extend(found(
                scope,
                DeleteKind::NatGateway,
                nat.nat_gateway_id(),
                nat.tags(),
            ));
        }
    }
    for address in addresses
        .map_err(|error| aws_error("DescribeAddresses", error))?
        .addresses()
    {
        resources.extend(found(
            scope,
            DeleteKind::ElasticIp,
            address.allocation_id(),
            address.tags(),
        ));
    }
    Ok(resources)
}

/// Instances (not yet terminated), volumes, security groups (and their references to other
/// groups), launch templates and key pairs.
pub(crate) async fn compute(
    clients: &AwsClients,
    scope: &DeleteScope,
) -> Result<Vec<CloudResource>, TaskError> {
    let ec2 = &clients.ec2;
    let filter = ownership_filter(&scope.cluster);
    let live = Filter::builder()
        .name("instance-state-name")
        .set_values(Some(
            ["pending", "running", "stopping", "stopped", "shutting-down"]
                .map(str::to_owned)
                .to_vec(),
        ))
        .build();
    let (reservations, volumes, groups, templates, key_pairs) = tokio::join!(
        ec2.describe_instances()
            .filters(filter.clone())
            .filters(live)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_volumes()
            .filters(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_security_groups()
            .filters(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_launch_templates()
            .filters(filter.clone())
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        ec2.describe_key_pairs().send(),
    );
    let mut resources = Vec::new();
    for reservation in reservations.map_err(|error| aws_error("DescribeInstances", error))? {
        for instance in reservation.instances() {
            resources.extend(found(
                scope,
                DeleteKind::Instance,
                instance.instance_id(),
                instance.tags(),
            ));
        }
    }
    for volume in volumes.map_err(|error| aws_error("DescribeVolumes", error))? {
        let gone = matches!(
            volume.state(),
            Some(
                aws_sdk_ec2::types::VolumeState::Deleted
                    | aws_sdk_ec2::types::VolumeState::Deleting
            )
        );
        if !gone {
            resources.extend(found(
                scope,
                DeleteKind::EbsVolume,
                volume.volume_id(),
                volume.tags(),
            ));
        }
    }
    for group in groups.map_err(|error| aws_error("DescribeSecurityGroups", error))? {
        let Some(resource) = found(
            scope,
            DeleteKind::SecurityGroup,
            group.group_id(),
            group.tags(),
        ) else {
            continue;
        };
        let references = group
            .ip_permissions()
            .iter()
            .chain(group.ip_permissions_egress())
            .any(|permission| !permission.user_id_group_pairs().is_empty());
        if references && resource.disposal == Disposal::Delete {
            resources.push(CloudResource::new(
                DeleteKind::SecurityGroupReferences,
                &resource.id,
                &resource.name,
                Disposal::Delete,
            ));
        }
        resources.push(resource);
    }
    for template in templates.map_err(|error| aws_error("DescribeLaunchTemplates", error))? {
        let Some(mut resource) = found(
            scope,
            DeleteKind::LaunchTemplate,
            template.launch_template_id(),
            template.tags(),
        ) else {
            continue;
        };
        if let Some(name) = template.launch_template_name() {
            name.clone_into(&mut resource.name);
        }
        resources.push(resource);
    }
    let key_pairs = key_pairs.map_err(|error| aws_error("DescribeKeyPairs", error))?;
    for key_pair in key_pairs.key_pairs() {
        let Some(name) = key_pair.key_name() else {
            continue;
        };
        // Key pairs are never shared: one the cluster tagged or named is deleted.
        let tagged = disposal_of(scope, name, key_pair.tags()) == Some(Disposal::Delete);
        if tagged || is_cluster_key_name(&scope.cluster, name) {
            resources.push(CloudResource::new(
                DeleteKind::KeyPair,
                name,
                name,
                Disposal::Delete,
            ));
        }
    }
    Ok(resources)
}

/// Whether `name` is a key pair name Berth gives: `<cluster>-<hex SHA-256 fingerprint>`.
fn is_cluster_key_name(cluster: &str, name: &str) -> bool {
    name.strip_prefix(cluster)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|fingerprint| {
            fingerprint.len() == 64 && fingerprint.chars().all(|c| c.is_ascii_hexdigit())
        })
}

/// Network interfaces left detached in the cluster's own subnets (they block the subnets).
pub(crate) async fn leftover_interfaces(
    clients: &AwsClients,
    owned_subnets: Vec<String>,
) -> Result<Vec<CloudResource>, TaskError> {
    if owned_subnets.is_empty() {
        return Ok(Vec::new());
    }
    let interfaces = clients
        .ec2
        .describe_network_interfaces()
        .filters(
            Filter::builder()
                .name("subnet-id")
                .set_values(Some(owned_subnets))
                .build(),
        )
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|error| aws_error("DescribeNetworkInterfaces", error))?;
    Ok(interfaces
        .iter()
        // Interfaces AWS manages (a NAT gateway's, a load balancer's) go with their owner and
        // cannot be deleted directly.
        .filter(|interface| {
            interface.status() == Some(&aws_sdk_ec2::types::NetworkInterfaceStatus::Available)
                && interface.requester_managed() != Some(true)
                && interface.attachment().is_none()
        })
        .filter_map(|interface| {
            let id = interface.network_interface_id()?;
            Some(CloudResource::new(
                DeleteKind::NetworkInterface,
                id,
                interface.description().unwrap_or_default(),
                Disposal::Delete,
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: &str) -> Tag {
        Tag::builder().key(key).value(value).build()
    }

    #[test]
    fn only_owned_resources_outside_the_spec_shared_ids_are_deleted() {
        let scope = DeleteScope {
            cluster: "c.example.com".into(),
            protected_ids: ["vpc-shared".to_owned()].into(),
            dns_names: Vec::new(),
        };
        let owned = [tag("kubernetes.io/cluster/c.example.com", "owned")];
        let shared = [tag("kubernetes.io/cluster/c.example.com", "shared")];
        let other = [tag("kubernetes.io/cluster/other.example.com", "owned")];
        assert_eq!(disposal_of(&scope, "vpc-1", &owned), Some(Disposal::Delete));
        assert_eq!(
            disposal_of(&scope, "vpc-shared", &owned),
            Some(Disposal::Untag)
        );
        assert_eq!(disposal_of(&scope, "vpc-2", &shared), Some(Disposal::Untag));
        assert_eq!(disposal_of(&scope, "vpc-3", &other), None);
        assert_eq!(
            disposal_of(
                &scope,
                "vpc-4",
                &[tag("KubernetesCluster", "c.example.com")]
            ),
            None
        );
    }

    #[test]
    fn key_pairs_are_recognised_by_berths_naming() {
        let fingerprint = "ab".repeat(32);
        assert!(is_cluster_key_name(
            "c.example.com",
            &format!("c.example.com-{fingerprint}")
        ));
        assert!(!is_cluster_key_name(
            "c.example.com",
            &format!("c.example.com.other-{fingerprint}")
        ));
        assert!(!is_cluster_key_name("c.example.com", "c.example.com-mine"));
    }
}
