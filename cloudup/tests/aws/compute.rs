//! Tests of the compute, IAM, load-balancer, DNS and file kinds against the emulator.
//!
//! Each test builds a small graph by hand. The network it needs (VPC, subnet, security
//! group) is made directly with the EC2 SDK and its ids are put into the [`Resolver`], so
//! these tests depend only on the kinds under test. Every kind goes through the same cycle
//! with [`converge`]: discover → not found → create → discover → found → unchanged.

use std::{collections::BTreeMap, sync::Arc};

use aws_sdk_ec2::types::{ResourceType, TagSpecification};
use aws_sdk_route53::types::{
    ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use berth_cloudup::aws::AwsClients;
use berth_cloudup::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver,
};
use berth_model::aws::{
    AutoscalingGroup, CLUSTER_TAG, DnsRecord, EbsVolume, Graph, IamInstanceProfile, IamRole,
    IamRolePolicy, KeyPair, LaunchTemplate, Listener, LoadBalancer, ManagedFile, NodeKey, Ref,
    Resource, SecurityGroup, Subnet, Tags, TargetGroup, Vpc, cluster_owned_tag_key,
};
use berth_state_store::ObjectStore;

use crate::support;

const CLUSTER: &str = "compute.example.com";
const ZONE: &str = "us-east-1a";
/// Ubuntu 24.04 amd64 from the emulator's catalogue.
const IMAGE: &str = "ami-0b0e1a2c3d4e5f601";
const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";
const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const NODE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances"],"Resource":"*"}]}"#;

/// One test's account, store and the outputs known so far.
struct Env {
    clients: AwsClients,
    store: Arc<dyn ObjectStore>,
    _store_dir: tempfile::TempDir,
    outputs: BTreeMap<NodeKey, Output>,
}

/// What one convergence step did.
struct Step {
    action: Action,
    fields: Vec<FieldChange>,
    output: Output,
}

impl Env {
    async fn new() -> Env {
        let store_dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(berth_state_store::open_file(store_dir.path()));
        Env {
            clients: support::clients().await,
            store,
            _store_dir: store_dir,
            outputs: BTreeMap::new(),
        }
    }

    fn resolver(&self) -> Resolver {
        Resolver::new(self.outputs.clone())
    }

    /// The plan for `desired`: `None` when it does not exist, else the diff.
    async fn plan<T: Reconcile>(&self, desired: &T) -> Option<(Action, Vec<FieldChange>)> {
        let observed = self.discover(desired).await;
        desired
            .find(&observed)
            .map(|found| desired.diff(found, &self.resolver()))
    }

    async fn discover<T: Reconcile>(&self, desired: &T) -> Vec<T::Observed> {
        let scope = DiscoveryScope {
            clients: &self.clients,
            store: &self.store,
            cluster: CLUSTER,
            desired: vec![desired],
        };
        T::discover(scope)
            .await
            .unwrap_or_else(|error| panic!("discover {}: {error:?}", desired.name()))
    }

    /// Creates a resource with a given attempt number, recording its output.
    async fn create<T: Reconcile>(&mut self, desired: &T, attempt: u32) -> Output {
        let deps = self.resolver();
        let cx = self.cx(&deps, attempt);
        let output = desired
            .create(&cx)
            .await
            .unwrap_or_else(|error| panic!("create {}: {error:?}", desired.name()));
        self.outputs.insert(key(desired), output.clone());
        output
    }

    fn cx<'a>(&'a self, deps: &'a Resolver, attempt: u32) -> ApplyCx<'a> {
        ApplyCx {
            clients: &self.clients,
            store: &self.store,
            cluster: CLUSTER,
            deps,
            attempt,
        }
    }
}

fn key<T: Resource>(resource: &T) -> NodeKey {
    NodeKey::new(T::KIND, resource.name())
}

