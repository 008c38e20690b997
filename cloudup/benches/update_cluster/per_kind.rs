//! Calls per resource kind: each kind's discovery run alone, one kind after the other, with
//! the proxy's counts read in between (the engine runs them all at once, which mixes them).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use berth_cloudup::engine::{DiscoveryScope, Reconcile};
use berth_model::{
    aws::{
        AnyResource, AutoscalingGroup, DhcpOptions, DnsRecord, EbsVolume, ElasticIp, Graph,
        IamInstanceProfile, IamRole, IamRolePolicy, InternetGateway, KeyPair, LaunchTemplate,
        Listener, LoadBalancer, ManagedFile, NatGateway, ResourceKind, Route, RouteTable,
        RouteTableAssociation, SecurityGroup, SecurityGroupRule, Subnet, TargetGroup, Vpc,
    },
    for_each_resource_kind,
};

use crate::setup::World;

/// What one kind's discovery cost.
pub(crate) struct KindCalls {
    /// Desired resources of the kind.
    pub(crate) resources: usize,
    /// Calls by action.
    pub(crate) by_action: BTreeMap<String, u64>,
    /// Wall time of the kind's discovery alone (calls made one after the other add up).
    pub(crate) elapsed: Duration,
}

impl KindCalls {
    /// Calls in total.
    pub(crate) fn total(&self) -> u64 {
        self.by_action.values().sum()
    }
}

macro_rules! define_per_kind {
    ($($kind:ident),* $(,)?) => {
        /// Runs the discovery of every kind present in `graph`, alone, and counts its calls.
        pub(crate) async fn discovery_calls_per_kind(
            world: &World,
            graph: &Graph,
        ) -> BTreeMap<ResourceKind, KindCalls> {
            let mut calls = BTreeMap::new();
            $(
                let desired: Vec<&$kind> = graph
                    .in_order()
                    .filter_map(|(_, any)| match any {
                        AnyResource::$kind(resource) => Some(resource),
                        _ => None,
                    })
                    .collect();
                if !desired.is_empty() {
                    let resources = desired.len();
                    world.proxy.reset_stats();
                    let started = Instant::now();
                    <$kind as Reconcile>::discover(DiscoveryScope {
                        clients: &world.clients,
                        store: &world.store,
                        cluster: crate::setup::CLUSTER,
                        desired,
                    })
                    .await
                    .unwrap_or_else(|error| {
                        panic!("discovering {}: {error}", ResourceKind::$kind)
                    });
                    let elapsed = started.elapsed();
                    let by_action = world
                        .proxy
                        .stats()
                        .by_action
                        .into_iter()
                        .map(|(action, stats)| (action, stats.calls))
                        .collect();
                    calls.insert(ResourceKind::$kind, KindCalls { resources, by_action, elapsed });
                }
            )*
            calls
        }
    };
}

for_each_resource_kind!(define_per_kind);
