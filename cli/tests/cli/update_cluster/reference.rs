//! The two reference clusters, created by `update cluster --yes` and described back from the
//! emulator; a second update finds nothing to do.

use std::time::Instant;

use aws_sdk_ec2::types::{LaunchTemplateHttpTokensState, VpcAttributeName};
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, LoadBalancerTypeEnum};
use berth_test_support::moto::unique_bucket;

use super::{
    account::{Inventory, PUBLIC_SHAPE, Shape, assert_owned, default_launch_template_data, tag},
    dns::{FOREIGN_RECORD, add_foreign_record, create_public_zone, records},
    world::{PUBLIC_CLUSTER, World},
};

#[test]
fn a_public_single_zone_cluster_is_created_then_up_to_date() {
    let world = World::new();
    let cluster = PUBLIC_CLUSTER;
    world.create_public_cluster();
    let started = Instant::now();
    world.apply(cluster);
    eprintln!("public cluster applied in {:?}", started.elapsed());

    let inventory = world.block_on(Inventory::take(&world.aws));
    assert_eq!(inventory.shape(), PUBLIC_SHAPE);
    assert_network(&world, &inventory, cluster);
    assert_security_groups(&inventory, cluster, &["masters", "nodes", "api-elb"]);
    assert_iam(&world, cluster, &["masters", "nodes"]);
    assert!(
        inventory.key_pairs[0]
            .key_name()
            .is_some_and(|name| name.starts_with(&format!("{cluster}-"))),
        "{:?}",
        inventory.key_pairs
    );
    let groups = ["control-plane-us-east-1a", "nodes-us-east-1a"];
    assert_compute(&world, &inventory, cluster, &groups);
    assert_etcd_volumes(&inventory, cluster, &["a"]);
    assert_load_balancer(&inventory);
    assert_managed_files(
        &world,
        cluster,
        &[
            "control-plane/control-plane-us-east-1a",
            "node/nodes-us-east-1a",
        ],
    );

    world.assert_no_changes(cluster);
}

#[test]
fn a_private_three_zone_ha_cluster_with_bastion_and_dns_is_created_then_up_to_date() {
    let world = World::new();
    let zone = format!("{}.example.org", unique_bucket("zone"));
    let zone_id = world.block_on(create_public_zone(&world.aws, &zone));
    world.block_on(add_foreign_record(&world.aws, &zone_id, &zone));
    let cluster = world.create_private_cluster(&zone);
    let started = Instant::now();
    world.apply(&cluster);
    eprintln!("private cluster applied in {:?}", started.elapsed());

    let inventory = world.block_on(Inventory::take(&world.aws));
    let workers: usize = inventory
        .groups
        .iter()
        .filter(|group| {
            group
                .auto_scaling_group_name()
                .is_some_and(|name| name.starts_with("nodes-"))
        })
        .map(|group| usize::try_from(group.min_size().unwrap_or_default()).unwrap_or_default())
        .sum();
    assert_eq!(
        inventory.shape(),
        Shape {
            subnets: 6,
            nat_gateways: 3,
            addresses: 3,
            route_tables: 4,
            security_groups: 4,
            launch_templates: 7,
            groups: 7,
            // Three control-plane nodes, the bastion and the workers.
            instances: 3 + 1 + workers,
            etcd_volumes: 6,
            ..PUBLIC_SHAPE
        }
    );
    assert_nat_gateways(&inventory, &cluster);
    assert_security_groups(
        &inventory,
        &cluster,
        &["masters", "nodes", "api-elb", "bastion"],
    );
    let zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
    let groups: Vec<String> = zones
        .iter()
        .flat_map(|zone| [format!("control-plane-{zone}"), format!("nodes-{zone}")])
        .chain(["bastions".to_owned()])
        .collect();
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    assert_compute(&world, &inventory, &cluster, &groups);
    assert_etcd_volumes(&inventory, &cluster, &["a", "b", "c"]);

    let found = world.block_on(records(&world.aws, &zone_id));
    for wanted in [
        format!("api.{cluster}. A"),
        format!("api.internal.{cluster}. A"),
        format!("{FOREIGN_RECORD}.{zone}. A"),
    ] {
        assert!(found.contains(&wanted), "no `{wanted}` in {found:#?}");
    }

    world.assert_no_changes(&cluster);
}

