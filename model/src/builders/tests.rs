//! Builds the reference clusters and checks the graph: snapshots of its shape, counts per
//! kind, naming, tags and the security rules.

use std::collections::BTreeMap;

use super::{BuildContext, BuildError, BuildFacts, build, critical_path_weight, fixtures};
use crate::{
    CompletedCluster,
    aws::{AnyResource, Graph, NodeKey, ResourceKind, RuleDirection, RuleSource, Tags},
    nodeup_config::{ApiDnsConfig, NodeRole},
};

fn build_graph(cluster: &CompletedCluster, facts: &BuildFacts) -> Graph {
    build(&BuildContext { cluster, facts }).unwrap()
}

fn public() -> Graph {
    build_graph(
        &fixtures::completed(&fixtures::public_options()),
        &fixtures::facts(false),
    )
}

fn private(dns: bool, load_balancer_with_dns: bool) -> Graph {
    let options = fixtures::private_options(dns, load_balancer_with_dns);
    build_graph(&fixtures::completed(&options), &fixtures::facts(dns))
}

fn counts(graph: &Graph) -> BTreeMap<ResourceKind, usize> {
    let mut counts = BTreeMap::new();
    for (key, _) in graph.sorted() {
        *counts.entry(key.kind).or_default() += 1;
    }
    counts
}

fn count(graph: &Graph, kind: ResourceKind) -> usize {
    counts(graph).get(&kind).copied().unwrap_or(0)
}

/// One line per node: `Kind/name <- deps`.
fn listing(graph: &Graph) -> String {
    let mut out = String::new();
    for (key, resource) in graph.sorted() {
        let deps: Vec<String> = resource.deps().iter().map(NodeKey::to_string).collect();
        if deps.is_empty() {
            out.push_str(&format!("{key}\n"));
        } else {
            out.push_str(&format!("{key} <- {}\n", deps.join(", ")));
        }
    }
    out
}

fn node<'g>(graph: &'g Graph, kind: ResourceKind, name: &str) -> &'g AnyResource {
    graph
        .get(&NodeKey::new(kind, name))
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

/// A snapshot name from a resource name (no `/` or `:` in file names).
fn slug(name: &str) -> String {
    name.replace(['/', ':'], "_")
}

fn counts_text(graph: &Graph) -> String {
    counts(graph)
        .iter()
        .map(|(kind, count)| format!("{kind}: {count}\n"))
        .collect()
}

#[test]
fn public_single_zone_cluster() {
    let graph = public();
    insta::assert_snapshot!("public_listing", listing(&graph));
    insta::assert_snapshot!("public_counts", counts_text(&graph));
    let expected = [
        (ResourceKind::Vpc, 1),
        (ResourceKind::DhcpOptions, 1),
        (ResourceKind::InternetGateway, 1),
        (ResourceKind::Subnet, 1),
        (ResourceKind::RouteTable, 1),
        (ResourceKind::Route, 1),
        (ResourceKind::RouteTableAssociation, 1),
        (ResourceKind::SecurityGroup, 3),
        (ResourceKind::IamRole, 2),
        (ResourceKind::IamRolePolicy, 2),
        (ResourceKind::IamInstanceProfile, 2),
        (ResourceKind::KeyPair, 1),
        (ResourceKind::LaunchTemplate, 2),
        (ResourceKind::AutoscalingGroup, 2),
        (ResourceKind::EbsVolume, 2),
        (ResourceKind::LoadBalancer, 1),
        (ResourceKind::TargetGroup, 1),
        (ResourceKind::Listener, 1),
        // Completed spec, two nodeup configs, five addons and their channel.
        (ResourceKind::ManagedFile, 9),
    ];
    for (kind, expected) in expected {
        assert_eq!(count(&graph, kind), expected, "{kind}");
    }
    assert_eq!(count(&graph, ResourceKind::NatGateway), 0);
    assert_eq!(count(&graph, ResourceKind::DnsRecord), 0);

    let name = "dev.example.com";
    for (kind, resource) in [
        (
            ResourceKind::LaunchTemplate,
            "control-plane-us-east-1a.dev.example.com",
        ),
        (
            ResourceKind::AutoscalingGroup,
            "control-plane-us-east-1a.dev.example.com",
        ),
        (ResourceKind::Subnet, "us-east-1a.dev.example.com"),
        (ResourceKind::EbsVolume, "a.etcd-main.dev.example.com"),
        (ResourceKind::LoadBalancer, "api-dev-example-com"),
        (ResourceKind::DhcpOptions, name),
    ] {
        insta::assert_yaml_snapshot!(
            format!("public_{kind}_{}", slug(resource)),
            node(&graph, kind, resource)
        );
    }
    for file in [
        "dev.example.com/igconfig/control-plane/control-plane-us-east-1a/nodeupconfig.yaml",
        "dev.example.com/igconfig/node/nodes-us-east-1a/nodeupconfig.yaml",
    ] {
        let AnyResource::ManagedFile(managed) = node(&graph, ResourceKind::ManagedFile, file)
        else {
            unreachable!()
        };
        insta::assert_snapshot!(format!("public_file_{}", slug(file)), managed.contents);
    }
    for role in ["masters", "nodes"] {
        let AnyResource::IamRolePolicy(policy) = node(
            &graph,
            ResourceKind::IamRolePolicy,
            &format!("{role}.{name}"),
        ) else {
            unreachable!()
        };
        let document: serde_json::Value = serde_json::from_str(&policy.policy_document).unwrap();
        insta::assert_json_snapshot!(format!("public_policy_{role}"), document);
    }
}