/// Brings one resource in line, as the engine would: discover, find, then create, update or
/// nothing. Records the output for dependents.
async fn converge<T: Reconcile>(env: &mut Env, desired: &T) -> Step {
    let observed = env.discover(desired).await;
    let deps = env.resolver();
    let step = match desired.find(&observed) {
        None => {
            let fields = desired.describe_create(&deps);
            let cx = env.cx(&deps, 1);
            let output = desired
                .create(&cx)
                .await
                .unwrap_or_else(|error| panic!("create {}: {error:?}", desired.name()));
            Step {
                action: Action::Create,
                fields,
                output,
            }
        }
        Some(found) => {
            let (action, fields) = desired.diff(found, &deps);
            let output = match &action {
                Action::Unchanged => T::output(found),
                Action::Update => {
                    let change = Change {
                        key: key(desired),
                        action: action.clone(),
                        fields: fields.clone(),
                    };
                    desired
                        .update(found, &change, &env.cx(&deps, 1))
                        .await
                        .unwrap_or_else(|error| panic!("update {}: {error:?}", desired.name()))
                }
                Action::Create | Action::Replace { .. } | Action::Conflict { .. } => {
                    panic!("{}: unexpected {action:?}", desired.name())
                }
            };
            Step {
                action,
                fields,
                output,
            }
        }
    };
    env.outputs.insert(key(desired), step.output.clone());
    step
}

/// The full cycle for a new resource: not there, created, then found unchanged.
async fn create_and_check_unchanged<T: Reconcile>(env: &mut Env, desired: &T) -> Output {
    assert!(
        env.plan(desired).await.is_none(),
        "{} exists before creation",
        desired.name()
    );
    let created = converge(env, desired).await;
    assert_eq!(created.action, Action::Create);
    assert_unchanged(env, desired).await;
    created.output
}

async fn assert_unchanged<T: Reconcile>(env: &Env, desired: &T) {
    let (action, fields) = env
        .plan(desired)
        .await
        .unwrap_or_else(|| panic!("{} not found", desired.name()));
    assert_eq!(
        (action, fields),
        (Action::Unchanged, Vec::new()),
        "{}",
        desired.name()
    );
}

fn changed_fields(fields: &[FieldChange]) -> Vec<&str> {
    fields.iter().map(|field| field.field.as_str()).collect()
}

fn tags(name: &str) -> Tags {
    Tags::from([
        (CLUSTER_TAG.to_owned(), CLUSTER.to_owned()),
        (cluster_owned_tag_key(CLUSTER), "owned".to_owned()),
        ("Name".to_owned(), name.to_owned()),
    ])
}

/// The network of a test, made with the EC2 SDK, with its refs and ids.
struct Network {
    vpc: Ref<Vpc>,
    subnet: Ref<Subnet>,
    security_group: Ref<SecurityGroup>,
}

async fn network(env: &mut Env, graph: &mut Graph) -> Network {
    let ec2 = &env.clients.ec2;
    let tagged = |resource_type, name: &str| {
        TagSpecification::builder()
            .resource_type(resource_type)
            .set_tags(Some(
                tags(name)
                    .into_iter()
                    .map(|(key, value)| {
                        aws_sdk_ec2::types::Tag::builder()
                            .key(key)
                            .value(value)
                            .build()
                    })
                    .collect(),
            ))
            .build()
    };
    let vpc_id = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(tagged(ResourceType::Vpc, CLUSTER))
        .send()
        .await
        .unwrap()
        .vpc()
        .and_then(|vpc| vpc.vpc_id())
        .unwrap()
        .to_owned();
    let subnet_id = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.1.0/24")
        .availability_zone(ZONE)
        .send()
        .await
        .unwrap()
        .subnet()
        .and_then(|subnet| subnet.subnet_id())
        .unwrap()
        .to_owned();
    let group_id = ec2
        .create_security_group()
        .vpc_id(&vpc_id)
        .group_name(format!("nodes.{CLUSTER}"))
        .description("nodes")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();

    let vpc = graph
        .add(Vpc {
            name: CLUSTER.into(),
            cidr: "10.0.0.0/16".into(),
            shared_id: None,
            tags: tags(CLUSTER),
        })
        .unwrap();
    let subnet = graph
        .add(Subnet {
            name: format!("{ZONE}.{CLUSTER}"),
            vpc: vpc.clone(),
            cidr: "10.0.1.0/24".into(),
            zone: ZONE.into(),
            shared_id: None,
            tags: Tags::new(),
        })
        .unwrap();
    let security_group = graph
        .add(SecurityGroup {
            name: format!("nodes.{CLUSTER}"),
            vpc: vpc.clone(),
            description: "nodes".into(),
            tags: Tags::new(),
        })
        .unwrap();
    env.outputs.insert(vpc.key().clone(), Output::id(vpc_id));
    env.outputs
        .insert(subnet.key().clone(), Output::id(subnet_id));
    env.outputs
        .insert(security_group.key().clone(), Output::id(group_id));
    Network {
        vpc,
        subnet,
        security_group,
    }
}

