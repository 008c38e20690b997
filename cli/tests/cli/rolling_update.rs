//! `berth rolling-update cluster --cloudonly` end to end against the AWS emulator: a node
//! instance type change makes the node instances outdated; the update replaces exactly those,
//! leaves no old instance running, `--force` replaces the control plane's instance, and an
//! instance a stopped run left detached is terminated by the next run. The Kubernetes side
//! (drain, validation) is in `rolling_update_kubernetes`, which shares this module's world.
//!
//! Every test works in an emulator account of its own.

use std::collections::BTreeSet;

use assert_cmd::Command;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_autoscaling::types::AutoScalingGroup;
use aws_sdk_ec2::config::Credentials;
use berth_cloudup::aws::AwsClients;
use berth_test_support::moto::{MotoServer, REGION};

use crate::context::{Run, TestContext, ok, run};

pub(crate) const CLUSTER: &str = "a.example.com";
pub(crate) const NODES: &str = "nodes-us-east-1a";
pub(crate) const CONTROL_PLANE: &str = "control-plane-us-east-1a";
const SSH_PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";

/// A state store, a fresh emulator account and clients for it.
pub(crate) struct World {
    pub(crate) context: TestContext,
    env: Vec<(String, String)>,
    pub(crate) runtime: tokio::runtime::Runtime,
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
        let value = |name: &str| {
            env.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_else(|| panic!("the account environment lacks {name}"))
        };
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(value("AWS_ENDPOINT_URL"))
                .region(Region::new(REGION))
                .credentials_provider(Credentials::new(
                    value("AWS_ACCESS_KEY_ID"),
                    value("AWS_SECRET_ACCESS_KEY"),
                    Some(value("AWS_SESSION_TOKEN")),
                    None,
                    "rolling-update-tests",
                ))
                .load(),
        );
        Self {
            context: TestContext::new(),
            aws: AwsClients::new(&config),
            env,
            runtime,
        }
    }

    pub(crate) fn berth(&self) -> Command {
        let mut command = self.context.berth();
        command
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env("BERTH_NODEUP_URL", "https://example.invalid/nodeup")
            .env(
                "BERTH_NODEUP_SHA256",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            );
        command
    }

    pub(crate) fn rolling_update(&self, args: &[&str]) -> Run {
        run(self
            .berth()
            .args(["rolling-update", "cluster", CLUSTER])
            .args(args))
    }

    /// A public single-zone cluster (one control-plane node, two nodes), applied, whose nodes
    /// then change instance type and are applied again: their instances are outdated.
    pub(crate) fn cluster_with_outdated_nodes(&self) {
        let key = self.context.write("admin.pub", SSH_PUBLIC_KEY);
        ok(self
            .berth()
            .args(["create", "cluster", CLUSTER, "--zones", "us-east-1a"])
            .arg("--ssh-public-key")
            .arg(key));
        ok(self.berth().args(["update", "cluster", CLUSTER, "--yes"]));
        ok(self
            .berth()
            .env("EDITOR", "sed -i s/t3.medium/t3.large/")
            .args(["edit", "ig", NODES, "--name", CLUSTER]));
        ok(self.berth().args(["update", "cluster", CLUSTER, "--yes"]));
    }

    pub(crate) fn group(&self, instance_group: &str) -> AutoScalingGroup {
        let name = format!("{instance_group}.{CLUSTER}");
        self.runtime
            .block_on(
                self.aws
                    .autoscaling
                    .describe_auto_scaling_groups()
                    .auto_scaling_group_names(&name)
                    .send(),
            )
            .expect("DescribeAutoScalingGroups")
            .auto_scaling_groups()
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("no group {name}"))
    }

    /// The latest version of the launch template `<instance_group>.<cluster>`.
    pub(crate) fn latest_version(&self, instance_group: &str) -> String {
        let templates = self
            .runtime
            .block_on(
                self.aws
                    .ec2
                    .describe_launch_templates()
                    .launch_template_names(format!("{instance_group}.{CLUSTER}"))
                    .send(),
            )
            .expect("DescribeLaunchTemplates");
        templates.launch_templates()[0]
            .latest_version_number()
            .expect("a latest version")
            .to_string()
    }

    /// Detaches `instance` from `group` the way a rolling update does, tag first.
    fn detach_tagged(&self, group: &str, instance: &str) {
        self.runtime
            .block_on(
                self.aws
                    .ec2
                    .create_tags()
                    .resources(instance)
                    .tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key("berth.dev/rolling-update")
                            .value("detached")
                            .build(),
                    )
                    .send(),
            )
            .expect("CreateTags");
        self.runtime
            .block_on(
                self.aws
                    .autoscaling
                    .detach_instances()
                    .auto_scaling_group_name(group)
                    .instance_ids(instance)
                    .should_decrement_desired_capacity(false)
                    .send(),
            )
            .expect("DetachInstances");
    }

    /// The ids of the instances among `ids` that are not terminated.
    pub(crate) fn alive(&self, ids: &BTreeSet<String>) -> BTreeSet<String> {
        let described = self
            .runtime
            .block_on(self.aws.ec2.describe_instances().send())
            .expect("DescribeInstances");
        described
            .reservations()
            .iter()
            .flat_map(|reservation| reservation.instances())
            .filter(|instance| {
                instance
                    .state()
                    .and_then(|state| state.name())
                    .map(|name| name.as_str())
                    != Some("terminated")
            })
            .filter_map(|instance| instance.instance_id().map(str::to_owned))
            .filter(|id| ids.contains(id))
            .collect()
    }
}