#[test]
fn private_three_zone_cluster_with_bastion() {
    let graph = private(false, false);
    insta::assert_snapshot!("private_listing", listing(&graph));
    insta::assert_snapshot!("private_counts", counts_text(&graph));
    assert_eq!(count(&graph, ResourceKind::Subnet), 6);
    assert_eq!(count(&graph, ResourceKind::ElasticIp), 3);
    assert_eq!(count(&graph, ResourceKind::NatGateway), 3);
    // One public table for the utility subnets, one private table per zone.
    assert_eq!(count(&graph, ResourceKind::RouteTable), 4);
    assert_eq!(count(&graph, ResourceKind::Route), 4);
    assert_eq!(count(&graph, ResourceKind::RouteTableAssociation), 6);
    assert_eq!(count(&graph, ResourceKind::EbsVolume), 6);
    assert_eq!(count(&graph, ResourceKind::LaunchTemplate), 7);
    assert_eq!(count(&graph, ResourceKind::AutoscalingGroup), 7);
    assert_eq!(count(&graph, ResourceKind::SecurityGroup), 4);
    assert_eq!(count(&graph, ResourceKind::IamRole), 3);
    assert_eq!(count(&graph, ResourceKind::IamInstanceProfile), 3);
    // Completed spec, seven nodeup configs, five addons and their channel.
    assert_eq!(count(&graph, ResourceKind::ManagedFile), 14);
    assert_eq!(count(&graph, ResourceKind::LoadBalancer), 1);

    let AnyResource::LoadBalancer(load_balancer) =
        node(&graph, ResourceKind::LoadBalancer, "api-prod-example-com")
    else {
        unreachable!()
    };
    let subnets: Vec<&str> = load_balancer
        .subnets
        .iter()
        .map(|subnet| subnet.key().name.as_str())
        .collect();
    assert_eq!(
        subnets,
        [
            "utility-us-east-1a.prod.example.com",
            "utility-us-east-1b.prod.example.com",
            "utility-us-east-1c.prod.example.com"
        ]
    );
    let AnyResource::EbsVolume(volume) = node(
        &graph,
        ResourceKind::EbsVolume,
        "b.etcd-events.prod.example.com",
    ) else {
        unreachable!()
    };
    assert_eq!(volume.zone, "us-east-1b");
    assert_eq!(volume.tags["k8s.io/etcd/events"], "b/a,b,c");
    for (kind, resource) in [
        (ResourceKind::NatGateway, "us-east-1a.prod.example.com"),
        (
            ResourceKind::Route,
            "private-us-east-1a.prod.example.com:0.0.0.0/0",
        ),
        (ResourceKind::LaunchTemplate, "bastions.prod.example.com"),
        (
            ResourceKind::AutoscalingGroup,
            "nodes-us-east-1b.prod.example.com",
        ),
    ] {
        insta::assert_yaml_snapshot!(
            format!("private_{kind}_{}", slug(resource)),
            node(&graph, kind, resource)
        );
    }

    // Private instances get no public address; the bastion does.
    for (key, resource) in graph.sorted() {
        if let AnyResource::LaunchTemplate(template) = resource {
            let is_bastion = key.name.starts_with("bastions.");
            assert_eq!(template.associate_public_ip, is_bastion, "{key}");
        }
    }
}

