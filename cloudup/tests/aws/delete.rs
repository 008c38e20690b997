//! `delete cluster` against the emulator: clusters built by the real builders and created by
//! the engine are deleted completely (every kind described afterwards), without touching a
//! shared VPC, foreign resources or a second cluster; an interrupted delete is finished by a
//! re-run; injected throttling only slows it down.

use std::{sync::Arc, time::Duration};

use aws_sdk_ec2::types::Filter;
use berth_cloudup::{
    aws::AwsClients,
    delete::{self, DeleteScope},
    engine::{self, ApplyOptions, Interruption, NoopReporter, RetryPolicy},
};
use berth_model::{
    CloudFacts, Cluster, DnsType, LoadBalancerType, Topology,
    builders::{BuildContext, BuildFacts, HostedZoneFact, NodeupAsset},
    create::CreateClusterOptions,
    ssh::SshPublicKey,
};
use berth_state_store::ObjectStore;
use berth_test_support::{
    emulated_network,
    fault_proxy::{FaultConfig, FaultProxy},
    moto::{MotoServer, REGION},
};

use crate::support;

const SSH_PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";

/// Bounds a faulty delete: at 25 % throttling a task needs a few attempts.
const FAULTY_TASK_DEADLINE: Duration = Duration::from_secs(120);

/// A cluster created in the emulator, with its spec and store.
pub(crate) struct CreatedCluster {
    pub(crate) name: String,
    pub(crate) spec: Cluster,
    pub(crate) store: Arc<dyn ObjectStore>,
    _store_dir: tempfile::TempDir,
}

/// The private three-zone HA cluster with a bastion, DNS in `zone` and a public API.
pub(crate) fn private_ha(name: &str, zone: &str) -> CreateClusterOptions {
    let zones: Vec<String> = ["us-east-1a", "us-east-1b", "us-east-1c"]
        .map(str::to_owned)
        .to_vec();
    CreateClusterOptions {
        name: name.to_owned(),
        zones: zones.clone(),
        control_plane_zones: zones,
        topology: Topology::Private,
        bastion: true,
        dns_zone: Some(zone.to_owned()),
        dns: DnsType::Public,
        api_load_balancer_type: Some(LoadBalancerType::Public),
        ..CreateClusterOptions::default()
    }
}

/// A public single-zone cluster.
fn public_single_zone(name: &str) -> CreateClusterOptions {
    CreateClusterOptions {
        name: name.to_owned(),
        zones: vec!["us-east-1a".to_owned()],
        ..CreateClusterOptions::default()
    }
}

/// Builds the cluster of `options` and creates it with the engine, as `update cluster --yes`.
pub(crate) async fn create(
    clients: &AwsClients,
    mut options: CreateClusterOptions,
) -> CreatedCluster {
    let store_dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(berth_state_store::open_file(store_dir.path()));
    options.config_base = format!("{}/{}", store.url(), options.name);
    let name = options.name.clone();
    let (cluster, groups) = berth_model::create::build_cluster(&options).unwrap();
    berth_model::validate(&cluster, &groups).unwrap();
    let account = berth_cloudup::facts::gather(clients, &cluster, &groups)
        .await
        .unwrap();
    let completed = berth_model::complete(
        &cluster,
        &groups,
        &CloudFacts {
            region: REGION.to_owned(),
            available_zones: account.available_zones.clone(),
            account_id: None,
            network_cidr: account.shared_vpc_cidr.clone(),
            state_store: Some(store.url().to_owned()),
        },
    )
    .unwrap();
    let facts = BuildFacts {
        region: REGION.to_owned(),
        images: account.images.clone(),
        ssh_public_key: Some(SshPublicKey::parse(SSH_PUBLIC_KEY, "admin.pub").unwrap()),
        nodeup: NodeupAsset {
            urls: vec!["https://example.invalid/nodeup".to_owned()],
            sha256: "0123456789abcdef".repeat(4),
        },
        hosted_zone: account
            .hosted_zone
            .clone()
            .map(|(name, private)| HostedZoneFact { name, private }),
        node_bootstrap: Default::default(),
    };
    let graph = berth_model::builders::build(&BuildContext {
        cluster: &completed,
        facts: &facts,
    })
    .unwrap();
    let discovery = engine::discover_all(&graph, clients, &store, &name)
        .await
        .unwrap();
    let plan = engine::plan(&graph, &discovery);
    let report = engine::apply(
        &plan,
        clients,
        &store,
        &name,
        &ApplyOptions::default(),
        &NoopReporter,
    )
    .await;
    assert!(report.is_success(), "create: {}", report.summary());
    CreatedCluster {
        name,
        spec: cluster,
        store,
        _store_dir: store_dir,
    }
}

