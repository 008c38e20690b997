//! Applies rendered addons ([`berth_model::addons`]) to a cluster with server-side apply.
//! [`super::run`] calls it on a control-plane node; it is public so other tools and tests can
//! apply manifests the same way.
//!
//! Each object is applied in manifest order under one field manager with strict field
//! validation, so an unknown or duplicated field is refused by the API server instead of
//! being dropped. The [`ApplyReport`] says for every object whether the server changed it
//! (its `resourceVersion` moved): applying unchanged manifests a second time changes
//! nothing.

use std::collections::BTreeMap;

use berth_model::addons::AddonManifest;
use kube::{
    Api, Client,
    api::{DynamicObject, Patch, PatchParams},
    core::GroupVersionKind,
    discovery::{self, ApiCapabilities, ApiResource, Scope},
};
use serde_json::Value;

/// What applying one object did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectOutcome {
    /// The object did not exist and was created.
    Created,
    /// The object existed and the apply changed it.
    Updated,
    /// The object existed and the apply changed nothing.
    Unchanged,
}

/// One applied object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedObject {
    /// The addon it belongs to.
    pub addon: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Its namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// What the apply did.
    pub outcome: ObjectOutcome,
    /// `resourceVersion` after the apply.
    pub resource_version: Option<String>,
}

/// Every object applied, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// The objects.
    pub objects: Vec<AppliedObject>,
}

impl ApplyReport {
    /// Whether the apply created or changed nothing.
    #[must_use]
    pub fn is_no_op(&self) -> bool {
        self.objects
            .iter()
            .all(|object| object.outcome == ObjectOutcome::Unchanged)
    }

    /// The objects with `outcome`.
    pub fn with_outcome(&self, outcome: ObjectOutcome) -> impl Iterator<Item = &AppliedObject> {
        self.objects
            .iter()
            .filter(move |object| object.outcome == outcome)
    }
}

/// An addon object that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum AddonError {
    /// An object lacks `apiVersion`, `kind` or `metadata.name`.
    #[error("addon `{addon}`: object {index} has no {field}")]
    Malformed {
        /// The addon.
        addon: String,
        /// The object's position in the addon, from 1.
        index: usize,
        /// The missing field.
        field: &'static str,
    },
    /// The API server does not serve the object's kind.
    #[error("addon `{addon}`: the API server does not serve {api_version} {kind}")]
    UnknownKind {
        /// The addon.
        addon: String,
        /// `apiVersion`.
        api_version: String,
        /// `kind`.
        kind: String,
        /// The discovery error.
        #[source]
        source: kube::Error,
    },
    /// The API server refused the apply.
    #[error("addon `{addon}`: applying {kind} {object}: {message}")]
    Apply {
        /// The addon.
        addon: String,
        /// `kind`.
        kind: String,
        /// `namespace/name`, or the name of a cluster-scoped object.
        object: String,
        /// The server's message.
        message: String,
        /// The error.
        #[source]
        source: kube::Error,
    },
}

/// Server-side applies every object of `manifests`, in order, as `field_manager`, with
/// strict field validation.
///
/// # Errors
/// [`AddonError`] for the first object that fails, naming the addon, kind, object and the
/// server's message.
pub async fn apply(
    client: &Client,
    manifests: &[AddonManifest],
    field_manager: &str,
) -> Result<ApplyReport, AddonError> {
    let params = PatchParams::apply(field_manager).validation_strict();
    let mut resources: BTreeMap<(String, String), (ApiResource, ApiCapabilities)> = BTreeMap::new();
    let mut report = ApplyReport::default();
    for manifest in manifests {
        for (index, object) in manifest.objects.iter().enumerate() {
            let field = |field: &'static str| AddonError::Malformed {
                addon: manifest.name.clone(),
                index: index + 1,
                field,
            };
            let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
            let api_version = text("/apiVersion").ok_or_else(|| field("apiVersion"))?;
            let kind = text("/kind").ok_or_else(|| field("kind"))?;
            let name = text("/metadata/name").ok_or_else(|| field("metadata.name"))?;
            let key = (api_version.to_owned(), kind.to_owned());
            if !resources.contains_key(&key) {
                let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
                let gvk = GroupVersionKind::gvk(group, version, kind);
                let found = discovery::pinned_kind(client, &gvk)
                    .await
                    .map_err(|source| AddonError::UnknownKind {
                        addon: manifest.name.clone(),
                        api_version: api_version.to_owned(),
                        kind: kind.to_owned(),
                        source,
                    })?;
                resources.insert(key.clone(), found);
            }
            let (resource, capabilities) = &resources[&key];
            let namespace = match capabilities.scope {
                Scope::Namespaced => Some(text("/metadata/namespace").unwrap_or("default")),
                Scope::Cluster => None,
            };
            let described = namespace.map_or_else(|| name.to_owned(), |ns| format!("{ns}/{name}"));
            let api: Api<DynamicObject> = match namespace {
                Some(namespace) => Api::namespaced_with(client.clone(), namespace, resource),
                None => Api::all_with(client.clone(), resource),
            };
            let before = api
                .get_metadata_opt(name)
                .await
                .map_err(|source| apply_error(manifest, kind, &described, source))?
                .and_then(|existing| existing.metadata.resource_version);
            let applied = api
                .patch(name, &params, &Patch::Apply(object))
                .await
                .map_err(|source| apply_error(manifest, kind, &described, source))?;
            let after = applied.metadata.resource_version;
            let outcome = match &before {
                None => ObjectOutcome::Created,
                Some(before) if Some(before) == after.as_ref() => ObjectOutcome::Unchanged,
                Some(_) => ObjectOutcome::Updated,
            };
            tracing::debug!(addon = %manifest.name, kind, object = %described, ?outcome, "applied");
            report.objects.push(AppliedObject {
                addon: manifest.name.clone(),
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                namespace: namespace.map(str::to_owned),
                name: name.to_owned(),
                outcome,
                resource_version: after,
            });
        }
    }
    Ok(report)
}

fn apply_error(
    manifest: &AddonManifest,
    kind: &str,
    object: &str,
    source: kube::Error,
) -> AddonError {
    let message = match &source {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    };
    AddonError::Apply {
        addon: manifest.name.clone(),
        kind: kind.to_owned(),
        object: object.to_owned(),
        message,
        source,
    }
}
