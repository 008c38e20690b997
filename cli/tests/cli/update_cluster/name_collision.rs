//! Two clusters in one shared VPC and subnet whose names map to the same load balancer and
//! target group names (`a.example.com` and `a-example.com`): the second one's plan shows a
//! conflict for both, its apply refuses them (and what needs them) while it creates what is
//! its own, and neither it nor its delete changes the first cluster's load balancer or target
//! group, and the second's kubeconfig never points at the first's load balancer. (Found by name alone, they would be updated in place: the load balancer given the
//! second cluster's security group and both re-tagged as its own, so that its delete took
//! them.)

use super::{
    account::Inventory,
    world::{PUBLIC_CLUSTER, SSH_PUBLIC_KEY, World},
};
use crate::context::{ok, run};
use berth_test_support::emulated_network::{create_subnet, create_vpc};

/// A cluster whose load balancer name is the same as [`PUBLIC_CLUSTER`]'s.
const TWIN: &str = "a-example.com";

/// The tags of every load balancer and target group of the account, sorted.
fn elb_tags(world: &World) -> Vec<(String, Vec<(String, String)>)> {
    let inventory = world.block_on(Inventory::take(&world.aws));
    let arns: Vec<String> = inventory
        .load_balancers
        .iter()
        .filter_map(|balancer| balancer.load_balancer_arn().map(str::to_owned))
        .chain(
            inventory
                .target_groups
                .iter()
                .filter_map(|group| group.target_group_arn().map(str::to_owned)),
        )
        .collect();
    let described = world
        .block_on(
            world
                .aws
                .elb
                .describe_tags()
                .set_resource_arns(Some(arns))
                .send(),
        )
        .expect("DescribeTags");
    let mut tags: Vec<_> = described
        .tag_descriptions()
        .iter()
        .map(|description| {
            let mut pairs: Vec<_> = description
                .tags()
                .iter()
                .map(|tag| {
                    (
                        tag.key().unwrap_or_default().to_owned(),
                        tag.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            pairs.sort();
            (
                description.resource_arn().unwrap_or_default().to_owned(),
                pairs,
            )
        })
        .collect();
    tags.sort();
    tags
}

#[test]
fn a_cluster_whose_load_balancer_name_is_taken_leaves_the_other_clusters_alone() {
    let world = World::new();
    let vpc = world.block_on(create_vpc(&world.aws.ec2, "10.0.0.0/16"));
    let subnet = world.block_on(create_subnet(
        &world.aws.ec2,
        &vpc,
        "10.0.1.0/24",
        "us-east-1a",
    ));
    let key = world.context.write("admin.pub", SSH_PUBLIC_KEY);
    for cluster in [PUBLIC_CLUSTER, TWIN] {
        ok(world
            .berth()
            .args(["create", "cluster", cluster, "--zones", "us-east-1a"])
            .args([
                "--vpc",
                &vpc,
                "--subnets",
                &subnet,
                "--network-cidr",
                "10.0.0.0/16",
            ])
            .arg("--ssh-public-key")
            .arg(&key));
    }
    world.apply(PUBLIC_CLUSTER);
    let first = elb_tags(&world);
    assert_eq!(first.len(), 2, "{first:?}");

    let preview = world.update(TWIN, &[]);
    for expected in [
        "! conflict LoadBalancer/api-a-example-com (a load balancer named `api-a-example-com` \
         exists that this cluster doesn't own (it is cluster `a.example.com`'s",
        "! conflict TargetGroup/tcp-a-example-com (a target group named `tcp-a-example-com`",
        "`kubernetes.io/cluster/a-example.com=owned` is missing",
        "2 in conflict.",
    ] {
        assert!(
            preview.stdout.contains(expected),
            "{expected}\n{}",
            preview.stdout
        );
    }

    let applied = world.update(TWIN, &["--yes"]);
    assert_eq!(applied.code, 1, "{}\n{}", applied.stdout, applied.stderr);
    assert!(
        applied.stderr.contains("`LoadBalancer/api-a-example-com`")
            || applied.stderr.contains("`TargetGroup/tcp-a-example-com`"),
        "{}",
        applied.stderr
    );
    assert!(applied.stderr.contains("doesn't own"), "{}", applied.stderr);
    assert_eq!(elb_tags(&world), first, "the first cluster's were changed");
    world.assert_no_changes(PUBLIC_CLUSTER);

    // Without DNS, clients reach the API at the load balancer: only at the cluster's own.
    let kubeconfig = world.context.path().join("kubeconfig");
    let export = |cluster: &str| {
        run(world
            .berth()
            .args(["export", "kubeconfig", cluster, "--admin", "--out"])
            .arg(&kubeconfig))
    };
    let twin = export(TWIN);
    assert_ne!(twin.code, 0, "{}", twin.stdout);
    assert!(
        twin.stderr
            .contains("owns no API load balancer `api-a-example-com`"),
        "{}",
        twin.stderr
    );
    ok(world
        .berth()
        .args(["export", "kubeconfig", PUBLIC_CLUSTER, "--admin", "--out"])
        .arg(&kubeconfig));
    let written = std::fs::read_to_string(&kubeconfig).expect("the kubeconfig");
    assert!(
        written.contains("server: https://api-a-example-com"),
        "{written}"
    );

    ok(world.berth().args(["delete", "cluster", TWIN, "--yes"]));
    assert_eq!(elb_tags(&world), first, "the twin's delete touched them");
    let inventory = world.block_on(Inventory::take(&world.aws));
    assert_eq!(
        inventory.vpcs.len(),
        1,
        "the twin's VPC is gone, the first's stays"
    );
    world.assert_no_changes(PUBLIC_CLUSTER);
}
