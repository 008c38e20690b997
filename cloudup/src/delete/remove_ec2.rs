//! Deleting EC2 resources, one call sequence per kind. Each function is one attempt: it
//! succeeds when the resource is gone (or already was), returns [`TaskError::NotReady`] while
//! a deletion it started has not reached its terminal state (read from the resource's own
//! status, never waited out with a fixed sleep), and fails otherwise.

use aws_sdk_ec2::types::{InstanceStateName, IpPermission, NatGatewayState, VolumeAttachmentState};
use berth_model::aws::cluster_owned_tag_key;

use super::gone::{removed, tolerate_gone};
use crate::{
    aws::{AwsClients, aws_error},
    engine::TaskError,
};

fn not_ready(what: String) -> TaskError {
    TaskError::NotReady { what }
}

/// Terminates an instance and waits until it is `terminated`.
pub(crate) async fn instance(
    clients: &AwsClients,
    id: &str,
    attempt: u32,
) -> Result<(), TaskError> {
    let ec2 = &clients.ec2;
    if attempt == 1 {
        terminate(clients, id).await?;
    }
    let response = ec2.describe_instances().instance_ids(id).send().await;
    let response = match response {
        Ok(response) => response,
        Err(error) => return tolerate_gone(Err(aws_error("DescribeInstances", error))),
    };
    let state = response
        .reservations()
        .iter()
        .flat_map(|reservation| reservation.instances())
        .find_map(|instance| instance.state().and_then(|state| state.name()).cloned());
    match state {
        None | Some(InstanceStateName::Terminated) => Ok(()),
        Some(InstanceStateName::ShuttingDown) => {
            Err(not_ready(format!("instance {id} (shutting down)")))
        }
        Some(other) => {
            // Started again meanwhile (or the first call was lost): terminate again.
            if attempt > 1 {
                terminate(clients, id).await?;
            }
            Err(not_ready(format!("instance {id} ({})", other.as_str())))
        }
    }
}

async fn terminate(clients: &AwsClients, id: &str) -> Result<(), TaskError> {
    removed(
        "TerminateInstances",
        clients
            .ec2
            .terminate_instances()
            .instance_ids(id)
            .send()
            .await,
    )
}

/// Detaches a volume still attached to something (forcibly: its instance is being
/// terminated), waits until it is free, and deletes it.
pub(crate) async fn volume(clients: &AwsClients, id: &str) -> Result<(), TaskError> {
    let ec2 = &clients.ec2;
    let response = match ec2.describe_volumes().volume_ids(id).send().await {
        Ok(response) => response,
        Err(error) => return tolerate_gone(Err(aws_error("DescribeVolumes", error))),
    };
    let Some(volume) = response.volumes().first() else {
        return Ok(());
    };
    let mut attached = false;
    for attachment in volume.attachments() {
        match attachment.state() {
            Some(VolumeAttachmentState::Attached | VolumeAttachmentState::Attaching) => {
                attached = true;
                removed(
                    "DetachVolume",
                    ec2.detach_volume()
                        .volume_id(id)
                        .set_instance_id(attachment.instance_id().map(str::to_owned))
                        .force(true)
                        .send()
                        .await,
                )?;
            }
            Some(VolumeAttachmentState::Detaching) => attached = true,
            _ => {}
        }
    }
    if attached {
        return Err(not_ready(format!("volume {id} (detaching)")));
    }
    removed(
        "DeleteVolume",
        ec2.delete_volume().volume_id(id).send().await,
    )
}

/// Revokes every rule of a group that names another group (or itself), so that groups
/// referencing each other can then be deleted in any order.
pub(crate) async fn security_group_references(
    clients: &AwsClients,
    id: &str,
) -> Result<(), TaskError> {
    let ec2 = &clients.ec2;
    let response = match ec2.describe_security_groups().group_ids(id).send().await {
        Ok(response) => response,
        Err(error) => return tolerate_gone(Err(aws_error("DescribeSecurityGroups", error))),
    };
    let Some(group) = response.security_groups().first() else {
        return Ok(());
    };
    let ingress = group_references(group.ip_permissions());
    let egress = group_references(group.ip_permissions_egress());
    let revoke_ingress = async {
        if ingress.is_empty() {
            return Ok(());
        }
        removed(
            "RevokeSecurityGroupIngress",
            ec2.revoke_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(ingress))
                .send()
                .await,
        )
    };
    let revoke_egress = async {
        if egress.is_empty() {
            return Ok(());
        }
        removed(
            "RevokeSecurityGroupEgress",
            ec2.revoke_security_group_egress()
                .group_id(id)
                .set_ip_permissions(Some(egress))
                .send()
                .await,
        )
    };
    let (ingress, egress) = tokio::join!(revoke_ingress, revoke_egress);
    ingress.and(egress)
}

/// The group-to-group part of each permission.
fn group_references(permissions: &[IpPermission]) -> Vec<IpPermission> {
    permissions
        .iter()
        .filter(|permission| !permission.user_id_group_pairs().is_empty())
        .map(|permission| {
            IpPermission::builder()
                .set_ip_protocol(permission.ip_protocol().map(str::to_owned))
                .set_from_port(permission.from_port())
                .set_to_port(permission.to_port())
                .set_user_id_group_pairs(Some(permission.user_id_group_pairs().to_vec()))
                .build()
        })
        .collect()
}

