//! What exists in a test's emulator account, described straight from the emulator (never
//! through the CLI), and its shape: how many resources of each kind.

use aws_sdk_autoscaling::types::AutoScalingGroup;
use aws_sdk_ec2::types::{
    Address, Filter, Instance, InternetGateway, KeyPairInfo, LaunchTemplate, NatGateway,
    NatGatewayState, RouteTable, SecurityGroup, Subnet, Tag, Volume, Vpc,
};
use aws_sdk_elasticloadbalancingv2::types::{Listener, LoadBalancer, TargetGroup};
use berth_cloudup::aws::AwsClients;

/// Everything a cluster can own in the account (the account holds nothing else), leaving out
/// the region's default VPC and what is in it.
#[derive(Debug)]
pub(crate) struct Inventory {
    pub(crate) vpcs: Vec<Vpc>,
    pub(crate) subnets: Vec<Subnet>,
    pub(crate) internet_gateways: Vec<InternetGateway>,
    /// NAT gateways that are not deleted.
    pub(crate) nat_gateways: Vec<NatGateway>,
    pub(crate) addresses: Vec<Address>,
    /// Route tables other than the VPCs' main ones.
    pub(crate) route_tables: Vec<RouteTable>,
    /// Security groups other than the VPCs' default ones.
    pub(crate) security_groups: Vec<SecurityGroup>,
    pub(crate) key_pairs: Vec<KeyPairInfo>,
    pub(crate) launch_templates: Vec<LaunchTemplate>,
    pub(crate) groups: Vec<AutoScalingGroup>,
    /// Running instances.
    pub(crate) instances: Vec<Instance>,
    /// Volumes tagged `k8s.io/etcd/<cluster>` (instances' root volumes left out).
    pub(crate) etcd_volumes: Vec<Volume>,
    pub(crate) load_balancers: Vec<LoadBalancer>,
    pub(crate) target_groups: Vec<TargetGroup>,
    pub(crate) listeners: Vec<Listener>,
}

/// How many resources of each kind exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) vpcs: usize,
    pub(crate) subnets: usize,
    pub(crate) internet_gateways: usize,
    pub(crate) nat_gateways: usize,
    pub(crate) addresses: usize,
    pub(crate) route_tables: usize,
    pub(crate) security_groups: usize,
    pub(crate) key_pairs: usize,
    pub(crate) launch_templates: usize,
    pub(crate) groups: usize,
    pub(crate) instances: usize,
    pub(crate) etcd_volumes: usize,
    pub(crate) load_balancers: usize,
    pub(crate) target_groups: usize,
    pub(crate) listeners: usize,
}

/// The public single-zone reference cluster: one control-plane node, two workers.
pub(crate) const PUBLIC_SHAPE: Shape = Shape {
    vpcs: 1,
    subnets: 1,
    internet_gateways: 1,
    nat_gateways: 0,
    addresses: 0,
    route_tables: 1,
    security_groups: 3,
    key_pairs: 1,
    launch_templates: 2,
    groups: 2,
    instances: 3,
    etcd_volumes: 2,
    load_balancers: 1,
    target_groups: 1,
    listeners: 1,
};

