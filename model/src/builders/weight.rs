//! How many sequential AWS calls creating each resource takes, for the critical-path bound
//! ([`crate::aws::Graph::critical_path`]): no schedule can create the graph in fewer round
//! trips than its heaviest chain.

use crate::aws::AnyResource;

/// The number of sequential AWS calls needed to create `resource`.
///
/// Counted from the calls the engine makes that must wait for each other: e.g. a VPC is a
/// create plus one attribute call (DNS host names; DNS support is on by default), a NAT gateway a create plus
/// a wait until it is available, an instance profile a create plus adding its role. Shared
/// resources are only looked up (a VPC: nothing to create) or tagged (a subnet: one call).
#[must_use]
pub fn critical_path_weight(resource: &AnyResource) -> u64 {
    match resource {
        AnyResource::Vpc(vpc) => {
            if vpc.shared_id.is_some() {
                0
            } else {
                2
            }
        }
        // Create, then associate with the VPC; create, then attach.
        AnyResource::DhcpOptions(_) | AnyResource::InternetGateway(_) => 2,
        // Create, then wait until available (minutes, but one call to wait on).
        AnyResource::NatGateway(_) => 2,
        // Create, then add the role.
        AnyResource::IamInstanceProfile(_) => 2,
        // Create, then wait until active.
        AnyResource::LoadBalancer(_) => 2,
        AnyResource::Subnet(_)
        | AnyResource::ElasticIp(_)
        | AnyResource::RouteTable(_)
        | AnyResource::Route(_)
        | AnyResource::RouteTableAssociation(_)
        | AnyResource::SecurityGroup(_)
        | AnyResource::SecurityGroupRule(_)
        | AnyResource::IamRole(_)
        | AnyResource::IamRolePolicy(_)
        | AnyResource::KeyPair(_)
        | AnyResource::LaunchTemplate(_)
        | AnyResource::EbsVolume(_)
        | AnyResource::TargetGroup(_)
        | AnyResource::Listener(_)
        | AnyResource::AutoscalingGroup(_)
        | AnyResource::DnsRecord(_)
        | AnyResource::ManagedFile(_) => 1,
    }
}
