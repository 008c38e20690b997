//! The fault suite: what Berth's operations do when the cloud misbehaves, the process dies, or
//! two people act on one cluster at once. Every test is named `fault_suite_…`, so the suite runs
//! alone with `cargo test -p berth-cli --test cli fault_suite_`; `scripts/reliability-report`
//! runs it and turns the rows the tests print into `docs/reliability.md`.
//!
//! - [`lifecycle`]: create → update → instance-type change, update and rolling update → delete
//!   through a proxy injecting throttling, 5xx and dropped connections, against the same
//!   lifecycle without faults.
//! - [`crash`]: `update --yes` and `delete --yes` killed at a spread of task boundaries, then run
//!   again.
//! - [`concurrency`]: two `update --yes` at once (the lease), two `edit`s at once (conditional
//!   writes).
//!
//! Each test works in emulator accounts of its own and reuses the update tests' [`World`].
//!
//! [`World`]: crate::update_cluster::world::World

mod concurrency;
mod crash;
mod lifecycle;

use std::{io::Write as _, time::Instant};

use aws_sdk_ec2::types::{Filter, InstanceStateName};
use berth_test_support::{
    fault_proxy::{FaultConfig, FaultProxy},
    moto::MotoServer,
};

use crate::{
    context::{Run, ok, run},
    update_cluster::{
        account::{Inventory, Shape, default_launch_template_data, tag},
        world::{SSH_PUBLIC_KEY, World},
    },
};

/// Where [`Row::emit`] also appends its JSON line, when set (the report script sets it).
const REPORT_FILE_ENV: &str = "BERTH_RELIABILITY_OUT";

/// The prefix of the machine-readable lines the tests print.
const ROW_PREFIX: &str = "RELIABILITY: ";

/// One row of `docs/reliability.md`.
#[derive(Debug, serde::Serialize)]
struct Row {
    /// Sorts the rows of the report (tests finish in any order).
    order: u32,
    scenario: String,
    injected: String,
    result: String,
    /// AWS API calls the proxy saw.
    calls: u64,
    /// Faults the proxy injected.
    faults: u64,
    /// Retries the engine reported (`N retries in` of every summary line).
    retries: u64,
    /// Wall time of the CLI runs, in seconds.
    seconds: f64,
}

impl Row {
    /// Prints the row as a `RELIABILITY:` JSON line, and appends it to
    /// `$BERTH_RELIABILITY_OUT` when that is set.
    fn emit(&self) {
        let json = serde_json::to_string(self).expect("a row is JSON");
        println!("{ROW_PREFIX}{json}");
        if let Some(path) = std::env::var_os(REPORT_FILE_ENV) {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|error| panic!("open {}: {error}", path.to_string_lossy()));
            // One write per line: O_APPEND keeps concurrent tests' lines whole.
            file.write_all(format!("{json}\n").as_bytes())
                .expect("append a reliability row");
        }
    }
}

/// Calls, faults, retries and time, summed over CLI runs.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    calls: u64,
    faults: u64,
    retries: u64,
    seconds: f64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.calls += other.calls;
        self.faults += other.faults;
        self.retries += other.retries;
        self.seconds += other.seconds;
    }

    fn row(self, order: u32, scenario: &str, injected: &str, result: &str) -> Row {
        Row {
            order,
            scenario: scenario.to_owned(),
            injected: injected.to_owned(),
            result: result.to_owned(),
            calls: self.calls,
            faults: self.faults,
            retries: self.retries,
            seconds: (self.seconds * 10.0).round() / 10.0,
        }
    }
}

/// A world whose CLI runs go through a fault proxy of its own, counted one run at a time.
struct ProxiedWorld {
    world: World,
    proxy: FaultProxy,
}

impl ProxiedWorld {
    /// A fresh emulator account behind a proxy injecting `faults`.
    fn new(faults: FaultConfig) -> Self {
        let world = World::new();
        let proxy = world
            .block_on(FaultProxy::start(&MotoServer::shared().endpoint(), faults))
            .expect("the fault proxy starts");
        Self { world, proxy }
    }

