//! One test's world: a state store, an emulator account, the CLI's environment for it, AWS
//! clients that see the same account, and a runtime to drive those clients.

use std::future::Future;

use assert_cmd::Command;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use berth_cloudup::aws::AwsClients;
use berth_test_support::moto::{MotoServer, REGION};

use crate::context::{Run, TestContext, ok, run};

/// A valid OpenSSH ed25519 public key for the clusters' admin user.
pub(crate) const SSH_PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";

/// The public single-zone reference cluster.
pub(crate) const PUBLIC_CLUSTER: &str = "a.example.com";

/// Where launch templates say nodeup comes from: no nodeup binary needs to be built.
const NODEUP_URL: &str = "https://example.invalid/nodeup";
const NODEUP_SHA256: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A state store, a fresh emulator account and clients for it.
pub(crate) struct World {
    pub(crate) context: TestContext,
    env: Vec<(String, String)>,
    runtime: tokio::runtime::Runtime,
    pub(crate) aws: AwsClients,
}

impl World {
    pub(crate) fn new() -> Self {
        let env = MotoServer::shared().account_env();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let config = runtime.block_on(sdk_config(&env));
        Self {
            context: TestContext::new(),
            aws: AwsClients::new(&config),
            env,
            runtime,
        }
    }

    /// Drives `future` (AWS describes, the fault proxy's start) to completion.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// `berth` against this world's store and account.
    pub(crate) fn berth(&self) -> Command {
        let mut command = self.context.berth();
        command
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env("BERTH_NODEUP_URL", NODEUP_URL)
            .env("BERTH_NODEUP_SHA256", NODEUP_SHA256);
        command
    }

    /// The account's environment (endpoint and credentials), for other processes.
    pub(crate) fn aws_env(&self) -> &[(String, String)] {
        &self.env
    }

    /// `berth update cluster NAME ARGS…`, captured.
    pub(crate) fn update(&self, cluster: &str, args: &[&str]) -> Run {
        run(self.berth().args(["update", "cluster", cluster]).args(args))
    }

    /// `berth update cluster NAME --yes`, asserting success.
    pub(crate) fn apply(&self, cluster: &str) {
        let result = self.update(cluster, &["--yes"]);
        result.assert_code(0, "update --yes failed");
    }

    /// Asserts that the plan of `cluster` is empty, as `--exit-code` reports it.
    pub(crate) fn assert_no_changes(&self, cluster: &str) {
        let result = self.update(cluster, &["--exit-code"]);
        result.assert_code(0, "the plan is not empty");
        assert!(result.stdout.contains("No changes"), "{}", result.stdout);
    }

    /// `create cluster a.example.com --zones us-east-1a` with the admin SSH key.
    pub(crate) fn create_public_cluster(&self) {
        let key = self.context.write("admin.pub", SSH_PUBLIC_KEY);
        ok(self
            .berth()
            .args(["create", "cluster", PUBLIC_CLUSTER, "--zones", "us-east-1a"])
            .arg("--ssh-public-key")
            .arg(key));
    }

    /// The private three-zone HA cluster `b.<dns_zone>` with a bastion, public DNS in
    /// `dns_zone` (which must exist) and a public API load balancer. Returns its name.
    pub(crate) fn create_private_cluster(&self, dns_zone: &str) -> String {
        let name = format!("b.{dns_zone}");
        let zones = "us-east-1a,us-east-1b,us-east-1c";
        let key = self.context.write("admin.pub", SSH_PUBLIC_KEY);
        ok(self
            .berth()
            .args(["create", "cluster", &name, "--zones", zones])
            .args(["--control-plane-zones", zones])
            .args(["--topology", "private", "--bastion"])
            .args(["--dns-zone", dns_zone, "--api-loadbalancer-type", "public"])
            .arg("--ssh-public-key")
            .arg(key));
        name
    }

    /// Whether the store holds `key` under the cluster.
    pub(crate) fn store_has(&self, cluster: &str, key: &str) -> bool {
        self.context.store_dir().join(cluster).join(key).is_file()
    }

    /// The CLI's environment with the AWS endpoint replaced (to go through a proxy).
    pub(crate) fn berth_via(&self, endpoint: &str) -> Command {
        let mut command = self.berth();
        command.env("AWS_ENDPOINT_URL", endpoint);
        command
    }
}

/// An SDK configuration from the CLI's environment: same endpoint, account and region. SDK
/// retries are off: against the emulator directly, every error is real.
async fn sdk_config(env: &[(String, String)]) -> aws_config::SdkConfig {
    let value = |name: &str| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("the account environment lacks {name}"))
    };
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(value("AWS_ENDPOINT_URL"))
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            value("AWS_ACCESS_KEY_ID"),
            value("AWS_SECRET_ACCESS_KEY"),
            Some(value("AWS_SESSION_TOKEN")),
            None,
            "update-cluster-tests",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}