/// Whether the cluster's spec still plans no changes (its resources are all there, unchanged).
async fn plans_no_changes(clients: &AwsClients, cluster: &CreatedCluster) -> bool {
    let options = public_single_zone(&cluster.name);
    let mut options = options;
    options.config_base = format!("{}/{}", cluster.store.url(), cluster.name);
    let (spec, groups) = berth_model::create::build_cluster(&options).unwrap();
    let account = berth_cloudup::facts::gather(clients, &spec, &groups)
        .await
        .unwrap();
    let completed = berth_model::complete(
        &spec,
        &groups,
        &CloudFacts {
            region: REGION.to_owned(),
            available_zones: account.available_zones.clone(),
            account_id: None,
            network_cidr: None,
            state_store: Some(cluster.store.url().to_owned()),
        },
    )
    .unwrap();
    let facts = BuildFacts {
        region: REGION.to_owned(),
        images: account.images.clone(),
        ssh_public_key: Some(SshPublicKey::parse(SSH_PUBLIC_KEY, "admin.pub").unwrap()),
        nodeup: NodeupAsset {
            urls: vec!["https://example.invalid/nodeup".to_owned()],
            sha256: "0123456789abcdef".repeat(4),
        },
        hosted_zone: None,
        node_bootstrap: Default::default(),
    };
    let graph = berth_model::builders::build(&BuildContext {
        cluster: &completed,
        facts: &facts,
    })
    .unwrap();
    let discovery = engine::discover_all(&graph, clients, &cluster.store, &cluster.name)
        .await
        .unwrap();
    !engine::plan(&graph, &discovery).has_changes()
}

/// Discovers and deletes `scope`'s cluster; asserts the run succeeded.
async fn delete_all(clients: &AwsClients, scope: &DeleteScope, options: &ApplyOptions) {
    let inventory = delete::discover(clients, scope, &options.retry)
        .await
        .unwrap();
    assert!(!inventory.is_empty());
    let report = delete::delete(clients, &inventory, options, &NoopReporter).await;
    assert!(report.is_success(), "delete: {}", report.summary());
}