/// One VPC with DNS hostnames, subnets in their zones, the internet gateway attached and the
/// public route table's default route through it.
fn assert_network(world: &World, inventory: &Inventory, cluster: &str) {
    let vpc = &inventory.vpcs[0];
    let vpc_id = vpc.vpc_id().unwrap_or_default();
    assert_owned(vpc.tags(), cluster, cluster);
    let hostnames = world
        .block_on(
            world
                .aws
                .ec2
                .describe_vpc_attribute()
                .vpc_id(vpc_id)
                .attribute(VpcAttributeName::EnableDnsHostnames)
                .send(),
        )
        .expect("DescribeVpcAttribute");
    assert_eq!(
        hostnames
            .enable_dns_hostnames()
            .and_then(|value| value.value()),
        Some(true)
    );
    let subnet = &inventory.subnets[0];
    assert_eq!(subnet.availability_zone(), Some("us-east-1a"));
    assert_owned(subnet.tags(), cluster, &format!("us-east-1a.{cluster}"));
    let gateway = &inventory.internet_gateways[0];
    assert!(
        gateway
            .attachments()
            .iter()
            .any(|attachment| attachment.vpc_id() == Some(vpc_id)),
        "{gateway:?}"
    );
    let table = &inventory.route_tables[0];
    assert!(
        table.routes().iter().any(|route| {
            route.destination_cidr_block() == Some("0.0.0.0/0")
                && route.gateway_id() == gateway.internet_gateway_id()
        }),
        "{table:?}"
    );
}

/// One NAT gateway with an elastic IP in each utility subnet, and each zone's private route
/// table sending 0.0.0.0/0 through its zone's gateway.
fn assert_nat_gateways(inventory: &Inventory, cluster: &str) {
    for zone in ["us-east-1a", "us-east-1b", "us-east-1c"] {
        let utility = inventory
            .subnets
            .iter()
            .find(|subnet| tag(subnet.tags(), "Name") == Some(&format!("utility-{zone}.{cluster}")))
            .unwrap_or_else(|| panic!("no utility subnet in {zone}"));
        assert_eq!(utility.availability_zone(), Some(zone));
        let gateway = inventory
            .nat_gateways
            .iter()
            .find(|gateway| gateway.subnet_id() == utility.subnet_id())
            .unwrap_or_else(|| panic!("no NAT gateway in the utility subnet of {zone}"));
        let allocation = gateway
            .nat_gateway_addresses()
            .first()
            .and_then(|address| address.allocation_id());
        assert!(
            inventory
                .addresses
                .iter()
                .any(|address| address.allocation_id() == allocation),
            "the NAT gateway of {zone} has no elastic IP of the cluster: {gateway:?}"
        );
        let private = inventory
            .subnets
            .iter()
            .find(|subnet| tag(subnet.tags(), "Name") == Some(&format!("{zone}.{cluster}")))
            .unwrap_or_else(|| panic!("no private subnet in {zone}"));
        let table = inventory
            .route_tables
            .iter()
            .find(|table| {
                table
                    .associations()
                    .iter()
                    .any(|association| association.subnet_id() == private.subnet_id())
            })
            .unwrap_or_else(|| panic!("the private subnet of {zone} has no route table"));
        assert!(
            table.routes().iter().any(|route| {
                route.destination_cidr_block() == Some("0.0.0.0/0")
                    && route.nat_gateway_id() == gateway.nat_gateway_id()
            }),
            "the private route table of {zone} does not route through its NAT gateway: {table:?}"
        );
    }
}

/// The cluster's security groups exist, and nodes cannot reach etcd's peer ports (2380-2381)
/// on the control plane.
fn assert_security_groups(inventory: &Inventory, cluster: &str, roles: &[&str]) {
    for role in roles {
        let name = format!("{role}.{cluster}");
        assert_owned(inventory.security_group(&name).tags(), cluster, &name);
    }
    let masters = inventory.security_group(&format!("masters.{cluster}"));
    let nodes = inventory.security_group(&format!("nodes.{cluster}"));
    let from_nodes: Vec<_> = masters
        .ip_permissions()
        .iter()
        .filter(|permission| {
            permission
                .user_id_group_pairs()
                .iter()
                .any(|pair| pair.group_id() == nodes.group_id())
        })
        .collect();
    assert!(!from_nodes.is_empty(), "no ingress from nodes to masters");
    for permission in from_nodes {
        let protocol = permission.ip_protocol().unwrap_or_default();
        let from = permission.from_port().unwrap_or_default();
        let to = permission.to_port().unwrap_or_default();
        let reaches_etcd_peers =
            protocol == "-1" || (matches!(protocol, "tcp" | "6") && from <= 2381 && to >= 2380);
        assert!(
            !reaches_etcd_peers,
            "nodes may reach etcd's peer ports on the control plane: {permission:?}"
        );
    }
}

