//! [`IamRolePolicy`] reconciliation: a role's inline policy, read with GetRolePolicy and
//! written with PutRolePolicy (which creates and replaces alike, so it is idempotent).

use async_trait::async_trait;
use aws_sdk_iam::error::ProvideErrorMetadata;
use berth_model::aws::IamRolePolicy;
use serde_json::Value;

use super::aws_error;
use super::iam_role::{lookup_all, policy_document_value, pretty_document};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An inline policy as IAM reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedIamRolePolicy {
    role: String,
    name: String,
    document: Value,
}

#[async_trait]
impl Reconcile for IamRolePolicy {
    type Observed = ObservedIamRolePolicy;

    /// One GetRolePolicy per desired policy, all at once (there is no batch read of inline
    /// policies). The role's name is its key's name: roles are named by their IAM name.
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedIamRolePolicy>, TaskError> {
        let keys = scope
            .desired
            .iter()
            .map(|policy| (policy.role.key().name.clone(), policy.name.clone()))
            .collect();
        lookup_all(&scope.clients.iam, keys, |iam, (role, name)| async move {
            get_role_policy(&iam, &role, &name).await
        })
        .await
    }

    fn find<'o>(&self, observed: &'o [ObservedIamRolePolicy]) -> Option<&'o ObservedIamRolePolicy> {
        observed
            .iter()
            .find(|policy| policy.name == self.name && policy.role == self.role.key().name)
    }

    fn output(observed: &ObservedIamRolePolicy) -> Output {
        Output::id(format!("{}/{}", observed.role, observed.name))
    }

    fn diff(
        &self,
        observed: &ObservedIamRolePolicy,
        _deps: &Resolver,
    ) -> (Action, Vec<FieldChange>) {
        let desired = policy_document_value(&self.policy_document);
        if observed.document == desired {
            return (Action::Unchanged, Vec::new());
        }
        let field = FieldChange::document(
            "policy_document",
            pretty_document(&observed.document),
            pretty_document(&desired),
        );
        (Action::Update, vec![field])
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("role", "", deps.id_or_pending(&self.role)),
            FieldChange::document(
                "policy_document",
                "",
                pretty_document(&policy_document_value(&self.policy_document)),
            ),
        ]
    }

    /// PutRolePolicy overwrites, so a retried create needs no look-up first.
    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        put(self, cx).await
    }

    async fn update(
        &self,
        _observed: &ObservedIamRolePolicy,
        _change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        put(self, cx).await
    }
}

async fn put(policy: &IamRolePolicy, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
    let role = cx.deps.id(&policy.role)?;
    cx.clients
        .iam
        .put_role_policy()
        .role_name(role)
        .policy_name(&policy.name)
        .policy_document(&policy.policy_document)
        .send()
        .await
        .map_err(|error| aws_error("PutRolePolicy", error))?;
    Ok(Output::id(format!("{role}/{}", policy.name)))
}

/// GetRolePolicy; `None` when the policy, or its whole role, does not exist yet.
async fn get_role_policy(
    iam: &aws_sdk_iam::Client,
    role: &str,
    name: &str,
) -> Result<Option<ObservedIamRolePolicy>, TaskError> {
    match iam
        .get_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
    {
        Ok(found) => Ok(Some(ObservedIamRolePolicy {
            role: found.role_name().to_owned(),
            name: found.policy_name().to_owned(),
            document: policy_document_value(found.policy_document()),
        })),
        Err(error) if error.code() == Some("NoSuchEntity") => Ok(None),
        Err(error) => Err(aws_error("GetRolePolicy", error)),
    }
}