/// The instance ids of a group.
pub(crate) fn ids(group: &AutoScalingGroup) -> BTreeSet<String> {
    group
        .instances()
        .iter()
        .filter_map(|instance| instance.instance_id().map(str::to_owned))
        .collect()
}

/// The launch template versions of a group's instances.
pub(crate) fn versions(group: &AutoScalingGroup) -> Vec<String> {
    group
        .instances()
        .iter()
        .map(|instance| {
            instance
                .launch_template()
                .and_then(|template| template.version())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The table row of an instance group.
fn row<'a>(stdout: &'a str, instance_group: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .find(|line| line.starts_with(instance_group))
        .unwrap_or_else(|| panic!("no row for {instance_group}:\n{stdout}"))
        .split_whitespace()
        .collect()
}

#[test]
fn cloudonly_replaces_the_outdated_nodes_and_force_replaces_the_control_plane() {
    let world = World::new();
    world.cluster_with_outdated_nodes();
    let old_nodes = ids(&world.group(NODES));
    let old_control_plane = ids(&world.group(CONTROL_PLANE));
    assert_eq!(old_nodes.len(), 2);

    let preview = world.rolling_update(&[]);
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(preview.stdout.starts_with("NAME"), "{}", preview.stdout);
    assert_eq!(
        row(&preview.stdout, CONTROL_PLANE),
        [CONTROL_PLANE, "Ready", "0", "1", "1", "1", "1"]
    );
    assert_eq!(
        row(&preview.stdout, NODES),
        [NODES, "NeedsUpdate", "2", "0", "2", "2", "2"]
    );
    assert!(preview.stderr.contains("--yes"), "{}", preview.stderr);
    assert_eq!(
        ids(&world.group(NODES)),
        old_nodes,
        "a preview changes nothing"
    );

    let rolled = world.rolling_update(&["--yes", "--cloudonly", "--interval", "0s"]);
    rolled.assert_code(0, "");
    let nodes = world.group(NODES);
    let latest = world.latest_version(NODES);
    assert_eq!(
        nodes.instances().len(),
        usize::try_from(nodes.desired_capacity().unwrap_or_default()).unwrap_or(0)
    );
    assert_eq!(versions(&nodes), [latest.clone(), latest]);
    assert!(ids(&nodes).is_disjoint(&old_nodes), "{nodes:?}");
    assert!(
        world.alive(&old_nodes).is_empty(),
        "old nodes still alive: {:?}",
        world.alive(&old_nodes)
    );
    assert_eq!(ids(&world.group(CONTROL_PLANE)), old_control_plane);

    let again = world.rolling_update(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(row(&again.stdout, NODES)[1], "Ready", "{}", again.stdout);
    assert!(
        again.stderr.contains("No rolling-update required"),
        "{}",
        again.stderr
    );

    let forced = world.rolling_update(&[
        "--yes",
        "--cloudonly",
        "--force",
        "--instance-group-roles",
        "ControlPlane",
        "--interval",
        "0s",
    ]);
    forced.assert_code(0, "");
    let control_plane = world.group(CONTROL_PLANE);
    assert_eq!(control_plane.instances().len(), 1);
    assert!(ids(&control_plane).is_disjoint(&old_control_plane));
    assert!(world.alive(&old_control_plane).is_empty());
    assert_eq!(ids(&world.group(NODES)), ids(&nodes), "nodes untouched");

    // A run that stopped between detaching and terminating left a node behind: the next run
    // terminates it even though nothing needs an update.
    let stray = ids(&nodes).into_iter().next().expect("a node");
    world.detach_tagged(&format!("{NODES}.{CLUSTER}"), &stray);
    let strays = BTreeSet::from([stray]);
    assert_eq!(world.alive(&strays), strays);
    let swept = world.rolling_update(&["--yes", "--cloudonly", "--interval", "0s"]);
    swept.assert_code(0, "");
    assert!(world.alive(&strays).is_empty(), "{}", swept.stderr);
    assert_eq!(world.group(NODES).instances().len(), 2);
}

#[test]
fn max_unavailable_replaces_several_instances_of_a_group_in_place_at_once() {
    let world = World::new();
    world.cluster_with_outdated_nodes();
    let old_nodes = ids(&world.group(NODES));
    let rolled = world.rolling_update(&[
        "--yes",
        "--cloudonly",
        "--interval",
        "0s",
        "--max-surge",
        "0",
        "--max-unavailable",
        "2",
    ]);
    rolled.assert_code(0, "");
    assert!(
        rolled.stderr.contains("2 at a time, in place"),
        "{}",
        rolled.stderr
    );
    let terminated_together = rolled
        .stderr
        .lines()
        .any(|line| line.starts_with("Terminated") && old_nodes.iter().all(|id| line.contains(id)));
    assert!(
        terminated_together,
        "one step took both nodes:\n{}",
        rolled.stderr
    );
    let nodes = world.group(NODES);
    assert!(ids(&nodes).is_disjoint(&old_nodes));
    assert_eq!(nodes.instances().len(), 2);
    assert!(world.alive(&old_nodes).is_empty());
}