    /// Runs `berth ARGS…` through the proxy (with `env`), and what it cost.
    fn berth(&self, args: &[&str], env: &[(&str, &str)]) -> (Run, Tally) {
        self.proxy.reset_stats();
        let started = Instant::now();
        let mut command = self.world.berth_via(&self.proxy.endpoint());
        command.args(args).envs(env.iter().copied());
        let result = run(&mut command);
        let stats = self.proxy.stats();
        let tally = Tally {
            calls: stats.total_calls(),
            faults: stats.total_faults(),
            retries: retries(&result.stderr),
            seconds: started.elapsed().as_secs_f64(),
        };
        (result, tally)
    }

    /// [`Self::berth`], asserting exit code `code`.
    fn expect(&self, code: i32, args: &[&str], env: &[(&str, &str)]) -> Tally {
        let (result, tally) = self.berth(args, env);
        assert_eq!(
            result.code,
            code,
            "`berth {}` exited {} (expected {code})\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            result.code,
            result.stdout,
            result.stderr
        );
        tally
    }
}

/// How a command that had to be run more than once failed each time.
#[derive(Debug, Default)]
struct Reruns {
    /// One line per failed run: the error and the calls the proxy dropped in it.
    failures: Vec<String>,
}

impl Reruns {
    /// `exit 0` or `exit 0 after N runs (run 1: …)`.
    fn outcome(&self) -> String {
        if self.failures.is_empty() {
            return "exit 0".to_owned();
        }
        format!(
            "exit 0 after {} runs ({})",
            self.failures.len() + 1,
            self.failures.join("; ")
        )
    }
}

impl ProxiedWorld {
    /// Runs `berth ARGS…` until it exits 0, at most `attempts` times: an operation that fails
    /// must leave a state the next run finishes from. What each failed run said is kept.
    fn converge(&self, args: &[&str], attempts: usize) -> (Tally, Reruns) {
        let mut total = Tally::default();
        let mut reruns = Reruns::default();
        for attempt in 1..=attempts {
            let (result, tally) = self.berth(args, &[]);
            total.add(tally);
            if result.code == 0 {
                return (total, reruns);
            }
            let dropped: Vec<String> = self
                .proxy
                .stats()
                .by_action
                .iter()
                .filter(|(_, stats)| stats.dropped > 0)
                .map(|(action, _)| action.clone())
                .collect();
            let failure = format!(
                "run {attempt}: exit {}, {}; dropped: {}",
                result.code,
                error_code(&result.stderr),
                if dropped.is_empty() {
                    "none".to_owned()
                } else {
                    dropped.join(", ")
                }
            );
            eprintln!(
                "`berth {}` failed, running it again: {failure}\n{}",
                args.join(" "),
                result.stderr
            );
            reruns.failures.push(failure);
        }
        panic!(
            "`berth {}` did not converge in {attempts} runs: {reruns:#?}",
            args.join(" ")
        );
    }
}

/// The AWS error code of a failure (`unhandled error (Code)`), else its last cause.
fn error_code(stderr: &str) -> String {
    let code = stderr.lines().find_map(|line| {
        line.split_once("unhandled error (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(code, _)| code.to_owned())
    });
    code.or_else(|| {
        stderr
            .lines()
            .rev()
            .find_map(|line| line.trim().strip_prefix("caused by: "))
            .map(str::to_owned)
    })
    .unwrap_or_else(|| "no error message".to_owned())
}

/// `create cluster NAME --zones us-east-1a` with the admin key: the public single-zone cluster
/// (one control-plane node, a node group of two) under a name of the caller's choice.
fn create_public_cluster(world: &World, name: &str) {
    let key = world.context.write("admin.pub", SSH_PUBLIC_KEY);
    ok(world
        .berth()
        .args(["create", "cluster", name, "--zones", "us-east-1a"])
        .arg("--ssh-public-key")
        .arg(key));
}

/// The engine's retries: the sum of `N retries in` over every summary line of `stderr`.
fn retries(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|line| line.split_once(" retries in ").map(|(head, _)| head))
        .filter_map(|head| head.rsplit(", ").next())
        .filter_map(|count| count.trim().parse::<u64>().ok())
        .sum()
}

