//! Small hand-built graphs for the render tests, and one graph holding every kind.

use berth_model::aws::{
    AutoscalingGroup, DhcpOptions, DnsRecord, EbsVolume, ElasticIp, Graph, IamInstanceProfile,
    IamRole, IamRolePolicy, InternetGateway, KeyPair, LaunchTemplate, Listener, LoadBalancer,
    ManagedFile, NatGateway, Ref, Route, RouteTable, RouteTableAssociation, RouteTarget,
    RuleDirection, RuleSource, SecurityGroup, SecurityGroupRule, Subnet, Tags, TargetGroup, Vpc,
};

pub(crate) const CLUSTER: &str = "dev.example.com";
pub(crate) const ASSUME_ROLE_POLICY: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"}}],"Version":"2012-10-17"}"#;
pub(crate) const ROLE_POLICY: &str = r#"{"Statement":[{"Action":["ec2:DescribeInstances"],"Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#;
pub(crate) const PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@example.com";

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

pub(crate) fn vpc(graph: &mut Graph, shared_id: Option<&str>) -> Ref<Vpc> {
    let tags = if shared_id.is_some() {
        Tags::new()
    } else {
        tags(&[("KubernetesCluster", CLUSTER), ("Name", CLUSTER)])
    };
    let vpc = Vpc {
        name: CLUSTER.into(),
        cidr: "10.0.0.0/16".into(),
        shared_id: shared_id.map(str::to_owned),
        tags,
    };
    graph.add(vpc).unwrap()
}

pub(crate) fn subnet(
    graph: &mut Graph,
    vpc: &Ref<Vpc>,
    zone: &str,
    shared_id: Option<&str>,
) -> Ref<Subnet> {
    let name = format!("{zone}.{CLUSTER}");
    let tags = if shared_id.is_some() {
        tags(&[("kubernetes.io/cluster/dev.example.com", "shared")])
    } else {
        tags(&[
            ("KubernetesCluster", CLUSTER),
            ("Name", &name),
            ("kubernetes.io/cluster/dev.example.com", "owned"),
        ])
    };
    let subnet = Subnet {
        name,
        vpc: vpc.clone(),
        cidr: "10.0.32.0/19".into(),
        zone: zone.into(),
        shared_id: shared_id.map(str::to_owned),
        tags,
    };
    graph.add(subnet).unwrap()
}

/// A VPC with one subnet, an internet gateway with IPv4 and IPv6 default routes, and a NAT
/// gateway routed from a private route table.
pub(crate) fn routed_network(graph: &mut Graph) -> (Ref<Vpc>, Ref<Subnet>) {
    let vpc = vpc(graph, None);
    let subnet = subnet(graph, &vpc, "us-east-1a", None);
    let gateway = graph
        .add(InternetGateway {
            name: CLUSTER.into(),
            vpc: vpc.clone(),
            tags: Tags::new(),
        })
        .unwrap();
    let public = graph
        .add(RouteTable {
            name: CLUSTER.into(),
            vpc: vpc.clone(),
            tags: Tags::new(),
        })
        .unwrap();
    for destination in ["0.0.0.0/0", "::/0"] {
        let route = Route {
            name: format!("{CLUSTER}:{destination}"),
            route_table: public.clone(),
            destination: destination.into(),
            target: RouteTarget::InternetGateway(gateway.clone()),
        };
        graph.add(route).unwrap();
    }
    let association = RouteTableAssociation {
        name: format!("us-east-1a.{CLUSTER}"),
        route_table: public,
        subnet: subnet.clone(),
    };
    graph.add(association).unwrap();
    let elastic_ip = graph
        .add(ElasticIp {
            name: format!("us-east-1a.{CLUSTER}"),
            tags: Tags::new(),
        })
        .unwrap();
    let nat = NatGateway {
        name: format!("us-east-1a.{CLUSTER}"),
        subnet: subnet.clone(),
        elastic_ip,
        tags: Tags::new(),
    };
    let nat = graph.add(nat).unwrap();
    let private = graph
        .add(RouteTable {
            name: format!("private-us-east-1a.{CLUSTER}"),
            vpc: vpc.clone(),
            tags: Tags::new(),
        })
        .unwrap();
    let route = Route {
        name: format!("private-us-east-1a.{CLUSTER}:0.0.0.0/0"),
        route_table: private,
        destination: "0.0.0.0/0".into(),
        target: RouteTarget::NatGateway(nat),
    };
    graph.add(route).unwrap();
    (vpc, subnet)
}

/// The `masters.<c>` and `nodes.<c>` groups.
pub(crate) fn security_groups(
    graph: &mut Graph,
    vpc: &Ref<Vpc>,
) -> (Ref<SecurityGroup>, Ref<SecurityGroup>) {
    let mut group = |role: &str| {
        let name = format!("{role}.{CLUSTER}");
        let group = SecurityGroup {
            description: format!("Security group for {role}"),
            vpc: vpc.clone(),
            tags: tags(&[("Name", &name)]),
            name,
        };
        graph.add(group).unwrap()
    };
    (group("masters"), group("nodes"))
}

