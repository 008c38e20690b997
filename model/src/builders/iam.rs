//! IAM roles, inline policies and instance profiles: `masters.<c>`, `nodes.<c>` and, with a
//! bastion, `bastions.<c>`. Each role has one inline policy and one instance profile, all
//! named like the role. The documents live in the private `iam_policy` module.

use super::{BuildContext, BuildError, iam_policy, names};
use crate::{
    aws::{Graph, IamInstanceProfile, IamRole, IamRolePolicy, Ref},
    nodeup_config::NodeRole,
};

/// The instance profiles of the cluster's roles.
#[derive(Debug, Clone)]
pub struct InstanceProfiles {
    /// `masters.<c>`.
    pub masters: Ref<IamInstanceProfile>,
    /// `nodes.<c>`.
    pub nodes: Ref<IamInstanceProfile>,
    /// `bastions.<c>`, with a bastion instance group.
    pub bastions: Option<Ref<IamInstanceProfile>>,
}

impl InstanceProfiles {
    /// The profile of a role's instances.
    ///
    /// # Errors
    /// [`BuildError::MissingField`] for a bastion when the cluster has no bastion group.
    pub fn for_role(&self, role: NodeRole) -> Result<&Ref<IamInstanceProfile>, BuildError> {
        match role {
            NodeRole::ControlPlane => Ok(&self.masters),
            NodeRole::Node => Ok(&self.nodes),
            NodeRole::Bastion => self
                .bastions
                .as_ref()
                .ok_or_else(|| super::context::missing("bastion instance profile")),
        }
    }
}

/// Adds the roles, policies and profiles.
///
/// # Errors
/// [`BuildError`] when a document cannot be rendered or the graph refuses a node.
pub fn build(context: &BuildContext, graph: &mut Graph) -> Result<InstanceProfiles, BuildError> {
    let masters = role(context, graph, NodeRole::ControlPlane)?;
    let nodes = role(context, graph, NodeRole::Node)?;
    let bastions = if context.has_bastion() {
        Some(role(context, graph, NodeRole::Bastion)?)
    } else {
        None
    };
    Ok(InstanceProfiles {
        masters,
        nodes,
        bastions,
    })
}

fn role(
    context: &BuildContext,
    graph: &mut Graph,
    node_role: NodeRole,
) -> Result<Ref<IamInstanceProfile>, BuildError> {
    let name = context.qualified(names::iam_prefix(node_role));
    let render = |document: &iam_policy::PolicyDocument| {
        serde_json::to_string(document).map_err(|source| BuildError::RenderPolicy {
            role: name.clone(),
            source,
        })
    };
    let role = graph.add(IamRole {
        name: name.clone(),
        assume_role_policy: render(&iam_policy::ec2_trust_policy())?,
        tags: context.owned_tags(&name),
    })?;
    graph.add(IamRolePolicy {
        name: name.clone(),
        role: role.clone(),
        policy_document: render(&iam_policy::role_policy(context, node_role))?,
    })?;
    Ok(graph.add(IamInstanceProfile {
        name: name.clone(),
        role,
        tags: context.owned_tags(&name),
    })?)
}
