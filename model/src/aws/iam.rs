//! IAM roles, their inline policies and instance profiles (named after the cluster).

use serde::Serialize;

use super::{NodeKey, Ref, Tags};

/// An IAM role EC2 instances assume, e.g. `nodes.<cluster>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamRole {
    /// The role name.
    pub name: String,
    /// The trust policy document (JSON).
    pub assume_role_policy: String,
    /// Tags.
    pub tags: Tags,
}

impl IamRole {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        Vec::new()
    }
}

/// A role's inline policy (named like its role).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamRolePolicy {
    /// The policy name.
    pub name: String,
    /// The role.
    pub role: Ref<IamRole>,
    /// The policy document (JSON).
    pub policy_document: String,
}

impl IamRolePolicy {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.role.key().clone()]
    }
}

/// An instance profile holding one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamInstanceProfile {
    /// The profile name (the role's).
    pub name: String,
    /// The role in it.
    pub role: Ref<IamRole>,
    /// Tags.
    pub tags: Tags,
}

impl IamInstanceProfile {
    pub(crate) fn dependencies(&self) -> Vec<NodeKey> {
        vec![self.role.key().clone()]
    }
}
