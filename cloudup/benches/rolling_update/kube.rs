//! The Kubernetes side of the benchmark: a real kube-apiserver and kube-controller-manager,
//! the fake kubelet, the emulator's instances joining as nodes, a workload behind a
//! PodDisruptionBudget, and the gate's own identity, whose requests the audit log counts.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use berth_cloudup::rolling;
use berth_test_support::{
    instance_nodes::{InstanceNodes, InstanceNodesOptions, ec2_running_instances},
    k8s::{ControlPlaneOptions, K8sVersion, TestControlPlane},
    kubelet::FakeKubelet,
    workload::{ProtectedDeployment, is_serving},
};
use k8s_openapi::api::{core::v1::Pod, policy::v1::PodDisruptionBudget};
use kube::{
    Api,
    api::ListParams,
    config::{KubeConfigOptions, Kubeconfig},
};
use serde_json::json;

use crate::{
    Settings,
    setup::{self, World},
};

/// The user the gate calls the API server as; only its requests are audited.
const BENCH_USER: &str = "berth-bench";

/// The namespace of the workload.
const NAMESPACE: &str = "web";

/// How often the simulation lists the instances: a new instance's node joins within this
/// (plus a DescribeInstances) of its launch.
const JOIN_POLL: Duration = Duration::from_millis(100);

/// How many of the workload's pods may be down at once.
const MAX_UNAVAILABLE: u32 = 2;

/// The control plane, the fake kubelet and the instance→node simulation.
pub(crate) struct KubeSide {
    control_plane: TestControlPlane,
    nodes: InstanceNodes,
    _kubelet: Arc<FakeKubelet>,
    audit_log: PathBuf,
    dir: tempfile::TempDir,
}

impl KubeSide {
    /// Starts v1.36.2 with its controller manager, and the nodes of the emulator's running
    /// instances (listed straight from the emulator: not counted, no latency), Ready
    /// `settings.boot` after they join. `None` when the binaries are missing.
    pub(crate) async fn start(world: &World, settings: &Settings) -> Option<KubeSide> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let audit_log = dir.path().join("audit.log");
        let policy = dir.path().join("audit-policy.yaml");
        std::fs::write(
            &policy,
            format!(
                "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\n\
                 rules:\n- level: Metadata\n  users: [{BENCH_USER}]\n- level: None\n"
            ),
        )
        .expect("write the audit policy");
        let options = ControlPlaneOptions::new(K8sVersion::V1_36_2)
            .with_controller_manager()
            .with_extra_apiserver_args([
                format!("--audit-policy-file={}", policy.display()),
                format!("--audit-log-path={}", audit_log.display()),
            ]);
        let control_plane = TestControlPlane::start(options).await?;
        let client = control_plane.client();
        let kubelet = Arc::new(FakeKubelet::start(client.clone()));
        let direct = world.direct.clone();
        let nodes = InstanceNodes::start(
            Arc::clone(&kubelet),
            client,
            InstanceNodesOptions::new(settings.boot).with_poll(JOIN_POLL),
            move || {
                let direct = direct.clone();
                async move { ec2_running_instances(&direct.ec2).await }
            },
        );
        Some(KubeSide {
            control_plane,
            nodes,
            _kubelet: kubelet,
            audit_log,
            dir,
        })
    }

    /// Waits until the cluster validates (every instance joined and Ready).
    pub(crate) async fn wait_until_valid(&self, world: &World) {
        let client = self.control_plane.client();
        eventually(
            "the cluster to validate",
            Duration::from_secs(120),
            || async {
                rolling::validate_cluster(&client, &world.direct, setup::CLUSTER)
                    .await
                    .is_ok_and(|(_, failures)| failures.is_empty())
            },
        )
        .await;
    }

    /// A Deployment of `replicas` pods on the node group (one per node, as the fake
    /// scheduler places them round robin) behind a budget of [`MAX_UNAVAILABLE`], once every
    /// pod is Ready and the budget allows disruptions.
    pub(crate) async fn spread_workload(&self, replicas: u32) {
        ProtectedDeployment {
            namespace: NAMESPACE,
            name: "web",
            replicas,
            instance_group: &format!("nodes-{}", crate::ZONE),
            budget: json!({"maxUnavailable": MAX_UNAVAILABLE}),
        }
        .create(&self.control_plane.client())
        .await;
        self.wait_for_workload(replicas).await;
    }

    /// Waits until every pod of the workload is Ready and its budget allows disruptions.
    pub(crate) async fn wait_for_workload(&self, replicas: u32) {
        let client = self.control_plane.client();
        let budgets: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), NAMESPACE);
        let pods: Api<Pod> = Api::namespaced(client, NAMESPACE);
        eventually("every web pod Ready", Duration::from_secs(120), || async {
            pods.list(&ListParams::default()).await.is_ok_and(|list| {
                list.items.iter().filter(|pod| is_serving(pod)).count() == replicas as usize
            })
        })
        .await;
        eventually(
            "the budget to allow disruptions",
            Duration::from_secs(60),
            || async {
                budgets.get("web").await.is_ok_and(|budget| {
                    budget
                        .status
                        .is_some_and(|status| status.disruptions_allowed.unwrap_or(0) > 0)
                })
            },
        )
        .await;
    }

    /// A cluster-admin client that calls as [`BENCH_USER`].
    pub(crate) async fn bench_client(&self) -> kube::Client {
        let keypair = self
            .control_plane
            .ca()
            .client(BENCH_USER, Some("system:masters"));
        let certificate = self.dir.path().join("bench.crt");
        let key = self.dir.path().join("bench.key");
        std::fs::write(&certificate, &keypair.certificate).expect("write the certificate");
        std::fs::write(&key, &keypair.private_key).expect("write the key");
        let mut kubeconfig =
            Kubeconfig::read_from(self.control_plane.kubeconfig_path()).expect("a kubeconfig");
        for auth in &mut kubeconfig.auth_infos {
            if let Some(info) = auth.auth_info.as_mut() {
                info.client_certificate = Some(certificate.display().to_string());
                info.client_certificate_data = None;
                info.client_key = Some(key.display().to_string());
                info.client_key_data = None;
            }
        }
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .expect("a client configuration");
        kube::Client::try_from(config).expect("a client")
    }

    /// Forgets the requests audited so far.
    pub(crate) fn reset_audit(&self) {
        std::fs::write(&self.audit_log, "").expect("truncate the audit log");
    }

    /// The gate's requests since [`Self::reset_audit`], by `verb resource[/subresource]`.
    pub(crate) fn audited_requests(&self) -> BTreeMap<String, u64> {
        let text = std::fs::read_to_string(&self.audit_log).unwrap_or_default();
        let mut counts = BTreeMap::new();
        for event in text
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|event| event["stage"] == "ResponseComplete")
        {
            let resource = event["objectRef"]["resource"].as_str().unwrap_or("-");
            let key = match event["objectRef"]["subresource"].as_str() {
                Some(subresource) => format!("{} {resource}/{subresource}", event["verb"]),
                None => format!("{} {resource}", event["verb"]),
            };
            *counts.entry(key.replace('"', "")).or_default() += 1;
        }
        counts
    }

    /// When each running instance's node joined.
    pub(crate) fn joined(&self) -> BTreeMap<String, Instant> {
        self.nodes
            .joined()
            .into_iter()
            .map(|(id, at)| (id, at.into_std()))
            .collect()
    }
}

/// Polls `check` every 200 ms until it holds, for at most `timeout`.
async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
