//! Every rule with a good case (the base cluster passes) and a bad case (the path is named).

use super::*;
use crate::{
    CreateClusterOptions, EtcdMemberSpec, InstanceGroupRole, IntOrString, RollingUpdateSpec,
    RootVolumeSpec, SubnetType, Topology, build_cluster, complete::DEFAULT_ACCESS,
};

fn base(private: bool) -> (Cluster, Vec<InstanceGroup>) {
    build_cluster(&CreateClusterOptions {
        name: "demo.example.com".into(),
        zones: vec![
            "us-east-1a".into(),
            "us-east-1b".into(),
            "us-east-1c".into(),
        ],
        control_plane_count: Some(3),
        topology: if private {
            Topology::Private
        } else {
            Topology::Public
        },
        bastion: private,
        config_base: "s3://bucket/demo.example.com".into(),
        ..CreateClusterOptions::default()
    })
    .unwrap()
}

/// Apply `change` to the base cluster and return the paths of the errors.
fn paths(private: bool, change: impl FnOnce(&mut Cluster, &mut Vec<InstanceGroup>)) -> Vec<String> {
    let (mut cluster, mut groups) = base(private);
    change(&mut cluster, &mut groups);
    match validate(&cluster, &groups) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.0.into_iter().map(|error| error.path).collect(),
    }
}

fn assert_flags(
    private: bool,
    path: &str,
    change: impl FnOnce(&mut Cluster, &mut Vec<InstanceGroup>),
) {
    let found = paths(private, change);
    assert!(
        found.iter().any(|found| found == path),
        "expected `{path}` in {found:?}"
    );
}

fn nodes(groups: &mut [InstanceGroup]) -> &mut InstanceGroup {
    group(groups, "nodes-us-east-1a")
}

fn group<'a>(groups: &'a mut [InstanceGroup], name: &str) -> &'a mut InstanceGroup {
    groups
        .iter_mut()
        .find(|group| group.metadata.name == name)
        .unwrap()
}

#[test]
fn base_clusters_are_valid() {
    assert_eq!(paths(false, |_, _| {}), Vec::<String>::new());
    assert_eq!(paths(true, |_, _| {}), Vec::<String>::new());
}

#[test]
fn display_is_one_line_per_error() {
    let (mut cluster, groups) = base(false);
    cluster.metadata.name = "Bad_Name".into();
    cluster.spec.kubernetes_version = Some("1.20.0".into());
    let errors = validate(&cluster, &groups).unwrap_err();
    insta::assert_snapshot!(errors.to_string());
}

#[test]
fn cluster_name() {
    assert_flags(false, "metadata.name", |c, _| {
        c.metadata.name = "UPPER.example.com".into()
    });
    assert_flags(false, "metadata.name", |c, _| {
        c.metadata.name = "nodots".into()
    });
}

#[test]
fn kubernetes_version() {
    assert!(
        paths(false, |c, _| c.spec.kubernetes_version =
            Some("v1.28.15".into()))
        .is_empty()
    );
    assert!(paths(false, |c, _| c.spec.kubernetes_version = None).is_empty());
    assert_flags(false, "spec.kubernetesVersion", |c, _| {
        c.spec.kubernetes_version = Some("1.27.3".into())
    });
    assert_flags(false, "spec.kubernetesVersion", |c, _| {
        c.spec.kubernetes_version = Some("1.37.0".into())
    });
    assert_flags(false, "spec.kubernetesVersion", |c, _| {
        c.spec.kubernetes_version = Some("latest".into())
    });
}

#[test]
fn access_lists_are_cidrs() {
    assert!(
        paths(false, |c, _| c.spec.ssh_access =
            vec!["203.0.113.0/24".into(), "2001:db8::/32".into()])
        .is_empty()
    );
    assert_flags(false, "spec.sshAccess[0]", |c, _| {
        c.spec.ssh_access = vec!["203.0.113.1".into()]
    });
    assert_flags(false, "spec.kubernetesApiAccess[1]", |c, _| {
        c.spec.kubernetes_api_access = vec![DEFAULT_ACCESS[0].into(), "everyone".into()];
    });
}

