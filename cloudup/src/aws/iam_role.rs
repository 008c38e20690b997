//! [`IamRole`] reconciliation: the roles instances assume, found by name (IAM has no tag
//! filter), with their trust policy compared as parsed JSON.
//!
//! Also owns the IAM helpers the other IAM kinds share: tag conversion and reading a policy
//! document back (AWS returns documents URL-encoded).

use async_trait::async_trait;
use aws_sdk_iam::error::ProvideErrorMetadata;
use berth_model::aws::{IamRole, Resource, Tags};
use serde_json::Value;

use super::tags::tags_change;
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// A role as IAM reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedIamRole {
    name: String,
    arn: String,
    trust_policy: Value,
    tags: Tags,
}

#[async_trait]
impl Reconcile for IamRole {
    type Observed = ObservedIamRole;

    /// One GetRole per desired role, all at once: IAM cannot filter roles by tag, and
    /// ListRoles would page through every role of the account (and returns no tags).
    async fn discover(scope: DiscoveryScope<'_, Self>) -> Result<Vec<ObservedIamRole>, TaskError> {
        let names = scope.desired.iter().map(|role| role.name.clone()).collect();
        lookup_all(&scope.clients.iam, names, |iam, name| async move {
            get_role(&iam, &name).await
        })
        .await
    }

    fn find<'o>(&self, observed: &'o [ObservedIamRole]) -> Option<&'o ObservedIamRole> {
        observed.iter().find(|role| role.name == self.name)
    }

    fn output(observed: &ObservedIamRole) -> Output {
        Output::id(&observed.name).with("arn", &observed.arn)
    }

    fn diff(&self, observed: &ObservedIamRole, _deps: &Resolver) -> (Action, Vec<FieldChange>) {
        let mut fields = Vec::new();
        let desired_policy = policy_document_value(&self.assume_role_policy);
        if observed.trust_policy != desired_policy {
            fields.push(FieldChange::document(
                "assume_role_policy",
                pretty_document(&observed.trust_policy),
                pretty_document(&desired_policy),
            ));
        }
        fields.extend(tags_change(&observed.tags, &self.tags));
        Action::updating(fields)
    }

    fn describe_create(&self, _deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("name", "", &self.name),
            FieldChange::document(
                "assume_role_policy",
                "",
                pretty_document(&policy_document_value(&self.assume_role_policy)),
            ),
            FieldChange::new("tags", "", super::tags::tags_line(&self.tags)),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        if cx.attempt > 1
            && let Some(existing) = get_role(&cx.clients.iam, &self.name).await?
        {
            return adopt(self, &existing, cx).await;
        }
        let created = cx
            .clients
            .iam
            .create_role()
            .role_name(&self.name)
            .assume_role_policy_document(&self.assume_role_policy)
            .set_tags(Some(iam_tags(&self.tags)?))
            .send()
            .await;
        match created {
            Ok(created) => {
                let role = created
                    .role()
                    .ok_or_else(|| missing("CreateRole", "Role"))?;
                Ok(Output::id(role.role_name()).with("arn", role.arn()))
            }
            Err(error) if error.code() == Some("EntityAlreadyExists") => {
                let existing = get_role(&cx.clients.iam, &self.name)
                    .await?
                    .ok_or_else(|| missing("GetRole", "Role"))?;
                adopt(self, &existing, cx).await
            }
            Err(error) => Err(aws_error("CreateRole", error)),
        }
    }

    async fn update(
        &self,
        observed: &ObservedIamRole,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        let iam = &cx.clients.iam;
        if change.changes("assume_role_policy") {
            iam.update_assume_role_policy()
                .role_name(&self.name)
                .policy_document(&self.assume_role_policy)
                .send()
                .await
                .map_err(|error| aws_error("UpdateAssumeRolePolicy", error))?;
        }
        if change.changes("tags") {
            iam.tag_role()
                .role_name(&self.name)
                .set_tags(Some(iam_tags(&self.tags)?))
                .send()
                .await
                .map_err(|error| aws_error("TagRole", error))?;
        }
        Ok(Self::output(observed))
    }
}

