//! Completion: snapshots of two reference clusters, idempotence, and fact-driven errors.

use super::*;
use crate::{CreateClusterOptions, DnsType, Document, Topology, build_cluster, to_yaml, validate};

fn facts() -> CloudFacts {
    CloudFacts {
        region: "us-east-1".into(),
        available_zones: vec![
            "us-east-1a".into(),
            "us-east-1b".into(),
            "us-east-1c".into(),
        ],
        account_id: Some("123456789012".into()),
        network_cidr: None,
        state_store: Some("s3://state-bucket".into()),
    }
}

fn public_single_zone() -> (Cluster, Vec<InstanceGroup>) {
    build_cluster(&CreateClusterOptions {
        name: "public.example.com".into(),
        zones: vec!["us-east-1a".into()],
        config_base: "s3://state-bucket/public.example.com".into(),
        ..CreateClusterOptions::default()
    })
    .unwrap()
}

fn private_ha_with_bastion() -> (Cluster, Vec<InstanceGroup>) {
    build_cluster(&CreateClusterOptions {
        name: "private.example.com".into(),
        zones: vec![
            "us-east-1a".into(),
            "us-east-1b".into(),
            "us-east-1c".into(),
        ],
        control_plane_count: Some(3),
        node_count: 3,
        topology: Topology::Private,
        bastion: true,
        dns: DnsType::Private,
        dns_zone: Some("example.com".into()),
        config_base: "s3://state-bucket/private.example.com".into(),
        ..CreateClusterOptions::default()
    })
    .unwrap()
}

fn yaml(completed: &CompletedCluster) -> String {
    let mut documents = vec![Document::Cluster(completed.cluster.clone())];
    documents.extend(
        completed
            .instance_groups
            .iter()
            .cloned()
            .map(Document::InstanceGroup),
    );
    to_yaml(&documents).unwrap()
}

fn check(name: &str, (cluster, groups): (Cluster, Vec<InstanceGroup>)) {
    let completed = complete(&cluster, &groups, &facts()).unwrap();
    validate(&completed.cluster, &completed.instance_groups).unwrap();
    let again = complete(&completed.cluster, &completed.instance_groups, &facts()).unwrap();
    assert_eq!(again, completed, "complete must be idempotent");
    insta::assert_snapshot!(name, yaml(&completed));
}

#[test]
fn completes_public_single_zone() {
    check("public_single_zone", public_single_zone());
}

#[test]
fn completes_private_ha_with_bastion() {
    check("private_ha_with_bastion", private_ha_with_bastion());
}

#[test]
fn completes_a_bare_spec() {
    let (mut cluster, mut groups) = public_single_zone();
    cluster.spec = crate::ClusterSpec {
        subnets: cluster.spec.subnets.clone(),
        ..Default::default()
    };
    for group in &mut groups {
        group.spec = crate::InstanceGroupSpec {
            role: group.spec.role,
            ..group.spec.clone()
        };
        group.spec.subnets.clear();
        group.spec.machine_type = None;
        group.spec.root_volume_size = Some(50);
    }
    let completed = complete(&cluster, &groups, &facts()).unwrap();
    let spec = &completed.cluster.spec;
    assert_eq!(
        spec.config_base.as_deref(),
        Some("s3://state-bucket/public.example.com")
    );
    assert_eq!(
        spec.service_cluster_ip_range.as_deref(),
        Some("100.64.0.0/13")
    );
    assert_eq!(spec.pod_cidr.as_deref(), Some("100.96.0.0/11"));
    assert_eq!(spec.etcd_clusters.len(), 2);
    assert_eq!(spec.etcd_clusters[0].etcd_members[0].name, "a");
    assert_eq!(
        spec.etcd_clusters[0].etcd_members[0].volume_size,
        Some(DEFAULT_ETCD_VOLUME_SIZE)
    );
    let root = completed.instance_groups[0]
        .spec
        .root_volume
        .as_ref()
        .unwrap();
    assert_eq!(root.size, Some(50));
    assert_eq!(completed.instance_groups[0].spec.root_volume_size, None);
    validate(&completed.cluster, &completed.instance_groups).unwrap();
    let again = complete(&completed.cluster, &completed.instance_groups, &facts()).unwrap();
    assert_eq!(again, completed);
}

#[test]
fn errors_when_facts_are_missing_or_contradict() {
    let (mut cluster, groups) = public_single_zone();
    assert!(matches!(
        complete(
            &cluster,
            &groups,
            &CloudFacts {
                region: "eu-west-1".into(),
                ..facts()
            }
        ),
        Err(CompleteError::ZoneOutsideRegion { .. })
    ));
    assert!(matches!(
        complete(
            &cluster,
            &groups,
            &CloudFacts {
                available_zones: vec!["us-east-1b".into()],
                ..facts()
            }
        ),
        Err(CompleteError::ZoneUnavailable { .. })
    ));
    cluster.spec.config_base = None;
    assert_eq!(
        complete(
            &cluster,
            &groups,
            &CloudFacts {
                state_store: None,
                ..facts()
            }
        ),
        Err(CompleteError::MissingConfigBase)
    );
    cluster.spec.network_cidr = None;
    cluster.spec.network_id = Some("vpc-1".into());
    assert!(matches!(
        complete(&cluster, &groups, &facts()),
        Err(CompleteError::UnknownNetworkCidr { .. })
    ));
    let shared = complete(
        &cluster,
        &groups,
        &CloudFacts {
            network_cidr: Some("172.20.0.0/16".into()),
            ..facts()
        },
    )
    .unwrap();
    assert_eq!(
        shared.cluster.spec.network_cidr.as_deref(),
        Some("172.20.0.0/16")
    );
    cluster.spec.non_masquerade_cidr = Some("100.64.0.0/31".into());
    assert!(matches!(
        complete(
            &cluster,
            &groups,
            &CloudFacts {
                network_cidr: Some("172.20.0.0/16".into()),
                ..facts()
            }
        ),
        Err(CompleteError::NonMasqueradeCidr { .. })
    ));
}

#[test]
fn the_api_endpoint_agrees_with_completion() {
    let (cluster, groups) = public_single_zone();
    for cluster in [cluster.clone(), {
        let mut with_dns = cluster;
        with_dns.spec.dns_zone = Some("example.com".into());
        with_dns.spec.topology = None;
        with_dns.spec.api = None;
        with_dns.spec.master_public_name = Some("k8s.example.org".into());
        with_dns
    }] {
        let endpoint = api_endpoint(&cluster);
        let completed = complete(&cluster, &groups, &facts()).unwrap().cluster;
        assert_eq!(endpoint, api_endpoint(&completed));
        let spec = &completed.spec;
        assert_eq!(
            endpoint.load_balancer,
            spec.api.as_ref().unwrap().load_balancer.is_some()
        );
        assert_eq!(
            Some(endpoint.public_name.as_str()),
            spec.master_public_name.as_deref()
        );
    }
    let endpoint = api_endpoint(&public_single_zone().0);
    assert_eq!(endpoint.dns_type, DnsType::None);
    assert!(endpoint.load_balancer);
    assert_eq!(endpoint.public_name, "api.public.example.com");
}
