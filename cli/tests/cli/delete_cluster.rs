//! `berth delete cluster` end to end against the AWS emulator: list, delete a private HA
//! cluster (cloud, DNS records and store objects; the hosted zone and its other records
//! stay), delete after the store is gone, and finish an interrupted delete.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::{config::Credentials, types::Filter};
use berth_cloudup::aws::AwsClients;
use berth_test_support::moto::{MotoServer, REGION};

use crate::context::{Run, TestContext, ok, run};

const SSH_PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";
const NODEUP_URL: &str = "https://example.invalid/nodeup";
const NODEUP_SHA256: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A store, an emulator account of the test's own, and clients for that account.
struct World {
    context: TestContext,
    env: Vec<(String, String)>,
    runtime: tokio::runtime::Runtime,
    aws: AwsClients,
}

impl World {
    fn new() -> Self {
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
                .expect("account env")
        };
        let credentials = Credentials::new(
            value("AWS_ACCESS_KEY_ID"),
            value("AWS_SECRET_ACCESS_KEY"),
            Some(value("AWS_SESSION_TOKEN")),
            None,
            "test",
        );
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(MotoServer::shared().endpoint())
                .region(Region::new(REGION))
                .credentials_provider(credentials)
                .load(),
        );
        Self {
            context: TestContext::new(),
            aws: AwsClients::new(&config),
            env,
            runtime,
        }
    }

    fn berth(&self) -> assert_cmd::Command {
        let mut command = self.context.berth();
        command
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env("BERTH_NODEUP_URL", NODEUP_URL)
            .env("BERTH_NODEUP_SHA256", NODEUP_SHA256);
        command
    }

    fn create(&self, name: &str, extra: &[&str]) {
        let key = self.context.write("admin.pub", SSH_PUBLIC_KEY);
        ok(self
            .berth()
            .args(["create", "cluster", name])
            .args(extra)
            .arg("--ssh-public-key")
            .arg(key));
        ok(self.berth().args(["update", "cluster", name, "--yes"]));
    }

    fn delete(&self, name: &str, args: &[&str]) -> Run {
        run(self.berth().args(["delete", "cluster", name]).args(args))
    }

    fn hosted_zone(&self, zone: &str) -> String {
        use aws_sdk_route53::types::{
            Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
        };
        let route53 = &self.aws.route53;
        self.runtime.block_on(async {
            let created = route53
                .create_hosted_zone()
                .name(zone)
                .caller_reference(format!("delete-cli-{}-{zone}", std::process::id()))
                .send()
                .await
                .unwrap();
            let zone_id = created.hosted_zone().unwrap().id().to_owned();
            let record = ResourceRecordSet::builder()
                .name(format!("www.{zone}"))
                .r#type(RrType::A)
                .ttl(300)
                .resource_records(
                    ResourceRecord::builder()
                        .value("192.0.2.1")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap();
            let change = Change::builder()
                .action(ChangeAction::Create)
                .resource_record_set(record)
                .build()
                .unwrap();
            route53
                .change_resource_record_sets()
                .hosted_zone_id(&zone_id)
                .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
                .send()
                .await
                .unwrap();
            zone_id
        })
    }

    fn record_names(&self, zone_id: &str) -> Vec<String> {
        self.runtime.block_on(async {
            let records = self
                .aws
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
        })
    }

    /// What is left of `cluster` in the account: live instances, and VPCs, subnets, security
    /// groups, volumes tagged for it; its autoscaling groups and IAM roles.
    fn leftovers(&self, cluster: &str) -> Vec<String> {
        let aws = &self.aws;
        self.runtime.block_on(async {
            let tag = || {
                Filter::builder()
                    .name("tag:KubernetesCluster")
                    .values(cluster)
                    .build()
            };
            let mut left = Vec::new();
            let instances = aws
                .ec2
                .describe_instances()
                .filters(tag())
                .send()
                .await
                .unwrap();
            for instance in instances.reservations().iter().flat_map(|r| r.instances()) {
                if instance.state().and_then(|state| state.name())
                    != Some(&aws_sdk_ec2::types::InstanceStateName::Terminated)
                {
                    left.push(format!("instance {:?}", instance.instance_id()));
                }
            }
            let vpcs = aws.ec2.describe_vpcs().filters(tag()).send().await.unwrap();
            left.extend(vpcs.vpcs().iter().map(|v| format!("vpc {:?}", v.vpc_id())));
            let subnets = aws
                .ec2
                .describe_subnets()
                .filters(tag())
                .send()
                .await
                .unwrap();
            left.extend(
                subnets
                    .subnets()
                    .iter()
                    .map(|s| format!("subnet {:?}", s.subnet_id())),
            );
            let groups = aws
                .ec2
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
            let volumes = aws
                .ec2
                .describe_volumes()
                .filters(tag())
                .send()
                .await
                .unwrap();
            left.extend(
                volumes
                    .volumes()
                    .iter()
                    .map(|v| format!("volume {:?}", v.volume_id())),
            );
            let asgs = aws
                .autoscaling
                .describe_auto_scaling_groups()
                .send()
                .await
                .unwrap();
            left.extend(
                asgs.auto_scaling_groups()
                    .iter()
                    .filter_map(|g| g.auto_scaling_group_name())
                    .filter(|name| name.ends_with(cluster))
                    .map(|name| format!("asg {name}")),
            );
            for prefix in ["masters", "nodes", "bastions"] {
                let name = format!("{prefix}.{cluster}");
                if aws.iam.get_role().role_name(&name).send().await.is_ok() {
                    left.push(format!("role {name}"));
                }
            }
            left
        })
    }

    fn store_has_cluster(&self, cluster: &str) -> bool {
        let dir = self.context.store_dir().join(cluster);
        dir.exists()
            && std::fs::read_dir(&dir)
                .map(|mut entries| entries.next().is_some())
                .unwrap_or(false)
    }
}