impl Inventory {
    /// Describes the whole account, one call per kind (plus one per load balancer).
    pub(crate) async fn take(aws: &AwsClients) -> Inventory {
        let ec2 = &aws.ec2;
        let vpcs = ec2.describe_vpcs().send().await.expect("DescribeVpcs");
        let subnets = ec2
            .describe_subnets()
            .send()
            .await
            .expect("DescribeSubnets");
        let gateways = ec2
            .describe_internet_gateways()
            .send()
            .await
            .expect("DescribeInternetGateways");
        let nat_gateways = ec2
            .describe_nat_gateways()
            .send()
            .await
            .expect("DescribeNatGateways");
        let addresses = ec2
            .describe_addresses()
            .send()
            .await
            .expect("DescribeAddresses");
        let route_tables = ec2
            .describe_route_tables()
            .send()
            .await
            .expect("DescribeRouteTables");
        let security_groups = ec2
            .describe_security_groups()
            .send()
            .await
            .expect("DescribeSecurityGroups");
        let key_pairs = ec2
            .describe_key_pairs()
            .send()
            .await
            .expect("DescribeKeyPairs");
        let launch_templates = ec2
            .describe_launch_templates()
            .send()
            .await
            .expect("DescribeLaunchTemplates");
        let instances = ec2
            .describe_instances()
            .filters(filter("instance-state-name", "running"))
            .send()
            .await
            .expect("DescribeInstances");
        let volumes = ec2
            .describe_volumes()
            .send()
            .await
            .expect("DescribeVolumes");
        let groups = aws
            .autoscaling
            .describe_auto_scaling_groups()
            .send()
            .await
            .expect("DescribeAutoScalingGroups");
        let load_balancers = aws
            .elb
            .describe_load_balancers()
            .send()
            .await
            .expect("DescribeLoadBalancers");
        let target_groups = aws
            .elb
            .describe_target_groups()
            .send()
            .await
            .expect("DescribeTargetGroups");
        let mut listeners = Vec::new();
        for balancer in load_balancers.load_balancers() {
            let found = aws
                .elb
                .describe_listeners()
                .load_balancer_arn(balancer.load_balancer_arn().unwrap_or_default())
                .send()
                .await
                .expect("DescribeListeners");
            listeners.extend(found.listeners().iter().cloned());
        }
        let default_vpcs: Vec<&str> = vpcs
            .vpcs()
            .iter()
            .filter(|vpc| vpc.is_default() == Some(true))
            .filter_map(Vpc::vpc_id)
            .collect();
        let outside_default = |vpc: Option<&str>| !vpc.is_some_and(|id| default_vpcs.contains(&id));
        Inventory {
            vpcs: vpcs
                .vpcs()
                .iter()
                .filter(|vpc| outside_default(vpc.vpc_id()))
                .cloned()
                .collect(),
            subnets: subnets
                .subnets()
                .iter()
                .filter(|subnet| outside_default(subnet.vpc_id()))
                .cloned()
                .collect(),
            internet_gateways: gateways
                .internet_gateways()
                .iter()
                .filter(|gateway| {
                    gateway
                        .attachments()
                        .iter()
                        .all(|attachment| outside_default(attachment.vpc_id()))
                })
                .cloned()
                .collect(),
            nat_gateways: nat_gateways
                .nat_gateways()
                .iter()
                .filter(|gateway| {
                    !matches!(
                        gateway.state(),
                        Some(NatGatewayState::Deleted | NatGatewayState::Deleting)
                    )
                })
                .cloned()
                .collect(),
            addresses: addresses.addresses().to_vec(),
            route_tables: route_tables
                .route_tables()
                .iter()
                .filter(|table| outside_default(table.vpc_id()))
                .filter(|table| {
                    !table
                        .associations()
                        .iter()
                        .any(|association| association.main() == Some(true))
                })
                .cloned()
                .collect(),
            security_groups: security_groups
                .security_groups()
                .iter()
                .filter(|group| outside_default(group.vpc_id()))
                .filter(|group| group.group_name() != Some("default"))
                .cloned()
                .collect(),
            key_pairs: key_pairs.key_pairs().to_vec(),
            launch_templates: launch_templates.launch_templates().to_vec(),
            groups: groups.auto_scaling_groups().to_vec(),
            instances: instances
                .reservations()
                .iter()
                .flat_map(|reservation| reservation.instances().iter().cloned())
                .collect(),
            etcd_volumes: volumes
                .volumes()
                .iter()
                .filter(|volume| {
                    volume
                        .tags()
                        .iter()
                        .any(|tag| tag.key().is_some_and(|key| key.starts_with("k8s.io/etcd/")))
                })
                .cloned()
                .collect(),
            load_balancers: load_balancers.load_balancers().to_vec(),
            target_groups: target_groups.target_groups().to_vec(),
            listeners,
        }
    }

    /// How many of each kind.
    pub(crate) fn shape(&self) -> Shape {
        Shape {
            vpcs: self.vpcs.len(),
            subnets: self.subnets.len(),
            internet_gateways: self.internet_gateways.len(),
            nat_gateways: self.nat_gateways.len(),
            addresses: self.addresses.len(),
            route_tables: self.route_tables.len(),
            security_groups: self.security_groups.len(),
            key_pairs: self.key_pairs.len(),
            launch_templates: self.launch_templates.len(),
            groups: self.groups.len(),
            instances: self.instances.len(),
            etcd_volumes: self.etcd_volumes.len(),
            load_balancers: self.load_balancers.len(),
            target_groups: self.target_groups.len(),
            listeners: self.listeners.len(),
        }
    }

    /// The security group named `name`.
    pub(crate) fn security_group(&self, name: &str) -> &SecurityGroup {
        self.security_groups
            .iter()
            .find(|group| group.group_name() == Some(name))
            .unwrap_or_else(|| panic!("no security group `{name}` in {:#?}", self.shape()))
    }
}

/// An EC2 describe filter with one value.
pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The value of the tag `key`, if set.
pub(crate) fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|tag| tag.key() == Some(key))
        .and_then(Tag::value)
}

/// Asserts the kops ownership tags of a resource of `cluster` named `name`.
pub(crate) fn assert_owned(tags: &[Tag], cluster: &str, name: &str) {
    assert_eq!(tag(tags, "KubernetesCluster"), Some(cluster), "{tags:?}");
    assert_eq!(
        tag(tags, &format!("kubernetes.io/cluster/{cluster}")),
        Some("owned"),
        "{tags:?}"
    );
    assert_eq!(tag(tags, "Name"), Some(name), "{tags:?}");
}

/// The data of the default version of the launch template `name`.
pub(crate) async fn default_launch_template_data(
    aws: &AwsClients,
    name: &str,
) -> aws_sdk_ec2::types::ResponseLaunchTemplateData {
    let versions = aws
        .ec2
        .describe_launch_template_versions()
        .launch_template_name(name)
        .versions("$Default")
        .send()
        .await
        .unwrap_or_else(|error| panic!("DescribeLaunchTemplateVersions {name}: {error:?}"));
    versions
        .launch_template_versions()
        .first()
        .and_then(|version| version.launch_template_data())
        .cloned()
        .unwrap_or_else(|| panic!("launch template `{name}` has no default version data"))
}