struct Iam {
    role: IamRole,
    policy: IamRolePolicy,
    profile: IamInstanceProfile,
    profile_ref: Ref<IamInstanceProfile>,
}

fn iam(graph: &mut Graph) -> Iam {
    let name = format!("nodes.{CLUSTER}");
    let role = IamRole {
        name: name.clone(),
        assume_role_policy: TRUST_POLICY.into(),
        tags: tags(&name),
    };
    let role_ref = graph.add(role.clone()).unwrap();
    let policy = IamRolePolicy {
        name: name.clone(),
        role: role_ref.clone(),
        policy_document: NODE_POLICY.into(),
    };
    graph.add(policy.clone()).unwrap();
    let profile = IamInstanceProfile {
        name: name.clone(),
        role: role_ref,
        tags: tags(&name),
    };
    let profile_ref = graph.add(profile.clone()).unwrap();
    Iam {
        role,
        policy,
        profile,
        profile_ref,
    }
}

#[tokio::test]
async fn iam_role_policy_and_instance_profile_converge() {
    let mut env = Env::new().await;
    let mut graph = Graph::new();
    let Iam {
        role,
        policy,
        profile,
        ..
    } = iam(&mut graph);

    let role_output = create_and_check_unchanged(&mut env, &role).await;
    assert!(role_output.attributes["arn"].ends_with(&format!("role/{}", role.name)));
    create_and_check_unchanged(&mut env, &policy).await;
    let profile_output = create_and_check_unchanged(&mut env, &profile).await;
    assert!(profile_output.attributes["arn"].contains("instance-profile/"));

    // Whitespace and key order are no change; content is, shown as a document.
    let reformatted = IamRolePolicy {
        policy_document: serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(NODE_POLICY).unwrap(),
        )
        .unwrap(),
        ..policy.clone()
    };
    assert_unchanged(&env, &reformatted).await;
    let widened = IamRolePolicy {
        policy_document: NODE_POLICY.replace("ec2:DescribeInstances", "ec2:*"),
        ..policy
    };
    let step = converge(&mut env, &widened).await;
    assert_eq!(step.action, Action::Update);
    assert_eq!(changed_fields(&step.fields), ["policy_document"]);
    assert!(step.fields[0].document && step.fields[0].new.contains("ec2:*"));
    assert_unchanged(&env, &widened).await;

    // A retried create of what already exists adopts it instead of failing or duplicating.
    env.create(&role, 2).await;
    env.create(&profile, 2).await;
    let roles = env.clients.iam.list_roles().send().await.unwrap();
    assert_eq!(
        roles
            .roles()
            .iter()
            .filter(|found| found.role_name() == role.name)
            .count(),
        1
    );
    let profiles = env
        .clients
        .iam
        .list_instance_profiles()
        .send()
        .await
        .unwrap();
    let ours: Vec<_> = profiles
        .instance_profiles()
        .iter()
        .filter(|found| found.instance_profile_name() == profile.name)
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].roles().len(), 1);
    // Even the first attempt adopts a profile that exists (EntityAlreadyExists).
    env.create(&profile, 1).await;
}

