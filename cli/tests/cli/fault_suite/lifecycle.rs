//! The whole lifecycle of a small cluster (one control-plane node, a node group of two) through
//! a proxy that throttles 20 % of the calls, answers 5 % with HTTP 500 and drops 1 % of the
//! connections after forwarding them: every operation succeeds (a run that fails is run again,
//! at most [`ATTEMPTS`] times in all, and the report says so), the account looks as it does
//! after the same lifecycle without faults (ids aside), and the delete leaves nothing behind.
//!
//! Why re-runs are allowed: a dropped connection loses the answer to a call that took effect.
//! Throttling and 5xx alone converge in one run (`update_cluster::faults`). EC2 creates without
//! an idempotency token skip the SDK's retries, so a dropped answer fails the attempt and the
//! engine's retry finds the resource by its tags instead of making a twin.

use berth_test_support::fault_proxy::FaultConfig;

use super::{ProxiedWorld, Reruns, Tally, orphans, resources_modulo_ids, store_has_cluster};
use crate::{context::ok, update_cluster::world::SSH_PUBLIC_KEY};

const CLUSTER: &str = "life.example.com";
const NODES: &str = "nodes-us-east-1a";

/// Runs of one operation before the test gives up.
const ATTEMPTS: usize = 3;

/// The faults of the suite, with a fixed seed.
fn faults() -> FaultConfig {
    FaultConfig {
        throttle_rate: 0.2,
        server_error_rate: 0.05,
        drop_rate: 0.01,
        seed: 11,
        ..FaultConfig::default()
    }
}

/// What one run of the lifecycle left, and what each step cost.
struct Lifecycle {
    after_update: Vec<String>,
    after_roll: Vec<String>,
    orphans: Vec<String>,
    steps: Vec<(&'static str, Tally, Reruns)>,
}

/// create → update --yes → nodes to t3.large, update --yes, rolling-update --yes --cloudonly →
/// delete --yes, every AWS call through a proxy injecting `faults`. Between the steps the
/// plan is checked to be empty (straight to the emulator, no faults).
fn lifecycle(faults: FaultConfig) -> Lifecycle {
    let proxied = ProxiedWorld::new(faults);
    let world = &proxied.world;
    let key = world.context.write("admin.pub", SSH_PUBLIC_KEY);
    let key = key.to_string_lossy();
    let update = ["update", "cluster", CLUSTER, "--yes"];
    let mut steps = Vec::new();

    let create = ["create", "cluster", CLUSTER, "--zones", "us-east-1a"];
    let create = [&create[..], &["--ssh-public-key", &key]].concat();
    steps.push(step("create cluster", proxied.converge(&create, ATTEMPTS)));
    steps.push(step(
        "update cluster --yes",
        proxied.converge(&update, ATTEMPTS),
    ));
    let after_update = resources_modulo_ids(world);
    world.assert_no_changes(CLUSTER);

    ok(world
        .berth()
        .env("EDITOR", "sed -i s/t3.medium/t3.large/")
        .args(["edit", "ig", NODES, "--name", CLUSTER]));
    steps.push(step(
        "update cluster --yes (nodes t3.medium → t3.large)",
        proxied.converge(&update, ATTEMPTS),
    ));
    let roll = [
        "rolling-update",
        "cluster",
        CLUSTER,
        "--yes",
        "--cloudonly",
        "--interval",
        "0s",
    ];
    steps.push(step(
        "rolling-update cluster --yes --cloudonly",
        proxied.converge(&roll, ATTEMPTS),
    ));
    let after_roll = resources_modulo_ids(world);
    world.assert_no_changes(CLUSTER);

    let delete = ["delete", "cluster", CLUSTER, "--yes"];
    steps.push(step(
        "delete cluster --yes",
        proxied.converge(&delete, ATTEMPTS),
    ));
    let orphans = orphans(world, CLUSTER);
    assert!(
        !store_has_cluster(world, CLUSTER),
        "the delete left store objects"
    );
    Lifecycle {
        after_update,
        after_roll,
        orphans,
        steps,
    }
}

fn step(name: &'static str, (tally, reruns): (Tally, Reruns)) -> (&'static str, Tally, Reruns) {
    (name, tally, reruns)
}

#[test]
fn fault_suite_lifecycle_through_throttling_5xx_and_drops_ends_as_without_faults() {
    // Two accounts, the two runs at once: the emulator is shared, the clusters are not.
    let (clean, faulty) = std::thread::scope(|scope| {
        let clean = scope.spawn(|| lifecycle(FaultConfig::default()));
        let faulty = scope.spawn(|| lifecycle(faults()));
        (
            clean.join().expect("the fault-free lifecycle"),
            faulty.join().expect("the lifecycle through faults"),
        )
    });

    assert_eq!(clean.orphans, Vec::<String>::new(), "fault-free orphans");
    assert_eq!(faulty.orphans, Vec::<String>::new(), "orphans after faults");
    let nodes = format!("instance {NODES}.{CLUSTER} t3.large");
    assert_eq!(
        clean
            .after_roll
            .iter()
            .filter(|line| **line == nodes)
            .count(),
        2,
        "the rolling update replaced both nodes: {:#?}",
        clean.after_roll
    );
    assert_eq!(
        faulty.after_update, clean.after_update,
        "after update: faulty vs fault-free"
    );
    assert_eq!(
        faulty.after_roll, clean.after_roll,
        "after the rolling update: faulty vs fault-free"
    );
    let mut total = Tally::default();
    for (_, tally, _) in &faulty.steps {
        total.add(*tally);
    }
    assert!(
        total.faults * 10 >= total.calls,
        "the proxy injected too few faults: {total:?}"
    );

    let mut clean_total = Tally::default();
    for (_, tally, reruns) in &clean.steps {
        assert_eq!(
            reruns.failures,
            Vec::<String>::new(),
            "no faults, no failures"
        );
        clean_total.add(*tally);
    }
    clean_total
        .row(
            10,
            "Lifecycle, no faults (baseline): create → update → machine-type change, update, \
             rolling-update --cloudonly → delete",
            "nothing",
            &format!(
                "all exit 0; {} resources after update; 0 orphans",
                clean.after_update.len()
            ),
        )
        .emit();
    let injected = "20 % throttling, 5 % HTTP 500, 1 % dropped connections (seed 11)";
    for (index, ((step, tally, reruns), (_, baseline, _))) in
        faulty.steps.iter().zip(&clean.steps).enumerate()
    {
        let outcome = reruns.outcome();
        let outcome = match index {
            1 => format!(
                "{outcome}; inventory = the baseline's ({} resources, ids aside); empty plan",
                faulty.after_update.len()
            ),
            3 => format!("{outcome}; inventory = the baseline's (both nodes t3.large); empty plan"),
            4 => format!(
                "{outcome}; 0 orphans (instances, VPC, subnets, SGs, LTs, ASGs, LB, IAM, DNS, \
                 volumes); store empty"
            ),
            _ => outcome,
        };
        tally
            .row(
                11 + u32::try_from(index).unwrap_or(0),
                &format!("Lifecycle through faults: {step}"),
                injected,
                &format!(
                    "{outcome} (baseline: {} calls, {:.1} s)",
                    baseline.calls, baseline.seconds
                ),
            )
            .emit();
    }
}