/// An IAM role and an instance profile holding it per role name.
fn assert_iam(world: &World, cluster: &str, roles: &[&str]) {
    for role in roles {
        let name = format!("{role}.{cluster}");
        world
            .block_on(world.aws.iam.get_role().role_name(&name).send())
            .unwrap_or_else(|error| panic!("GetRole {name}: {error:?}"));
        let profile = world
            .block_on(
                world
                    .aws
                    .iam
                    .get_instance_profile()
                    .instance_profile_name(&name)
                    .send(),
            )
            .unwrap_or_else(|error| panic!("GetInstanceProfile {name}: {error:?}"));
        let held: Vec<&str> = profile
            .instance_profile()
            .map(|profile| {
                profile
                    .roles()
                    .iter()
                    .map(|role| role.role_name())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(held, [name.as_str()]);
    }
}

/// Per instance group: a launch template whose default version has the instance type,
/// IMDSv2 required and user data, and an auto scaling group running `min` instances.
fn assert_compute(world: &World, inventory: &Inventory, cluster: &str, groups: &[&str]) {
    for group in groups {
        let name = format!("{group}.{cluster}");
        let data = world.block_on(default_launch_template_data(&world.aws, &name));
        assert_eq!(
            data.instance_type().map(|kind| kind.as_str()),
            Some(if *group == "bastions" {
                "t3.micro"
            } else {
                "t3.medium"
            }),
            "{name}"
        );
        assert_eq!(
            data.metadata_options()
                .and_then(|options| options.http_tokens()),
            Some(&LaunchTemplateHttpTokensState::Required),
            "{name}"
        );
        assert!(
            data.user_data()
                .is_some_and(|user_data| !user_data.is_empty()),
            "{name} has no user data"
        );
        let scaling = inventory
            .groups
            .iter()
            .find(|candidate| candidate.auto_scaling_group_name() == Some(&name))
            .unwrap_or_else(|| panic!("no auto scaling group `{name}`"));
        let min = usize::try_from(scaling.min_size().unwrap_or_default()).unwrap_or_default();
        assert_eq!(scaling.instances().len(), min, "{name}");
    }
}

/// One `main` and one `events` volume per etcd member, tagged `k8s.io/etcd/<cluster>`.
fn assert_etcd_volumes(inventory: &Inventory, cluster: &str, members: &[&str]) {
    let count = members.len();
    for etcd in ["main", "events"] {
        for member in members {
            let name = format!("{member}.etcd-{etcd}.{cluster}");
            let volume = inventory
                .etcd_volumes
                .iter()
                .find(|volume| tag(volume.tags(), "Name") == Some(&name))
                .unwrap_or_else(|| panic!("no etcd volume `{name}`"));
            assert_eq!(
                tag(volume.tags(), &format!("k8s.io/etcd/{etcd}")),
                Some(format!("{member}/{}", members.join(",")).as_str()),
                "{name} of {count} members: {volume:?}"
            );
        }
    }
}

/// The API's network load balancer, its target group and a TCP listener on 443.
fn assert_load_balancer(inventory: &Inventory) {
    let balancer = &inventory.load_balancers[0];
    assert_eq!(
        balancer.r#type(),
        Some(&LoadBalancerTypeEnum::Network),
        "{balancer:?}"
    );
    assert_eq!(
        balancer.scheme(),
        Some(&LoadBalancerSchemeEnum::InternetFacing),
        "{balancer:?}"
    );
    let group = &inventory.target_groups[0];
    assert_eq!(group.port(), Some(443), "{group:?}");
    let listener = &inventory.listeners[0];
    assert_eq!(listener.port(), Some(443), "{listener:?}");
    assert_eq!(listener.load_balancer_arn(), balancer.load_balancer_arn());
}

/// `cluster-completed.spec` and each instance group's nodeup configuration are in the store.
fn assert_managed_files(world: &World, cluster: &str, groups: &[&str]) {
    assert!(world.store_has(cluster, "cluster-completed.spec"));
    for group in groups {
        let key = format!("igconfig/{group}/nodeupconfig.yaml");
        assert!(world.store_has(cluster, &key), "no `{key}` in the store");
    }
}