#[test]
fn critical_path_of_the_private_cluster_is_vpc_subnet_nat_route() {
    let graph = private(false, false);
    let (total, path) = graph.critical_path(critical_path_weight);
    let path: Vec<String> = path.iter().map(NodeKey::to_string).collect();
    assert_eq!(total, 6, "{path:?}");
    assert_eq!(
        path.first().map(String::as_str),
        Some("Vpc/prod.example.com")
    );
    assert_eq!(path.len(), 4, "{path:?}");
    let (public_total, _) = public().critical_path(critical_path_weight);
    assert_eq!(public_total, 6);
}

#[test]
fn dns_with_a_load_balancer_gets_alias_records_and_without_one_none() {
    let graph = private(true, true);
    assert_eq!(count(&graph, ResourceKind::DnsRecord), 2);
    for record in ["api.prod.example.com", "api.internal.prod.example.com"] {
        let AnyResource::DnsRecord(dns) = node(&graph, ResourceKind::DnsRecord, record) else {
            unreachable!()
        };
        assert_eq!(dns.zone, "example.com");
        assert_eq!(dns.load_balancer.key().name, "api-prod-example-com");
    }
    let graph = private(true, false);
    assert_eq!(count(&graph, ResourceKind::DnsRecord), 0);
    assert_eq!(count(&graph, ResourceKind::LoadBalancer), 0);
    assert_eq!(count(&graph, ResourceKind::SecurityGroup), 3);
    let AnyResource::ManagedFile(file) = node(
        &graph,
        ResourceKind::ManagedFile,
        "prod.example.com/igconfig/node/nodes-us-east-1a/nodeupconfig.yaml",
    ) else {
        unreachable!()
    };
    assert!(
        file.contents
            .contains("apiServer: api.internal.prod.example.com"),
        "{}",
        file.contents
    );
}

/// Each group's `apiDns` in the nodeup configs of the cluster `options` describes.
fn api_dns_by_group(
    options: &crate::CreateClusterOptions,
    facts: &BuildFacts,
) -> BTreeMap<String, (NodeRole, Option<ApiDnsConfig>)> {
    let cluster = fixtures::completed(options);
    let context = BuildContext {
        cluster: &cluster,
        facts,
    };
    cluster
        .instance_groups
        .iter()
        .map(|group| {
            let config = super::nodeup::nodeup_config(&context, group).unwrap();
            (group.metadata.name.clone(), (config.role, config.api_dns))
        })
        .collect()
}

#[test]
fn dns_without_a_load_balancer_has_the_control_plane_keep_the_api_records() {
    let private_cluster = api_dns_by_group(
        &fixtures::private_options(true, false),
        &fixtures::facts(true),
    );
    let expected = ApiDnsConfig {
        zone: "example.com".to_owned(),
        private_zone: false,
        public_name: "api.prod.example.com".to_owned(),
        internal_name: "api.internal.prod.example.com".to_owned(),
        // A private topology: control-plane instances have no public address.
        public_addresses: false,
    };
    let mut control_planes = 0;
    for (group, (role, api_dns)) in &private_cluster {
        if *role == NodeRole::ControlPlane {
            control_planes += 1;
            assert_eq!(api_dns.as_ref(), Some(&expected), "{group}");
        } else {
            assert_eq!(api_dns, &None, "{group}");
        }
    }
    assert_eq!(control_planes, 3);
    assert!(
        private_cluster
            .values()
            .any(|(role, _)| *role == NodeRole::Bastion)
    );
    // The control plane's role may find the zone, read and change its records, and list
    // the instances.
    let graph = private(true, false);
    let AnyResource::IamRolePolicy(policy) = node(
        &graph,
        ResourceKind::IamRolePolicy,
        "masters.prod.example.com",
    ) else {
        unreachable!()
    };
    for action in [
        "route53:ListHostedZonesByName",
        "route53:ListResourceRecordSets",
        "route53:ChangeResourceRecordSets",
        "ec2:DescribeInstances",
    ] {
        assert!(
            policy.policy_document.contains(&format!("\"{action}\"")),
            "{action}"
        );
    }

    let mut public_options = fixtures::public_options();
    public_options.dns_zone = Some("example.com".to_owned());
    public_options.dns = crate::DnsType::Public;
    let public = api_dns_by_group(&public_options, &fixtures::facts(true));
    let (_, control_plane) = &public["control-plane-us-east-1a"];
    let control_plane = control_plane.as_ref().unwrap();
    assert_eq!(control_plane.public_name, "api.dev.example.com");
    assert_eq!(control_plane.internal_name, "api.internal.dev.example.com");
    assert!(control_plane.public_addresses, "a public topology");
    assert_eq!(public["nodes-us-east-1a"].1, None);

    // A private hosted zone is carried over.
    let mut facts = fixtures::facts(true);
    if let Some(zone) = facts.hosted_zone.as_mut() {
        zone.private = true;
    }
    let private_zone = api_dns_by_group(&fixtures::private_options(true, false), &facts);
    assert!(
        private_zone
            .values()
            .filter_map(|(_, api_dns)| api_dns.as_ref())
            .all(|api_dns| api_dns.private_zone)
    );
}