#[test]
fn network_cidrs() {
    assert_flags(false, "spec.networkCIDR", |c, _| {
        c.spec.network_cidr = Some("172.20.0.0".into())
    });
    assert_flags(false, "spec.nonMasqueradeCIDR", |c, _| {
        c.spec.non_masquerade_cidr = Some("172.16.0.0/12".into())
    });
    assert_flags(false, "spec.serviceClusterIPRange", |c, _| {
        c.spec.service_cluster_ip_range = Some("10.0.0.0/16".into())
    });
    assert!(
        paths(false, |c, _| c.spec.service_cluster_ip_range =
            Some("100.64.0.0/13".into()))
        .is_empty()
    );
    assert_flags(false, "spec.podCIDR", |c, _| {
        c.spec.service_cluster_ip_range = Some("100.64.0.0/13".into());
        c.spec.pod_cidr = Some("100.64.0.0/11".into());
    });
}

#[test]
fn subnets() {
    assert_flags(false, "spec.subnets[1].cidr", |c, _| {
        c.spec.subnets[1].cidr = Some("10.0.0.0/19".into())
    });
    assert_flags(false, "spec.subnets[1].cidr", |c, _| {
        c.spec.subnets[1].cidr = Some("172.20.32.0/20".into())
    });
    assert_flags(false, "spec.subnets[1].cidr", |c, _| {
        c.spec.subnets[1].cidr = Some("bogus".into())
    });
    assert_flags(false, "spec.subnets[1].name", |c, _| {
        c.spec.subnets[1].name = "us-east-1a".into()
    });
    assert_flags(false, "spec.subnets[1].zone", |c, _| {
        c.spec.subnets[1].zone = "eu-west-1b".into()
    });
    assert_flags(false, "spec.subnets[1].zone", |c, _| {
        c.spec.subnets[1].zone = "nowhere".into()
    });
    assert_flags(false, "spec.subnets[1].cidr", |c, _| {
        c.spec.subnets[1].cidr = None
    });
    assert!(
        paths(false, |c, _| {
            c.spec.subnets[1].cidr = None;
            c.spec.subnets[1].id = Some("subnet-0123".into());
        })
        .is_empty()
    );
    assert_flags(false, "spec.subnets", |c, groups| {
        c.spec.subnets.clear();
        for group in groups.iter_mut() {
            group.spec.subnets.clear();
        }
    });
}

#[test]
fn egress() {
    assert!(
        paths(true, |c, _| c.spec.subnets[0].egress =
            Some("nat-0abc".into()))
        .is_empty()
    );
    assert_flags(true, "spec.subnets[0].egress", |c, _| {
        c.spec.subnets[0].egress = Some("igw-1".into())
    });
    assert_flags(false, "spec.subnets[0].egress", |c, _| {
        c.spec.subnets[0].egress = Some("External".into())
    });
}

#[test]
fn private_topology_needs_utility_subnets() {
    assert_flags(true, "spec.subnets[0]", |c, groups| {
        c.spec
            .subnets
            .retain(|subnet| subnet.name != "utility-us-east-1a");
        group(groups, "bastions")
            .spec
            .subnets
            .retain(|subnet| subnet != "utility-us-east-1a");
    });
    assert_flags(false, "spec.topology.nodes", |c, _| {
        c.spec.topology.get_or_insert_default().nodes = Some(Topology::Private);
    });
}

#[test]
fn bastion_needs_private_topology() {
    assert_flags(false, "spec.topology.bastion", |_, groups| {
        let mut bastion = groups[0].clone();
        bastion.metadata.name = "bastions".into();
        bastion.spec.role = InstanceGroupRole::Bastion;
        groups.push(bastion);
    });
}

#[test]
fn api_and_dns() {
    assert_flags(false, "spec.api.dns", |c, _| {
        c.spec.api = Some(crate::AccessSpec {
            dns: Some(crate::DnsAccessSpec {}),
            ..Default::default()
        });
    });
    assert_flags(false, "spec.api", |c, _| {
        c.spec.api.as_mut().unwrap().dns = Some(crate::DnsAccessSpec {});
    });
    assert_flags(false, "spec.dnsZone", |c, _| {
        c.spec.dns_zone = Some("example.com".into())
    });
    assert_flags(false, "spec.masterPublicName", |c, _| {
        c.spec.master_public_name = Some("API.x".into())
    });
}