/// Deletes a NAT gateway and waits until its state is `deleted`.
pub(crate) async fn nat_gateway(
    clients: &AwsClients,
    id: &str,
    attempt: u32,
) -> Result<(), TaskError> {
    let ec2 = &clients.ec2;
    if attempt == 1 {
        removed(
            "DeleteNatGateway",
            ec2.delete_nat_gateway().nat_gateway_id(id).send().await,
        )?;
    }
    let response = match ec2.describe_nat_gateways().nat_gateway_ids(id).send().await {
        Ok(response) => response,
        Err(error) => return tolerate_gone(Err(aws_error("DescribeNatGateways", error))),
    };
    match response.nat_gateways().first().and_then(|nat| nat.state()) {
        None | Some(NatGatewayState::Deleted | NatGatewayState::Failed) => Ok(()),
        Some(NatGatewayState::Deleting) => Err(not_ready(format!("NAT gateway {id} (deleting)"))),
        Some(other) => {
            if attempt > 1 {
                removed(
                    "DeleteNatGateway",
                    ec2.delete_nat_gateway().nat_gateway_id(id).send().await,
                )?;
            }
            Err(not_ready(format!("NAT gateway {id} ({})", other.as_str())))
        }
    }
}

/// Disassociates a route table from its subnets (all at once) and deletes it with its routes.
pub(crate) async fn route_table(clients: &AwsClients, id: &str) -> Result<(), TaskError> {
    let ec2 = &clients.ec2;
    let response = match ec2.describe_route_tables().route_table_ids(id).send().await {
        Ok(response) => response,
        Err(error) => return tolerate_gone(Err(aws_error("DescribeRouteTables", error))),
    };
    let Some(table) = response.route_tables().first() else {
        return Ok(());
    };
    let mut disassociations = tokio::task::JoinSet::new();
    for association in table.associations() {
        if association.main() == Some(true) {
            continue;
        }
        let Some(association_id) = association.route_table_association_id() else {
            continue;
        };
        let ec2 = ec2.clone();
        let association_id = association_id.to_owned();
        disassociations.spawn(async move {
            removed(
                "DisassociateRouteTable",
                ec2.disassociate_route_table()
                    .association_id(association_id)
                    .send()
                    .await,
            )
        });
    }
    while let Some(joined) = disassociations.join_next().await {
        joined.map_err(|error| TaskError::Panicked {
            message: error.to_string(),
        })??;
    }
    removed(
        "DeleteRouteTable",
        ec2.delete_route_table().route_table_id(id).send().await,
    )
}

/// Detaches an internet gateway from the VPCs it was attached to and deletes it.
pub(crate) async fn internet_gateway(
    clients: &AwsClients,
    id: &str,
    vpc_ids: &[String],
) -> Result<(), TaskError> {
    let ec2 = &clients.ec2;
    for vpc_id in vpc_ids {
        let detached = ec2
            .detach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc_id)
            .send()
            .await
            .map(drop)
            .map_err(|error| aws_error("DetachInternetGateway", error));
        match detached {
            Err(TaskError::Aws {
                code: Some(code), ..
            }) if code == "Gateway.NotAttached" => {}
            other => tolerate_gone(other)?,
        }
    }
    removed(
        "DeleteInternetGateway",
        ec2.delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await,
    )
}

/// Points the VPCs using a DHCP options set back at `default`, then deletes the set.
pub(crate) async fn dhcp_options(clients: &AwsClients, id: &str) -> Result<(), TaskError> {
    let ec2 = &clients.ec2;
    let vpcs = ec2
        .describe_vpcs()
        .filters(crate::aws::tags::ec2_filter("dhcp-options-id", [id]))
        .send()
        .await
        .map_err(|error| aws_error("DescribeVpcs", error))?;
    for vpc in vpcs.vpcs() {
        if let Some(vpc_id) = vpc.vpc_id() {
            removed(
                "AssociateDhcpOptions",
                ec2.associate_dhcp_options()
                    .dhcp_options_id("default")
                    .vpc_id(vpc_id)
                    .send()
                    .await,
            )?;
        }
    }
    removed(
        "DeleteDhcpOptions",
        ec2.delete_dhcp_options().dhcp_options_id(id).send().await,
    )
}

/// A single-call EC2 delete by id.
pub(crate) async fn by_id(
    clients: &AwsClients,
    kind: super::DeleteKind,
    id: &str,
) -> Result<(), TaskError> {
    use super::DeleteKind;
    let ec2 = &clients.ec2;
    match kind {
        DeleteKind::LaunchTemplate => removed(
            "DeleteLaunchTemplate",
            ec2.delete_launch_template()
                .launch_template_id(id)
                .send()
                .await,
        ),
        DeleteKind::NetworkInterface => removed(
            "DeleteNetworkInterface",
            ec2.delete_network_interface()
                .network_interface_id(id)
                .send()
                .await,
        ),
        DeleteKind::SecurityGroup => removed(
            "DeleteSecurityGroup",
            ec2.delete_security_group().group_id(id).send().await,
        ),
        DeleteKind::ElasticIp => removed(
            "ReleaseAddress",
            ec2.release_address().allocation_id(id).send().await,
        ),
        DeleteKind::Subnet => removed(
            "DeleteSubnet",
            ec2.delete_subnet().subnet_id(id).send().await,
        ),
        DeleteKind::Vpc => removed("DeleteVpc", ec2.delete_vpc().vpc_id(id).send().await),
        DeleteKind::KeyPair => removed(
            "DeleteKeyPair",
            ec2.delete_key_pair().key_name(id).send().await,
        ),
        other => Err(TaskError::Refused {
            message: format!("{other} is not deleted by id"),
        }),
    }
}

/// Removes the cluster's `kubernetes.io/cluster/<cluster>` tag from a shared EC2 resource.
pub(crate) async fn untag(clients: &AwsClients, cluster: &str, id: &str) -> Result<(), TaskError> {
    removed(
        "DeleteTags",
        clients
            .ec2
            .delete_tags()
            .resources(id)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key(cluster_owned_tag_key(cluster))
                    .build(),
            )
            .send()
            .await,
    )
}