#[test]
fn a_load_balancer_or_no_dns_or_no_known_zone_means_no_api_records_on_nodes() {
    for (label, options, facts) in [
        (
            "load balancer",
            fixtures::private_options(true, true),
            fixtures::facts(true),
        ),
        (
            "no dns",
            fixtures::private_options(false, false),
            fixtures::facts(false),
        ),
        (
            "zone unknown",
            fixtures::private_options(true, false),
            fixtures::facts(false),
        ),
    ] {
        for (group, (_, api_dns)) in api_dns_by_group(&options, &facts) {
            assert_eq!(api_dns, None, "{label}: {group}");
        }
    }
}

fn overlaps(from: i32, to: i32, low: i32, high: i32) -> bool {
    from <= high && low <= to
}

#[test]
fn no_rule_opens_etcd_ports_from_nodes_and_ssh_goes_through_the_bastion() {
    for graph in [public(), private(false, false)] {
        let mut from_nodes = 0;
        for (key, resource) in graph.sorted() {
            let AnyResource::SecurityGroupRule(rule) = resource else {
                continue;
            };
            let RuleSource::Group(source) = &rule.source else {
                continue;
            };
            if !source.key().name.starts_with("nodes.")
                || !rule.security_group.key().name.starts_with("masters.")
            {
                continue;
            }
            from_nodes += 1;
            assert_ne!(rule.protocol, "-1", "{key}");
            if rule.protocol == "tcp" {
                for (low, high) in [(2380, 2381), (4001, 4002)] {
                    assert!(!overlaps(rule.from_port, rule.to_port, low, high), "{key}");
                }
            }
        }
        assert_eq!(from_nodes, 4);
    }
    let graph = private(false, false);
    for (key, resource) in graph.sorted() {
        let AnyResource::SecurityGroupRule(rule) = resource else {
            continue;
        };
        if rule.direction == RuleDirection::Ingress && rule.from_port == 22 {
            let to_bastion = rule.security_group.key().name.starts_with("bastion.");
            let from_cidr = matches!(rule.source, RuleSource::Cidr(_));
            assert_eq!(to_bastion, from_cidr, "{key}");
        }
    }
}

fn tags_of(resource: &AnyResource) -> Option<&Tags> {
    match resource {
        AnyResource::Vpc(resource) => Some(&resource.tags),
        AnyResource::DhcpOptions(resource) => Some(&resource.tags),
        AnyResource::InternetGateway(resource) => Some(&resource.tags),
        AnyResource::Subnet(resource) => Some(&resource.tags),
        AnyResource::ElasticIp(resource) => Some(&resource.tags),
        AnyResource::NatGateway(resource) => Some(&resource.tags),
        AnyResource::RouteTable(resource) => Some(&resource.tags),
        AnyResource::SecurityGroup(resource) => Some(&resource.tags),
        AnyResource::IamRole(resource) => Some(&resource.tags),
        AnyResource::IamInstanceProfile(resource) => Some(&resource.tags),
        AnyResource::KeyPair(resource) => Some(&resource.tags),
        AnyResource::LaunchTemplate(resource) => Some(&resource.tags),
        AnyResource::EbsVolume(resource) => Some(&resource.tags),
        AnyResource::LoadBalancer(resource) => Some(&resource.tags),
        AnyResource::TargetGroup(resource) => Some(&resource.tags),
        AnyResource::AutoscalingGroup(resource) => Some(&resource.tags),
        AnyResource::Route(_)
        | AnyResource::RouteTableAssociation(_)
        | AnyResource::SecurityGroupRule(_)
        | AnyResource::IamRolePolicy(_)
        | AnyResource::Listener(_)
        | AnyResource::DnsRecord(_)
        | AnyResource::ManagedFile(_) => None,
    }
}

