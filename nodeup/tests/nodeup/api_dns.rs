//! The API's DNS records a control-plane node keeps ([`berth_nodeup::api_dns`]) against the
//! moto emulator: hosted zones and instances created here, each test in an account of its
//! own, Route 53 calls counted by the test support's proxy.

use std::{collections::BTreeMap, net::Ipv4Addr};

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
use aws_sdk_ec2::{
    config::Credentials,
    types::{AttributeBooleanValue, Filter, InstanceType, ResourceType, Tag, TagSpecification},
};
use aws_sdk_route53::types::{HostedZoneConfig, RrType, Vpc, VpcRegion};
use berth_model::nodeup_config::ApiDnsConfig;
use berth_nodeup::api_dns::{self, ApiDnsError, RecordChange};
use berth_test_support::{
    emulated_network,
    fault_proxy::{FaultConfig, FaultProxy},
    moto::{MotoServer, REGION},
};

const ZONE: &str = "example.com";

/// An account of its own on the emulator: EC2 straight to it, Route 53 through a counting
/// proxy, and a VPC with one subnet that gives instances public addresses.
struct World {
    ec2: aws_sdk_ec2::Client,
    route53: aws_sdk_route53::Client,
    proxy: FaultProxy,
    vpc_id: String,
    subnet_id: String,
    image_id: String,
}