/// The `api-elb.<c>` group.
pub(crate) fn api_elb_group(graph: &mut Graph, vpc: &Ref<Vpc>) -> Ref<SecurityGroup> {
    let group = SecurityGroup {
        name: format!("api-elb.{CLUSTER}"),
        vpc: vpc.clone(),
        description: "Security group for the API load balancer".into(),
        tags: Tags::new(),
    };
    graph.add(group).unwrap()
}

/// A role with its inline policy and instance profile, all named `<role>.<c>`.
pub(crate) fn iam(graph: &mut Graph, role: &str) -> Ref<IamInstanceProfile> {
    let name = format!("{role}.{CLUSTER}");
    let role = IamRole {
        name: name.clone(),
        assume_role_policy: ASSUME_ROLE_POLICY.into(),
        tags: tags(&[("KubernetesCluster", CLUSTER)]),
    };
    let role = graph.add(role).unwrap();
    let policy = IamRolePolicy {
        name: name.clone(),
        role: role.clone(),
        policy_document: ROLE_POLICY.into(),
    };
    graph.add(policy).unwrap();
    graph
        .add(IamInstanceProfile {
            name,
            role,
            tags: Tags::new(),
        })
        .unwrap()
}

pub(crate) fn key_pair(graph: &mut Graph) -> Ref<KeyPair> {
    let key_pair = KeyPair {
        name: format!("{CLUSTER}-abcd"),
        public_key: PUBLIC_KEY.into(),
        tags: tags(&[("KubernetesCluster", CLUSTER)]),
    };
    graph.add(key_pair).unwrap()
}

/// A `nodes` launch template and its autoscaling group, over a one-subnet network.
pub(crate) fn machines(graph: &mut Graph) -> Ref<LaunchTemplate> {
    let vpc = vpc(graph, None);
    let subnet = subnet(graph, &vpc, "us-east-1a", None);
    let (_, nodes) = security_groups(graph, &vpc);
    let profile = iam(graph, "nodes");
    let key_pair = key_pair(graph);
    let name = format!("nodes.{CLUSTER}");
    let group_tags = tags(&[("KubernetesCluster", CLUSTER), ("Name", &name)]);
    let template = LaunchTemplate {
        name: name.clone(),
        image_id: "ami-0123".into(),
        instance_type: "t3.medium".into(),
        root_volume_size: 128,
        root_volume_type: "gp3".into(),
        root_volume_encrypted: true,
        root_volume_iops: Some(3000),
        root_volume_throughput: None,
        metadata_http_tokens: "required".into(),
        metadata_hop_limit: 1,
        security_groups: vec![nodes],
        instance_profile: profile,
        key_pair: Some(key_pair),
        associate_public_ip: true,
        user_data: "#!/bin/bash\necho ${not_a_template}\n".into(),
        tags: group_tags.clone(),
    };
    let template = graph.add(template).unwrap();
    let group = AutoscalingGroup {
        name,
        launch_template: template.clone(),
        subnets: vec![subnet],
        min_size: 1,
        max_size: 2,
        target_groups: Vec::new(),
        max_instance_lifetime: Some(604_800),
        tags: group_tags,
    };
    graph.add(group).unwrap();
    template
}

/// The API's load balancer, target group and listener, over a one-subnet network.
pub(crate) fn api_load_balancer(graph: &mut Graph) -> Ref<LoadBalancer> {
    let vpc = vpc(graph, None);
    let subnet = subnet(graph, &vpc, "us-east-1a", None);
    let api_elb = api_elb_group(graph, &vpc);
    let load_balancer = LoadBalancer {
        name: "api-dev-example-com".into(),
        scheme: "internet-facing".into(),
        subnets: vec![subnet],
        security_groups: vec![api_elb],
        tags: Tags::new(),
    };
    let load_balancer = graph.add(load_balancer).unwrap();
    let target_group = TargetGroup {
        name: "tcp-dev-example-com".into(),
        vpc,
        protocol: "TCP".into(),
        port: 443,
        tags: Tags::new(),
    };
    let target_group = graph.add(target_group).unwrap();
    let listener = Listener {
        name: "api-dev-example-com-443".into(),
        load_balancer: load_balancer.clone(),
        target_group,
        port: 443,
    };
    graph.add(listener).unwrap();
    load_balancer
}

