//! The per-kind code, generated from the one registry of kinds
//! ([`berth_model::for_each_resource_kind!`]): the typed [`Discovery`], batched discovery, and
//! the exhaustive `match` that turns an [`AnyResource`] back into its typed [`Reconcile`] impl.
//!
//! Adding a kind to the registry adds a field to [`Discovery`] and an arm to every match
//! here; a kind without a [`Reconcile`] impl does not compile.

use std::sync::Arc;

use berth_model::{
    aws::{
        AnyResource, AutoscalingGroup, DhcpOptions, DnsRecord, EbsVolume, ElasticIp, Graph,
        IamInstanceProfile, IamRole, IamRolePolicy, InternetGateway, KeyPair, LaunchTemplate,
        Listener, LoadBalancer, ManagedFile, NatGateway, NodeKey, ResourceKind, Route, RouteTable,
        RouteTableAssociation, SecurityGroup, SecurityGroupRule, Subnet, TargetGroup, Vpc,
    },
    for_each_resource_kind,
};
use berth_state_store::ObjectStore;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::{
    Action, ApplyCx, ApplyOptions, DiscoveryScope, Output, Reconcile, Resolver, RetryPolicy,
    TaskError,
    plan::NodeState,
    retry::{GaveUp, RetryObserver, retry},
};
use crate::aws::AwsClients;

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// Describing one kind failed (after retries).
    #[error("failed to discover the existing {kind} resources")]
    Kind {
        /// The kind.
        kind: ResourceKind,
        /// Why.
        #[source]
        source: TaskError,
    },
    /// Several kinds failed.
    #[error("failed to discover the existing resources of {} kinds", failures.len())]
    Partial {
        /// One [`DiscoveryError::Kind`] per failed kind.
        failures: Vec<DiscoveryError>,
    },
    /// The run was cancelled during discovery.
    #[error("discovery was cancelled")]
    Cancelled,
}

/// A kind the engine can dispatch to: its [`Reconcile`] impl plus typed access to its
/// variant and its slot in the [`Discovery`].
pub(crate) trait Kind: Reconcile {
    /// The resource if `any` is of this kind.
    fn from_any(any: &AnyResource) -> Option<&Self>;
    /// What discovery found of this kind.
    fn observed(discovery: &Discovery) -> &[Self::Observed];
}

macro_rules! define_dispatch {
    ($($kind:ident),* $(,)?) => {
        /// What discovery found, per kind, typed: one `Vec` of each kind's
        /// [`Reconcile::Observed`]. Kinds absent from the graph are not described and stay
        /// empty.
        #[derive(Debug, Clone, Default)]
        pub struct Discovery {
            $(
                #[doc = concat!("The existing [`", stringify!($kind), "`] resources.")]
                pub $kind: Vec<<$kind as Reconcile>::Observed>,
            )*
        }

        impl Discovery {
            /// How many resources were found of each kind (kinds with none are left out).
            #[must_use]
            pub fn counts(&self) -> Vec<(ResourceKind, usize)> {
                [$((ResourceKind::$kind, self.$kind.len()),)*]
                    .into_iter()
                    .filter(|(_, count)| *count > 0)
                    .collect()
            }
        }

        $(
            impl Kind for $kind {
                fn from_any(any: &AnyResource) -> Option<&Self> {
                    match any {
                        AnyResource::$kind(resource) => Some(resource),
                        _ => None,
                    }
                }

                fn observed(discovery: &Discovery) -> &[Self::Observed] {
                    &discovery.$kind
                }
            }
        )*

        /// Describes every kind present in `graph`, all kinds at once (at most
        /// `options.concurrency` calls in flight), retrying transient errors.
        pub async fn discover_all_with(
            graph: &Graph,
            clients: &AwsClients,
            store: &Arc<dyn ObjectStore>,
            cluster: &str,
            options: &ApplyOptions,
        ) -> Result<Discovery, DiscoveryError> {
            let limiter = Semaphore::new(options.concurrency.max(1));
            let cx = KindDiscovery {
                graph,
                clients,
                store,
                cluster,
                limiter: &limiter,
                policy: &options.retry,
                cancel: &options.cancel,
            };
            let ($($kind,)*) = tokio::join!($(cx.discover::<$kind>(),)*);
            let mut failures = Vec::new();
            let discovery = Discovery {
                $($kind: cx.collect($kind, &mut failures),)*
            };
            match failures.len() {
                0 => Ok(discovery),
                1 => Err(failures.remove(0)),
                _ if failures.iter().all(|failure| matches!(failure, DiscoveryError::Cancelled)) => {
                    Err(DiscoveryError::Cancelled)
                }
                _ => Err(DiscoveryError::Partial { failures }),
            }
        }

        /// Plans one node: find it among the discovered, then diff or describe the creation.
        pub(crate) fn plan_any(any: &AnyResource, discovery: &Discovery, deps: &Resolver) -> NodeState {
            match any {
                $(AnyResource::$kind(resource) => plan_node(resource, discovery, deps),)*
            }
        }

        /// Applies one node's planned action through its kind's typed impl.
        pub(crate) async fn apply_any(
            any: &AnyResource,
            state: &NodeState,
            discovery: &Discovery,
            cx: &ApplyCx<'_>,
        ) -> Result<Output, TaskError> {
            match any {
                $(AnyResource::$kind(resource) => apply_node(resource, state, discovery, cx).await,)*
            }
        }
    };
}

