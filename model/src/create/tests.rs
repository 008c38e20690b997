//! `build_cluster`: layouts kops users expect, and option errors naming the flag.

use super::*;
use crate::{Document, to_yaml, validate};

fn options(zones: &[&str]) -> CreateClusterOptions {
    CreateClusterOptions {
        name: "demo.example.com".into(),
        zones: zones.iter().map(|zone| (*zone).to_owned()).collect(),
        config_base: "s3://state-bucket/demo.example.com".into(),
        ..CreateClusterOptions::default()
    }
}

fn yaml(cluster: &Cluster, groups: &[InstanceGroup]) -> String {
    let mut documents = vec![Document::Cluster(cluster.clone())];
    documents.extend(groups.iter().cloned().map(Document::InstanceGroup));
    to_yaml(&documents).unwrap()
}

fn error(options: &CreateClusterOptions) -> String {
    build_cluster(options).unwrap_err().to_string()
}

#[test]
fn public_single_zone() {
    let (cluster, groups) = build_cluster(&options(&["us-east-1a"])).unwrap();
    validate(&cluster, &groups).unwrap();
    insta::assert_snapshot!(yaml(&cluster, &groups));
}

#[test]
fn private_three_zone_ha_with_bastion() {
    let (cluster, groups) = build_cluster(&CreateClusterOptions {
        control_plane_count: Some(3),
        node_count: 4,
        topology: Topology::Private,
        bastion: true,
        dns: DnsType::Public,
        dns_zone: Some("example.com".into()),
        admin_access: vec!["203.0.113.0/24".into()],
        kubernetes_version: Some("1.33.1".into()),
        cloud_labels: BTreeMap::from([("team".into(), "platform".into())]),
        ..options(&["us-east-1a", "us-east-1b", "us-east-1c"])
    })
    .unwrap();
    validate(&cluster, &groups).unwrap();
    insta::assert_snapshot!(yaml(&cluster, &groups));
}

#[test]
fn subnet_cidrs_follow_kops() {
    let (public, _) = build_cluster(&options(&["us-east-1a", "us-east-1b"])).unwrap();
    let cidrs: Vec<_> = public
        .spec
        .subnets
        .iter()
        .map(|subnet| subnet.cidr.clone().unwrap())
        .collect();
    assert_eq!(cidrs, ["172.20.32.0/19", "172.20.64.0/19"]);
    let (private, _) = build_cluster(&CreateClusterOptions {
        topology: Topology::Private,
        ..options(&["us-east-1a", "us-east-1b"])
    })
    .unwrap();
    let cidrs: Vec<_> = private
        .spec
        .subnets
        .iter()
        .map(|subnet| subnet.cidr.clone().unwrap())
        .collect();
    assert_eq!(
        cidrs,
        [
            "172.20.32.0/19",
            "172.20.64.0/19",
            "172.20.0.0/22",
            "172.20.4.0/22"
        ]
    );
}

#[test]
fn control_plane_count_and_zones() {
    let (_, groups) = build_cluster(&options(&["us-east-1a", "us-east-1b"])).unwrap();
    let names: Vec<_> = groups
        .iter()
        .map(|group| group.metadata.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "control-plane-us-east-1a",
            "nodes-us-east-1a",
            "nodes-us-east-1b"
        ]
    );

    let (cluster, groups) = build_cluster(&CreateClusterOptions {
        control_plane_zones: vec![
            "us-east-1b".into(),
            "us-east-1c".into(),
            "us-east-1a".into(),
        ],
        ..options(&["us-east-1a"])
    })
    .unwrap();
    assert_eq!(
        groups
            .iter()
            .filter(|group| group.spec.role.is_control_plane())
            .count(),
        3
    );
    let members: Vec<_> = cluster.spec.etcd_clusters[0]
        .etcd_members
        .iter()
        .map(|member| member.name.as_str())
        .collect();
    assert_eq!(members, ["b", "c", "a"]);

    let (cluster, groups) = build_cluster(&CreateClusterOptions {
        control_plane_count: Some(3),
        ..options(&["us-east-1a"])
    })
    .unwrap();
    validate(&cluster, &groups).unwrap();
    let members: Vec<_> = cluster.spec.etcd_clusters[0]
        .etcd_members
        .iter()
        .map(|member| member.name.as_str())
        .collect();
    assert_eq!(members, ["a-1", "a-2", "a-3"]);
}

#[test]
fn nodes_are_split_across_zones() {
    assert_eq!(distribute(5, 3), [2, 2, 1]);
    assert_eq!(distribute(2, 3), [1, 1, 0]);
    let (cluster, groups) = build_cluster(&CreateClusterOptions {
        node_count: 1,
        ..options(&["us-east-1a", "us-east-1b"])
    })
    .unwrap();
    validate(&cluster, &groups).unwrap();
}

#[test]
fn dns_modes_pick_the_api_endpoint() {
    let (cluster, _) = build_cluster(&options(&["us-east-1a"])).unwrap();
    assert!(cluster.spec.api.as_ref().unwrap().load_balancer.is_some());
    let (cluster, _) = build_cluster(&CreateClusterOptions {
        dns: DnsType::Public,
        ..options(&["us-east-1a"])
    })
    .unwrap();
    assert!(cluster.spec.api.as_ref().unwrap().dns.is_some());
    let (cluster, _) = build_cluster(&CreateClusterOptions {
        dns: DnsType::Private,
        api_load_balancer_type: Some(LoadBalancerType::Internal),
        ..options(&["us-east-1a"])
    })
    .unwrap();
    let balancer = cluster
        .spec
        .api
        .as_ref()
        .unwrap()
        .load_balancer
        .as_ref()
        .unwrap();
    assert_eq!(
        balancer.load_balancer_type,
        Some(LoadBalancerType::Internal)
    );
}

#[test]
fn shared_vpc_and_subnets() {
    let (cluster, groups) = build_cluster(&CreateClusterOptions {
        network_id: Some("vpc-0123".into()),
        subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
        ..options(&["us-east-1a", "us-east-1b"])
    })
    .unwrap();
    assert_eq!(cluster.spec.network_cidr, None);
    assert_eq!(cluster.spec.subnets[0].id.as_deref(), Some("subnet-a"));
    assert_eq!(cluster.spec.subnets[0].cidr, None);
    validate(&cluster, &groups).unwrap();
}

#[test]
fn invalid_options_name_the_flag() {
    let cases = [
        error(&options(&[])),
        error(&options(&["us-east-1a", "eu-west-1b"])),
        error(&options(&["us-east-1a", "us-east-1a"])),
        error(&options(&["moon"])),
        error(&CreateClusterOptions {
            bastion: true,
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            control_plane_count: Some(2),
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            control_plane_count: Some(0),
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            kubernetes_version: Some("1.20.0".into()),
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            networking: "calico".into(),
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            name: "demo".into(),
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            dns_zone: Some("example.com".into()),
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            admin_access: vec!["1.2.3.4".into()],
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            network_cidr: Some("10.0.0.0/30".into()),
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            network_id: Some("vpc-1".into()),
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            subnet_ids: vec!["subnet-1".into()],
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            control_plane_zones: vec!["eu-west-1a".into()],
            ..options(&["us-east-1a"])
        }),
        error(&CreateClusterOptions {
            config_base: String::new(),
            ..options(&["us-east-1a"])
        }),
    ];
    insta::assert_snapshot!(cases.join("\n"));
}
