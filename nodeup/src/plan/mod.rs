//! Planning: a [`NodeupConfig`] and the [`HostFacts`] gathered for this machine become the
//! ordered list of [`NodeTask`]s that make it a node.
//!
//! Pure: no I/O, no clock, no randomness (certificates are issued before planning, see
//! [`crate::pki`]), so the whole plan of an instance group is snapshot-tested. Ordering
//! comes from explicit [`Phase`]s (volumes → directories → kernel → binaries → files →
//! units → services), never from per-task dependency rules. One module per concern:
//! [`kubelet`], [`containerd`], [`kernel`], [`binaries`], [`control_plane`], [`etcd`],
//! [`hosts`], [`sync`];
//! rendering helpers are typed ([`systemd::UnitFile`], [`pod::StaticPod`],
//! [`kubeconfig::Kubeconfig`]).

pub mod binaries;
pub mod containerd;
pub mod control_plane;
pub mod etcd;
pub mod hosts;
pub mod kernel;
pub mod kubeconfig;
pub mod kubelet;
pub mod paths;
pub mod pod;
pub mod sync;
pub mod systemd;
mod task;
mod version;

use std::path::PathBuf;

use berth_model::nodeup_config::{NodeRole, NodeupConfig};

pub use task::{Contents, NodeTask, Phase, ServiceActionKind};
pub use version::MinorVersion;

use crate::facts::HostFacts;

/// Why a plan could not be made from the config.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A config field holds a value nodeup cannot use.
    #[error("invalid nodeup config field `{field}`: {problem}")]
    InvalidField {
        /// The field, e.g. `kubernetesVersion`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A field the role needs is absent.
    #[error("the nodeup config has no `{field}`, which a {role} node needs")]
    MissingField {
        /// The missing field.
        field: &'static str,
        /// The node's role.
        role: &'static str,
    },
    /// An asset whose installation nodeup does not know.
    #[error(
        "unknown asset `{name}`; nodeup installs {}",
        binaries::KNOWN_ASSETS.join(", ")
    )]
    UnknownAsset {
        /// The asset's name.
        name: String,
    },
    /// Key material the plan needs was not gathered.
    #[error("no `{name}` key material was prepared for this node")]
    MissingKeyMaterial {
        /// The certificate's or key's name.
        name: String,
    },
    /// This node's etcd member cannot be told.
    #[error(
        "etcd cluster `{cluster}` has {members} members and this node's cannot be told: it comes from the tag of the etcd volume this node takes, and no volume was looked up (nodeup looks them up on a control-plane node, with --root only when AWS_REGION is set)"
    )]
    UnknownEtcdMember {
        /// The etcd cluster.
        cluster: String,
        /// How many members it has.
        members: usize,
    },
    /// The etcd volume this node took names a member the config does not list.
    #[error(
        "this node's etcd volume names member `{member}` of etcd cluster `{cluster}`, which the nodeup config does not list ({listed}); the volume's `k8s.io/etcd/{cluster}` tag and the cluster spec disagree"
    )]
    ForeignEtcdMember {
        /// The etcd cluster.
        cluster: String,
        /// The member the volume names.
        member: String,
        /// The members the config lists.
        listed: String,
    },
    /// A document could not be rendered.
    #[error("failed to render `{}`", path.display())]
    Render {
        /// The file it was for.
        path: PathBuf,
        /// The serializer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Every task that turns this machine into a node of `config`'s instance group, in phase
/// order.
///
/// # Errors
/// [`PlanError`] naming the config field or material that is unusable.
pub fn plan(config: &NodeupConfig, facts: &HostFacts) -> Result<Vec<NodeTask>, PlanError> {
    let version = MinorVersion::parse(&config.kubernetes_version)?;
    let mut tasks = Vec::new();
    match config.role {
        NodeRole::Bastion => {}
        NodeRole::ControlPlane | NodeRole::Node => {
            kernel::tasks(&mut tasks);
            binaries::tasks(config, &mut tasks)?;
            containerd::tasks(version, &mut tasks)?;
            kubelet::tasks(config, facts, &mut tasks)?;
            if config.role == NodeRole::ControlPlane {
                control_plane::tasks(config, facts, &mut tasks)?;
            }
            let inputs = hosts::HostsInputs {
                address: facts.identity.internal_ip,
                etcd_members: &facts.etcd_members,
                etcd_peers: &facts.etcd_peers,
                api_addresses: &facts.api_addresses,
            };
            if let Some(task) = hosts::task(config, &inputs)? {
                tasks.push(task);
            }
            if sync::needed(config) {
                sync::tasks(config, &mut tasks);
            }
        }
    }
    tasks.sort_by_key(NodeTask::phase);
    Ok(tasks)
}

/// The role's name in messages.
pub(crate) fn role_name(role: NodeRole) -> &'static str {
    role.as_str()
}

/// Renders a serde document through `render`, naming `path` on failure.
pub(crate) fn rendered<E>(path: &str, result: Result<String, E>) -> Result<String, PlanError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    result.map_err(|source| PlanError::Render {
        path: PathBuf::from(path),
        source: Box::new(source),
    })
}
