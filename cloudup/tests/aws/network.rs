//! Tests of the network kinds against the emulator: each kind is discovered, found, created,
//! found again and diffed the way the engine does it, over a small hand-built network.

use std::{collections::BTreeMap, sync::Arc};

use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, Tag};
use berth_cloudup::{
    aws::AwsClients,
    engine::{Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver},
};
use berth_model::aws::{
    AnyResource, DhcpOptions, ElasticIp, Graph, InternetGateway, NatGateway, NodeKey, Ref,
    Resource, Route, RouteTable, RouteTableAssociation, RouteTarget, RuleDirection, RuleSource,
    SecurityGroup, SecurityGroupRule, Subnet, Tags, Vpc,
};
use berth_state_store::ObjectStore;
use berth_test_support::emulated_network;

use crate::support;

/// One test's account, cluster and state store.
struct Env {
    clients: AwsClients,
    store: Arc<dyn ObjectStore>,
    cluster: String,
    _store_dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Self {
        let store_dir = tempfile::tempdir().unwrap();
        Self {
            clients: support::clients().await,
            store: Arc::new(berth_state_store::open_file(store_dir.path())),
            cluster: format!("net{}.example.com", fastrand::u32(..)),
            _store_dir: store_dir,
        }
    }

    fn tags(&self, name: &str) -> Tags {
        Tags::from([
            ("KubernetesCluster".to_owned(), self.cluster.clone()),
            (
                format!("kubernetes.io/cluster/{}", self.cluster),
                "owned".to_owned(),
            ),
            ("Name".to_owned(), name.to_owned()),
        ])
    }

    async fn discover<T: Reconcile>(&self, resource: &T) -> Vec<T::Observed> {
        let scope = DiscoveryScope {
            clients: &self.clients,
            store: &self.store,
            cluster: &self.cluster,
            desired: vec![resource],
        };
        T::discover(scope).await.unwrap()
    }

    async fn create<T: Reconcile>(
        &self,
        resource: &T,
        outputs: &BTreeMap<NodeKey, Output>,
        attempt: u32,
    ) -> Output {
        let deps = Resolver::new(outputs.clone());
        let cx = self.cx(&deps, attempt);
        resource.create(&cx).await.unwrap()
    }

    fn cx<'a>(&'a self, deps: &'a Resolver, attempt: u32) -> ApplyCx<'a> {
        ApplyCx {
            clients: &self.clients,
            store: &self.store,
            cluster: &self.cluster,
            deps,
            attempt,
        }
    }

    /// Discovers `resource`, diffs it and returns the plan entry (`Create` when not found).
    async fn plan<T: Reconcile>(
        &self,
        resource: &T,
        outputs: &BTreeMap<NodeKey, Output>,
    ) -> (Change, Option<T::Observed>) {
        let observed = self.discover(resource).await;
        let deps = Resolver::new(outputs.clone());
        let key = NodeKey::new(T::KIND, resource.name());
        match resource.find(&observed) {
            None => (
                Change {
                    key,
                    action: Action::Create,
                    fields: resource.describe_create(&deps),
                },
                None,
            ),
            Some(found) => {
                let (action, fields) = resource.diff(found, &deps);
                (
                    Change {
                        key,
                        action,
                        fields,
                    },
                    Some(found.clone()),
                )
            }
        }
    }

    /// Applies an `Update` plan entry and checks that the resource then matches.
    async fn update<T: Reconcile>(
        &self,
        resource: &T,
        outputs: &BTreeMap<NodeKey, Output>,
    ) -> Change {
        let (change, observed) = self.plan(resource, outputs).await;
        assert_eq!(change.action, Action::Update, "{change:?}");
        let deps = Resolver::new(outputs.clone());
        resource
            .update(&observed.unwrap(), &change, &self.cx(&deps, 1))
            .await
            .unwrap();
        let (after, _) = self.plan(resource, outputs).await;
        assert_eq!(after.action, Action::Unchanged, "{after:?}");
        change
    }
}