#[tokio::test]
async fn key_pair_converges_and_a_new_key_is_a_replacement() {
    let mut env = Env::new().await;
    let key_pair = KeyPair {
        name: format!("{CLUSTER}-admin"),
        public_key: PUBLIC_KEY.into(),
        tags: tags(CLUSTER),
    };
    let output = create_and_check_unchanged(&mut env, &key_pair).await;
    assert_eq!(output.id, key_pair.name);

    env.create(&key_pair, 2).await;
    env.create(&key_pair, 1).await;
    let pairs = env.clients.ec2.describe_key_pairs().send().await.unwrap();
    assert_eq!(pairs.key_pairs().len(), 1);

    let other_key = KeyPair {
        public_key:
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g other"
                .into(),
        ..key_pair.clone()
    };
    let (action, fields) = env.plan(&other_key).await.unwrap();
    assert!(matches!(action, Action::Replace { .. }), "{action:?}");
    assert_eq!(changed_fields(&fields), ["public_key"]);
}

#[tokio::test]
async fn launch_template_and_autoscaling_group_converge_and_update_in_place() {
    let mut env = Env::new().await;
    let mut graph = Graph::new();
    let net = network(&mut env, &mut graph).await;
    let Iam {
        role,
        profile,
        profile_ref,
        ..
    } = iam(&mut graph);
    converge(&mut env, &role).await;
    converge(&mut env, &profile).await;
    let key_pair = KeyPair {
        name: format!("{CLUSTER}-admin"),
        public_key: PUBLIC_KEY.into(),
        tags: tags(CLUSTER),
    };
    let key_pair_ref = graph.add(key_pair.clone()).unwrap();
    converge(&mut env, &key_pair).await;

    let name = format!("nodes.{CLUSTER}");
    let template = LaunchTemplate {
        name: name.clone(),
        image_id: IMAGE.into(),
        instance_type: "t3.medium".into(),
        root_volume_size: 64,
        root_volume_type: "gp3".into(),
        root_volume_encrypted: true,
        root_volume_iops: Some(3000),
        root_volume_throughput: Some(125),
        metadata_http_tokens: "required".into(),
        metadata_hop_limit: 1,
        security_groups: vec![net.security_group.clone()],
        instance_profile: profile_ref,
        key_pair: Some(key_pair_ref),
        associate_public_ip: true,
        user_data: "#!/bin/bash\necho nodeup\n".into(),
        tags: tags(&name),
    };
    let template_ref = graph.add(template.clone()).unwrap();
    let created = create_and_check_unchanged(&mut env, &template).await;
    assert_eq!(created.attributes["latest_version"], "1");

    // A retried create finds the template instead of making a second one.
    let retried = env.create(&template, 2).await;
    assert_eq!(retried.id, created.id);

    // Another instance type: only that field changes, as a new default version.
    let bigger = LaunchTemplate {
        instance_type: "t3.large".into(),
        ..template.clone()
    };
    let (action, fields) = env.plan(&bigger).await.unwrap();
    assert_eq!(action, Action::Update);
    assert_eq!(
        fields,
        [FieldChange::new("instance_type", "t3.medium", "t3.large")]
    );
    let updated = converge(&mut env, &bigger).await;
    assert_eq!(updated.output.attributes["latest_version"], "2");
    assert_unchanged(&env, &bigger).await;
    let described = env
        .clients
        .ec2
        .describe_launch_templates()
        .launch_template_ids(&created.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.launch_templates()[0].default_version_number(),
        Some(2)
    );
    let version = env
        .clients
        .ec2
        .describe_launch_template_versions()
        .launch_template_id(&created.id)
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let data = version.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    assert_eq!(
        data.instance_type().map(|kind| kind.as_str()),
        Some("t3.large")
    );
    let metadata = data.metadata_options().unwrap();
    assert_eq!(
        metadata.http_tokens().map(|tokens| tokens.as_str()),
        Some("required")
    );
    assert_eq!(metadata.http_put_response_hop_limit(), Some(1));

    // User data shows as a document.
    let rebooted = LaunchTemplate {
        user_data: "#!/bin/bash\necho nodeup v2\n".into(),
        ..bigger.clone()
    };
    let (_, fields) = env.plan(&rebooted).await.unwrap();
    assert_eq!(changed_fields(&fields), ["user_data"]);
    assert!(fields[0].document);

    let group = AutoscalingGroup {
        name: name.clone(),
        launch_template: template_ref,
        subnets: vec![net.subnet.clone()],
        min_size: 1,
        max_size: 2,
        target_groups: Vec::new(),
        // The emulator neither stores nor returns MaxInstanceLifetime: a value here would
        // show as a change forever.
        max_instance_lifetime: None,
        tags: Tags::from_iter(
            tags(&name)
                .into_iter()
                .chain([("kops.k8s.io/instancegroup".to_owned(), "nodes".to_owned())]),
        ),
    };
    let group_output = create_and_check_unchanged(&mut env, &group).await;
    assert_eq!(group_output.id, name);
    let groups = env
        .clients
        .autoscaling
        .describe_auto_scaling_groups()
        .send()
        .await
        .unwrap();
    let described = &groups.auto_scaling_groups()[0];
    assert_eq!(
        described.instances().len(),
        1,
        "the group launched its minimum"
    );
    assert_eq!(
        described
            .launch_template()
            .and_then(|template| template.version()),
        Some("$Latest")
    );

    let larger = AutoscalingGroup {
        max_size: 3,
        ..group.clone()
    };
    let step = converge(&mut env, &larger).await;
    assert_eq!(step.action, Action::Update);
    assert_eq!(step.fields, [FieldChange::new("max_size", 2, 3)]);
    assert_unchanged(&env, &larger).await;

    env.create(&larger, 2).await;
    let groups = env
        .clients
        .autoscaling
        .describe_auto_scaling_groups()
        .send()
        .await
        .unwrap();
    assert_eq!(groups.auto_scaling_groups().len(), 1);
}

