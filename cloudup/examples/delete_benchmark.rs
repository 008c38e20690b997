//! Benchmark of `delete cluster`: creates the private three-zone HA reference cluster in the
//! AWS emulator, then discovers and deletes it through a proxy that adds a fixed latency to
//! every call, and prints the wall time, the calls by action, and the dependency-chain bound
//! (the longest chain of calls that must follow each other, times the latency).
//!
//! Run with `cargo run -p berth-cloudup --example delete_benchmark [latency-ms] [concurrency]`
//! (defaults: 50 ms, 16). Nothing in the delete sleeps for a fixed time; the bound is what a
//! perfect scheduler would take.

use std::{sync::Arc, time::Duration};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::Credentials;
use berth_cloudup::{
    aws::AwsClients,
    delete::{self, DeleteScope, order},
    engine::{self, ApplyOptions, NoopReporter, RetryPolicy},
};
use berth_model::{
    CloudFacts, DnsType, LoadBalancerType, Topology,
    builders::{BuildContext, BuildFacts, HostedZoneFact, NodeupAsset},
    create::CreateClusterOptions,
    ssh::SshPublicKey,
};
use berth_state_store::ObjectStore;
use berth_test_support::{
    fault_proxy::{FaultConfig, FaultProxy},
    moto::{MotoServer, REGION},
};

const SSH_PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";

/// Calls one after another in discovery: ELB (load balancers, their tags, their listeners),
/// then the network interfaces of the subnets found.
const DISCOVERY_CHAIN: u32 = 4;

type Failure = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let latency = Duration::from_millis(args.next().map_or(Ok(50), |value| value.parse())?);
    let concurrency: usize = args.next().map_or(Ok(16), |value| value.parse())?;

    let moto = MotoServer::shared();
    let proxy = FaultProxy::start(&moto.endpoint(), FaultConfig::default()).await?;
    let direct = account_config(moto).await?;
    let via_proxy = direct.to_builder().endpoint_url(proxy.endpoint()).build();
    let (direct, via_proxy) = (AwsClients::new(&direct), AwsClients::new(&via_proxy));

    let cluster = create_private_ha(&direct).await?;
    proxy.set_config(FaultConfig {
        latency,
        ..FaultConfig::default()
    });
    proxy.reset_stats();

    let scope = DeleteScope::from_spec(&cluster);
    let options = ApplyOptions {
        concurrency,
        abort_after_tasks: None,
        ..ApplyOptions::default()
    };
    let started = tokio::time::Instant::now();
    let inventory = delete::discover(&via_proxy, &scope, &RetryPolicy::default()).await?;
    let discovered = started.elapsed();
    let report = delete::delete(&via_proxy, &inventory, &options, &NoopReporter).await;
    let deleted = started.elapsed();
    let left = delete::discover(&via_proxy, &scope, &RetryPolicy::default()).await?;
    let verified = started.elapsed();

    let chain = order::critical_path(&inventory);
    let bound = latency * (DISCOVERY_CHAIN + chain);
    let stats = proxy.stats();
    println!(
        "delete of the private HA reference cluster at {latency:?} per call, concurrency {concurrency}"
    );
    println!(
        "resources: {} ({} tasks)",
        inventory.resources.len(),
        inventory.resources.len()
    );
    println!("report: {}", report.summary());
    println!("left after delete: {}", left.resources.len());
    println!(
        "discovery: {discovered:.2?}; discovery + delete: {deleted:.2?}; + verifying discovery: {verified:.2?}"
    );
    println!(
        "chain bound: ({DISCOVERY_CHAIN} discovery + {chain} delete) calls x {latency:?} = {bound:.2?}; ratio {:.2}",
        deleted.as_secs_f64() / bound.as_secs_f64()
    );
    println!("calls: {} total", stats.total_calls());
    for (action, action_stats) in &stats.by_action {
        println!("  {action:<40} {}", action_stats.calls);
    }
    if !report.is_success() || !left.is_empty() {
        return Err("the delete did not finish clean".into());
    }
    Ok(())
}

async fn account_config(moto: &MotoServer) -> Result<aws_config::SdkConfig, Failure> {
    let config = |credentials: Credentials| {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(moto.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(credentials)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .load()
    };
    let base = config(Credentials::new("testing", "testing", None, None, "bench")).await;
    let account = format!("{:012}", fastrand::u64(100_000_000_000..999_999_999_999));
    let assumed = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/berth-bench"))
        .role_session_name("berth-bench")
        .send()
        .await?;
    let credentials = assumed.credentials().ok_or("no credentials")?;
    Ok(config(Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        None,
        "assumed",
    ))
    .await)
}

async fn create_private_ha(clients: &AwsClients) -> Result<berth_model::Cluster, Failure> {
    clients
        .route53
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("delete-benchmark")
        .send()
        .await?;
    let store_dir = std::env::temp_dir().join(format!("berth-delete-bench-{}", std::process::id()));
    let store: Arc<dyn ObjectStore> = Arc::new(berth_state_store::open_file(&store_dir));
    let zones: Vec<String> = ["us-east-1a", "us-east-1b", "us-east-1c"]
        .map(str::to_owned)
        .to_vec();
    let name = "bench.example.com";
    let options = CreateClusterOptions {
        name: name.to_owned(),
        zones: zones.clone(),
        control_plane_zones: zones,
        topology: Topology::Private,
        bastion: true,
        dns_zone: Some("example.com".to_owned()),
        dns: DnsType::Public,
        api_load_balancer_type: Some(LoadBalancerType::Public),
        config_base: format!("{}/{name}", store.url()),
        ..CreateClusterOptions::default()
    };
    let (cluster, groups) = berth_model::create::build_cluster(&options)?;
    let account = berth_cloudup::facts::gather(clients, &cluster, &groups).await?;
    let completed = berth_model::complete(
        &cluster,
        &groups,
        &CloudFacts {
            region: REGION.to_owned(),
            available_zones: account.available_zones.clone(),
            account_id: None,
            network_cidr: None,
            state_store: Some(store.url().to_owned()),
        },
    )?;
    let facts = BuildFacts {
        region: REGION.to_owned(),
        images: account.images.clone(),
        ssh_public_key: Some(SshPublicKey::parse(SSH_PUBLIC_KEY, "admin.pub")?),
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
    })?;
    let discovery = engine::discover_all(&graph, clients, &store, name).await?;
    let plan = engine::plan(&graph, &discovery);
    let report = engine::apply(
        &plan,
        clients,
        &store,
        name,
        &ApplyOptions::default(),
        &NoopReporter,
    )
    .await;
    let _ = std::fs::remove_dir_all(&store_dir);
    if !report.is_success() {
        return Err(format!("create failed: {}", report.summary()).into());
    }
    Ok(cluster)
}
