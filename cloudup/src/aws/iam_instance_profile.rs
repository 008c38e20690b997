//! [`IamInstanceProfile`] reconciliation: a profile holding exactly one role, found by name.
//!
//! Creating one is two calls (CreateInstanceProfile, AddRoleToInstanceProfile), so a crash
//! between them leaves an empty profile: every path that finds an existing profile therefore
//! checks its role too.

use async_trait::async_trait;
use aws_sdk_iam::error::ProvideErrorMetadata;
use berth_model::aws::{IamInstanceProfile, NodeKey, Resource, Tags};

use super::iam_role::{from_iam_tags, iam_tags, lookup_all};
use super::tags::{tags_change, tags_line};
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// An instance profile as IAM reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedIamInstanceProfile {
    name: String,
    arn: String,
    roles: Vec<String>,
    tags: Tags,
}

#[async_trait]
impl Reconcile for IamInstanceProfile {
    type Observed = ObservedIamInstanceProfile;

    /// One GetInstanceProfile per desired profile, all at once (IAM has no tag filter).
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedIamInstanceProfile>, TaskError> {
        let names = scope
            .desired
            .iter()
            .map(|profile| profile.name.clone())
            .collect();
        lookup_all(&scope.clients.iam, names, |iam, name| async move {
            get_instance_profile(&iam, &name).await
        })
        .await
    }

    fn find<'o>(
        &self,
        observed: &'o [ObservedIamInstanceProfile],
    ) -> Option<&'o ObservedIamInstanceProfile> {
        observed.iter().find(|profile| profile.name == self.name)
    }

    fn output(observed: &ObservedIamInstanceProfile) -> Output {
        Output::id(&observed.name).with("arn", &observed.arn)
    }

    fn diff(
        &self,
        observed: &ObservedIamInstanceProfile,
        deps: &Resolver,
    ) -> (Action, Vec<FieldChange>) {
        let mut fields = Vec::new();
        let desired_role = deps.id_or_pending(&self.role);
        if observed.roles != [desired_role.clone()] {
            fields.push(FieldChange::new(
                "role",
                observed.roles.join(", "),
                desired_role,
            ));
        }
        fields.extend(tags_change(&observed.tags, &self.tags));
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        vec![
            FieldChange::new("name", "", &self.name),
            FieldChange::new("role", "", deps.id_or_pending(&self.role)),
            FieldChange::new("tags", "", tags_line(&self.tags)),
        ]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        let iam = &cx.clients.iam;
        if cx.attempt > 1
            && let Some(existing) = get_instance_profile(iam, &self.name).await?
        {
            return adopt(self, &existing, cx).await;
        }
        let created = iam
            .create_instance_profile()
            .instance_profile_name(&self.name)
            .set_tags(Some(iam_tags(&self.tags)?))
            .send()
            .await;
        match created {
            Ok(created) => {
                let profile = created
                    .instance_profile()
                    .ok_or_else(|| missing("CreateInstanceProfile", "InstanceProfile"))?;
                let output = Output::id(profile.instance_profile_name()).with("arn", profile.arn());
                add_role(self, cx).await?;
                Ok(output)
            }
            Err(error) if error.code() == Some("EntityAlreadyExists") => {
                let existing = get_instance_profile(iam, &self.name)
                    .await?
                    .ok_or_else(|| missing("GetInstanceProfile", "InstanceProfile"))?;
                adopt(self, &existing, cx).await
            }
            Err(error) => Err(aws_error("CreateInstanceProfile", error)),
        }
    }

    async fn update(
        &self,
        observed: &ObservedIamInstanceProfile,
        change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        let iam = &cx.clients.iam;
        if change.changes("role") {
            let desired_role = cx.deps.id(&self.role)?;
            // A profile holds at most one role: make room before adding the right one.
            for role in observed.roles.iter().filter(|role| *role != desired_role) {
                iam.remove_role_from_instance_profile()
                    .instance_profile_name(&self.name)
                    .role_name(role)
                    .send()
                    .await
                    .map_err(|error| aws_error("RemoveRoleFromInstanceProfile", error))?;
            }
            if !observed.roles.iter().any(|role| role == desired_role) {
                add_role(self, cx).await?;
            }
        }
        if change.changes("tags") {
            iam.tag_instance_profile()
                .instance_profile_name(&self.name)
                .set_tags(Some(iam_tags(&self.tags)?))
                .send()
                .await
                .map_err(|error| aws_error("TagInstanceProfile", error))?;
        }
        Ok(Self::output(observed))
    }
}

/// Takes over a profile an earlier attempt created, adding its role if that step was lost.
async fn adopt(
    profile: &IamInstanceProfile,
    existing: &ObservedIamInstanceProfile,
    cx: &ApplyCx<'_>,
) -> Result<Output, TaskError> {
    let (action, fields) = profile.diff(existing, cx.deps);
    match action {
        Action::Update => {
            let change = Change {
                key: NodeKey::new(IamInstanceProfile::KIND, &profile.name),
                action,
                fields,
            };
            profile.update(existing, &change, cx).await
        }
        _ => Ok(IamInstanceProfile::output(existing)),
    }
}

async fn add_role(profile: &IamInstanceProfile, cx: &ApplyCx<'_>) -> Result<(), TaskError> {
    let role = cx.deps.id(&profile.role)?;
    let added = cx
        .clients
        .iam
        .add_role_to_instance_profile()
        .instance_profile_name(&profile.name)
        .role_name(role)
        .send()
        .await;
    match added {
        // A retried call whose first try went through: the role is already in.
        Err(error) if error.code() == Some("LimitExceeded") => Ok(()),
        other => other
            .map(|_| ())
            .map_err(|error| aws_error("AddRoleToInstanceProfile", error)),
    }
}

/// GetInstanceProfile; `None` when there is no such profile.
async fn get_instance_profile(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> Result<Option<ObservedIamInstanceProfile>, TaskError> {
    let response = match iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) if error.code() == Some("NoSuchEntity") => return Ok(None),
        Err(error) => return Err(aws_error("GetInstanceProfile", error)),
    };
    let profile = response
        .instance_profile()
        .ok_or_else(|| missing("GetInstanceProfile", "InstanceProfile"))?;
    Ok(Some(ObservedIamInstanceProfile {
        name: profile.instance_profile_name().to_owned(),
        arn: profile.arn().to_owned(),
        roles: profile
            .roles()
            .iter()
            .map(|role| role.role_name().to_owned())
            .collect(),
        tags: from_iam_tags(profile.tags()),
    }))
}
