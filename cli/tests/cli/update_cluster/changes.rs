//! Updates after the first: an edited instance group becomes a one-field plan, and an apply
//! killed midway is finished by the next one without duplicates.

use std::time::Instant;

use super::{
    account::{Inventory, PUBLIC_SHAPE, default_launch_template_data},
    world::{PUBLIC_CLUSTER, World},
};
use crate::context::ok;

#[test]
fn an_edited_instance_group_is_a_one_field_change_to_its_launch_template() {
    let world = World::new();
    let cluster = PUBLIC_CLUSTER;
    world.create_public_cluster();
    world.apply(cluster);

    ok(world
        .berth()
        .env("EDITOR", "sed -i s/t3.medium/t3.large/")
        .args(["edit", "ig", "nodes-us-east-1a", "--name", cluster]));
    let result = world.update(cluster, &["-o", "json"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let plan: serde_json::Value = serde_json::from_str(&result.stdout).expect("the plan is JSON");
    let template = format!("LaunchTemplate/nodes-us-east-1a.{cluster}");
    assert_eq!(
        plan["changes"],
        serde_json::json!([{
            "key": template,
            "action": "update",
            "fields": [{"field": "instance_type", "old": "t3.medium", "new": "t3.large"}],
        }]),
        "{plan:#}"
    );
    assert_eq!(plan["summary"]["update"], 1, "{plan:#}");

    world.apply(cluster);
    let data = world.block_on(default_launch_template_data(
        &world.aws,
        &format!("nodes-us-east-1a.{cluster}"),
    ));
    assert_eq!(
        data.instance_type().map(|kind| kind.as_str()),
        Some("t3.large")
    );
    world.assert_no_changes(cluster);
}

#[test]
fn an_apply_killed_midway_is_finished_by_the_next_one_without_duplicates() {
    let world = World::new();
    let cluster = PUBLIC_CLUSTER;
    world.create_public_cluster();
    let killed = crate::context::run(
        world
            .berth()
            .env("BERTH_ABORT_AFTER_TASKS", "10")
            .args(["update", "cluster", cluster, "--yes"]),
    );
    killed.assert_code(4, "the crash hook exits 4");
    // Tasks that finished while the hook fired count too: at least 10 are done.
    let done: usize = killed
        .stderr
        .lines()
        .find(|line| line.contains("(aborted by the crash hook)"))
        .and_then(|line| line.split(" done").next())
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no summary of the aborted apply: {}", killed.stderr));
    assert!(done >= 10, "{}", killed.stderr);
    let partial = world.block_on(Inventory::take(&world.aws)).shape();
    assert_eq!(partial.vpcs, 1, "the first tasks ran: {partial:#?}");
    assert_ne!(partial, PUBLIC_SHAPE, "the crash left work to do");

    let started = Instant::now();
    world.apply(cluster);
    eprintln!("the killed apply was finished in {:?}", started.elapsed());
    assert_eq!(
        world.block_on(Inventory::take(&world.aws)).shape(),
        PUBLIC_SHAPE
    );
    world.assert_no_changes(cluster);
}