#[test]
fn component_settings() {
    assert_flags(false, "spec.networking", |c, _| {
        c.spec.networking.as_mut().unwrap().cni = Some(crate::CniNetworkingSpec {});
    });
    assert_flags(false, "spec.iam.legacy", |c, _| {
        c.spec.iam.as_mut().unwrap().legacy = Some(true)
    });
    assert_flags(false, "spec.containerRuntime", |c, _| {
        c.spec.container_runtime = Some("docker".into())
    });
    assert_flags(false, "spec.configBase", |c, _| {
        c.spec.config_base = Some("gs://bucket/x".into())
    });
    assert_flags(false, "spec.authorization", |c, _| {
        c.spec.authorization.as_mut().unwrap().rbac = None
    });
    assert_flags(false, "spec.kubeDNS.provider", |c, _| {
        c.spec.kube_dns = Some(crate::KubeDnsSpec {
            provider: Some("KubeDNS".into()),
        });
    });
    assert_flags(false, "spec.cloudProvider", |c, _| {
        c.spec.cloud_provider = Some(crate::CloudProvider::Spec(
            crate::CloudProviderSpec::default(),
        ));
    });
}

#[test]
fn etcd() {
    assert_flags(false, "spec.etcdClusters[0].name", |c, _| {
        c.spec.etcd_clusters[0].name = "other".into()
    });
    assert_flags(false, "spec.etcdClusters[1].name", |c, _| {
        c.spec.etcd_clusters[1].name = "main".into()
    });
    assert_flags(false, "spec.etcdClusters", |c, _| {
        c.spec.etcd_clusters.truncate(1)
    });
    assert_flags(false, "spec.etcdClusters[0].etcdMembers", |c, _| {
        c.spec.etcd_clusters[0].etcd_members.truncate(2)
    });
    assert_flags(false, "spec.etcdClusters[0].etcdMembers", |c, _| {
        c.spec.etcd_clusters[0].etcd_members.clear()
    });
    assert_flags(false, "spec.etcdClusters[0].etcdMembers[1].name", |c, _| {
        c.spec.etcd_clusters[0].etcd_members[1].name = "a".into();
    });
    assert_flags(
        false,
        "spec.etcdClusters[0].etcdMembers[0].instanceGroup",
        |c, _| {
            c.spec.etcd_clusters[0].etcd_members[0].instance_group = "nodes-us-east-1a".into();
        },
    );
    assert_flags(
        false,
        "spec.etcdClusters[0].etcdMembers[0].instanceGroup",
        |c, _| {
            c.spec.etcd_clusters[0].etcd_members[0].instance_group = "missing".into();
        },
    );
    assert_flags(
        false,
        "spec.etcdClusters[0].etcdMembers[1].instanceGroup",
        |c, _| {
            let first = c.spec.etcd_clusters[0].etcd_members[0]
                .instance_group
                .clone();
            c.spec.etcd_clusters[0].etcd_members[1].instance_group = first;
        },
    );
    assert_flags(
        false,
        "spec.etcdClusters[0].etcdMembers[0].volumeSize",
        |c, _| {
            c.spec.etcd_clusters[0].etcd_members[0] = EtcdMemberSpec {
                volume_size: Some(0),
                ..c.spec.etcd_clusters[0].etcd_members[0].clone()
            };
        },
    );
    assert_flags(
        false,
        "spec.etcdClusters[0].etcdMembers[0].volumeType",
        |c, _| {
            c.spec.etcd_clusters[0].etcd_members[0].volume_type = Some("st1".into());
        },
    );
}