#[tokio::test]
async fn etcd_volume_converges_grows_in_place_and_refuses_to_shrink() {
    let mut env = Env::new().await;
    let name = format!("a.etcd-main.{CLUSTER}");
    let mut volume_tags = tags(&name);
    volume_tags.insert("k8s.io/etcd/main".into(), "a/a".into());
    volume_tags.insert("k8s.io/role/control-plane".into(), "1".into());
    let volume = EbsVolume {
        name,
        zone: ZONE.into(),
        size: 20,
        volume_type: "gp3".into(),
        iops: Some(3000),
        throughput: Some(125),
        encrypted: true,
        tags: volume_tags,
    };
    let created = create_and_check_unchanged(&mut env, &volume).await;
    assert!(created.id.starts_with("vol-"));

    let retried = env.create(&volume, 2).await;
    assert_eq!(retried.id, created.id);

    let grown = EbsVolume {
        size: 40,
        ..volume.clone()
    };
    let step = converge(&mut env, &grown).await;
    assert_eq!(step.action, Action::Update);
    assert_eq!(changed_fields(&step.fields), ["size"]);
    assert_unchanged(&env, &grown).await;

    let (action, _) = env.plan(&volume).await.unwrap();
    assert!(
        matches!(action, Action::Replace { .. }),
        "shrinking: {action:?}"
    );
    let moved = EbsVolume {
        zone: "us-east-1b".into(),
        ..grown
    };
    let (action, fields) = env.plan(&moved).await.unwrap();
    assert!(
        matches!(action, Action::Replace { .. }),
        "moving: {action:?}"
    );
    assert_eq!(changed_fields(&fields), ["zone"]);
}

