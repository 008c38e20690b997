//! Tests of the engine against the emulator: batched discovery, the plan, and the DAG
//! executor converging a small network, also through injected throttling and 5xx.

use std::{sync::Arc, time::Duration};

use aws_sdk_ec2::types::Filter;
use berth_cloudup::{
    aws::AwsClients,
    engine::{self, Action, ApplyOptions, NoopReporter, RetryPolicy},
};
use berth_model::aws::{
    DhcpOptions, Graph, InternetGateway, Route, RouteTable, RouteTableAssociation, RouteTarget,
    RuleDirection, RuleSource, SecurityGroup, SecurityGroupRule, Subnet, Tags, Vpc,
};
use berth_state_store::ObjectStore;
use berth_test_support::{
    fault_proxy::{FaultConfig, FaultProxy},
    moto::MotoServer,
};

use crate::support;

/// Bounds a faulty apply: at 25 % faults a task needs a few attempts, each backoff under 5 s.
const FAULTY_TASK_DEADLINE: Duration = Duration::from_secs(120);

/// One test's cluster and state store.
struct Cluster {
    name: String,
    store: Arc<dyn ObjectStore>,
    _store_dir: tempfile::TempDir,
}

impl Cluster {
    fn new() -> Self {
        let store_dir = tempfile::tempdir().unwrap();
        Self {
            name: format!("engine{}.example.com", fastrand::u32(..)),
            store: Arc::new(berth_state_store::open_file(store_dir.path())),
            _store_dir: store_dir,
        }
    }

    fn tags(&self, name: &str) -> Tags {
        Tags::from([
            ("KubernetesCluster".to_owned(), self.name.clone()),
            (
                format!("kubernetes.io/cluster/{}", self.name),
                "owned".to_owned(),
            ),
            ("Name".to_owned(), name.to_owned()),
        ])
    }

    /// A VPC with DHCP options and an internet gateway, two subnets sharing a route table
    /// with a default route, and a security group with two rules: 11 nodes, 4 levels deep.
    fn network(&self) -> Graph {
        let cluster = self.name.as_str();
        let mut graph = Graph::new();
        let vpc = graph
            .add(Vpc {
                name: cluster.to_owned(),
                cidr: "10.30.0.0/16".to_owned(),
                shared_id: None,
                tags: self.tags(cluster),
            })
            .unwrap();
        graph
            .add(DhcpOptions {
                name: cluster.to_owned(),
                vpc: vpc.clone(),
                domain_name: "ec2.internal".to_owned(),
                tags: self.tags(cluster),
            })
            .unwrap();
        let gateway = graph
            .add(InternetGateway {
                name: cluster.to_owned(),
                vpc: vpc.clone(),
                tags: self.tags(cluster),
            })
            .unwrap();
        let table = graph
            .add(RouteTable {
                name: cluster.to_owned(),
                vpc: vpc.clone(),
                tags: self.tags(cluster),
            })
            .unwrap();
        graph
            .add(Route {
                name: format!("{cluster}:0.0.0.0/0"),
                route_table: table.clone(),
                destination: "0.0.0.0/0".to_owned(),
                target: RouteTarget::InternetGateway(gateway),
            })
            .unwrap();
        for (zone, cidr) in [
            ("us-east-1a", "10.30.0.0/24"),
            ("us-east-1b", "10.30.1.0/24"),
        ] {
            let name = format!("{zone}.{cluster}");
            let subnet = graph
                .add(Subnet {
                    name: name.clone(),
                    vpc: vpc.clone(),
                    cidr: cidr.to_owned(),
                    zone: zone.to_owned(),
                    shared_id: None,
                    tags: self.tags(&name),
                })
                .unwrap();
            graph
                .add(RouteTableAssociation {
                    name,
                    route_table: table.clone(),
                    subnet,
                })
                .unwrap();
        }
        let group_name = format!("nodes.{cluster}");
        let group = graph
            .add(SecurityGroup {
                name: group_name.clone(),
                vpc,
                description: "Security group for nodes".to_owned(),
                tags: self.tags(&group_name),
            })
            .unwrap();
        for (protocol, ports, source) in [
            ("tcp", (22, 22), RuleSource::Cidr("10.0.0.0/8".to_owned())),
            ("-1", (0, 0), RuleSource::Group(group.clone())),
        ] {
            graph
                .add(SecurityGroupRule {
                    name: format!("{group_name}-ingress-{protocol}-{}-{}", ports.0, ports.1),
                    security_group: group.clone(),
                    direction: RuleDirection::Ingress,
                    protocol: protocol.to_owned(),
                    from_port: ports.0,
                    to_port: ports.1,
                    source,
                })
                .unwrap();
        }
        graph
    }

    async fn plan(&self, graph: &Graph, clients: &AwsClients) -> engine::Plan {
        let discovery = engine::discover_all(graph, clients, &self.store, &self.name)
            .await
            .unwrap();
        engine::plan(graph, &discovery)
    }

    async fn apply(
        &self,
        plan: &engine::Plan,
        clients: &AwsClients,
        options: &ApplyOptions,
    ) -> engine::ApplyReport {
        engine::apply(
            plan,
            clients,
            &self.store,
            &self.name,
            options,
            &NoopReporter,
        )
        .await
    }