/// A small cluster with one node of every kind or more: a private-topology network, both
/// security groups with a few rules, control-plane and node machines behind the API load
/// balancer with its DNS record, an etcd volume and two managed files.
pub(crate) fn full_graph() -> Graph {
    let mut graph = Graph::new();
    let (vpc, subnet) = routed_network(&mut graph);
    let dhcp = DhcpOptions {
        name: CLUSTER.into(),
        vpc: vpc.clone(),
        domain_name: "ec2.internal".into(),
        tags: tags(&[("KubernetesCluster", CLUSTER)]),
    };
    graph.add(dhcp).unwrap();
    let (masters, nodes) = security_groups(&mut graph, &vpc);
    let rules = [
        (
            "https-external-to-masters-0.0.0.0/0",
            &masters,
            RuleDirection::Ingress,
            "tcp",
            443,
            443,
            RuleSource::Cidr("0.0.0.0/0".into()),
        ),
        (
            "https-external-to-masters-::/0",
            &masters,
            RuleDirection::Ingress,
            "tcp",
            443,
            443,
            RuleSource::Cidr("::/0".into()),
        ),
        (
            "from-nodes-to-masters-tcp-1-2379",
            &masters,
            RuleDirection::Ingress,
            "tcp",
            1,
            2379,
            RuleSource::Group(nodes.clone()),
        ),
        (
            "from-masters-to-masters",
            &masters,
            RuleDirection::Ingress,
            "-1",
            0,
            0,
            RuleSource::Group(masters.clone()),
        ),
        (
            "nodes-egress-all-0.0.0.0/0",
            &nodes,
            RuleDirection::Egress,
            "-1",
            0,
            0,
            RuleSource::Cidr("0.0.0.0/0".into()),
        ),
    ];
    for (name, group, direction, protocol, from_port, to_port, source) in rules {
        let rule = SecurityGroupRule {
            name: name.into(),
            security_group: group.clone(),
            direction,
            protocol: protocol.into(),
            from_port,
            to_port,
            source,
        };
        graph.add(rule).unwrap();
    }
    let key_pair = key_pair(&mut graph);
    let api_elb = api_elb_group(&mut graph, &vpc);
    let load_balancer = LoadBalancer {
        name: "api-dev-example-com".into(),
        scheme: "internet-facing".into(),
        subnets: vec![subnet.clone()],
        security_groups: vec![api_elb],
        tags: tags(&[("KubernetesCluster", CLUSTER)]),
    };
    let load_balancer = graph.add(load_balancer).unwrap();
    let target_group = TargetGroup {
        name: "tcp-dev-example-com".into(),
        vpc: vpc.clone(),
        protocol: "TCP".into(),
        port: 443,
        tags: tags(&[("KubernetesCluster", CLUSTER)]),
    };
    let target_group = graph.add(target_group).unwrap();
    let listener = Listener {
        name: "api-dev-example-com-443".into(),
        load_balancer: load_balancer.clone(),
        target_group: target_group.clone(),
        port: 443,
    };
    graph.add(listener).unwrap();
    let record = DnsRecord {
        name: format!("api.{CLUSTER}"),
        zone: "example.com".into(),
        private_zone: false,
        load_balancer,
    };
    graph.add(record).unwrap();
    for (role, instance_group, group, target_groups, public_key) in [
        (
            "masters",
            "control-plane-us-east-1a",
            masters,
            vec![target_group],
            Some(key_pair.clone()),
        ),
        ("nodes", "nodes-us-east-1a", nodes, Vec::new(), None),
    ] {
        let profile = iam(&mut graph, role);
        let name = format!("{instance_group}.{CLUSTER}");
        let group_tags = tags(&[
            ("KubernetesCluster", CLUSTER),
            ("Name", &name),
            ("kubernetes.io/cluster/dev.example.com", "owned"),
        ]);
        let template = LaunchTemplate {
            name: name.clone(),
            image_id: "ami-0123".into(),
            instance_type: "t3.medium".into(),
            root_volume_size: 64,
            root_volume_type: "gp3".into(),
            root_volume_encrypted: true,
            root_volume_iops: Some(3000),
            root_volume_throughput: Some(125),
            metadata_http_tokens: "required".into(),
            metadata_hop_limit: 1,
            security_groups: vec![group],
            instance_profile: profile,
            key_pair: public_key,
            associate_public_ip: false,
            user_data: format!("#!/bin/bash\nset -o errexit\n# nodeup for {name}\n"),
            tags: group_tags.clone(),
        };
        let template = graph.add(template).unwrap();
        let group = AutoscalingGroup {
            name,
            launch_template: template,
            subnets: vec![subnet.clone()],
            min_size: 1,
            max_size: 1,
            target_groups,
            max_instance_lifetime: None,
            tags: group_tags,
        };
        graph.add(group).unwrap();
    }
    let volume = EbsVolume {
        name: format!("a.etcd-main.{CLUSTER}"),
        zone: "us-east-1a".into(),
        size: 20,
        volume_type: "gp3".into(),
        iops: Some(3000),
        throughput: Some(125),
        encrypted: true,
        tags: tags(&[
            ("KubernetesCluster", CLUSTER),
            ("k8s.io/etcd/main", "a/a"),
            ("k8s.io/role/control-plane", "1"),
        ]),
    };
    graph.add(volume).unwrap();
    for (key, contents) in [
        (
            "dev.example.com/cluster-completed.spec",
            "kind: Cluster\nmetadata:\n  name: dev.example.com\n",
        ),
        (
            "dev.example.com/igconfig/node/nodes-us-east-1a/nodeupconfig.yaml",
            "InstanceGroupName: nodes-us-east-1a\n",
        ),
    ] {
        graph
            .add(ManagedFile {
                name: key.into(),
                contents: contents.into(),
            })
            .unwrap();
    }
    graph
}
