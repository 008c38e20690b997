//! An update through a proxy that throttles and fails a share of the calls converges in one
//! run, and leaves exactly one of everything.

use std::time::Instant;

use berth_test_support::{
    fault_proxy::{FaultConfig, FaultProxy},
    moto::MotoServer,
};

use super::{
    account::{Inventory, PUBLIC_SHAPE},
    world::{PUBLIC_CLUSTER, World},
};
use crate::context::run;

#[test]
fn an_update_through_throttling_and_server_errors_converges_in_one_run() {
    let world = World::new();
    let cluster = PUBLIC_CLUSTER;
    world.create_public_cluster();
    let proxy = world
        .block_on(FaultProxy::start(
            &MotoServer::shared().endpoint(),
            FaultConfig {
                throttle_rate: 0.2,
                server_error_rate: 0.05,
                seed: 7,
                ..FaultConfig::default()
            },
        ))
        .expect("the fault proxy starts");

    let started = Instant::now();
    let result = run(world
        .berth_via(&proxy.endpoint())
        .args(["update", "cluster", cluster, "--yes"]));
    let stats = proxy.stats();
    eprintln!(
        "applied through faults in {:?}: {} calls, {} faults injected",
        started.elapsed(),
        stats.total_calls(),
        stats.total_faults()
    );
    if let Some(summary) = result
        .stderr
        .lines()
        .find(|line| line.contains(" retries in "))
    {
        eprintln!("{summary}");
    }
    result.assert_code(0, "one run must converge");
    assert!(
        stats.total_faults() * 10 >= stats.total_calls(),
        "the proxy injected too few faults: {stats:#?}"
    );

    assert_eq!(
        world.block_on(Inventory::take(&world.aws)).shape(),
        PUBLIC_SHAPE
    );
    world.assert_no_changes(cluster);
}