    /// How many resources of each EC2 kind carry this cluster's tag, read straight from the
    /// emulator.
    async fn tagged_counts(&self, clients: &AwsClients) -> [usize; 4] {
        let filter = Filter::builder()
            .name("tag:KubernetesCluster")
            .values(&self.name)
            .build();
        let ec2 = &clients.ec2;
        let vpcs = ec2
            .describe_vpcs()
            .filters(filter.clone())
            .send()
            .await
            .unwrap();
        let subnets = ec2
            .describe_subnets()
            .filters(filter.clone())
            .send()
            .await
            .unwrap();
        let gateways = ec2
            .describe_internet_gateways()
            .filters(filter.clone())
            .send()
            .await
            .unwrap();
        let groups = ec2
            .describe_security_groups()
            .filters(filter)
            .send()
            .await
            .unwrap();
        [
            vpcs.vpcs().len(),
            subnets.subnets().len(),
            gateways.internet_gateways().len(),
            groups.security_groups().len(),
        ]
    }
}

fn options(deadline: Duration) -> ApplyOptions {
    ApplyOptions {
        retry: RetryPolicy {
            deadline,
            ..RetryPolicy::default()
        },
        abort_after_tasks: None,
        ..ApplyOptions::default()
    }
}

fn failures(report: &engine::ApplyReport) -> String {
    report
        .failed
        .iter()
        .map(|(key, error)| format!("{key}: {error} ({:?})", std::error::Error::source(error)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn against_an_empty_account_every_node_is_a_creation() {
    let clients = support::clients().await;
    let cluster = Cluster::new();
    let graph = cluster.network();
    let plan = cluster.plan(&graph, &clients).await;
    assert_eq!(plan.summary().create, graph.len());
    assert!(
        plan.changes
            .iter()
            .all(|change| change.action == Action::Create)
    );
    assert!(engine::render_preview(&plan).contains(&format!("+ create Vpc/{}", cluster.name)));
}

#[tokio::test]
async fn an_apply_converges_and_the_next_plan_has_no_changes() {
    let clients = support::clients().await;
    let cluster = Cluster::new();
    let graph = cluster.network();
    let plan = cluster.plan(&graph, &clients).await;
    let report = cluster
        .apply(&plan, &clients, &options(Duration::from_secs(60)))
        .await;
    assert!(
        report.is_success(),
        "{}\n{}",
        report.summary(),
        failures(&report)
    );
    assert_eq!(report.done.len(), graph.len());

    let again = cluster.plan(&graph, &clients).await;
    assert!(!again.has_changes(), "{}", engine::render_preview(&again));
    assert_eq!(cluster.tagged_counts(&clients).await, [1, 2, 1, 1]);
}

#[tokio::test]
async fn an_apply_through_throttling_and_server_errors_converges_without_duplicates() {
    let moto = MotoServer::shared();
    let faults = FaultConfig {
        throttle_rate: 0.20,
        server_error_rate: 0.05,
        seed: 7,
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(&moto.endpoint(), faults).await.unwrap();
    let (direct, faulty) = support::clients_direct_and_via(&proxy.endpoint()).await;
    let cluster = Cluster::new();
    let graph = cluster.network();

    let plan = cluster.plan(&graph, &faulty).await;
    let report = cluster
        .apply(&plan, &faulty, &options(FAULTY_TASK_DEADLINE))
        .await;
    assert!(
        report.is_success(),
        "{}\n{}",
        report.summary(),
        failures(&report)
    );
    let stats = proxy.stats();
    assert!(stats.total_faults() > 0, "no fault was injected: {stats:?}");
    assert!(report.retries > 0);

    let again = cluster.plan(&graph, &faulty).await;
    assert!(!again.has_changes(), "{}", engine::render_preview(&again));
    assert_eq!(cluster.tagged_counts(&direct).await, [1, 2, 1, 1]);
}

#[tokio::test]
async fn an_apply_through_dropped_connections_adopts_what_the_lost_calls_made() {
    let moto = MotoServer::shared();
    // A dropped call was forwarded first: it took effect but its answer was lost, so the
    // retried create must find what the first attempt made.
    let faults = FaultConfig {
        drop_rate: 0.05,
        throttle_rate: 0.10,
        seed: 11,
        ..FaultConfig::default()
    };
    let proxy = FaultProxy::start(&moto.endpoint(), faults).await.unwrap();
    let (direct, faulty) = support::clients_direct_and_via(&proxy.endpoint()).await;
    let cluster = Cluster::new();
    let graph = cluster.network();

    let plan = cluster.plan(&graph, &faulty).await;
    let report = cluster
        .apply(&plan, &faulty, &options(FAULTY_TASK_DEADLINE))
        .await;
    assert!(
        report.is_success(),
        "{}\n{}",
        report.summary(),
        failures(&report)
    );
    assert!(!cluster.plan(&graph, &faulty).await.has_changes());
    assert_eq!(cluster.tagged_counts(&direct).await, [1, 2, 1, 1]);
}

#[tokio::test]
async fn a_run_stopped_midway_is_finished_by_the_next_one() {
    let clients = support::clients().await;
    let cluster = Cluster::new();
    let graph = cluster.network();
    let plan = cluster.plan(&graph, &clients).await;
    let crash = ApplyOptions {
        abort_after_tasks: Some(4),
        ..options(Duration::from_secs(60))
    };
    let report = cluster.apply(&plan, &clients, &crash).await;
    assert_eq!(report.interrupted, Some(engine::Interruption::AbortHook));
    assert_eq!(report.done.len(), 4);

    let resumed = cluster.plan(&graph, &clients).await;
    // What the stopped run finished (and possibly parts of what it was doing) is found.
    assert!(
        resumed.summary().create < graph.len() - 3,
        "{}",
        engine::render_preview(&resumed)
    );
    let report = cluster
        .apply(&resumed, &clients, &options(Duration::from_secs(60)))
        .await;
    assert!(
        report.is_success(),
        "{}\n{}",
        report.summary(),
        failures(&report)
    );
    assert!(!cluster.plan(&graph, &clients).await.has_changes());
    assert_eq!(cluster.tagged_counts(&clients).await, [1, 2, 1, 1]);
}
