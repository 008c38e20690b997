//! Cordon and drain a node the way `kubectl drain` does, through the Eviction API.
//!
//! [`drain()`] cordons the node, sorts its pods (`classify`), refuses up front when some
//! pods would lose data or have no controller to recreate them (unless allowed), then evicts
//! the rest concurrently. An eviction that a PodDisruptionBudget refuses (HTTP 429) is
//! retried every [`DrainOptions::poll_interval`] until [`DrainOptions::timeout`], and the
//! budgets that select the pod are named in a [`DrainEvent::Blocked`] and, on timeout, in
//! [`DrainError::Blocked`]. After its eviction each pod is awaited until it is gone (or
//! replaced under the same name, with a new uid).
//!
//! Never deletes a pod directly: only the Eviction API, so budgets always hold. DaemonSet
//! pods, mirror (static) pods and finished pods are left alone, as `kubectl drain
//! --ignore-daemonsets` does. One deadline, [`DrainOptions::timeout`] from the start, bounds
//! the whole drain.

use std::{collections::BTreeMap, fmt, time::Duration};

use k8s_openapi::{
    api::{
        core::v1::{Node, Pod},
        policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::apis::meta::v1::LabelSelector,
};
use kube::{
    Api, Client,
    api::{DeleteParams, EvictParams, ListParams, Patch, PatchParams},
};
use tokio::{
    sync::mpsc,
    task::JoinSet,
    time::{Instant, sleep, timeout_at},
};

use super::{KubeError, status_code};

/// kops's drain timeout (`--drain-timeout`, 15 minutes).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How often a refused eviction is retried and a gone pod looked for: `kubectl drain`
/// retries a 429 after 5 s.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The annotation the kubelet puts on the API copy of a static pod.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// How to drain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainOptions {
    /// The deadline for the whole drain, evictions and waits included.
    pub timeout: Duration,
    /// How long to wait before retrying a refused eviction, and between looks for an
    /// evicted pod.
    pub poll_interval: Duration,
    /// Evict pods with `emptyDir` volumes (their data is lost).
    pub delete_emptydir_data: bool,
    /// Evict pods that no controller will recreate.
    pub force: bool,
    /// The grace period given to evicted pods; `None` or a negative value uses each pod's
    /// own.
    pub grace_period: Option<i64>,
}

impl Default for DrainOptions {
    /// kops's rolling-update drain: 15 minutes, `emptyDir` data and unmanaged pods are
    /// evicted too, each pod keeps its own grace period.
    fn default() -> Self {
        Self {
            timeout: DEFAULT_DRAIN_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            delete_emptydir_data: true,
            force: true,
            grace_period: None,
        }
    }
}

/// A pod, by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl PodRef {
    fn of(pod: &Pod) -> Self {
        Self {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
        }
    }
}

impl fmt::Display for PodRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why a pod on the node is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A DaemonSet owns it; it would come straight back (and the node still needs it).
    DaemonSet,
    /// The API copy of a static pod; the kubelet, not the API, runs it.
    Mirror,
    /// It has already succeeded or failed.
    Finished,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DaemonSet => "managed by a DaemonSet",
            Self::Mirror => "a mirror pod",
            Self::Finished => "finished",
        })
    }
}

/// Why a pod stops the drain before any eviction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefusalReason {
    /// It has `emptyDir` volumes, whose data eviction loses.
    LocalStorage,
    /// No controller owns it, so nothing recreates it.
    Unmanaged,
}

impl RefusalReason {
    /// The `drain` flag that allows evicting such pods.
    #[must_use]
    pub fn allowed_by(self) -> &'static str {
        match self {
            Self::LocalStorage => "--delete-emptydir-data",
            Self::Unmanaged => "--force",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::LocalStorage => "pods with local storage (emptyDir)",
            Self::Unmanaged => "pods not managed by a controller",
        }
    }
}

/// A pod that stopped the drain, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedPod {
    /// The pod.
    pub pod: PodRef,
    /// Every reason it was refused for.
    pub reasons: Vec<RefusalReason>,
}

/// A PodDisruptionBudget that selects a pod whose eviction was refused, with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockingPdb {
    /// `namespace/name`.
    pub name: String,
    /// How many more pods it allows to be disrupted now.
    pub disruptions_allowed: i32,
    /// How many of its pods are healthy.
    pub current_healthy: i32,
    /// How many of its pods must stay healthy.
    pub desired_healthy: i32,
}

