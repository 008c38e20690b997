//! The deletion graph (pure): which resources must be gone before each one can go.
//!
//! Edges are by kind, within one cluster: a task waits for every resource of the kinds that
//! must disappear first. AWS refuses the wrong order (`DependencyViolation`, `ResourceInUse`,
//! `DeleteConflict`), and the executor retries those; the edges make the first attempt right
//! so that retries are for eventual consistency, not for ordering.
//!
//! Untagging a shared resource depends on nothing and nothing depends on it.

use std::collections::BTreeMap;

use berth_model::aws::NodeKey;

use super::{DeleteKind, Disposal, Inventory};
use crate::engine::ScheduledTask;

/// The kinds that must be gone before a resource of `kind` is deleted.
#[must_use]
pub fn must_go_first(kind: DeleteKind) -> &'static [DeleteKind] {
    use DeleteKind::{
        AutoscalingGroup, DhcpOptions, EbsVolume, ElasticIp, IamInstanceProfile, IamRole, Instance,
        InternetGateway, KeyPair, LaunchTemplate, Listener, LoadBalancer, NatGateway,
        NetworkInterface, RouteTable, SecurityGroup, SecurityGroupReferences, Subnet, TargetGroup,
        Vpc,
    };
    match kind {
        DeleteKind::DnsRecord
        | AutoscalingGroup
        | Listener
        | SecurityGroupReferences
        | NatGateway
        | RouteTable
        | DhcpOptions
        | KeyPair
        // AWS lets a profile go while instances use it; they are being deleted anyway.
        | IamInstanceProfile => &[],
        // A group replaces instances that die under it: the group goes first.
        Instance => &[AutoscalingGroup],
        LaunchTemplate => &[AutoscalingGroup, Instance],
        LoadBalancer => &[Listener],
        TargetGroup => &[Listener, LoadBalancer, AutoscalingGroup],
        // etcd volumes are attached until their instance is terminated.
        EbsVolume => &[AutoscalingGroup, Instance],
        NetworkInterface => &[Instance, LoadBalancer, NatGateway],
        SecurityGroup => &[
            AutoscalingGroup,
            Instance,
            LoadBalancer,
            NetworkInterface,
            SecurityGroupReferences,
        ],
        ElasticIp => &[NatGateway, Instance],
        // Detaching fails while public addresses are mapped in the VPC.
        InternetGateway => &[Instance, LoadBalancer, NatGateway, ElasticIp],
        Subnet => &[
            AutoscalingGroup,
            Instance,
            LoadBalancer,
            NatGateway,
            NetworkInterface,
            RouteTable,
        ],
        Vpc => &[
            Instance,
            LoadBalancer,
            TargetGroup,
            NetworkInterface,
            SecurityGroup,
            NatGateway,
            RouteTable,
            InternetGateway,
            Subnet,
            DhcpOptions,
        ],
        IamRole => &[IamInstanceProfile],
    }
}

/// The scheduler tasks of a delete: one per resource, with its ordering edges.
#[must_use]
pub fn tasks(inventory: &Inventory) -> Vec<ScheduledTask> {
    let mut by_kind: BTreeMap<DeleteKind, Vec<NodeKey>> = BTreeMap::new();
    for resource in inventory.to_delete() {
        by_kind
            .entry(resource.kind)
            .or_default()
            .push(resource.key());
    }
    inventory
        .resources
        .iter()
        .map(|resource| {
            let deps = match resource.disposal {
                Disposal::Untag => Vec::new(),
                Disposal::Delete => must_go_first(resource.kind)
                    .iter()
                    .flat_map(|kind| by_kind.get(kind).into_iter().flatten().cloned())
                    .collect(),
            };
            ScheduledTask {
                key: resource.key(),
                deps,
                known_output: None,
            }
        })
        .collect()
}

/// The fewest calls one after another that deleting a resource of `kind` takes when nothing
/// has to be waited for (the emulator's case): the weight of a node in [`critical_path`].
#[must_use]
pub fn sequential_calls(kind: DeleteKind) -> u32 {
    match kind {
        DeleteKind::DnsRecord
        | DeleteKind::Listener
        | DeleteKind::LoadBalancer
        | DeleteKind::TargetGroup
        | DeleteKind::LaunchTemplate
        | DeleteKind::NetworkInterface
        | DeleteKind::SecurityGroup
        | DeleteKind::ElasticIp
        | DeleteKind::Subnet
        | DeleteKind::Vpc
        | DeleteKind::KeyPair => 1,
        // Delete (or terminate) then read the status back; describe then act.
        DeleteKind::AutoscalingGroup
        | DeleteKind::Instance
        | DeleteKind::NatGateway
        | DeleteKind::EbsVolume
        | DeleteKind::SecurityGroupReferences
        | DeleteKind::InternetGateway
        | DeleteKind::IamInstanceProfile => 2,
        // Describe the VPCs using it, point them at `default`, delete; list, delete policies,
        // delete the role; describe, disassociate (all at once), delete.
        DeleteKind::DhcpOptions | DeleteKind::IamRole | DeleteKind::RouteTable => 3,
    }
}

