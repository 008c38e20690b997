//! `update --yes` and `delete --yes` killed at task boundaries (the `BERTH_ABORT_AFTER_TASKS=k`
//! hook: exit 4 once k tasks are done, the state a crash leaves in AWS), then run again.
//!
//! Every boundary would take N cases of a few seconds each (N is about 50 for an update of the
//! small cluster), over the suite's time budget; the tests kill at a spread instead, see
//! [`super::boundaries`]: 1, 2, 3, 5, 8, 13, 21, 34 (Fibonacci, below N) and N - 1. Each case
//! has an emulator account and a cluster name (`crash-<k>.example.com`) of its own. An update
//! is re-run [`SETTLE`] after the crash (see there why); a delete at once.

use berth_test_support::fault_proxy::FaultConfig;

use super::{
    ProxiedWorld, Tally, boundaries, create_public_cluster, done_tasks, orphans, shape,
    store_has_cluster,
};
use crate::{context::Run, update_cluster::world::World};

const ABORT: &str = "BERTH_ABORT_AFTER_TASKS";
const CRASHED: &str = "(aborted by the crash hook)";

/// How long a crashed update's in-flight calls get to land before the re-run.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

/// The lease file of `cluster` in the world's store.
fn lease_file(world: &World, cluster: &str) -> std::path::PathBuf {
    world
        .context
        .store_dir()
        .join(cluster)
        .join("berth-lease.json")
}

/// Boundary `k`'s own emulator account (behind a fault-free proxy) with the cluster
/// `crash-<k>.example.com` in its store.
fn case(k: usize) -> (ProxiedWorld, String) {
    let proxied = ProxiedWorld::new(FaultConfig::default());
    let cluster = format!("crash-{k}.example.com");
    create_public_cluster(&proxied.world, &cluster);
    (proxied, cluster)
}

/// `berth ARGS…` stopped by the crash hook after `k` tasks, asserting it exits 4.
#[track_caller]
fn killed_after(proxied: &ProxiedWorld, args: &[&str], k: usize) -> (Run, Tally) {
    let (killed, tally) = proxied.berth(args, &[(ABORT, &k.to_string())]);
    killed.assert_code(4, &format!("k={k}: the crash hook exits 4"));
    (killed, tally)
}

/// A command's `-o json` output.
fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|error| panic!("not JSON ({error}):\n{stdout}"))
}

fn list(boundaries: &[usize]) -> String {
    let names: Vec<String> = boundaries.iter().map(usize::to_string).collect();
    names.join(", ")
}

#[test]
fn fault_suite_update_killed_at_task_boundaries_converges_without_duplicates() {
    // The fault-free run: its task count and what it leaves.
    let reference = ProxiedWorld::new(FaultConfig::default());
    let cluster = "crash-reference.example.com";
    create_public_cluster(&reference.world, cluster);
    let plan = reference.world.update(cluster, &["-o", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let tasks = json(&plan.stdout)["summary"]["create"]
        .as_u64()
        .and_then(|count| usize::try_from(count).ok())
        .unwrap_or_else(|| panic!("no create count in the plan:\n{}", plan.stdout));
    let clean = reference.expect(0, &["update", "cluster", cluster, "--yes"], &[]);
    let expected = shape(&reference.world);

    let picked = boundaries(tasks);
    let mut total = Tally::default();
    for &k in &picked {
        let (proxied, cluster) = case(k);
        let world = &proxied.world;
        let update = ["update", "cluster", cluster.as_str(), "--yes"];

        let (killed, tally) = killed_after(&proxied, &update, k);
        total.add(tally);
        let done = done_tasks(&killed.stderr, CRASHED)
            .unwrap_or_else(|| panic!("k={k}: no summary of the aborted apply: {}", killed.stderr));
        assert!(done >= k, "k={k}: {done} done\n{}", killed.stderr);
        assert!(
            !lease_file(world, &cluster).exists(),
            "k={k}: the aborted update left its lease"
        );

        // The hook drops in-flight tasks mid-call, as a crash does: their calls may still be in
        // the emulator's queue. Re-running at once can race them (a `CreateVolume` the re-run
        // does not see yet is made twice: the SDK's client token only covers its own retries);
        // a person re-runs after the crashed calls have landed.
        std::thread::sleep(SETTLE);
        total.add(proxied.expect(0, &update, &[]));
        world.assert_no_changes(&cluster);
        assert_eq!(shape(world), expected, "k={k}: duplicates or gaps");
    }

    total
        .row(
            20,
            &format!("update --yes killed after k of {tasks} tasks, then run again"),
            &format!("exit after k tasks (k = {})", list(&picked)),
            &format!(
                "{n}/{n}: exit 4, re-run exit 0, empty plan, the fault-free run's resource \
                 counts (no duplicates) (fault-free update: {} calls, {:.1} s)",
                clean.calls,
                clean.seconds,
                n = picked.len()
            ),
        )
        .emit();
}

#[test]
fn fault_suite_delete_killed_at_task_boundaries_finishes_clean_when_run_again() {
    // The fault-free run: its task count, and a clean delete.
    let reference = ProxiedWorld::new(FaultConfig::default());
    let cluster = "crash-reference.example.com";
    create_public_cluster(&reference.world, cluster);
    reference.world.apply(cluster);
    let (listing, _) = reference.berth(&["delete", "cluster", cluster, "-o", "json"], &[]);
    assert_eq!(listing.code, 0, "{}", listing.stderr);
    let tasks = json(&listing.stdout)["resources"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(
        tasks > 10,
        "too few resources to delete:\n{}",
        listing.stdout
    );
    let clean = reference.expect(0, &["delete", "cluster", cluster, "--yes"], &[]);
    assert_eq!(orphans(&reference.world, cluster), Vec::<String>::new());

    let picked = boundaries(tasks);
    let mut total = Tally::default();
    for &k in &picked {
        let (proxied, cluster) = case(k);
        let world = &proxied.world;
        world.apply(&cluster);
        let delete = ["delete", "cluster", cluster.as_str(), "--yes"];

        let (_, tally) = killed_after(&proxied, &delete, k);
        total.add(tally);
        assert!(
            store_has_cluster(world, &cluster),
            "k={k}: the store went before the cloud was clean"
        );
        // A crashed delete leaves its lease to expire (after the TTL); expire it now.
        std::fs::remove_file(lease_file(world, &cluster)).expect("the crashed delete's lease");

        total.add(proxied.expect(0, &delete, &[]));
        assert_eq!(orphans(world, &cluster), Vec::<String>::new(), "k={k}");
        assert!(
            !store_has_cluster(world, &cluster),
            "k={k}: store objects left"
        );
    }

    total
        .row(
            21,
            &format!("delete --yes killed after k of {tasks} tasks, then run again"),
            &format!("exit after k tasks (k = {})", list(&picked)),
            &format!(
                "{n}/{n}: exit 4, re-run (after expiring the lease) exit 0, 0 orphans, store \
                 empty (fault-free delete: {} calls, {:.1} s)",
                clean.calls,
                clean.seconds,
                n = picked.len()
            ),
        )
        .emit();
}
