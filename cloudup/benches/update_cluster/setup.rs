//! The benchmark's world: its own emulator behind the latency-injecting proxy, a `file://`
//! state store in a temporary directory, and the private three-zone HA cluster with a bastion
//! built as `berth create cluster` + `berth update cluster` build it.
//!
//! Shared by the `update_cluster` and `rolling_update` benchmarks (included with `#[path]`);
//! the latter builds its own cluster through [`World::graph_of`] and [`create_options`].

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::Credentials;
use berth_cloudup::aws::AwsClients;
use berth_model::{
    CloudFacts, Cluster, CreateClusterOptions, InstanceGroup, Topology,
    aws::Graph,
    builders::{BuildContext, BuildFacts, HostedZoneFact, NodeupAsset},
    ssh::SshPublicKey,
};
use berth_state_store::ObjectStore;
use berth_test_support::{
    fault_proxy::{FaultConfig, FaultProxy},
    moto::{MotoServer, REGION},
};

/// The cluster's name.
pub(crate) const CLUSTER: &str = "bench.example.com";

/// The zones of nodes and control plane (`--zones` = `--control-plane-zones`).
const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

/// The admin key `create cluster --ssh-public-key` would store.
const SSH_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";

/// Everything one run of the benchmark talks to; dropping it stops the proxy and the emulator.
pub(crate) struct World {
    /// The proxy the clients go through (latency injected, calls counted).
    pub(crate) proxy: FaultProxy,
    /// Clients pointed at the proxy.
    pub(crate) clients: AwsClients,
    /// Clients straight to the emulator (no latency, not counted).
    pub(crate) direct: AwsClients,
    /// The `file://` state store the managed files go to.
    pub(crate) store: Arc<dyn ObjectStore>,
    _store_dir: tempfile::TempDir,
    _moto: MotoServer,
}

impl World {
    /// Starts an emulator of its own and the proxy in front of it, adding `latency` to every
    /// call and no faults.
    pub(crate) async fn start(latency: Duration) -> World {
        let moto = tokio::task::spawn_blocking(MotoServer::start)
            .await
            .expect("the emulator starts");
        let proxy = FaultProxy::start(
            &moto.endpoint(),
            FaultConfig {
                latency,
                ..FaultConfig::default()
            },
        )
        .await
        .expect("the proxy starts");
        let config = sdk_config(&proxy.endpoint()).await;
        let direct = sdk_config(&moto.endpoint()).await;
        let store_dir = tempfile::tempdir().expect("a temporary directory");
        let store = berth_state_store::open(&format!("file://{}", store_dir.path().display()))
            .await
            .expect("the file store opens");
        World {
            proxy,
            clients: AwsClients::new(&config),
            direct: AwsClients::new(&direct),
            store,
            _store_dir: store_dir,
            _moto: moto,
        }
    }

    /// The desired graph, as `update cluster` computes it: options → spec → facts gathered
    /// through the proxy → completed spec → builders.
    pub(crate) async fn desired_graph(&self) -> Graph {
        let (cluster, groups) =
            berth_model::build_cluster(&create_options(self.store.url())).expect("valid options");
        self.graph_of(&cluster, &groups).await
    }

    /// The desired graph of a spec, as `update cluster` computes it: facts gathered through
    /// the proxy → completed spec → builders.
    pub(crate) async fn graph_of(&self, cluster: &Cluster, groups: &[InstanceGroup]) -> Graph {
        berth_model::validate(cluster, groups).expect("a valid spec");
        let account = berth_cloudup::facts::gather(&self.clients, cluster, groups)
            .await
            .expect("facts from the emulator");
        let completed = berth_model::complete(
            cluster,
            groups,
            &CloudFacts {
                region: REGION.to_owned(),
                available_zones: account.available_zones.clone(),
                account_id: None,
                network_cidr: account.shared_vpc_cidr.clone(),
                state_store: Some(self.store.url().to_owned()),
            },
        )
        .expect("the spec completes");
        let facts = BuildFacts {
            region: REGION.to_owned(),
            images: account.images.clone(),
            ssh_public_key: Some(
                SshPublicKey::parse(SSH_KEY, "id_ed25519.pub").expect("a valid key"),
            ),
            nodeup: NodeupAsset {
                urls: vec!["https://artifacts.example.com/berth/nodeup".to_owned()],
                sha256: "0".repeat(64),
            },
            hosted_zone: account
                .hosted_zone
                .clone()
                .map(|(name, private)| HostedZoneFact { name, private }),
            // No assets, CA or token in the nodeup configs: the emulator boots nothing.
            ..BuildFacts::default()
        };
        berth_model::builders::build(&BuildContext {
            cluster: &completed,
            facts: &facts,
        })
        .expect("the graph builds")
    }
}

/// The SDK's defaults (retries included, as the CLI has them) with static credentials.
async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "bench"))
        .load()
        .await
}

/// `berth create cluster bench.example.com --zones a,b,c --control-plane-zones a,b,c
/// --topology private --bastion --state <store>`.
pub(crate) fn create_options(store_url: &str) -> CreateClusterOptions {
    let zones: Vec<String> = ZONES.iter().map(|zone| (*zone).to_owned()).collect();
    CreateClusterOptions {
        name: CLUSTER.to_owned(),
        control_plane_zones: zones.clone(),
        zones,
        topology: Topology::Private,
        bastion: true,
        cloud_labels: BTreeMap::new(),
        config_base: format!("{}/{CLUSTER}", store_url.trim_end_matches('/')),
        ..CreateClusterOptions::default()
    }
}