/// Takes over a role an earlier attempt (or another run) created, bringing it in line.
async fn adopt(
    role: &IamRole,
    existing: &ObservedIamRole,
    cx: &ApplyCx<'_>,
) -> Result<Output, TaskError> {
    let (action, fields) = role.diff(existing, cx.deps);
    match action {
        Action::Update => {
            let change = Change {
                key: node_key(role),
                action,
                fields,
            };
            role.update(existing, &change, cx).await
        }
        _ => Ok(IamRole::output(existing)),
    }
}

fn node_key(role: &IamRole) -> berth_model::aws::NodeKey {
    berth_model::aws::NodeKey::new(IamRole::KIND, &role.name)
}

/// Runs `lookup` for every key at once and keeps what exists: IAM reads are one call per
/// name, and made one after the other they would add a round trip per role to discovery.
pub(super) async fn lookup_all<Key, Found, Lookup, Call>(
    iam: &aws_sdk_iam::Client,
    keys: Vec<Key>,
    lookup: Lookup,
) -> Result<Vec<Found>, TaskError>
where
    Lookup: Fn(aws_sdk_iam::Client, Key) -> Call,
    Call: Future<Output = Result<Option<Found>, TaskError>> + Send + 'static,
    Found: Send + 'static,
{
    let mut lookups = tokio::task::JoinSet::new();
    for key in keys {
        lookups.spawn(lookup(iam.clone(), key));
    }
    let mut found = Vec::new();
    while let Some(joined) = lookups.join_next().await {
        let looked_up = joined.map_err(|error| TaskError::Panicked {
            message: error.to_string(),
        })?;
        found.extend(looked_up?);
    }
    Ok(found)
}

/// GetRole; `None` when there is no such role.
async fn get_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> Result<Option<ObservedIamRole>, TaskError> {
    let response = match iam.get_role().role_name(name).send().await {
        Ok(response) => response,
        Err(error) if error.code() == Some("NoSuchEntity") => return Ok(None),
        Err(error) => return Err(aws_error("GetRole", error)),
    };
    let role = response.role().ok_or_else(|| missing("GetRole", "Role"))?;
    Ok(Some(ObservedIamRole {
        name: role.role_name().to_owned(),
        arn: role.arn().to_owned(),
        trust_policy: policy_document_value(role.assume_role_policy_document().unwrap_or("{}")),
        tags: from_iam_tags(role.tags()),
    }))
}

/// IAM tags.
pub(super) fn iam_tags(tags: &Tags) -> Result<Vec<aws_sdk_iam::types::Tag>, TaskError> {
    tags.iter()
        .map(|(key, value)| {
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|_| TaskError::Refused {
                    message: format!("tag `{key}` cannot be sent to IAM"),
                })
        })
        .collect()
}

/// Tags read back from IAM.
pub(super) fn from_iam_tags(tags: &[aws_sdk_iam::types::Tag]) -> Tags {
    tags.iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect()
}

/// A policy document as JSON, for comparison: AWS returns documents URL-encoded (RFC 3986),
/// and whitespace and key order carry no meaning. A document that is not JSON compares as
/// its text.
pub(super) fn policy_document_value(document: &str) -> Value {
    serde_json::from_str(document)
        .or_else(|_| serde_json::from_str(&percent_decode(document)))
        .unwrap_or_else(|_| Value::String(document.to_owned()))
}

/// A document for the plan: pretty JSON with sorted keys, so that a diff shows only what
/// changed.
pub(super) fn pretty_document(document: &Value) -> String {
    match document {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    }
}

/// Decodes `%XX` escapes (and nothing else: IAM does not encode spaces as `+`).
fn percent_decode(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_documents_compare_equal_to_their_json() {
        let plain = r#"{"Version": "2012-10-17", "Statement": []}"#;
        let encoded = "%7B%22Statement%22%3A%5B%5D%2C%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(policy_document_value(plain), policy_document_value(encoded));
    }

    #[test]
    fn text_that_is_not_json_compares_as_text() {
        assert_eq!(
            policy_document_value("not json"),
            Value::String("not json".into())
        );
    }
}
