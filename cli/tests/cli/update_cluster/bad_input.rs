//! Updates that cannot start say why, exit 1, and create nothing.

use super::{
    account::{Inventory, Shape},
    world::{PUBLIC_CLUSTER, World},
};
use crate::context::ok;

#[test]
fn a_cluster_that_does_not_exist_is_named() {
    let world = World::new();
    world.create_public_cluster();
    let result = world.update("missing.example.com", &["--yes"]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("cluster `missing.example.com` does not exist"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains(PUBLIC_CLUSTER), "{}", result.stderr);
}

#[test]
fn an_image_that_does_not_exist_names_the_instance_group_and_creates_nothing() {
    let world = World::new();
    let cluster = PUBLIC_CLUSTER;
    world.create_public_cluster();
    ok(world
        .berth()
        .env("EDITOR", "sed -i s/ubuntu-noble-24.04/no-such-image/")
        .args(["edit", "ig", "nodes-us-east-1a", "--name", cluster]));

    for args in [&[][..], &["--yes"][..]] {
        let result = world.update(cluster, args);
        assert_eq!(result.code, 1, "{}", result.stderr);
        assert!(
            result.stderr.contains("instance group `nodes-us-east-1a`")
                && result.stderr.contains("no-such-image"),
            "{}",
            result.stderr
        );
    }
    assert_eq!(
        world.block_on(Inventory::take(&world.aws)).shape(),
        Shape::default()
    );
}
