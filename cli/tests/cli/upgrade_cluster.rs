//! `berth upgrade cluster` end to end: the spec moves one minor release at a time, refusals
//! leave the store byte-identical, and on the emulator the upgrade flows through `update
//! cluster` into new launch template versions that `rolling-update cluster` then replaces.

use crate::{
    context::{TestContext, ok, run},
    rolling_update::{CLUSTER, CONTROL_PLANE, NODES, World, ids, versions},
};

const SSH_PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";

fn create(context: &TestContext, version: &str) {
    let key = context.write("admin.pub", SSH_PUBLIC_KEY);
    ok(context
        .berth()
        .args(["create", "cluster", CLUSTER, "--zones", "us-east-1a"])
        .args(["--kubernetes-version", version])
        .arg("--ssh-public-key")
        .arg(key));
}

#[test]
fn upgrade_previews_then_writes_the_next_minor_and_refuses_skips_and_downgrades() {
    let context = TestContext::new();
    create(&context, "1.34.2");
    let before = context.store_snapshot();

    let preview = run(context.berth().args(["upgrade", "cluster", CLUSTER]));
    assert_eq!(preview.code, 0, "{}", preview.stderr);
    assert!(preview.stdout.contains("v1.34.2"), "{}", preview.stdout);
    assert!(preview.stdout.contains("v1.35.0"), "{}", preview.stdout);
    assert!(preview.stderr.contains("--yes"), "{}", preview.stderr);
    assert_eq!(context.store_snapshot(), before, "a preview writes nothing");

    for (version, expected) in [
        ("1.36.0", "one minor release at a time"),
        ("1.33.0", "downgrading"),
        ("1.40.0", "not supported"),
        ("latest", "not a Kubernetes version"),
    ] {
        let refused = run(context
            .berth()
            .args(["upgrade", "cluster", CLUSTER, "--yes"])
            .args(["--kubernetes-version", version]));
        assert_eq!(refused.code, 1, "{version}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(expected),
            "{version}: {}",
            refused.stderr
        );
        assert_eq!(
            context.store_snapshot(),
            before,
            "{version}: the store is untouched"
        );
    }

    ok(context
        .berth()
        .args(["upgrade", "cluster", CLUSTER, "--yes"]));
    let spec = ok(context
        .berth()
        .args(["get", "cluster", CLUSTER, "-o", "yaml"]));
    assert!(
        spec.contains("kubernetesVersion: \"1.35.0\"")
            || spec.contains("kubernetesVersion: 1.35.0"),
        "{spec}"
    );
    let again = run(context.berth().args([
        "upgrade",
        "cluster",
        CLUSTER,
        "--yes",
        "--kubernetes-version",
        "1.35.0",
    ]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("nothing to upgrade"),
        "{}",
        again.stderr
    );
}

#[test]
fn an_upgrade_rolls_out_through_update_and_rolling_update() {
    let world = World::new();
    create(&world.context, "1.35.0");
    ok(world.berth().args(["update", "cluster", CLUSTER, "--yes"]));
    let old_nodes = ids(&world.group(NODES));
    let old_control_plane = ids(&world.group(CONTROL_PLANE));

    ok(world.berth().args(["upgrade", "cluster", CLUSTER, "--yes"]));
    let plan = ok(world.berth().args(["update", "cluster", CLUSTER]));
    assert!(
        plan.contains("1.36.0"),
        "the plan shows the new version:\n{plan}"
    );
    ok(world.berth().args(["update", "cluster", CLUSTER, "--yes"]));

    let preview = world.rolling_update(&[]);
    for group in [CONTROL_PLANE, NODES] {
        let row = preview
            .stdout
            .lines()
            .find(|line| line.starts_with(group))
            .unwrap_or_else(|| panic!("no row for {group}:\n{}", preview.stdout));
        assert!(row.contains("NeedsUpdate"), "{row}");
    }
    let rolled = world.rolling_update(&["--yes", "--cloudonly", "--interval", "0s"]);
    assert_eq!(rolled.code, 0, "{}\n{}", rolled.stdout, rolled.stderr);
    for (group, old) in [(NODES, &old_nodes), (CONTROL_PLANE, &old_control_plane)] {
        let now = world.group(group);
        assert!(
            ids(&now).is_disjoint(old),
            "{group} still runs old instances"
        );
        let latest = world.latest_version(group);
        assert!(
            versions(&now).iter().all(|version| *version == latest),
            "{group}"
        );
    }
}