#[test]
fn instance_group_rules() {
    let prefix = "instancegroup/nodes-us-east-1a: ";
    assert_flags(false, &format!("{prefix}spec.minSize"), |_, g| {
        nodes(g).spec.min_size = Some(3);
        nodes(g).spec.max_size = Some(2);
    });
    assert_flags(false, &format!("{prefix}spec.machineType"), |_, g| {
        nodes(g).spec.machine_type = Some(String::new())
    });
    assert_flags(false, &format!("{prefix}spec.image"), |_, g| {
        nodes(g).spec.image = Some(String::new())
    });
    assert_flags(false, &format!("{prefix}spec.rootVolume.size"), |_, g| {
        nodes(g).spec.root_volume = Some(RootVolumeSpec {
            size: Some(0),
            ..Default::default()
        });
    });
    assert_flags(false, &format!("{prefix}spec.rootVolumeSize"), |_, g| {
        nodes(g).spec.root_volume_size = Some(0)
    });
    assert_flags(false, &format!("{prefix}spec.rootVolumeSize"), |_, g| {
        nodes(g).spec.root_volume_size = Some(10);
        nodes(g).spec.root_volume = Some(RootVolumeSpec {
            size: Some(20),
            ..Default::default()
        });
    });
    assert_flags(false, &format!("{prefix}spec.subnets[0]"), |_, g| {
        nodes(g).spec.subnets = vec!["nope".into()]
    });
    assert_flags(
        false,
        &format!("{prefix}metadata.labels.kops.k8s.io/cluster"),
        |_, g| {
            nodes(g)
                .metadata
                .labels
                .insert(crate::CLUSTER_LABEL.into(), "other.example.com".into());
        },
    );
    assert_flags(
        false,
        &format!("{prefix}metadata.labels.kops.k8s.io/cluster"),
        |_, g| nodes(g).metadata.labels.clear(),
    );
    assert_flags(false, &format!("{prefix}metadata.name"), |_, g| {
        let copy = nodes(g).clone();
        g.push(copy);
    });
    assert_flags(false, &format!("{prefix}spec.taints[0]"), |_, g| {
        nodes(g).spec.taints = vec!["dedicated=gpu".into()]
    });
    assert!(
        paths(false, |_, g| nodes(g).spec.taints = vec![
            "dedicated=gpu:NoSchedule".into(),
            "spot:PreferNoSchedule".into()
        ])
        .is_empty()
    );
    assert_flags(
        false,
        &format!("{prefix}spec.rollingUpdate.maxSurge"),
        |_, g| {
            nodes(g).spec.rolling_update = Some(RollingUpdateSpec {
                max_surge: Some(IntOrString::String("lots".into())),
                ..Default::default()
            });
        },
    );
    assert!(
        paths(false, |_, g| {
            nodes(g).spec.rolling_update = Some(RollingUpdateSpec {
                max_surge: Some(IntOrString::String("25%".into())),
                max_unavailable: Some(IntOrString::Int(1)),
                ..Default::default()
            });
        })
        .is_empty()
    );
    assert_flags(
        false,
        &format!("{prefix}spec.instanceMetadata.httpTokens"),
        |_, g| {
            nodes(g)
                .spec
                .instance_metadata
                .as_mut()
                .unwrap()
                .http_tokens = Some("maybe".into());
        },
    );
    assert_flags(
        false,
        &format!("{prefix}spec.instanceMetadata.httpPutResponseHopLimit"),
        |_, g| {
            nodes(g)
                .spec
                .instance_metadata
                .as_mut()
                .unwrap()
                .http_put_response_hop_limit = Some(0);
        },
    );
    assert_flags(
        false,
        &format!("{prefix}spec.maxInstanceLifetime"),
        |_, g| nodes(g).spec.max_instance_lifetime = Some("1 week".into()),
    );
    assert!(
        paths(false, |_, g| nodes(g).spec.max_instance_lifetime =
            Some("168h".into()))
        .is_empty()
    );
}

#[test]
fn control_plane_rules() {
    assert_flags(false, "instancegroups", |c, g| {
        g.retain(|group| !group.spec.role.is_control_plane());
        c.spec.etcd_clusters.clear();
    });
    assert_flags(
        false,
        "instancegroup/control-plane-us-east-1a: spec.subnets",
        |_, g| {
            group(g, "control-plane-us-east-1a").spec.subnets =
                vec!["us-east-1a".into(), "us-east-1b".into()];
        },
    );
    // The legacy role counts as control plane.
    assert!(
        paths(false, |_, g| group(g, "control-plane-us-east-1a")
            .spec
            .role = InstanceGroupRole::Master)
        .is_empty()
    );
}

#[test]
fn subnet_roles() {
    assert_flags(
        true,
        "instancegroup/nodes-us-east-1a: spec.subnets[0]",
        |_, g| {
            group(g, "nodes-us-east-1a").spec.subnets = vec!["utility-us-east-1a".into()];
        },
    );
    assert_flags(true, "instancegroup/bastions: spec.subnets[0]", |_, g| {
        group(g, "bastions").spec.subnets = vec!["us-east-1a".into()];
    });
    let (cluster, _) = base(true);
    assert!(
        cluster
            .spec
            .subnets
            .iter()
            .any(|subnet| subnet.subnet_type == SubnetType::Utility)
    );
}
