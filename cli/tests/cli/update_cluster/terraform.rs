//! `update cluster --target terraform` for both reference clusters: `kubernetes.tf.json` is
//! snapshotted (the emulator's AMI ids, account ids and key fingerprints redacted) and nothing
//! is created in the account.
//!
//! The names are fixed rather than unique: each test has an emulator account of its own, and
//! a snapshot needs stable names (long ones are shortened with a hash in resource names).

use std::path::Path;

use super::{
    account::{Inventory, Shape},
    dns::{create_public_zone, records},
    world::{PUBLIC_CLUSTER, World},
};
use crate::context::ok;

/// The hosted zone of the private reference cluster.
const PRIVATE_ZONE: &str = "reference.example.org";

#[test]
fn the_public_cluster_as_terraform() {
    let world = World::new();
    world.create_public_cluster();
    let written = terraform(&world, PUBLIC_CLUSTER);
    assert_snapshot("update_cluster_terraform_public", &written);
    assert_eq!(
        world.block_on(Inventory::take(&world.aws)).shape(),
        Shape::default()
    );
}

#[test]
fn the_private_ha_cluster_as_terraform() {
    let world = World::new();
    let zone_id = world.block_on(create_public_zone(&world.aws, PRIVATE_ZONE));
    let before = world.block_on(records(&world.aws, &zone_id));
    let cluster = world.create_private_cluster(PRIVATE_ZONE);
    let written = terraform(&world, &cluster);
    assert_snapshot("update_cluster_terraform_private", &written);
    assert_eq!(
        world.block_on(Inventory::take(&world.aws)).shape(),
        Shape::default()
    );
    assert_eq!(world.block_on(records(&world.aws, &zone_id)), before);
}

/// Runs the Terraform target into a temp dir and returns `kubernetes.tf.json`.
fn terraform(world: &World, cluster: &str) -> String {
    let out = world.context.path().join("terraform");
    ok(world
        .berth()
        .args([
            "update",
            "cluster",
            cluster,
            "--target",
            "terraform",
            "--out",
        ])
        .arg(&out));
    read(&out.join("kubernetes.tf.json"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn assert_snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r"ami-[0-9a-f]{8,17}", "ami-[id]");
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[fingerprint]");
    settings.add_filter(r"\b[0-9]{12}\b", "[account]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}