impl World {
    async fn new() -> Self {
        let moto = MotoServer::shared();
        let env: BTreeMap<String, String> = moto.account_env().into_iter().collect();
        let credentials = Credentials::new(
            &env["AWS_ACCESS_KEY_ID"],
            &env["AWS_SECRET_ACCESS_KEY"],
            env.get("AWS_SESSION_TOKEN").cloned(),
            None,
            "moto",
        );
        let proxy = FaultProxy::start(&moto.endpoint(), FaultConfig::default())
            .await
            .expect("the counting proxy starts");
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(moto.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(credentials)
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await;
        let ec2 = aws_sdk_ec2::Client::new(&sdk);
        let route53 =
            aws_sdk_route53::Client::new(&sdk.to_builder().endpoint_url(proxy.endpoint()).build());
        let vpc_id = emulated_network::create_vpc(&ec2, "10.40.0.0/16").await;
        let subnet_id =
            emulated_network::create_subnet(&ec2, &vpc_id, "10.40.1.0/24", "us-east-1a").await;
        ec2.modify_subnet_attribute()
            .subnet_id(&subnet_id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .unwrap();
        let image_id = emulated_network::ubuntu_image(&ec2).await;
        Self {
            ec2,
            route53,
            proxy,
            vpc_id,
            subnet_id,
            image_id,
        }
    }

    /// Creates a hosted zone named [`ZONE`] (private ones in this world's VPC); returns its
    /// id without the `/hostedzone/` prefix.
    async fn create_zone(&self, private: bool) -> String {
        let mut request = self
            .route53
            .create_hosted_zone()
            .name(ZONE)
            .caller_reference(format!("api-dns-{private}-{}", self.vpc_id));
        if private {
            request = request
                .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build())
                .vpc(
                    Vpc::builder()
                        .vpc_id(&self.vpc_id)
                        .vpc_region(VpcRegion::UsEast1)
                        .build(),
                );
        }
        let zone = request.send().await.unwrap();
        zone.hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_owned()
    }

    /// Launches `count` instances tagged as `role` instances of `cluster`; returns their ids.
    async fn launch(&self, cluster: &str, role: &str, count: i32) -> Vec<String> {
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(
                Tag::builder()
                    .key("KubernetesCluster")
                    .value(cluster)
                    .build(),
            )
            .tags(
                Tag::builder()
                    .key(format!("k8s.io/role/{role}"))
                    .value("1")
                    .build(),
            )
            .build();
        self.ec2
            .run_instances()
            .image_id(&self.image_id)
            .instance_type(InstanceType::T3Medium)
            .min_count(count)
            .max_count(count)
            .subnet_id(&self.subnet_id)
            .tag_specifications(tags)
            .send()
            .await
            .unwrap()
            .instances()
            .iter()
            .map(|instance| instance.instance_id().unwrap().to_owned())
            .collect()
    }

    /// The (private, public) addresses of `instances`, each sorted.
    async fn addresses(&self, instances: &[String]) -> (Vec<Ipv4Addr>, Vec<Ipv4Addr>) {
        let found = self
            .ec2
            .describe_instances()
            .set_instance_ids(Some(instances.to_vec()))
            .send()
            .await
            .unwrap();
        let mut private = Vec::new();
        let mut public = Vec::new();
        for instance in found
            .reservations()
            .iter()
            .flat_map(|reservation| reservation.instances())
        {
            private.push(instance.private_ip_address().unwrap().parse().unwrap());
            public.push(
                instance
                    .public_ip_address()
                    .expect("moto gives instances of a MapPublicIpOnLaunch subnet a public address")
                    .parse()
                    .unwrap(),
            );
        }
        private.sort_unstable();
        public.sort_unstable();
        (private, public)
    }

    async fn terminate(&self, instances: &[String]) {
        self.ec2
            .terminate_instances()
            .set_instance_ids(Some(instances.to_vec()))
            .send()
            .await
            .unwrap();
        let remaining = self
            .ec2
            .describe_instances()
            .set_instance_ids(Some(instances.to_vec()))
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("pending")
                    .values("running")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(remaining.reservations().is_empty(), "terminated at once");
    }

    /// The addresses and TTL of the A record `name` in `zone_id` (`None` when it is absent).
    async fn record(&self, zone_id: &str, name: &str) -> Option<(Vec<Ipv4Addr>, Option<i64>)> {
        let sets = self
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .send()
            .await
            .unwrap();
        sets.resource_record_sets()
            .iter()
            .find(|set| set.name().trim_end_matches('.') == name && *set.r#type() == RrType::A)
            .map(|set| {
                let mut addresses: Vec<Ipv4Addr> = set
                    .resource_records()
                    .iter()
                    .map(|record| record.value().parse().unwrap())
                    .collect();
                addresses.sort_unstable();
                (addresses, set.ttl())
            })
    }

    /// `ChangeResourceRecordSets` calls through the proxy so far.
    fn change_calls(&self) -> u64 {
        self.proxy
            .stats()
            .by_action
            .iter()
            .filter(|(action, _)| action.starts_with("POST ") && action.contains("/rrset"))
            .map(|(_, stats)| stats.calls)
            .sum()
    }

    async fn publish(
        &self,
        cluster: &str,
        dns: &ApiDnsConfig,
    ) -> Result<api_dns::ApiDnsOutcome, ApiDnsError> {
        api_dns::publish(&self.ec2, &self.route53, cluster, dns).await
    }
}

fn config(cluster: &str, private_zone: bool, public_addresses: bool) -> ApiDnsConfig {
    ApiDnsConfig {
        zone: ZONE.to_owned(),
        private_zone,
        public_name: format!("api.{cluster}"),
        internal_name: format!("api.internal.{cluster}"),
        public_addresses,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_dns_publishes_once_then_follows_the_control_plane_instances() {
    let world = World::new().await;
    let cluster = "dns.example.com";
    let zone_id = world.create_zone(false).await;
    let control_plane = world.launch(cluster, "control-plane", 2).await;
    // Neither a worker nor another cluster's control plane is listed.
    world.launch(cluster, "node", 1).await;
    world.launch("other.example.com", "control-plane", 1).await;
    let (private, public) = world.addresses(&control_plane).await;
    let dns = config(cluster, false, true);
    let (public_name, internal_name) = (dns.public_name.clone(), dns.internal_name.clone());

    let first = world.publish(cluster, &dns).await.unwrap();
    assert_eq!(first.zone_id, zone_id);
    assert_eq!(first.instances, 2);
    assert_eq!(
        first.record(&public_name),
        Some(&RecordChange::Upserted {
            addresses: public.clone(),
            previous: Vec::new()
        }),
        "{first}"
    );
    assert_eq!(
        first.record(&internal_name),
        Some(&RecordChange::Upserted {
            addresses: private.clone(),
            previous: Vec::new()
        }),
        "{first}"
    );
    assert!(first.to_string().contains("upserted"), "{first}");
    assert_eq!(
        world.record(&zone_id, &public_name).await,
        Some((public.clone(), Some(api_dns::RECORD_TTL)))
    );
    assert_eq!(
        world.record(&zone_id, &internal_name).await,
        Some((private.clone(), Some(api_dns::RECORD_TTL)))
    );
    assert_eq!(
        world.change_calls(),
        1,
        "both records in one change: {:?}",
        world.proxy.stats()
    );

    let second = world.publish(cluster, &dns).await.unwrap();
    assert!(!second.changed(), "{second}");
    assert_eq!(
        second.record(&internal_name),
        Some(&RecordChange::Unchanged {
            addresses: private.clone()
        })
    );
    assert!(second.to_string().contains("unchanged"), "{second}");
    assert_eq!(world.change_calls(), 1, "a second run sends no change");

    // A terminated control-plane node drops out of both records.
    world.terminate(&control_plane[..1]).await;
    let (remaining_private, remaining_public) = world.addresses(&control_plane[1..]).await;
    let third = world.publish(cluster, &dns).await.unwrap();
    assert_eq!(third.instances, 1);
    assert_eq!(
        third.record(&internal_name),
        Some(&RecordChange::Upserted {
            addresses: remaining_private.clone(),
            previous: private.clone()
        }),
        "{third}"
    );
    assert_eq!(
        world.record(&zone_id, &public_name).await.map(|(a, _)| a),
        Some(remaining_public.clone())
    );
    assert_eq!(world.change_calls(), 2);

    // With no control-plane instance left, the records stay as they were.
    world.terminate(&control_plane[1..]).await;
    let last = world.publish(cluster, &dns).await.unwrap();
    assert_eq!(last.instances, 0);
    assert!(!last.changed(), "{last}");
    assert!(
        last.records
            .iter()
            .all(|record| record.change == RecordChange::NoAddresses)
    );
    assert!(
        last.to_string().contains("left") && last.to_string().contains(&internal_name),
        "{last}"
    );
    assert_eq!(world.change_calls(), 2, "never publishes an empty record");
    assert_eq!(
        world.record(&zone_id, &internal_name).await.map(|(a, _)| a),
        Some(remaining_private)
    );
    assert_eq!(
        world.record(&zone_id, &public_name).await.map(|(a, _)| a),
        Some(remaining_public)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_dns_uses_the_private_zone_and_private_addresses_when_instances_have_no_public_ones() {
    let world = World::new().await;
    let cluster = "private.example.com";
    // A public zone of the same name must be left alone.
    let public_zone = world.create_zone(false).await;
    let private_zone = world.create_zone(true).await;
    let control_plane = world.launch(cluster, "control-plane", 3).await;
    let (private, _) = world.addresses(&control_plane).await;
    let dns = config(cluster, true, false);

    let outcome = world.publish(cluster, &dns).await.unwrap();
    assert_eq!(outcome.zone_id, private_zone, "{outcome}");
    for name in [&dns.public_name, &dns.internal_name] {
        assert_eq!(
            world.record(&private_zone, name).await.map(|(a, _)| a),
            Some(private.clone()),
            "{name}"
        );
        assert_eq!(world.record(&public_zone, name).await, None, "{name}");
    }
    assert_eq!(world.change_calls(), 1);
    let again = world.publish(cluster, &dns).await.unwrap();
    assert!(!again.changed(), "{again}");
    assert_eq!(world.change_calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_dns_without_the_hosted_zone_is_an_error_naming_it() {
    let world = World::new().await;
    let cluster = "nozone.example.com";
    world.launch(cluster, "control-plane", 1).await;

    let error = world
        .publish(cluster, &config(cluster, false, true))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ApiDnsError::ZoneNotFound { zone, private_zone: false, .. } if zone == ZONE),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("no public Route 53 hosted zone is named `example.com`")
            && message.contains("api.internal.nozone.example.com"),
        "{message}"
    );

    // A public zone does not stand in for the private one the config names.
    world.create_zone(false).await;
    let error = world
        .publish(cluster, &config(cluster, true, false))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no private Route 53 hosted zone is named `example.com`"),
        "{error}"
    );
    assert_eq!(world.change_calls(), 0);
}