/// The completed tasks of the first summary line that carries `marker`.
fn done_tasks(stderr: &str, marker: &str) -> Option<usize> {
    stderr
        .lines()
        .find(|line| line.contains(marker))
        .and_then(|line| line.split(" done").next())
        .and_then(|count| count.trim().parse().ok())
}

/// The task boundaries a crash test kills at, for `tasks` tasks: 1, 2, 3, 5, 8, 13, 21, 34, …
/// (Fibonacci) below `tasks`, and `tasks - 1`.
fn boundaries(tasks: usize) -> Vec<usize> {
    let mut picked = Vec::new();
    let (mut current, mut next) = (1, 2);
    while current < tasks {
        picked.push(current);
        (current, next) = (next, current + next);
    }
    if tasks > 1 && picked.last() != Some(&(tasks - 1)) {
        picked.push(tasks - 1);
    }
    picked
}

/// The account's cluster resources, ids left out: what two runs of the same lifecycle must
/// agree on. One line per resource, sorted.
fn resources_modulo_ids(world: &World) -> Vec<String> {
    let inventory = world.block_on(Inventory::take(&world.aws));
    let name = |tags: &[aws_sdk_ec2::types::Tag]| tag(tags, "Name").unwrap_or("-").to_owned();
    let mut lines = Vec::new();
    for vpc in &inventory.vpcs {
        lines.push(format!(
            "vpc {} {}",
            vpc.cidr_block().unwrap_or_default(),
            name(vpc.tags())
        ));
    }
    for subnet in &inventory.subnets {
        lines.push(format!(
            "subnet {} {} {}",
            subnet.cidr_block().unwrap_or_default(),
            subnet.availability_zone().unwrap_or_default(),
            name(subnet.tags())
        ));
    }
    for gateway in &inventory.internet_gateways {
        lines.push(format!("internet-gateway {}", name(gateway.tags())));
    }
    for gateway in &inventory.nat_gateways {
        lines.push(format!("nat-gateway {}", name(gateway.tags())));
    }
    for address in &inventory.addresses {
        lines.push(format!("elastic-ip {}", name(address.tags())));
    }
    for table in &inventory.route_tables {
        lines.push(format!(
            "route-table {} routes={}",
            name(table.tags()),
            table.routes().len()
        ));
    }
    for group in &inventory.security_groups {
        lines.push(format!(
            "security-group {} ingress={} egress={}",
            group.group_name().unwrap_or_default(),
            group.ip_permissions().len(),
            group.ip_permissions_egress().len()
        ));
    }
    for key in &inventory.key_pairs {
        lines.push(format!("key-pair {}", key.key_name().unwrap_or_default()));
    }
    for template in &inventory.launch_templates {
        let template_name = template.launch_template_name().unwrap_or_default();
        let data = world.block_on(default_launch_template_data(&world.aws, template_name));
        lines.push(format!(
            "launch-template {template_name} {}",
            data.instance_type().map_or("-", |kind| kind.as_str())
        ));
    }
    for group in &inventory.groups {
        lines.push(format!(
            "autoscaling-group {} min={} max={} desired={} instances={}",
            group.auto_scaling_group_name().unwrap_or_default(),
            group.min_size().unwrap_or_default(),
            group.max_size().unwrap_or_default(),
            group.desired_capacity().unwrap_or_default(),
            group.instances().len()
        ));
    }
    for instance in &inventory.instances {
        lines.push(format!(
            "instance {} {}",
            tag(instance.tags(), "aws:autoscaling:groupName").unwrap_or("-"),
            instance.instance_type().map_or("-", |kind| kind.as_str())
        ));
    }
    for volume in &inventory.etcd_volumes {
        lines.push(format!(
            "etcd-volume {} {}GiB",
            name(volume.tags()),
            volume.size().unwrap_or_default()
        ));
    }
    for balancer in &inventory.load_balancers {
        lines.push(format!(
            "load-balancer {}",
            balancer.load_balancer_name().unwrap_or_default()
        ));
    }
    for group in &inventory.target_groups {
        lines.push(format!(
            "target-group {}",
            group.target_group_name().unwrap_or_default()
        ));
    }
    // One line per port: on AWS `CreateListener` is idempotent (a retried call with the same
    // settings returns the listener), the emulator makes a second one when the proxy drops the
    // first answer. Not Berth's doing, so not counted as a difference.
    let ports: std::collections::BTreeSet<i32> = inventory
        .listeners
        .iter()
        .map(|listener| listener.port().unwrap_or_default())
        .collect();
    for port in ports {
        lines.push(format!("listener {port}"));
    }
    lines.sort();
    lines
}