/// The longest chain of calls that must follow each other to delete `inventory`: the lower
/// bound on a delete's wall time, in calls (times the latency of one call).
#[must_use]
pub fn critical_path(inventory: &Inventory) -> u32 {
    let tasks = tasks(inventory);
    let weight: BTreeMap<NodeKey, u32> = inventory
        .resources
        .iter()
        .map(|resource| (resource.key(), sequential_calls(resource.kind)))
        .collect();
    let deps: BTreeMap<NodeKey, Vec<NodeKey>> = tasks
        .into_iter()
        .map(|task| (task.key, task.deps))
        .collect();
    let mut finish: BTreeMap<NodeKey, u32> = BTreeMap::new();
    // Kinds are a DAG, so relaxing in rounds converges within `kinds` rounds.
    for _ in 0..=deps.len().min(64) {
        let mut changed = false;
        for (key, key_deps) in &deps {
            let start = key_deps
                .iter()
                .map(|dep| finish.get(dep).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            let end = start + weight.get(key).copied().unwrap_or(1);
            if finish.get(key) != Some(&end) {
                finish.insert(key.clone(), end);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    finish.values().copied().max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delete::CloudResource;

    fn resource(kind: DeleteKind, id: &str) -> CloudResource {
        CloudResource::new(kind, id, id, Disposal::Delete)
    }

    fn deps_of(tasks: &[ScheduledTask], key: &NodeKey) -> Vec<NodeKey> {
        tasks
            .iter()
            .find(|task| task.key == *key)
            .map(|task| task.deps.clone())
            .unwrap_or_default()
    }

    #[test]
    fn kinds_form_a_dag() {
        // Every kind's prerequisites only lead to kinds with fewer prerequisites in total.
        fn depth(kind: DeleteKind, seen: &mut Vec<DeleteKind>) -> usize {
            assert!(!seen.contains(&kind), "cycle through {kind}");
            seen.push(kind);
            let deepest = must_go_first(kind)
                .iter()
                .map(|first| depth(*first, seen))
                .max()
                .unwrap_or(0);
            seen.pop();
            deepest + 1
        }
        for kind in [
            DeleteKind::Vpc,
            DeleteKind::IamRole,
            DeleteKind::TargetGroup,
        ] {
            assert!(depth(kind, &mut Vec::new()) <= 6);
        }
    }

    #[test]
    fn the_vpc_waits_for_everything_inside_it_and_untagging_waits_for_nothing() {
        let vpc = resource(DeleteKind::Vpc, "vpc-1");
        let subnet = resource(DeleteKind::Subnet, "subnet-1");
        let instance = resource(DeleteKind::Instance, "i-1");
        let group = resource(DeleteKind::AutoscalingGroup, "nodes");
        let shared = CloudResource::new(DeleteKind::Subnet, "subnet-2", "", Disposal::Untag);
        let inventory = Inventory::new(
            "c",
            vec![
                vpc.clone(),
                subnet.clone(),
                instance.clone(),
                group.clone(),
                shared.clone(),
            ],
        );
        let tasks = tasks(&inventory);
        assert_eq!(
            deps_of(&tasks, &vpc.key()),
            vec![instance.key(), subnet.key()]
        );
        assert_eq!(
            deps_of(&tasks, &subnet.key()),
            vec![group.key(), instance.key()]
        );
        assert_eq!(deps_of(&tasks, &instance.key()), vec![group.key()]);
        assert!(deps_of(&tasks, &shared.key()).is_empty());
    }

    #[test]
    fn the_nat_gateway_goes_before_its_address_and_the_subnets() {
        let inventory = Inventory::new(
            "c",
            vec![
                resource(DeleteKind::NatGateway, "nat-1"),
                resource(DeleteKind::ElasticIp, "eipalloc-1"),
                resource(DeleteKind::Subnet, "subnet-1"),
            ],
        );
        let nat = resource(DeleteKind::NatGateway, "nat-1").key();
        let tasks = tasks(&inventory);
        for dependent in [
            resource(DeleteKind::ElasticIp, "eipalloc-1"),
            resource(DeleteKind::Subnet, "subnet-1"),
        ] {
            assert!(deps_of(&tasks, &dependent.key()).contains(&nat));
        }
        // NAT (2) then the address or the subnet (1).
        assert_eq!(critical_path(&inventory), 3);
    }

    #[test]
    fn iam_profiles_go_before_roles() {
        let inventory = Inventory::new(
            "c",
            vec![
                resource(DeleteKind::IamRole, "nodes.c"),
                resource(DeleteKind::IamInstanceProfile, "nodes.c"),
            ],
        );
        let tasks = tasks(&inventory);
        assert_eq!(
            deps_of(&tasks, &resource(DeleteKind::IamRole, "nodes.c").key()),
            vec![resource(DeleteKind::IamInstanceProfile, "nodes.c").key()]
        );
    }
}