#[tokio::test]
async fn load_balancer_listener_and_dns_alias_converge() {
    let mut env = Env::new().await;
    let mut graph = Graph::new();
    let net = network(&mut env, &mut graph).await;

    let balancer = LoadBalancer {
        name: "api-compute-example".into(),
        scheme: "internet-facing".into(),
        subnets: vec![net.subnet.clone()],
        security_groups: vec![net.security_group.clone()],
        tags: tags(&format!("api.{CLUSTER}")),
    };
    let balancer_ref = graph.add(balancer.clone()).unwrap();
    let target_group = TargetGroup {
        name: "tcp-compute-example".into(),
        vpc: net.vpc.clone(),
        protocol: "TCP".into(),
        port: 443,
        tags: tags(&format!("tcp.{CLUSTER}")),
    };
    let target_group_ref = graph.add(target_group.clone()).unwrap();
    let listener = Listener {
        name: "api-compute-example-443".into(),
        load_balancer: balancer_ref.clone(),
        target_group: target_group_ref,
        port: 443,
    };
    graph.add(listener.clone()).unwrap();

    let balancer_output = create_and_check_unchanged(&mut env, &balancer).await;
    assert!(
        balancer_output
            .id
            .starts_with("arn:aws:elasticloadbalancing:")
    );
    assert!(balancer_output.attributes.contains_key("dns_name"));
    create_and_check_unchanged(&mut env, &target_group).await;
    create_and_check_unchanged(&mut env, &listener).await;
    // Retried creates find their earlier attempt.
    assert_eq!(env.create(&balancer, 2).await.id, balancer_output.id);
    env.create(&listener, 2).await;
    let listeners = env
        .clients
        .elb
        .describe_listeners()
        .load_balancer_arn(&balancer_output.id)
        .send()
        .await
        .unwrap();
    assert_eq!(listeners.listeners().len(), 1);

    let retagged = TargetGroup {
        tags: tags("renamed"),
        ..target_group.clone()
    };
    let step = converge(&mut env, &retagged).await;
    assert_eq!(changed_fields(&step.fields), ["tags"]);
    assert_unchanged(&env, &retagged).await;
    let moved = TargetGroup {
        port: 6443,
        ..target_group
    };
    assert!(matches!(
        env.plan(&moved).await.unwrap().0,
        Action::Replace { .. }
    ));

    // The user's zone, with a record of its own that must stay.
    let zone = env
        .clients
        .route53
        .create_hosted_zone()
        .name("example.com")
        .caller_reference(format!("compute-{}", fastrand::u64(..)))
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    let other = ResourceRecordSet::builder()
        .name("www.example.com")
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
    env.clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(other)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let record = DnsRecord {
        name: format!("api.{CLUSTER}"),
        zone: "example.com".into(),
        private_zone: false,
        load_balancer: balancer_ref,
    };
    create_and_check_unchanged(&mut env, &record).await;
    let records = env
        .clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = records
        .resource_record_sets()
        .iter()
        .map(|set| set.name())
        .collect();
    assert!(names.contains(&"www.example.com."), "{names:?}");
    let ours: Vec<_> = records
        .resource_record_sets()
        .iter()
        .filter(|set| set.name() == format!("api.{CLUSTER}."))
        .collect();
    assert_eq!(ours.len(), 1);
    let alias = ours[0].alias_target().expect("an alias record");
    assert_eq!(
        alias.dns_name().trim_end_matches('.').to_ascii_lowercase(),
        balancer_output.attributes["dns_name"].to_ascii_lowercase()
    );

    // Another load balancer DNS name is an update (an UPSERT).
    let deps_key = record.load_balancer.key().clone();
    let moved_balancer = balancer_output
        .clone()
        .with("dns_name", "other-1.us-east-1.elb.amazonaws.com");
    env.outputs.insert(deps_key.clone(), moved_balancer);
    let step = converge(&mut env, &record).await;
    assert_eq!(changed_fields(&step.fields), ["alias_dns_name"]);
    assert_unchanged(&env, &record).await;

    // A record in a zone that does not exist fails discovery with a clear error.
    let lost = DnsRecord {
        zone: "missing.example.org".into(),
        ..record
    };
    let scope = DiscoveryScope {
        clients: &env.clients,
        store: &env.store,
        cluster: CLUSTER,
        desired: vec![&lost],
    };
    let error = DnsRecord::discover(scope).await.unwrap_err();
    assert!(error.to_string().contains("missing.example.org"), "{error}");
}

#[tokio::test]
async fn managed_file_converges_with_a_document_diff() {
    let mut env = Env::new().await;
    let file = ManagedFile {
        name: format!("{CLUSTER}/cluster-completed.spec"),
        contents: "kind: Cluster\n".into(),
    };
    let output = create_and_check_unchanged(&mut env, &file).await;
    assert_eq!(output.id, file.name);

    let edited = ManagedFile {
        contents: "kind: Cluster\nspec: {}\n".into(),
        ..file.clone()
    };
    let step = converge(&mut env, &edited).await;
    assert_eq!(step.action, Action::Update);
    assert!(step.fields[0].document);
    assert_unchanged(&env, &edited).await;
    env.create(&edited, 2).await;
    assert_unchanged(&env, &edited).await;
}