/// The engine's path for one resource that does not exist yet: discover and find nothing,
/// create, then discover and find it, with the same id and nothing to change. With
/// `retry`, the create is repeated as a retry (`attempt: 2`) and must adopt the first one.
async fn converge<T: Reconcile>(
    env: &Env,
    resource: &T,
    outputs: &mut BTreeMap<NodeKey, Output>,
    retry: bool,
) {
    let key = NodeKey::new(T::KIND, resource.name());
    let before = env.discover(resource).await;
    assert!(
        resource.find(&before).is_none(),
        "{key} exists before its creation"
    );
    let created = env.create(resource, outputs, 1).await;
    if retry {
        let again = env.create(resource, outputs, 2).await;
        assert_eq!(
            again, created,
            "{key}: the retried create did not adopt the first one"
        );
    }
    outputs.insert(key.clone(), created.clone());
    assert_found_unchanged(env, resource, outputs, &created.id).await;
}

/// Discovers `resource`, which must exist with `id` and match.
async fn assert_found_unchanged<T: Reconcile>(
    env: &Env,
    resource: &T,
    outputs: &BTreeMap<NodeKey, Output>,
    id: &str,
) {
    let key = NodeKey::new(T::KIND, resource.name());
    let after = env.discover(resource).await;
    let found = resource
        .find(&after)
        .unwrap_or_else(|| panic!("{key} not found"));
    assert_eq!(T::output(found).id, id, "{key}");
    let deps = Resolver::new(outputs.clone());
    assert_eq!(
        resource.diff(found, &deps),
        (Action::Unchanged, Vec::new()),
        "{key}"
    );
}

/// The egress-all rule AWS gives every new group: found before Berth creates it, and its
/// create is a no-op.
async fn adopt_default_egress(
    env: &Env,
    rule: &SecurityGroupRule,
    outputs: &mut BTreeMap<NodeKey, Output>,
) {
    let created = env.create(rule, outputs, 1).await;
    assert_found_unchanged(env, rule, outputs, &created.id).await;
    outputs.insert(NodeKey::new(SecurityGroupRule::KIND, &rule.name), created);
}

fn is_default_egress(rule: &SecurityGroupRule) -> bool {
    rule.direction == RuleDirection::Egress
        && rule.protocol == "-1"
        && rule.source == RuleSource::Cidr("0.0.0.0/0".to_owned())
}

async fn converge_any(
    env: &Env,
    resource: &AnyResource,
    outputs: &mut BTreeMap<NodeKey, Output>,
    retry: bool,
) {
    match resource {
        AnyResource::Vpc(vpc) => converge(env, vpc, outputs, retry).await,
        AnyResource::DhcpOptions(options) => converge(env, options, outputs, retry).await,
        AnyResource::InternetGateway(gateway) => converge(env, gateway, outputs, retry).await,
        AnyResource::Subnet(subnet) => converge(env, subnet, outputs, retry).await,
        AnyResource::ElasticIp(address) => converge(env, address, outputs, retry).await,
        AnyResource::NatGateway(gateway) => converge(env, gateway, outputs, retry).await,
        AnyResource::RouteTable(table) => converge(env, table, outputs, retry).await,
        AnyResource::Route(route) => converge(env, route, outputs, retry).await,
        AnyResource::RouteTableAssociation(association) => {
            converge(env, association, outputs, retry).await;
        }
        AnyResource::SecurityGroup(group) => converge(env, group, outputs, retry).await,
        AnyResource::SecurityGroupRule(rule) if is_default_egress(rule) => {
            adopt_default_egress(env, rule, outputs).await;
        }
        AnyResource::SecurityGroupRule(rule) => converge(env, rule, outputs, retry).await,
        other => panic!("not a network kind: {}", other.key()),
    }
}