for_each_resource_kind!(define_dispatch);

/// Describes every kind present in `graph` with the default concurrency and retries.
pub async fn discover_all(
    graph: &Graph,
    clients: &AwsClients,
    store: &Arc<dyn ObjectStore>,
    cluster: &str,
) -> Result<Discovery, DiscoveryError> {
    let options = ApplyOptions {
        abort_after_tasks: None,
        ..ApplyOptions::default()
    };
    discover_all_with(graph, clients, store, cluster, &options).await
}

/// What discovering one kind needs.
struct KindDiscovery<'a> {
    graph: &'a Graph,
    clients: &'a AwsClients,
    store: &'a Arc<dyn ObjectStore>,
    cluster: &'a str,
    limiter: &'a Semaphore,
    policy: &'a RetryPolicy,
    cancel: &'a CancellationToken,
}

/// Discovery retries are logged, not reported: no task has started yet.
struct LogRetries(ResourceKind);

impl RetryObserver for LogRetries {
    fn retrying(&mut self, attempt: u32, error: &TaskError, delay: std::time::Duration) {
        tracing::debug!(kind = %self.0, attempt, ?delay, error = %error, "retrying discovery");
    }
}

impl KindDiscovery<'_> {
    /// One `discover` call for kind `K`, unless the graph has none of it.
    async fn discover<K: Kind>(&self) -> (ResourceKind, Result<Vec<K::Observed>, GaveUp>) {
        let desired: Vec<&K> = self
            .graph
            .in_order()
            .filter_map(|(_, any)| K::from_any(any))
            .collect();
        if desired.is_empty() {
            return (K::KIND, Ok(Vec::new()));
        }
        let mut observer = LogRetries(K::KIND);
        let result = retry(
            self.policy,
            self.limiter,
            self.cancel,
            &mut observer,
            |_attempt| {
                K::discover(DiscoveryScope {
                    clients: self.clients,
                    store: self.store,
                    cluster: self.cluster,
                    desired: desired.clone(),
                })
            },
        )
        .await;
        (K::KIND, result)
    }

    fn collect<T>(
        &self,
        (kind, result): (ResourceKind, Result<Vec<T>, GaveUp>),
        failures: &mut Vec<DiscoveryError>,
    ) -> Vec<T> {
        match result {
            Ok(observed) => observed,
            Err(GaveUp::Cancelled) => {
                failures.push(DiscoveryError::Cancelled);
                Vec::new()
            }
            Err(GaveUp::Failed(source)) => {
                failures.push(DiscoveryError::Kind { kind, source });
                Vec::new()
            }
        }
    }
}

fn plan_node<K: Kind>(resource: &K, discovery: &Discovery, deps: &Resolver) -> NodeState {
    let observed = K::observed(discovery);
    match resource.find(observed) {
        None => NodeState {
            action: Action::Create,
            fields: resource.describe_create(deps),
            observed: None,
            output: None,
        },
        Some(found) => {
            let (action, fields) = resource.diff(found, deps);
            NodeState {
                action,
                fields,
                observed: observed
                    .iter()
                    .position(|candidate| std::ptr::eq(candidate, found)),
                output: Some(K::output(found)),
            }
        }
    }
}

async fn apply_node<K: Kind>(
    resource: &K,
    state: &NodeState,
    discovery: &Discovery,
    cx: &ApplyCx<'_>,
) -> Result<Output, TaskError> {
    let observed = state
        .observed
        .and_then(|index| K::observed(discovery).get(index));
    match (&state.action, observed) {
        (Action::Create, _) => resource.create(cx).await,
        (Action::Update, Some(observed)) => {
            let change = super::Change {
                key: NodeKey::new(K::KIND, resource.name()),
                action: Action::Update,
                fields: state.fields.clone(),
            };
            resource.update(observed, &change, cx).await
        }
        (Action::Unchanged, Some(observed)) => Ok(K::output(observed)),
        (Action::Replace { reason }, _) => Err(TaskError::Refused {
            message: format!(
                "`{}/{}` would have to be replaced ({reason}); Berth does not replace resources in place",
                K::KIND,
                resource.name()
            ),
        }),
        (Action::Conflict { reason }, _) => Err(TaskError::Refused {
            message: format!("`{}/{}`: {reason}", K::KIND, resource.name()),
        }),
        (Action::Update | Action::Unchanged, None) => Err(TaskError::Refused {
            message: format!(
                "the plan lost the observed state of `{}/{}`",
                K::KIND,
                resource.name()
            ),
        }),
    }
}