/// Everything of `cluster` left in the world's account (which holds nothing else): every
/// resource the account inventory finds, instances not terminated, volumes tagged for the
/// cluster, IAM roles and instance profiles named for it, Route 53 records under its name.
fn orphans(world: &World, cluster: &str) -> Vec<String> {
    let mut left = resources_modulo_ids(world);
    let aws = &world.aws;
    world.block_on(async {
        let instances = aws
            .ec2
            .describe_instances()
            .send()
            .await
            .expect("DescribeInstances");
        for instance in instances.reservations().iter().flat_map(|r| r.instances()) {
            let state = instance.state().and_then(|state| state.name());
            if state != Some(&InstanceStateName::Terminated) {
                left.push(format!(
                    "instance {} ({state:?})",
                    instance.instance_id().unwrap_or_default()
                ));
            }
        }
        let volumes = aws
            .ec2
            .describe_volumes()
            .filters(
                Filter::builder()
                    .name("tag:KubernetesCluster")
                    .values(cluster)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeVolumes");
        for volume in volumes.volumes() {
            left.push(format!("volume {}", volume.volume_id().unwrap_or_default()));
        }
        let roles = aws.iam.list_roles().send().await.expect("ListRoles");
        for role in roles.roles() {
            if role.role_name().contains(cluster) {
                left.push(format!("iam-role {}", role.role_name()));
            }
        }
        let profiles = aws
            .iam
            .list_instance_profiles()
            .send()
            .await
            .expect("ListInstanceProfiles");
        for profile in profiles.instance_profiles() {
            if profile.instance_profile_name().contains(cluster) {
                left.push(format!(
                    "iam-instance-profile {}",
                    profile.instance_profile_name()
                ));
            }
        }
        let zones = aws
            .route53
            .list_hosted_zones()
            .send()
            .await
            .expect("ListHostedZones");
        for zone in zones.hosted_zones() {
            let records = aws
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone.id())
                .send()
                .await
                .expect("ListResourceRecordSets");
            for record in records.resource_record_sets() {
                if record.name().trim_end_matches('.').ends_with(cluster) {
                    left.push(format!("dns-record {}", record.name()));
                }
            }
        }
    });
    left
}

/// The account's shape (counts per kind), as the update tests compare it.
fn shape(world: &World) -> Shape {
    world.block_on(Inventory::take(&world.aws)).shape()
}

/// Whether the store still holds objects of `cluster`.
fn store_has_cluster(world: &World, cluster: &str) -> bool {
    std::fs::read_dir(world.context.store_dir().join(cluster))
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false)
}

#[test]
fn fault_suite_boundaries_are_a_fibonacci_spread_and_the_last_one() {
    assert_eq!(boundaries(1), Vec::<usize>::new());
    assert_eq!(boundaries(2), [1]);
    assert_eq!(boundaries(9), [1, 2, 3, 5, 8]);
    assert_eq!(boundaries(40), [1, 2, 3, 5, 8, 13, 21, 34, 39]);
}

#[test]
fn fault_suite_retries_are_summed_over_summary_lines() {
    let stderr = "x\n40 done, 0 unchanged, 0 failed, 0 skipped, 0 not run, 3 retries in 1.2s\n\
                  2 done, 0 unchanged, 0 failed, 0 skipped, 0 not run, 4 retries in 0.1s (aborted by the crash hook)\n";
    assert_eq!(retries(stderr), 7);
    let failed = "error: update did not finish\n  caused by: CreateSecurityGroup failed (InvalidGroup.Duplicate)\n  caused by: unhandled error (InvalidGroup.Duplicate)\n";
    assert_eq!(error_code(failed), "InvalidGroup.Duplicate");
    assert_eq!(done_tasks(stderr, "crash hook"), Some(2));
}