/// The desired network, with a copy of the resources tests change.
struct Network {
    graph: Graph,
    vpc: Vpc,
    public_subnet: Subnet,
    public_table: Ref<RouteTable>,
    private_route: Route,
    internet_gateway: Ref<InternetGateway>,
    private_association: RouteTableAssociation,
    masters: SecurityGroup,
}

/// A VPC with DHCP options and an internet gateway, a public and a private subnet, a NAT
/// gateway with its address, a route table per subnet with a default route, and the
/// control-plane and node groups with CIDR, group and egress rules.
fn network(env: &Env) -> Network {
    let cluster = env.cluster.as_str();
    let mut graph = Graph::new();
    let vpc = Vpc {
        name: cluster.to_owned(),
        cidr: "10.20.0.0/16".to_owned(),
        shared_id: None,
        tags: env.tags(cluster),
    };
    let vpc_ref = graph.add(vpc.clone()).unwrap();
    graph
        .add(DhcpOptions {
            name: cluster.to_owned(),
            vpc: vpc_ref.clone(),
            domain_name: "ec2.internal".to_owned(),
            tags: env.tags(cluster),
        })
        .unwrap();
    let internet_gateway = InternetGateway {
        name: cluster.to_owned(),
        vpc: vpc_ref.clone(),
        tags: env.tags(cluster),
    };
    let gateway_ref = graph.add(internet_gateway).unwrap();
    let subnet = |name: &str, cidr: &str, zone: &str| Subnet {
        name: format!("{name}.{cluster}"),
        vpc: vpc_ref.clone(),
        cidr: cidr.to_owned(),
        zone: zone.to_owned(),
        shared_id: None,
        tags: env.tags(&format!("{name}.{cluster}")),
    };
    let public_subnet = subnet("utility-us-east-1a", "10.20.0.0/24", "us-east-1a");
    let public_subnet_ref = graph.add(public_subnet.clone()).unwrap();
    let private_subnet_ref = graph
        .add(subnet("us-east-1b", "10.20.32.0/19", "us-east-1b"))
        .unwrap();
    let address_name = format!("us-east-1a.{cluster}");
    let address_ref = graph
        .add(ElasticIp {
            name: address_name.clone(),
            tags: env.tags(&address_name),
        })
        .unwrap();
    let nat_ref = graph
        .add(NatGateway {
            name: address_name.clone(),
            subnet: public_subnet_ref.clone(),
            elastic_ip: address_ref,
            tags: env.tags(&address_name),
        })
        .unwrap();
    let table = |name: String| RouteTable {
        tags: env.tags(&name),
        name,
        vpc: vpc_ref.clone(),
    };
    let public_table = table(cluster.to_owned());
    let private_table = table(format!("private-us-east-1b.{cluster}"));
    let public_table_ref = graph.add(public_table.clone()).unwrap();
    let private_table_ref = graph.add(private_table.clone()).unwrap();
    graph
        .add(Route {
            name: format!("{}:0.0.0.0/0", public_table.name),
            route_table: public_table_ref.clone(),
            destination: "0.0.0.0/0".to_owned(),
            target: RouteTarget::InternetGateway(gateway_ref.clone()),
        })
        .unwrap();
    let private_route = Route {
        name: format!("{}:0.0.0.0/0", private_table.name),
        route_table: private_table_ref.clone(),
        destination: "0.0.0.0/0".to_owned(),
        target: RouteTarget::NatGateway(nat_ref),
    };
    graph.add(private_route.clone()).unwrap();
    graph
        .add(RouteTableAssociation {
            name: format!("utility-us-east-1a.{cluster}"),
            route_table: public_table_ref.clone(),
            subnet: public_subnet_ref,
        })
        .unwrap();
    let private_association = RouteTableAssociation {
        name: format!("us-east-1b.{cluster}"),
        route_table: private_table_ref,
        subnet: private_subnet_ref,
    };
    graph.add(private_association.clone()).unwrap();
    let group = |role: &str| SecurityGroup {
        name: format!("{role}.{cluster}"),
        vpc: vpc_ref.clone(),
        description: format!("Security group for {role}"),
        tags: env.tags(&format!("{role}.{cluster}")),
    };
    let masters = group("masters");
    let masters_ref = graph.add(masters.clone()).unwrap();
    let nodes_ref = graph.add(group("nodes")).unwrap();
    let rule = |group: &Ref<SecurityGroup>,
                direction: RuleDirection,
                protocol: &str,
                ports: (i32, i32),
                source: RuleSource| {
        let peer = match &source {
            RuleSource::Cidr(cidr) => cidr.clone(),
            RuleSource::Group(peer) => peer.key().name.clone(),
        };
        SecurityGroupRule {
            name: format!(
                "{}-{direction:?}-{protocol}-{}-{}-{peer}",
                group.key().name,
                ports.0,
                ports.1
            ),
            security_group: group.clone(),
            direction,
            protocol: protocol.to_owned(),
            from_port: ports.0,
            to_port: ports.1,
            source,
        }
    };
    let everywhere = || RuleSource::Cidr("0.0.0.0/0".to_owned());
    for rule in [
        rule(
            &masters_ref,
            RuleDirection::Ingress,
            "tcp",
            (443, 443),
            everywhere(),
        ),
        rule(
            &masters_ref,
            RuleDirection::Ingress,
            "tcp",
            (22, 22),
            RuleSource::Cidr("10.0.0.0/8".to_owned()),
        ),
        rule(
            &masters_ref,
            RuleDirection::Ingress,
            "tcp",
            (1, 2379),
            RuleSource::Group(nodes_ref.clone()),
        ),
        rule(
            &masters_ref,
            RuleDirection::Ingress,
            "-1",
            (0, 0),
            RuleSource::Group(masters_ref.clone()),
        ),
        rule(
            &nodes_ref,
            RuleDirection::Ingress,
            "-1",
            (0, 0),
            RuleSource::Group(nodes_ref.clone()),
        ),
        rule(
            &nodes_ref,
            RuleDirection::Ingress,
            "udp",
            (1, 65535),
            RuleSource::Group(masters_ref.clone()),
        ),
        // The same as the egress-all rule AWS gives every new group.
        rule(
            &masters_ref,
            RuleDirection::Egress,
            "-1",
            (0, 0),
            everywhere(),
        ),
        rule(
            &nodes_ref,
            RuleDirection::Egress,
            "-1",
            (0, 0),
            everywhere(),
        ),
    ] {
        graph.add(rule).unwrap();
    }
    Network {
        graph,
        vpc,
        public_subnet,
        public_table: public_table_ref,
        private_route,
        internet_gateway: gateway_ref,
        private_association,
        masters,
    }
}