#[test]
fn delete_lists_then_removes_a_private_ha_cluster_and_its_store_objects() {
    let world = World::new();
    let zone_id = world.hosted_zone("example.net");
    let name = "b.example.net";
    let zones = "us-east-1a,us-east-1b,us-east-1c";
    world.create(
        name,
        &[
            "--zones",
            zones,
            "--control-plane-zones",
            zones,
            "--topology",
            "private",
            "--bastion",
            "--dns-zone",
            "example.net",
            "--api-loadbalancer-type",
            "public",
        ],
    );
    assert!(
        world
            .record_names(&zone_id)
            .contains(&format!("api.{name}"))
    );

    // Without --yes: a listing, nothing changes.
    let listing = world.delete(name, &[]);
    assert_eq!(listing.code, 0, "{}", listing.stderr);
    for kind in [
        "Vpc",
        "NatGateway",
        "AutoscalingGroup",
        "IamRole",
        "DnsRecord",
        "StateStoreObject",
    ] {
        assert!(
            listing.stdout.contains(kind),
            "{kind} not listed:\n{}",
            listing.stdout
        );
    }
    assert!(listing.stderr.contains("--yes"), "{}", listing.stderr);
    let json = world.delete(name, &["-o", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON listing");
    assert!(
        parsed["resources"]
            .as_array()
            .is_some_and(|resources| resources.len() > 50)
    );
    assert!(parsed["resources"][0]["kind"].is_string());
    assert!(world.store_has_cluster(name));
    assert!(!world.leftovers(name).is_empty());

    let deleted = world.delete(name, &["--yes"]);
    deleted.assert_code(0, "");
    assert_eq!(world.leftovers(name), Vec::<String>::new());
    let records = world.record_names(&zone_id);
    assert!(
        records.contains(&"www.example.net".to_owned()),
        "{records:?}"
    );
    assert!(
        !records.iter().any(|record| record.ends_with(name)),
        "{records:?}"
    );
    assert!(!world.store_has_cluster(name), "store objects are left");

    // Deleting again is a no-op.
    let again = world.delete(name, &["--yes"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
}

#[test]
fn delete_finds_the_cluster_by_its_tags_when_the_store_is_already_gone() {
    let world = World::new();
    let name = "gone.example.com";
    world.create(name, &["--zones", "us-east-1a"]);
    std::fs::remove_dir_all(world.context.store_dir().join(name)).unwrap();

    let deleted = world.delete(name, &["--yes"]);
    deleted.assert_code(0, "");
    assert_eq!(world.leftovers(name), Vec::<String>::new());
}

#[test]
fn an_interrupted_delete_is_finished_by_running_it_again() {
    let world = World::new();
    let name = "again.example.com";
    world.create(name, &["--zones", "us-east-1a"]);

    let crashed = run(world
        .berth()
        .env("BERTH_ABORT_AFTER_TASKS", "12")
        .args(["delete", "cluster", name, "--yes"]));
    crashed.assert_code(4, "");
    assert!(!world.leftovers(name).is_empty());
    assert!(
        world.store_has_cluster(name),
        "the store went before the cloud was clean"
    );
    // The crashed run's lease would expire; expire it now.
    std::fs::remove_file(
        world
            .context
            .store_dir()
            .join(name)
            .join("berth-lease.json"),
    )
    .unwrap();

    let finished = world.delete(name, &["--yes"]);
    finished.assert_code(0, "");
    assert_eq!(world.leftovers(name), Vec::<String>::new());
    assert!(!world.store_has_cluster(name));
}