impl fmt::Display for BlockingPdb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` ({} healthy, {} needed, {} disruptions allowed)",
            self.name, self.current_healthy, self.desired_healthy, self.disruptions_allowed
        )
    }
}

/// Progress of a drain, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrainEvent {
    /// The node is marked unschedulable.
    Cordoned {
        /// The node.
        node: String,
    },
    /// A pod is left on the node.
    Skipped {
        /// The pod.
        pod: PodRef,
        /// Why.
        reason: SkipReason,
    },
    /// An eviction was refused (HTTP 429); it is retried until the timeout. Sent on the
    /// first refusal and again whenever the budgets that select the pod change.
    Blocked {
        /// The pod.
        pod: PodRef,
        /// The budgets that select it (empty if none was found: then the 429 came from
        /// elsewhere, such as API priority and fairness).
        pdbs: Vec<BlockingPdb>,
        /// How long its eviction has been tried.
        waited: Duration,
    },
    /// The API server accepted the pod's eviction.
    Evicted {
        /// The pod.
        pod: PodRef,
    },
    /// The pod no longer exists (after its eviction, or before it).
    Gone {
        /// The pod.
        pod: PodRef,
    },
}

/// What a finished drain did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// The node.
    pub node: String,
    /// The pods evicted and gone, sorted.
    pub evicted: Vec<PodRef>,
    /// The pods left on the node, and why.
    pub skipped: Vec<(PodRef, SkipReason)>,
    /// How long the drain took.
    pub elapsed: Duration,
}

/// Why a drain stopped. The node stays cordoned.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// A request failed.
    #[error(transparent)]
    Kube(#[from] KubeError),
    /// Some pods may not be evicted with these options; nothing was evicted.
    #[error("cannot drain node `{node}`: {}", refusal_list(pods))]
    Refused {
        /// The node.
        node: String,
        /// Every pod that may not be evicted.
        pods: Vec<RefusedPod>,
    },
    /// A pod's eviction was refused until the timeout, by a disruption budget (or its
    /// eviction call had not returned by then: see [`super::client()`]).
    #[error(
        "the eviction of pod `{pod}` was refused for {} by {}; raise --drain-timeout, or scale \
         the workload up (or relax the budget) so that it allows a disruption",
        human(*waited),
        pdb_list(pod, pdbs)
    )]
    Blocked {
        /// The pod.
        pod: PodRef,
        /// The budgets that select it.
        pdbs: Vec<BlockingPdb>,
        /// How long its eviction was tried.
        waited: Duration,
    },
    /// A pod was evicted but still exists at the timeout (its kubelet has not confirmed the
    /// deletion: a long grace period, or a node that is down).
    #[error(
        "pod `{pod}` was evicted but still exists after {}; raise --drain-timeout or check its node",
        human(*waited)
    )]
    NotGone {
        /// The pod.
        pod: PodRef,
        /// How long the drain had run.
        waited: Duration,
    },
}

fn refusal_list(pods: &[RefusedPod]) -> String {
    let mut by_reason: BTreeMap<RefusalReason, Vec<String>> = BTreeMap::new();
    for refused in pods {
        for reason in &refused.reasons {
            by_reason
                .entry(*reason)
                .or_default()
                .push(refused.pod.to_string());
        }
    }
    by_reason
        .into_iter()
        .map(|(reason, pods)| {
            format!(
                "{} (allowed by {}): {}",
                reason.describe(),
                reason.allowed_by(),
                pods.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn pdb_list(pod: &PodRef, pdbs: &[BlockingPdb]) -> String {
    match pdbs {
        [] => format!(
            "the API server (429 Too Many Requests), though no PodDisruptionBudget in namespace \
             `{}` selects it",
            pod.namespace
        ),
        [pdb] => format!("PodDisruptionBudget {pdb}"),
        pdbs => format!(
            "PodDisruptionBudgets {}",
            pdbs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A duration to the second, as `1m30s`.
fn human(duration: Duration) -> String {
    let seconds = duration.as_secs_f64().round() as u64;
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

/// Marks a node unschedulable. Idempotent.
///
/// # Errors
/// When the node cannot be patched (it does not exist, say).
pub async fn cordon(client: &Client, node: &str) -> Result<(), KubeError> {
    cordon_and_label(client, node, &BTreeMap::new()).await
}

/// Marks a node unschedulable and sets `labels` on it, in one patch (other labels stay).
async fn cordon_and_label(
    client: &Client,
    node: &str,
    labels: &BTreeMap<String, String>,
) -> Result<(), KubeError> {
    let patch = if labels.is_empty() {
        serde_json::json!({ "spec": { "unschedulable": true } })
    } else {
        serde_json::json!({
            "metadata": { "labels": labels },
            "spec": { "unschedulable": true },
        })
    };
    Api::<Node>::all(client.clone())
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(KubeError::request("cordon", format!("node `{node}`")))?;
    Ok(())
}

/// What [`drain()`] does with one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Disposition {
    Skip(SkipReason),
    Refuse(Vec<RefusalReason>),
    Evict,
}

/// Sorts a pod on the node being drained, as `kubectl drain --ignore-daemonsets` does.
fn classify(pod: &Pod, options: &DrainOptions) -> Disposition {
    let phase = pod
        .status
        .as_ref()
        .and_then(|status| status.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return Disposition::Skip(SkipReason::Finished);
    }
    if pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|annotations| annotations.contains_key(MIRROR_ANNOTATION))
    {
        return Disposition::Skip(SkipReason::Mirror);
    }
    let controller = pod
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|owner| owner.controller == Some(true));
    if controller.is_some_and(|owner| owner.kind == "DaemonSet") {
        return Disposition::Skip(SkipReason::DaemonSet);
    }
    let mut reasons = Vec::new();
    let has_empty_dir = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.volumes.as_deref())
        .unwrap_or_default()
        .iter()
        .any(|volume| volume.empty_dir.is_some());
    if has_empty_dir && !options.delete_emptydir_data {
        reasons.push(RefusalReason::LocalStorage);
    }
    if controller.is_none() && !options.force {
        reasons.push(RefusalReason::Unmanaged);
    }
    if reasons.is_empty() {
        Disposition::Evict
    } else {
        Disposition::Refuse(reasons)
    }
}

/// Cordons `node` and evicts its pods, honouring PodDisruptionBudgets; `on_event` hears
/// the progress.
///
/// # Errors
/// [`DrainError::Refused`] before any eviction when some pods may not be evicted with these
/// options; [`DrainError::Blocked`] when a budget refused an eviction until the timeout;
/// [`DrainError::NotGone`] when an evicted pod outlived it; [`DrainError::Kube`] when a
/// request failed. The node stays cordoned in every case, and evictions still in flight are
/// abandoned.
pub async fn drain(
    client: &Client,
    node: &str,
    options: &DrainOptions,
    on_event: &mut (dyn FnMut(DrainEvent) + Send),
) -> Result<DrainReport, DrainError> {
    drain_labelled(client, node, &BTreeMap::new(), options, on_event).await
}

/// [`drain()`], setting `labels` on the node in the same patch as its cordon (a rolling
/// update sets [`super::EXCLUDE_FROM_LOAD_BALANCERS_LABEL`] so).
///
/// # Errors
/// As [`drain()`].
pub async fn drain_labelled(
    client: &Client,
    node: &str,
    labels: &BTreeMap<String, String>,
    options: &DrainOptions,
    on_event: &mut (dyn FnMut(DrainEvent) + Send),
) -> Result<DrainReport, DrainError> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    cordon_and_label(client, node, labels).await?;
    on_event(DrainEvent::Cordoned {
        node: node.to_owned(),
    });

    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .map_err(KubeError::request("list", format!("pods on node `{node}`")))?;
    let mut skipped = Vec::new();
    let mut refused = Vec::new();
    let mut to_evict = Vec::new();
    for pod in pods.items {
        match classify(&pod, options) {
            Disposition::Skip(reason) => skipped.push((PodRef::of(&pod), reason)),
            Disposition::Refuse(reasons) => refused.push(RefusedPod {
                pod: PodRef::of(&pod),
                reasons,
            }),
            Disposition::Evict => to_evict.push(pod),
        }
    }
    skipped.sort_by(|a, b| a.0.cmp(&b.0));
    for (pod, reason) in &skipped {
        on_event(DrainEvent::Skipped {
            pod: pod.clone(),
            reason: *reason,
        });
    }
    if !refused.is_empty() {
        refused.sort_by(|a, b| a.pod.cmp(&b.pod));
        return Err(DrainError::Refused {
            node: node.to_owned(),
            pods: refused,
        });
    }

    let delete_options = DeleteParams {
        grace_period_seconds: options
            .grace_period
            .and_then(|seconds| u32::try_from(seconds).ok()),
        ..DeleteParams::default()
    };
    let (events, mut heard) = mpsc::unbounded_channel();
    // Dropping the set (on error, or when the caller drops this future) aborts the rest.
    let mut evictions = JoinSet::new();
    for pod in to_evict {
        let eviction = Eviction {
            client: client.clone(),
            pod: PodRef::of(&pod),
            uid: pod.metadata.uid.clone(),
            params: EvictParams {
                delete_options: Some(delete_options.clone()),
                ..EvictParams::default()
            },
            deadline,
            poll_interval: options.poll_interval,
            events: events.clone(),
        };
        evictions.spawn(eviction.run());
    }
    drop(events);

    let mut evicted = Vec::new();
    let mut failure = None;
    loop {
        tokio::select! {
            Some(event) = heard.recv() => on_event(event),
            joined = evictions.join_next() => match joined {
                None => break,
                Some(Ok(Ok(Some(pod)))) => evicted.push(pod),
                Some(Ok(Ok(None))) => {}
                Some(Ok(Err(error))) => {
                    failure = Some(error);
                    break;
                }
                Some(Err(join)) => std::panic::resume_unwind(join.into_panic()),
            },
        }
    }
    evictions.abort_all();
    while let Ok(event) = heard.try_recv() {
        on_event(event);
    }
    if let Some(error) = failure {
        return Err(error);
    }
    evicted.sort();
    Ok(DrainReport {
        node: node.to_owned(),
        evicted,
        skipped,
        elapsed: started.elapsed(),
    })
}

/// One pod's eviction, run as its own task.
struct Eviction {
    client: Client,
    pod: PodRef,
    uid: Option<String>,
    params: EvictParams,
    deadline: Instant,
    poll_interval: Duration,
    events: mpsc::UnboundedSender<DrainEvent>,
}

impl Eviction {
    /// Evicts the pod and waits until it is gone; `Some(pod)` if this eviction removed it,
    /// `None` if it was gone already.
    async fn run(self) -> Result<Option<PodRef>, DrainError> {
        let pods = Api::<Pod>::namespaced(self.client.clone(), &self.pod.namespace);
        let started = Instant::now();
        let mut last_pdbs = None;
        loop {
            // A client that retries 429 itself would hold the call past the deadline.
            let attempt = timeout_at(self.deadline, pods.evict(&self.pod.name, &self.params));
            let error = match attempt.await {
                Ok(Ok(_)) => break,
                Ok(Err(error)) => error,
                Err(_deadline) => {
                    return Err(DrainError::Blocked {
                        pdbs: self.blocking_pdbs().await?,
                        pod: self.pod,
                        waited: started.elapsed(),
                    });
                }
            };
            match status_code(&error) {
                Some(404) => {
                    self.send(DrainEvent::Gone {
                        pod: self.pod.clone(),
                    });
                    return Ok(None);
                }
                Some(429) => {
                    let pdbs = self.blocking_pdbs().await?;
                    let waited = started.elapsed();
                    let names: Vec<String> = pdbs.iter().map(|pdb| pdb.name.clone()).collect();
                    if last_pdbs.as_ref() != Some(&names) {
                        self.send(DrainEvent::Blocked {
                            pod: self.pod.clone(),
                            pdbs: pdbs.clone(),
                            waited,
                        });
                        last_pdbs = Some(names);
                    }
                    let now = Instant::now();
                    if now >= self.deadline {
                        return Err(DrainError::Blocked {
                            pod: self.pod,
                            pdbs,
                            waited,
                        });
                    }
                    sleep(self.poll_interval.min(self.deadline - now)).await;
                }
                _ => {
                    return Err(
                        KubeError::request("evict", format!("pod `{}`", self.pod))(error).into(),
                    );
                }
            }
        }
        self.send(DrainEvent::Evicted {
            pod: self.pod.clone(),
        });

        loop {
            let Ok(current) = timeout_at(self.deadline, pods.get_opt(&self.pod.name)).await else {
                return Err(DrainError::NotGone {
                    pod: self.pod,
                    waited: started.elapsed(),
                });
            };
            let current =
                current.map_err(KubeError::request("get", format!("pod `{}`", self.pod)))?;
            if current.is_none_or(|pod| pod.metadata.uid != self.uid) {
                break;
            }
            let now = Instant::now();
            if now >= self.deadline {
                return Err(DrainError::NotGone {
                    pod: self.pod,
                    waited: started.elapsed(),
                });
            }
            sleep(self.poll_interval.min(self.deadline - now)).await;
        }
        self.send(DrainEvent::Gone {
            pod: self.pod.clone(),
        });
        Ok(Some(self.pod))
    }

    fn send(&self, event: DrainEvent) {
        // The receiver only goes away when the drain has already failed.
        let _ = self.events.send(event);
    }

    /// The budgets in the pod's namespace whose selector matches the pod's labels.
    async fn blocking_pdbs(&self) -> Result<Vec<BlockingPdb>, DrainError> {
        let namespace = &self.pod.namespace;
        let pod = Api::<Pod>::namespaced(self.client.clone(), namespace)
            .get_opt(&self.pod.name)
            .await
            .map_err(KubeError::request("get", format!("pod `{}`", self.pod)))?;
        let labels = pod.and_then(|pod| pod.metadata.labels).unwrap_or_default();
        let budgets = Api::<PodDisruptionBudget>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .map_err(KubeError::request(
                "list",
                format!("PodDisruptionBudgets in namespace `{namespace}`"),
            ))?;
        Ok(budgets
            .items
            .into_iter()
            .filter(|pdb| {
                pdb.spec
                    .as_ref()
                    .and_then(|spec| spec.selector.as_ref())
                    .is_some_and(|selector| selector_matches(selector, &labels))
            })
            .map(|pdb| {
                let status = pdb.status.unwrap_or_default();
                BlockingPdb {
                    name: format!("{namespace}/{}", pdb.metadata.name.unwrap_or_default()),
                    disruptions_allowed: status.disruptions_allowed.unwrap_or_default(),
                    current_healthy: status.current_healthy.unwrap_or_default(),
                    desired_healthy: status.desired_healthy.unwrap_or_default(),
                }
            })
            .collect())
    }
}

/// Whether a label selector matches a set of labels. An empty selector matches everything
/// (as a policy/v1 budget's does).
fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_match = selector
        .match_labels
        .as_ref()
        .is_none_or(|wanted| wanted.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let expressions_match = selector
        .match_expressions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .all(|requirement| {
            let values = requirement.values.as_deref().unwrap_or_default();
            let value = labels.get(&requirement.key);
            match requirement.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                // An unknown operator selects nothing, as the API server's parser rejects it.
                _ => false,
            }
        });
    labels_match && expressions_match
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{
        api::core::v1::{EmptyDirVolumeSource, PodSpec, PodStatus, Volume},
        apimachinery::pkg::apis::meta::v1::{LabelSelectorRequirement, OwnerReference},
    };
    use kube::api::ObjectMeta;

    use super::*;

    fn pod(owner: Option<&str>, empty_dir: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("p".to_owned()),
                namespace: Some("ns".to_owned()),
                owner_references: owner.map(|kind| {
                    vec![OwnerReference {
                        kind: kind.to_owned(),
                        controller: Some(true),
                        ..OwnerReference::default()
                    }]
                }),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                volumes: empty_dir.then(|| {
                    vec![Volume {
                        name: "scratch".to_owned(),
                        empty_dir: Some(EmptyDirVolumeSource::default()),
                        ..Volume::default()
                    }]
                }),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".to_owned()),
                ..PodStatus::default()
            }),
        }
    }

    fn strict() -> DrainOptions {
        DrainOptions {
            delete_emptydir_data: false,
            force: false,
            ..DrainOptions::default()
        }
    }

    #[test]
    fn pods_are_classified_as_kubectl_drain_does() {
        let options = strict();
        assert_eq!(
            classify(&pod(Some("ReplicaSet"), false), &options),
            Disposition::Evict
        );
        assert_eq!(
            classify(&pod(Some("DaemonSet"), true), &options),
            Disposition::Skip(SkipReason::DaemonSet)
        );
        let mut mirror = pod(None, false);
        mirror.metadata.annotations =
            Some([(MIRROR_ANNOTATION.to_owned(), "abc".to_owned())].into());
        assert_eq!(
            classify(&mirror, &options),
            Disposition::Skip(SkipReason::Mirror)
        );
        let mut finished = pod(None, true);
        finished.status.as_mut().unwrap().phase = Some("Succeeded".to_owned());
        assert_eq!(
            classify(&finished, &options),
            Disposition::Skip(SkipReason::Finished)
        );
        assert_eq!(
            classify(&pod(None, true), &options),
            Disposition::Refuse(vec![RefusalReason::LocalStorage, RefusalReason::Unmanaged])
        );
        assert_eq!(
            classify(&pod(Some("StatefulSet"), true), &options),
            Disposition::Refuse(vec![RefusalReason::LocalStorage])
        );
        // An owner that is not the controller does not make a pod managed.
        let mut not_controller = pod(Some("ReplicaSet"), false);
        not_controller.metadata.owner_references.as_mut().unwrap()[0].controller = None;
        assert_eq!(
            classify(&not_controller, &options),
            Disposition::Refuse(vec![RefusalReason::Unmanaged])
        );
        let allowed = DrainOptions::default();
        assert_eq!(classify(&pod(None, true), &allowed), Disposition::Evict);
    }

    #[test]
    fn refusals_name_every_pod_and_the_flag() {
        let error = DrainError::Refused {
            node: "n1".to_owned(),
            pods: vec![
                RefusedPod {
                    pod: PodRef {
                        namespace: "a".to_owned(),
                        name: "x".to_owned(),
                    },
                    reasons: vec![RefusalReason::LocalStorage, RefusalReason::Unmanaged],
                },
                RefusedPod {
                    pod: PodRef {
                        namespace: "b".to_owned(),
                        name: "y".to_owned(),
                    },
                    reasons: vec![RefusalReason::Unmanaged],
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "cannot drain node `n1`: pods with local storage (emptyDir) (allowed by \
             --delete-emptydir-data): a/x; pods not managed by a controller (allowed by \
             --force): a/x, b/y"
        );
    }

    #[test]
    fn blocked_names_the_budget_and_what_to_do() {
        let error = DrainError::Blocked {
            pod: PodRef {
                namespace: "web".to_owned(),
                name: "web-1".to_owned(),
            },
            pdbs: vec![BlockingPdb {
                name: "web/web".to_owned(),
                disruptions_allowed: 0,
                current_healthy: 2,
                desired_healthy: 2,
            }],
            waited: Duration::from_millis(90_400),
        };
        assert_eq!(
            error.to_string(),
            "the eviction of pod `web/web-1` was refused for 1m30s by PodDisruptionBudget \
             `web/web` (2 healthy, 2 needed, 0 disruptions allowed); raise --drain-timeout, or \
             scale the workload up (or relax the budget) so that it allows a disruption"
        );
    }

    #[test]
    fn selectors_match_labels_and_expressions() {
        let labels: BTreeMap<String, String> = [
            ("app".to_owned(), "web".to_owned()),
            ("tier".to_owned(), "front".to_owned()),
        ]
        .into();
        let requirement = |key: &str, operator: &str, values: &[&str]| LabelSelectorRequirement {
            key: key.to_owned(),
            operator: operator.to_owned(),
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        };
        let selector =
            |labels: &[(&str, &str)], expressions: Vec<LabelSelectorRequirement>| LabelSelector {
                match_labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                match_expressions: Some(expressions),
            };
        assert!(selector_matches(&LabelSelector::default(), &labels));
        assert!(selector_matches(
            &selector(&[("app", "web")], vec![]),
            &labels
        ));
        assert!(!selector_matches(
            &selector(&[("app", "db")], vec![]),
            &labels
        ));
        assert!(selector_matches(
            &selector(&[], vec![requirement("tier", "In", &["front", "back"])]),
            &labels
        ));
        assert!(!selector_matches(
            &selector(&[], vec![requirement("tier", "NotIn", &["front"])]),
            &labels
        ));
        assert!(selector_matches(
            &selector(&[], vec![requirement("app", "Exists", &[])]),
            &labels
        ));
        assert!(!selector_matches(
            &selector(&[], vec![requirement("app", "DoesNotExist", &[])]),
            &labels
        ));
    }

    #[test]
    fn durations_read_to_the_second() {
        assert_eq!(human(Duration::from_millis(4_600)), "5s");
        assert_eq!(human(Duration::from_secs(900)), "15m");
        assert_eq!(human(Duration::from_secs(61)), "1m1s");
    }
}