/// Creates the whole network in dependency order, returning every output.
async fn build(env: &Env, network: &Network, retry: bool) -> BTreeMap<NodeKey, Output> {
    let mut outputs = BTreeMap::new();
    for (_, resource) in network.graph.in_order() {
        converge_any(env, resource, &mut outputs, retry).await;
    }
    outputs
}

#[tokio::test]
async fn every_network_kind_is_created_then_found_unchanged() {
    let env = Env::new().await;
    let network = network(&env);
    let outputs = build(&env, &network, false).await;
    assert_eq!(outputs.len(), network.graph.len());

    // What the creates did beyond the resource itself: DNS on, DHCP options and gateway
    // in use by the VPC.
    let vpc_id = &outputs[&NodeKey::new(Vpc::KIND, &env.cluster)].id;
    let hostnames = env
        .clients
        .ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        hostnames
            .enable_dns_hostnames()
            .and_then(AttributeBooleanValue::value),
        Some(true)
    );
    let vpcs = env
        .clients
        .ec2
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        vpcs.vpcs()[0].dhcp_options_id(),
        Some(
            outputs[&NodeKey::new(DhcpOptions::KIND, &env.cluster)]
                .id
                .as_str()
        )
    );
}

#[tokio::test]
async fn creates_retried_after_a_success_adopt_what_the_first_attempt_made() {
    let env = Env::new().await;
    let network = network(&env);
    build(&env, &network, true).await;

    // Exactly one of each named resource exists.
    let ec2 = &env.clients.ec2;
    let cluster_filter = Filter::builder()
        .name("tag:KubernetesCluster")
        .values(&env.cluster)
        .build();
    let vpcs = ec2
        .describe_vpcs()
        .filters(cluster_filter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let subnets = ec2
        .describe_subnets()
        .filters(cluster_filter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.subnets().len(), 2);
    let gateways = ec2
        .describe_nat_gateways()
        .filter(cluster_filter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(gateways.nat_gateways().len(), 1);
    let groups = ec2
        .describe_security_groups()
        .filters(cluster_filter.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 2);
    let tables = ec2
        .describe_route_tables()
        .filters(cluster_filter)
        .send()
        .await
        .unwrap();
    let associations: usize = tables
        .route_tables()
        .iter()
        .map(|table| table.associations().len())
        .sum();
    assert_eq!(associations, 2);
}

#[tokio::test]
async fn changed_mutable_fields_are_updated_in_place() {
    let env = Env::new().await;
    let network = network(&env);
    let outputs = build(&env, &network, false).await;
    let vpc_id = outputs[&NodeKey::new(Vpc::KIND, &env.cluster)].id.clone();

    // Someone turned DNS hostnames off; the spec gained a tag.
    env.clients
        .ec2
        .modify_vpc_attribute()
        .vpc_id(&vpc_id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .unwrap();
    let mut vpc = network.vpc.clone();
    vpc.tags.insert("team".to_owned(), "platform".to_owned());
    let change = env.update(&vpc, &outputs).await;
    let fields: Vec<&str> = change
        .fields
        .iter()
        .map(|field| field.field.as_str())
        .collect();
    assert_eq!(fields, ["enable_dns_hostnames", "tags"]);

    let mut subnet = network.public_subnet.clone();
    subnet.tags.insert("team".to_owned(), "platform".to_owned());
    env.update(&subnet, &outputs).await;

    let mut group = network.masters.clone();
    group.tags.insert("team".to_owned(), "platform".to_owned());
    env.update(&group, &outputs).await;

    // The private subnet moves to the public table; the private default route goes out
    // through the internet gateway instead of the NAT gateway.
    let mut association = network.private_association.clone();
    association.route_table = network.public_table.clone();
    let change = env.update(&association, &outputs).await;
    assert_eq!(change.fields[0].field, "route_table");

    let mut route = network.private_route.clone();
    route.target = RouteTarget::InternetGateway(network.internet_gateway.clone());
    let change = env.update(&route, &outputs).await;
    assert_eq!(
        change.fields,
        [FieldChange::new(
            "target",
            &outputs[&NodeKey::new(NatGateway::KIND, format!("us-east-1a.{}", env.cluster))].id,
            &outputs[&NodeKey::new(InternetGateway::KIND, &env.cluster)].id,
        )]
    );
}

#[tokio::test]
async fn immutable_changes_are_replacements_naming_the_field() {
    let env = Env::new().await;
    let network = network(&env);
    let outputs = build(&env, &network, false).await;

    let mut vpc = network.vpc.clone();
    vpc.cidr = "10.30.0.0/16".to_owned();
    assert_replacement(&env, &vpc, &outputs, "cidr").await;

    let mut subnet = network.public_subnet.clone();
    subnet.zone = "us-east-1c".to_owned();
    assert_replacement(&env, &subnet, &outputs, "zone").await;

    let mut group = network.masters.clone();
    group.description = "another description".to_owned();
    assert_replacement(&env, &group, &outputs, "description").await;
}

async fn assert_replacement<T: Reconcile>(
    env: &Env,
    resource: &T,
    outputs: &BTreeMap<NodeKey, Output>,
    field: &str,
) {
    let (change, observed) = env.plan(resource, outputs).await;
    let Action::Replace { reason } = &change.action else {
        panic!("expected a replacement, got {change:?}");
    };
    assert!(reason.starts_with(field), "{reason}");
    assert_eq!(change.fields[0].field, field);
    // And update refuses it rather than half-applying it.
    let deps = Resolver::new(outputs.clone());
    let refused = resource
        .update(&observed.unwrap(), &change, &env.cx(&deps, 1))
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn shared_vpc_and_subnet_are_found_by_id_and_only_tagged_shared() {
    let env = Env::new().await;
    let ec2 = &env.clients.ec2;
    let vpc_id = emulated_network::create_vpc(ec2, "10.40.0.0/16").await;
    let subnet_id =
        emulated_network::create_subnet(ec2, &vpc_id, "10.40.1.0/24", "us-east-1a").await;
    ec2.create_tags()
        .resources(&subnet_id)
        .tags(Tag::builder().key("Name").value("their-subnet").build())
        .send()
        .await
        .unwrap();

    let shared_tag = format!("kubernetes.io/cluster/{}", env.cluster);
    let mut graph = Graph::new();
    // As the builders describe a shared VPC: untagged (kops leaves it alone).
    let vpc = Vpc {
        name: env.cluster.clone(),
        cidr: "10.99.0.0/16".to_owned(),
        shared_id: Some(vpc_id.clone()),
        tags: Tags::new(),
    };
    let vpc_ref = graph.add(vpc.clone()).unwrap();
    // Tags beyond `shared` must not be applied to a shared subnet, whatever is asked.
    let mut subnet_tags = env.tags("us-east-1a");
    subnet_tags.insert(shared_tag.clone(), "shared".to_owned());
    let subnet = Subnet {
        name: format!("us-east-1a.{}", env.cluster),
        vpc: vpc_ref,
        cidr: "10.99.1.0/24".to_owned(),
        zone: "us-east-1b".to_owned(),
        shared_id: Some(subnet_id.clone()),
        tags: subnet_tags,
    };

    let mut outputs = BTreeMap::new();
    let (change, _) = env.plan(&vpc, &outputs).await;
    assert_eq!(change.action, Action::Unchanged, "{change:?}");
    let observed = env.discover(&vpc).await;
    outputs.insert(
        NodeKey::new(Vpc::KIND, &vpc.name),
        Vpc::output(vpc.find(&observed).unwrap()),
    );
    assert_eq!(outputs[&NodeKey::new(Vpc::KIND, &vpc.name)].id, vpc_id);

    let change = env.update(&subnet, &outputs).await;
    assert_eq!(change.fields.len(), 1, "{change:?}");

    let subnets = ec2
        .describe_subnets()
        .subnet_ids(&subnet_id)
        .send()
        .await
        .unwrap();
    let described = &subnets.subnets()[0];
    let tags: BTreeMap<&str, &str> = described
        .tags()
        .iter()
        .map(|tag| (tag.key().unwrap(), tag.value().unwrap()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([("Name", "their-subnet"), (shared_tag.as_str(), "shared")])
    );
    assert_eq!(described.cidr_block(), Some("10.40.1.0/24"));
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert!(
        vpcs.vpcs()[0].tags().is_empty(),
        "the shared VPC was tagged"
    );
    let hostnames = ec2
        .describe_vpc_attribute()
        .vpc_id(&vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        hostnames
            .enable_dns_hostnames()
            .and_then(AttributeBooleanValue::value),
        Some(false),
        "the shared VPC's attributes were changed"
    );

    // A shared resource that is gone is never created.
    let deps = Resolver::new(outputs.clone());
    let mut missing = subnet.clone();
    missing.shared_id = Some("subnet-0000000000000000".to_owned());
    assert!(missing.find(&env.discover(&missing).await).is_none());
    assert!(missing.create(&env.cx(&deps, 1)).await.is_err());
}
