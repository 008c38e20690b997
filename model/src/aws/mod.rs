//! The AWS resources a cluster is made of, as plain data, and the graph that connects them.
//!
//! Builders (in [`crate::builders`]) turn a completed spec into a [`Graph`] of these; the
//! engine in `berth-cloudup` finds, diffs and applies them. Nothing here talks to AWS.
//!
//! The set of kinds is closed: `for_each_resource_kind!` is the one registry, and it
//! generates [`ResourceKind`] and [`AnyResource`]. Edges are typed [`Ref`]s, which only
//! [`Graph::add`] hands out, so a resource can only point at a node of the right kind that
//! exists.

mod compute;
mod dns;
mod files;
mod graph;
mod iam;
mod load_balancer;
mod network;
mod security;
mod tags;

use std::{fmt, marker::PhantomData};

use serde::{Serialize, Serializer};

pub use compute::{AutoscalingGroup, EbsVolume, KeyPair, LaunchTemplate};
pub use dns::DnsRecord;
pub use files::ManagedFile;
pub use graph::{Graph, GraphError};
pub use iam::{IamInstanceProfile, IamRole, IamRolePolicy};
pub use load_balancer::{Listener, LoadBalancer, TargetGroup};
pub use network::{
    DhcpOptions, ElasticIp, InternetGateway, NatGateway, Route, RouteTable, RouteTableAssociation,
    RouteTarget, Subnet, Vpc,
};
pub use security::{RuleDirection, RuleSource, SecurityGroup, SecurityGroupRule};
pub use tags::{
    CLUSTER_OWNERSHIP_TAG_PREFIX, CLUSTER_TAG, Tags, cluster_owned_tag_key, owned_by,
    owning_cluster,
};

/// Calls `$callback!` with every resource kind, in dependency-friendly order.
///
/// The one registry of kinds: adding a kind here makes every exhaustive `match` over
/// [`AnyResource`] or [`ResourceKind`] (in this crate and in the engine) fail to compile
/// until it is handled.
#[macro_export]
macro_rules! for_each_resource_kind {
    ($callback:ident) => {
        $callback! {
            Vpc, DhcpOptions, InternetGateway, Subnet, ElasticIp, NatGateway, RouteTable, Route,
            RouteTableAssociation, SecurityGroup, SecurityGroupRule, IamRole, IamRolePolicy,
            IamInstanceProfile, KeyPair, LaunchTemplate, EbsVolume, LoadBalancer, TargetGroup,
            Listener, AutoscalingGroup, DnsRecord, ManagedFile
        }
    };
}

macro_rules! define_kinds {
    ($($kind:ident),* $(,)?) => {
        /// Every kind of resource Berth manages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum ResourceKind {
            $(
                #[doc = concat!("[`", stringify!($kind), "`]")]
                $kind,
            )*
        }

        impl ResourceKind {
            /// Every kind, in registry order.
            pub const ALL: &'static [ResourceKind] = &[$(ResourceKind::$kind),*];

            /// The kind's name, as in plans and messages.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ResourceKind::$kind => stringify!($kind),)*
                }
            }
        }

        /// Any resource: the closed set the graph stores.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(tag = "kind")]
        pub enum AnyResource {
            $(
                #[doc = concat!("A [`", stringify!($kind), "`].")]
                $kind($kind),
            )*
        }

        impl AnyResource {
            /// The resource's key.
            #[must_use]
            pub fn key(&self) -> NodeKey {
                match self {
                    $(AnyResource::$kind(resource) => NodeKey::new(ResourceKind::$kind, resource.name()),)*
                }
            }

            /// The keys of the resources this one depends on.
            #[must_use]
            pub fn deps(&self) -> Vec<NodeKey> {
                match self {
                    $(AnyResource::$kind(resource) => resource.deps(),)*
                }
            }
        }

        $(
            impl Resource for $kind {
                const KIND: ResourceKind = ResourceKind::$kind;
                fn name(&self) -> &str {
                    &self.name
                }
                fn deps(&self) -> Vec<NodeKey> {
                    self.dependencies()
                }
                fn into_any(self) -> AnyResource {
                    AnyResource::$kind(self)
                }
            }
        )*
    };
}

for_each_resource_kind!(define_kinds);

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A desired resource: plain data with a unique name within its kind and typed edges.
pub trait Resource: Clone + fmt::Debug + PartialEq + Serialize + Send + Sync + 'static {
    /// Its kind.
    const KIND: ResourceKind;
    /// Its name, unique within the kind (the `Name` tag, IAM name, record name or key).
    fn name(&self) -> &str;
    /// The resources it depends on: every [`Ref`] it holds.
    fn deps(&self) -> Vec<NodeKey>;
    /// Erases the type.
    fn into_any(self) -> AnyResource;
}

/// Identifies a node of the graph: its kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeKey {
    /// The kind.
    pub kind: ResourceKind,
    /// The name within the kind.
    pub name: String,
}

impl NodeKey {
    /// A key from its parts.
    #[must_use]
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

impl Serialize for NodeKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A typed edge to a resource of kind `T` in the graph.
///
/// Only [`Graph::add`] makes one, so it always names a node that exists and has kind `T`.
pub struct Ref<T> {
    key: NodeKey,
    kind: PhantomData<fn() -> T>,
}

impl<T> Ref<T> {
    pub(crate) fn new(key: NodeKey) -> Self {
        Self {
            key,
            kind: PhantomData,
        }
    }

    /// The key of the node it points at.
    #[must_use]
    pub fn key(&self) -> &NodeKey {
        &self.key
    }
}

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        Self::new(self.key.clone())
    }
}

impl<T> PartialEq for Ref<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<T> Eq for Ref<T> {}

impl<T> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref({})", self.key)
    }
}

impl<T> Serialize for Ref<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.key.serialize(serializer)
    }
}