/// Everything still tagged for `cluster`, described kind by kind (terminated instances and
/// deleted NAT gateways excluded, as AWS keeps showing them for a while), plus its IAM roles,
/// instance profiles, key pairs, autoscaling groups and load balancers by name.
pub(crate) async fn leftovers(clients: &AwsClients, cluster: &str) -> Vec<String> {
    let ec2 = &clients.ec2;
    let tag = || {
        Filter::builder()
            .name("tag:KubernetesCluster")
            .values(cluster)
            .build()
    };
    let mut left = Vec::new();
    let instances = ec2
        .describe_instances()
        .filters(tag())
        .send()
        .await
        .unwrap();
    for instance in instances.reservations().iter().flat_map(|r| r.instances()) {
        let state = instance.state().and_then(|state| state.name()).unwrap();
        if *state != aws_sdk_ec2::types::InstanceStateName::Terminated {
            left.push(format!("instance {:?}", instance.instance_id()));
        }
    }
    let volumes = ec2.describe_volumes().filters(tag()).send().await.unwrap();
    left.extend(
        volumes
            .volumes()
            .iter()
            .map(|v| format!("volume {:?}", v.volume_id())),
    );
    let groups = ec2
        .describe_security_groups()
        .filters(tag())
        .send()
        .await
        .unwrap();
    left.extend(
        groups
            .security_groups()
            .iter()
            .map(|g| format!("sg {:?}", g.group_id())),
    );
    let subnets = ec2.describe_subnets().filters(tag()).send().await.unwrap();
    left.extend(
        subnets
            .subnets()
            .iter()
            .map(|s| format!("subnet {:?}", s.subnet_id())),
    );
    let tables = ec2
        .describe_route_tables()
        .filters(tag())
        .send()
        .await
        .unwrap();
    left.extend(
        tables
            .route_tables()
            .iter()
            .map(|t| format!("rtb {:?}", t.route_table_id())),
    );
    let gateways = ec2
        .describe_internet_gateways()
        .filters(tag())
        .send()
        .await
        .unwrap();
    left.extend(
        gateways
            .internet_gateways()
            .iter()
            .map(|g| format!("igw {:?}", g.internet_gateway_id())),
    );
    let dhcp = ec2
        .describe_dhcp_options()
        .filters(tag())
        .send()
        .await
        .unwrap();
    left.extend(
        dhcp.dhcp_options()
            .iter()
            .map(|d| format!("dhcp {:?}", d.dhcp_options_id())),
    );
    let nats = ec2
        .describe_nat_gateways()
        .filter(tag())
        .send()
        .await
        .unwrap();
    for nat in nats.nat_gateways() {
        if nat.state() != Some(&aws_sdk_ec2::types::NatGatewayState::Deleted) {
            left.push(format!("nat {:?}", nat.nat_gateway_id()));
        }
    }
    let addresses = ec2
        .describe_addresses()
        .filters(tag())
        .send()
        .await
        .unwrap();
    left.extend(
        addresses
            .addresses()
            .iter()
            .map(|a| format!("eip {:?}", a.allocation_id())),
    );
    let vpcs = ec2.describe_vpcs().filters(tag()).send().await.unwrap();
    left.extend(vpcs.vpcs().iter().map(|v| format!("vpc {:?}", v.vpc_id())));
    let templates = ec2
        .describe_launch_templates()
        .filters(tag())
        .send()
        .await
        .unwrap();
    left.extend(
        templates
            .launch_templates()
            .iter()
            .map(|t| format!("lt {:?}", t.launch_template_name())),
    );
    let key_pairs = ec2.describe_key_pairs().send().await.unwrap();
    left.extend(
        key_pairs
            .key_pairs()
            .iter()
            .filter_map(|k| k.key_name())
            .filter(|name| name.starts_with(&format!("{cluster}-")))
            .map(|name| format!("key pair {name}")),
    );
    let groups = clients
        .autoscaling
        .describe_auto_scaling_groups()
        .send()
        .await
        .unwrap();
    left.extend(
        groups
            .auto_scaling_groups()
            .iter()
            .filter_map(|g| g.auto_scaling_group_name())
            .filter(|name| name.ends_with(&format!(".{cluster}")))
            .map(|name| format!("asg {name}")),
    );
    let balancers = clients.elb.describe_load_balancers().send().await.unwrap();
    let dashed = cluster.replace('.', "-");
    left.extend(
        balancers
            .load_balancers()
            .iter()
            .filter_map(|b| b.load_balancer_name())
            .filter(|name| name.contains(&dashed))
            .map(|name| format!("lb {name}")),
    );
    let target_groups = clients.elb.describe_target_groups().send().await.unwrap();
    left.extend(
        target_groups
            .target_groups()
            .iter()
            .filter_map(|g| g.target_group_name())
            .filter(|name| name.contains(&dashed))
            .map(|name| format!("tg {name}")),
    );
    for prefix in ["masters", "nodes", "bastions"] {
        let name = format!("{prefix}.{cluster}");
        if clients.iam.get_role().role_name(&name).send().await.is_ok() {
            left.push(format!("role {name}"));
        }
        let profile = clients
            .iam
            .get_instance_profile()
            .instance_profile_name(&name);
        if profile.send().await.is_ok() {
            left.push(format!("instance profile {name}"));
        }
    }
    left
}

/// Creates a public hosted zone with a record of its own; returns the zone id.
async fn hosted_zone_with_a_record(clients: &AwsClients, zone: &str) -> String {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let created = clients
        .route53
        .create_hosted_zone()
        .name(zone)
        .caller_reference(format!("delete-test-{}", fastrand::u64(..)))
        .send()
        .await
        .unwrap();
    let zone_id = created
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    let record = ResourceRecordSet::builder()
        .name(format!("www.{zone}"))
        .r#type(RrType::A)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value("192.0.2.10")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(record)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    zone_id
}

