//! The `kops.k8s.io/v1alpha2` wire types: kops's field names and meanings, Berth's subset.
//!
//! Every struct denies unknown fields and derives a JSON schema; the schema drives the
//! unknown-field checks in `api::check`. These types hold what the user wrote:
//! optional fields stay `None` and are skipped when written, so a manifest round-trips
//! without gaining fields. Defaults live in [`crate::complete()`], rules in [`crate::validate()`].

mod cloud_provider;
mod cluster;
mod etcd;
mod instance_group;
mod meta;
mod networking;
mod topology;

pub use cloud_provider::{AwsProviderSpec, CloudProvider, CloudProviderName, CloudProviderSpec};
pub use cluster::{
    AccessSpec, AuthorizationSpec, Cluster, ClusterSpec, ClusterSubnetSpec, DnsAccessSpec,
    ExternalDnsSpec, IamSpec, KubeApiServerSpec, KubeDnsSpec, KubeProxySpec, KubeletSpec,
    LoadBalancerAccessSpec, LoadBalancerClass, LoadBalancerType, RbacAuthorizationSpec, SubnetType,
};
pub use etcd::{EtcdClusterSpec, EtcdManagerSpec, EtcdMemberSpec};
pub use instance_group::{
    InstanceGroup, InstanceGroupRole, InstanceGroupSpec, InstanceMetadataSpec, IntOrString,
    RollingUpdateSpec, RootVolumeSpec,
};
pub use meta::{API_VERSION, CLUSTER_KIND, CLUSTER_LABEL, INSTANCE_GROUP_KIND, ObjectMeta};
pub use networking::{CiliumHubbleSpec, CiliumNetworkingSpec, CniNetworkingSpec, NetworkingSpec};
pub use topology::{BastionSpec, DnsSpec, DnsType, ParseNameError, Topology, TopologySpec};
