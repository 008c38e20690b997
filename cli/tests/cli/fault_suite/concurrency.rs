//! Two people acting on one cluster at once: two `update --yes` (one is refused by the
//! cluster's lease, naming the holder) and two `edit`s of one instance group (one is refused by
//! the conditional write; the other's change is stored, nothing is lost).

use std::{
    sync::Barrier,
    time::{Duration, Instant},
};

use berth_test_support::fault_proxy::FaultConfig;

use super::{ProxiedWorld, Tally, create_public_cluster, retries, shape};
use crate::{
    context::run,
    edit::{CLUSTER as EDITED_CLUSTER, context as edit_context, editor, nodes_yaml},
    update_cluster::account::PUBLIC_SHAPE,
};

const CLUSTER: &str = "lease.example.com";

#[test]
fn fault_suite_two_concurrent_updates_one_is_refused_by_the_lease() {
    // 100 ms per call makes the apply take seconds, against a spread of tens of milliseconds
    // between the two processes reaching the lease: the two always overlap.
    let proxied = ProxiedWorld::new(FaultConfig {
        latency: Duration::from_millis(100),
        ..FaultConfig::default()
    });
    let world = &proxied.world;
    create_public_cluster(world, CLUSTER);
    let endpoint = proxied.proxy.endpoint();
    let start = Barrier::new(2);
    let started = Instant::now();
    let runs = std::thread::scope(|scope| {
        let runs: Vec<_> = ["first-host", "second-host"]
            .into_iter()
            .map(|host| {
                let (endpoint, start) = (&endpoint, &start);
                scope.spawn(move || {
                    let mut command = world.berth_via(endpoint);
                    command
                        .env("HOSTNAME", host)
                        .args(["update", "cluster", CLUSTER, "--yes"]);
                    start.wait();
                    (host, run(&mut command))
                })
            })
            .collect();
        runs.into_iter()
            .map(|handle| handle.join().expect("an update thread"))
            .collect::<Vec<_>>()
    });
    let elapsed = started.elapsed();
    let stats = proxied.proxy.stats();

    let (winners, losers): (Vec<_>, Vec<_>) = runs.iter().partition(|(_, run)| run.code == 0);
    let describe = || {
        runs.iter()
            .map(|(host, run)| format!("{host}: exit {}\n{}\n{}", run.code, run.stdout, run.stderr))
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    assert_eq!(
        (winners.len(), losers.len()),
        (1, 1),
        "exactly one update must win:\n{}",
        describe()
    );
    let (winner, _) = winners[0];
    let (_, refused) = losers[0];
    assert_eq!(refused.code, 1, "{}", describe());
    let named = "is locked by berth update cluster (pid ";
    assert!(
        refused.stderr.contains(named) && refused.stderr.contains(&format!(" on {winner})")),
        "the refusal must name the holder ({winner}):\n{}",
        refused.stderr
    );

    // The store and the cloud are as one update leaves them.
    assert!(
        !world
            .context
            .store_dir()
            .join(CLUSTER)
            .join("berth-lease.json")
            .exists(),
        "the winner released its lease"
    );
    world.assert_no_changes(CLUSTER);
    assert_eq!(shape(world), PUBLIC_SHAPE);

    let retries = runs.iter().map(|(_, run)| retries(&run.stderr)).sum();
    Tally {
        calls: stats.total_calls(),
        faults: stats.total_faults(),
        retries,
        seconds: elapsed.as_secs_f64(),
    }
    .row(
        30,
        "Two `update cluster --yes` started together on one cluster",
        "100 ms latency per call (so that the two overlap)",
        "one exit 0; the other exit 1 before any change, naming the lease holder (`berth update \
         cluster (pid …)`); lease released, empty plan, one of everything",
    )
    .emit();
}

#[test]
fn fault_suite_two_concurrent_edits_one_conflicts_and_nothing_is_lost() {
    let context = edit_context();
    let marker = |name: &str| context.path().join(name).display().to_string();
    let (first_open, second_open, first_done) = (
        marker("first-open"),
        marker("second-open"),
        marker("first-done"),
    );
    // Polls for a file, for at most 30 s.
    let wait_for = |file: &str| {
        format!(
            r#"i=0; while [ ! -e "{file}" ]; do sleep 0.05; i=$((i+1)); if [ $i -ge 600 ]; then exit 9; fi; done"#
        )
    };
    // An editor script that marks itself open, waits for `until`, then applies `change`.
    let editor_script = |script: &str, opened: &str, until: &str, change: &str| {
        editor(
            &context,
            script,
            &format!(
                r#"touch "{opened}"; {}; sed -i '{change}' "$1""#,
                wait_for(until)
            ),
        )
    };
    // Both editors are open before either saves; the first saves first.
    let first = editor_script(
        "first.sh",
        &first_open,
        &second_open,
        "s/machineType: t3.medium/machineType: m6i.large/",
    );
    let second = editor_script(
        "second.sh",
        &second_open,
        &first_done,
        "s/minSize: 2/minSize: 1/",
    );
    let edit = ["edit", "ig", "nodes-us-east-1a", "--name", EDITED_CLUSTER];
    let started = Instant::now();
    let (saved, refused) = std::thread::scope(|scope| {
        let saved = scope.spawn(|| {
            let result = run(context.berth().env("EDITOR", &first).args(edit));
            std::fs::write(&first_done, "").expect("the first edit's marker");
            result
        });
        let refused = scope.spawn(|| run(context.berth().env("EDITOR", &second).args(edit)));
        (
            saved.join().expect("the first edit"),
            refused.join().expect("the second edit"),
        )
    });
    let elapsed = started.elapsed();

    saved.assert_code(0, "the first edit is saved");
    refused.assert_code(1, "the second edit conflicts");
    assert!(
        refused.stderr.contains("changed by someone else"),
        "{}",
        refused.stderr
    );
    let stored = nodes_yaml(&context);
    assert!(
        stored.contains("machineType: m6i.large") && stored.contains("minSize: 2"),
        "the saved edit is stored, the refused one is not:\n{stored}"
    );

    Tally {
        seconds: elapsed.as_secs_f64(),
        ..Tally::default()
    }
    .row(
        40,
        "Two `edit ig` of one instance group at once",
        "both editors open before either saves; the first saves first",
        "first exit 0, its change stored; second exit 1 \"changed by someone else\", nothing \
         written over",
    )
    .emit();
}