/// The names of the zone's records (without trailing dots).
pub(crate) async fn record_names(clients: &AwsClients, zone_id: &str) -> Vec<String> {
    let records = clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .send()
        .await
        .unwrap();
    records
        .resource_record_sets()
        .iter()
        .map(|record| record.name().trim_end_matches('.').to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ha_cluster_is_deleted_completely_and_nothing_else() {
    let clients = support::clients().await;
    let zone_id = hosted_zone_with_a_record(&clients, "example.com").await;
    let cluster = create(&clients, private_ha("b.example.com", "example.com")).await;
    assert!(
        record_names(&clients, &zone_id)
            .await
            .contains(&"api.b.example.com".to_owned())
    );
    assert!(!leftovers(&clients, &cluster.name).await.is_empty());

    let scope = DeleteScope::from_spec(&cluster.spec);
    let inventory = delete::discover(&clients, &scope, &RetryPolicy::default())
        .await
        .unwrap();
    let kinds: std::collections::BTreeSet<_> = inventory.resources.iter().map(|r| r.kind).collect();
    for kind in [
        delete::DeleteKind::AutoscalingGroup,
        delete::DeleteKind::Instance,
        delete::DeleteKind::NatGateway,
        delete::DeleteKind::EbsVolume,
        delete::DeleteKind::DnsRecord,
        delete::DeleteKind::IamRole,
        delete::DeleteKind::KeyPair,
        delete::DeleteKind::Listener,
        delete::DeleteKind::SecurityGroupReferences,
        delete::DeleteKind::Vpc,
    ] {
        assert!(kinds.contains(&kind), "{kind} not discovered: {kinds:?}");
    }
    let report = delete::delete(
        &clients,
        &inventory,
        &ApplyOptions::default(),
        &NoopReporter,
    )
    .await;
    assert!(report.is_success(), "{}", report.summary());

    assert_eq!(
        leftovers(&clients, &cluster.name).await,
        Vec::<String>::new()
    );
    let again = delete::discover(&clients, &scope, &RetryPolicy::default())
        .await
        .unwrap();
    assert!(again.is_empty(), "{:?}", again.resources);
    let records = record_names(&clients, &zone_id).await;
    assert!(
        records.contains(&"www.example.com".to_owned()),
        "{records:?}"
    );
    assert!(
        !records.iter().any(|name| name.ends_with("b.example.com")),
        "{records:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_vpc_and_everything_foreign_in_it_survive() {
    let clients = support::clients().await;
    let ec2 = &clients.ec2;
    let vpc_id = emulated_network::create_vpc(ec2, "10.50.0.0/16").await;
    let subnet =
        |cidr: &'static str| emulated_network::create_subnet(ec2, &vpc_id, cidr, "us-east-1a");
    let shared_subnet = subnet("10.50.1.0/24").await;
    let foreign_subnet = subnet("10.50.2.0/24").await;
    let foreign_group = ec2
        .create_security_group()
        .group_name("foreign")
        .description("not the cluster's")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    let image = emulated_network::ubuntu_image(ec2).await;
    let foreign_instance = ec2
        .run_instances()
        .image_id(image)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(&foreign_subnet)
        .security_group_ids(&foreign_group)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_owned();

    let options = CreateClusterOptions {
        network_id: Some(vpc_id.clone()),
        subnet_ids: vec![shared_subnet.clone()],
        ..public_single_zone("shared.example.com")
    };
    let cluster = create(&clients, options).await;
    let tag_key = "kubernetes.io/cluster/shared.example.com";
    let shared_tags = |subnet: String| async move {
        let found = ec2
            .describe_subnets()
            .subnet_ids(subnet)
            .send()
            .await
            .unwrap();
        found.subnets()[0]
            .tags()
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
            .collect::<Vec<_>>()
    };
    assert!(
        shared_tags(shared_subnet.clone())
            .await
            .contains(&(tag_key.to_owned(), "shared".to_owned()))
    );

    delete_all(
        &clients,
        &DeleteScope::from_spec(&cluster.spec),
        &ApplyOptions::default(),
    )
    .await;

    assert_eq!(
        leftovers(&clients, &cluster.name).await,
        Vec::<String>::new()
    );
    let vpcs = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "the shared VPC is gone");
    let subnets = ec2
        .describe_subnets()
        .subnet_ids(&shared_subnet)
        .subnet_ids(&foreign_subnet)
        .send()
        .await
        .unwrap();
    assert_eq!(
        subnets.subnets().len(),
        2,
        "a foreign or shared subnet is gone"
    );
    assert!(
        !shared_tags(shared_subnet)
            .await
            .iter()
            .any(|(key, _)| key == tag_key),
        "the shared tag was not removed"
    );
    let groups = ec2
        .describe_security_groups()
        .group_ids(&foreign_group)
        .send()
        .await
        .unwrap();
    assert_eq!(
        groups.security_groups().len(),
        1,
        "the foreign security group is gone"
    );
    let instances = ec2
        .describe_instances()
        .instance_ids(&foreign_instance)
        .send()
        .await
        .unwrap();
    let state = instances.reservations()[0].instances()[0]
        .state()
        .unwrap()
        .name()
        .unwrap()
        .clone();
    assert_eq!(state, aws_sdk_ec2::types::InstanceStateName::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_cluster_in_the_account_is_untouched() {
    let clients = support::clients().await;
    let first = create(&clients, public_single_zone("first.example.com")).await;
    let second = create(&clients, public_single_zone("second.example.com")).await;
    assert!(plans_no_changes(&clients, &second).await);

    delete_all(
        &clients,
        &DeleteScope::from_spec(&first.spec),
        &ApplyOptions::default(),
    )
    .await;

    assert_eq!(leftovers(&clients, &first.name).await, Vec::<String>::new());
    assert!(
        plans_no_changes(&clients, &second).await,
        "deleting the first changed the second"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_delete_is_finished_by_a_rerun_without_the_spec() {
    let clients = support::clients().await;
    let cluster = create(&clients, public_single_zone("crash.example.com")).await;
    let scope = DeleteScope::from_spec(&cluster.spec);
    let inventory = delete::discover(&clients, &scope, &RetryPolicy::default())
        .await
        .unwrap();
    let crashing = ApplyOptions {
        abort_after_tasks: Some(inventory.resources.len() / 2),
        ..ApplyOptions::default()
    };
    let report = delete::delete(&clients, &inventory, &crashing, &NoopReporter).await;
    assert_eq!(report.interrupted, Some(Interruption::AbortHook));
    assert!(!leftovers(&clients, &cluster.name).await.is_empty());

    // The re-run knows only the name (as after the store was deleted).
    delete_all(
        &clients,
        &DeleteScope::named(&cluster.name),
        &ApplyOptions::default(),
    )
    .await;
    assert_eq!(
        leftovers(&clients, &cluster.name).await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_under_heavy_throttling_still_finishes_clean() {
    let moto = MotoServer::shared();
    let proxy = FaultProxy::start(&moto.endpoint(), FaultConfig::default())
        .await
        .unwrap();
    let (direct, via_proxy) = support::clients_direct_and_via(&proxy.endpoint()).await;
    hosted_zone_with_a_record(&direct, "example.org").await;
    let cluster = create(&direct, private_ha("t.example.org", "example.org")).await;
    proxy.set_config(FaultConfig {
        throttle_rate: 0.25,
        seed: 7,
        ..FaultConfig::default()
    });
    proxy.reset_stats();
    let options = ApplyOptions {
        retry: RetryPolicy {
            deadline: FAULTY_TASK_DEADLINE,
            ..RetryPolicy::default()
        },
        ..ApplyOptions::default()
    };
    delete_all(&via_proxy, &DeleteScope::from_spec(&cluster.spec), &options).await;
    let stats = proxy.stats();
    assert!(stats.total_faults() > 0, "no faults were injected");
    assert_eq!(
        leftovers(&direct, &cluster.name).await,
        Vec::<String>::new()
    );
}