#[test]
fn every_owned_taggable_resource_carries_the_ownership_tags_and_cloud_labels() {
    let mut options = fixtures::private_options(false, false);
    options.cloud_labels = BTreeMap::from([("team".to_owned(), "platform".to_owned())]);
    let graph = build_graph(&fixtures::completed(&options), &fixtures::facts(false));
    let cluster = "prod.example.com";
    let mut checked = 0;
    for (key, resource) in graph.sorted() {
        let Some(tags) = tags_of(resource) else {
            continue;
        };
        checked += 1;
        assert_eq!(
            tags.get("KubernetesCluster").map(String::as_str),
            Some(cluster),
            "{key}"
        );
        assert_eq!(
            tags.get(&format!("kubernetes.io/cluster/{cluster}"))
                .map(String::as_str),
            Some("owned"),
            "{key}"
        );
        assert_eq!(tags.get("Name"), Some(&key.name), "{key}");
        assert_eq!(
            tags.get("team").map(String::as_str),
            Some("platform"),
            "{key}"
        );
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn a_shared_vpc_and_subnet_are_only_looked_up_and_tagged_shared() {
    let mut options = fixtures::options("shared.example.com", &["us-east-1a"]);
    options.network_id = Some("vpc-0abc".to_owned());
    options.subnet_ids = vec!["subnet-0def".to_owned()];
    let graph = build_graph(&fixtures::completed(&options), &fixtures::facts(false));
    let AnyResource::Vpc(vpc) = node(&graph, ResourceKind::Vpc, "shared.example.com") else {
        unreachable!()
    };
    assert_eq!(vpc.shared_id.as_deref(), Some("vpc-0abc"));
    assert!(vpc.tags.is_empty());
    let AnyResource::Subnet(subnet) = node(
        &graph,
        ResourceKind::Subnet,
        "us-east-1a.shared.example.com",
    ) else {
        unreachable!()
    };
    assert_eq!(subnet.shared_id.as_deref(), Some("subnet-0def"));
    assert_eq!(
        subnet.tags,
        Tags::from([(
            "kubernetes.io/cluster/shared.example.com".to_owned(),
            "shared".to_owned()
        )])
    );
    for kind in [
        ResourceKind::DhcpOptions,
        ResourceKind::InternetGateway,
        ResourceKind::RouteTable,
        ResourceKind::Route,
        ResourceKind::RouteTableAssociation,
    ] {
        assert_eq!(count(&graph, kind), 0, "{kind}");
    }
    let (total, _) = graph.critical_path(critical_path_weight);
    assert!(total < 6, "{total}");
}

#[test]
fn errors_name_the_instance_group_and_what_is_missing() {
    let cluster = fixtures::completed(&fixtures::public_options());
    let mut facts = fixtures::facts(false);
    facts.images.clear();
    let error = build(&BuildContext {
        cluster: &cluster,
        facts: &facts,
    })
    .unwrap_err();
    assert!(
        matches!(&error, BuildError::UnresolvedImage { instance_group, .. } if instance_group == "control-plane-us-east-1a")
    );

    let mut cluster = fixtures::completed(&fixtures::public_options());
    cluster.instance_groups[1].spec.subnets = vec!["nowhere".to_owned()];
    let facts = fixtures::facts(false);
    let error = build(&BuildContext {
        cluster: &cluster,
        facts: &facts,
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "instance group `nodes-us-east-1a`: subnet `nowhere` is not in `spec.subnets`"
    );
}

#[test]
fn without_an_ssh_key_there_is_no_key_pair() {
    let cluster = fixtures::completed(&fixtures::public_options());
    let mut facts = fixtures::facts(false);
    facts.ssh_public_key = None;
    let graph = build_graph(&cluster, &facts);
    assert_eq!(count(&graph, ResourceKind::KeyPair), 0);
    for (_, resource) in graph.sorted() {
        if let AnyResource::LaunchTemplate(template) = resource {
            assert!(template.key_pair.is_none());
        }
    }
}

#[test]
fn a_config_change_changes_the_user_data() {
    let options = fixtures::public_options();
    let facts = fixtures::facts(false);
    let before = build_graph(&fixtures::completed(&options), &facts);
    let mut cluster = fixtures::completed(&options);
    cluster.instance_groups[1].spec.taints = vec!["dedicated=batch:NoSchedule".to_owned()];
    let after = build_graph(&cluster, &facts);
    let user_data = |graph: &Graph| match node(
        graph,
        ResourceKind::LaunchTemplate,
        "nodes-us-east-1a.dev.example.com",
    ) {
        AnyResource::LaunchTemplate(template) => template.user_data.clone(),
        _ => unreachable!(),
    };
    assert_ne!(user_data(&before), user_data(&after));
    assert!(user_data(&before).contains("NODEUP_CONFIG_HASH='"));
}
