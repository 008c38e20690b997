//! What a plan says about one resource: the action and the fields that change.

use berth_model::aws::NodeKey;
use serde::Serialize;

/// What will happen to a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// It does not exist: create it.
    Create,
    /// It exists and some mutable fields differ: change them in place.
    Update,
    /// An immutable field differs: it would have to be deleted and created again. Berth
    /// refuses to do this in place and says why.
    Replace {
        /// Which field and why it cannot change in place.
        reason: String,
    },
    /// It exists and matches.
    Unchanged,
    /// Something of its name exists that is not this cluster's (it lacks the cluster's
    /// ownership tag): Berth leaves it alone and refuses to go on with what depends on it.
    Conflict {
        /// What exists, whose it is, and what the user can do.
        reason: String,
    },
}

impl Action {
    /// The action of an existing resource whose mutable fields differ by `fields`:
    /// [`Action::Update`] when any does, [`Action::Unchanged`] when none does.
    pub(crate) fn update_if_any(fields: &[FieldChange]) -> Self {
        if fields.is_empty() {
            Self::Unchanged
        } else {
            Self::Update
        }
    }

    /// The diff of an existing resource whose only differences are `fields`: the action
    /// [`Action::update_if_any`] gives, with the fields.
    pub(crate) fn updating(fields: Vec<FieldChange>) -> (Self, Vec<FieldChange>) {
        (Self::update_if_any(&fields), fields)
    }
}

/// One field's change, for the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field, e.g. `instance_type`.
    pub field: String,
    /// What it is now (empty when unknown or absent).
    pub old: String,
    /// What it will be.
    pub new: String,
    /// Never show the values (they are redacted in every output).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// A large document (policy, user data): show a unified diff.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub document: bool,
}

impl FieldChange {
    /// A plain field change.
    pub fn new(field: &str, old: impl ToString, new: impl ToString) -> Self {
        Self {
            field: field.to_owned(),
            old: old.to_string(),
            new: new.to_string(),
            secret: false,
            document: false,
        }
    }

    /// A document field change (shown as a diff).
    pub fn document(field: &str, old: impl ToString, new: impl ToString) -> Self {
        Self {
            document: true,
            ..Self::new(field, old, new)
        }
    }

    /// A secret field change (values never shown).
    pub fn secret(field: &str) -> Self {
        Self {
            secret: true,
            ..Self::new(field, "<redacted>", "<redacted>")
        }
    }
}

/// The plan's entry for one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The resource.
    pub key: NodeKey,
    /// What happens to it.
    #[serde(flatten)]
    pub action: Action,
    /// The fields that differ (for updates and replacements) or are set (for creates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

impl Change {
    /// Whether the change touches `field` (e.g. `tags`).
    pub(crate) fn changes(&self, field: &str) -> bool {
        self.fields.iter().any(|change| change.field == field)
    }

    /// Refuses a replacement: an update applies changes in place only. The message names the
    /// resource as ``{kind} `{name}`: {reason}``.
    pub(crate) fn refuse_replace(&self, kind: &str, name: &str) -> Result<(), super::TaskError> {
        if let Action::Replace { reason } = &self.action {
            return Err(super::TaskError::Refused {
                message: format!("{kind} `{name}`: {reason}"),
            });
        }
        Ok(())
    }
}
