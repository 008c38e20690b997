//! [`ManagedFile`] reconciliation: files Berth renders into the state store (the completed
//! spec, nodeup configs, manifests).
//!
//! They belong to Berth entirely, so writes overwrite unconditionally (a retry just writes
//! the same bytes again); the plan compares content and shows it as a document diff.

use async_trait::async_trait;
use berth_model::aws::ManagedFile;
use berth_state_store::WriteCondition;

use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// A file as the state store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedManagedFile {
    key: String,
    contents: Vec<u8>,
}

#[async_trait]
impl Reconcile for ManagedFile {
    type Observed = ObservedManagedFile;

    /// One read per desired file (the store has no batch read; these are small objects).
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedManagedFile>, TaskError> {
        let mut observed = Vec::new();
        for file in scope.desired {
            let object = scope
                .store
                .get(&file.name)
                .await
                .map_err(|source| TaskError::Store {
                    key: file.name.clone(),
                    source: Box::new(source),
                })?;
            if let Some(object) = object {
                observed.push(ObservedManagedFile {
                    key: file.name.clone(),
                    contents: object.bytes,
                });
            }
        }
        Ok(observed)
    }

    fn find<'o>(&self, observed: &'o [ObservedManagedFile]) -> Option<&'o ObservedManagedFile> {
        observed.iter().find(|file| file.key == self.name)
    }

    fn output(observed: &ObservedManagedFile) -> Output {
        Output::id(&observed.key)
    }

    fn diff(&self, observed: &ObservedManagedFile, _deps: &Resolver) -> (Action, Vec<FieldChange>) {
        if observed.contents == self.contents.as_bytes() {
            return (Action::Unchanged, Vec::new());
        }
        let old = String::from_utf8_lossy(&observed.contents);
        (
            Action::Update,
            vec![FieldChange::document("contents", old, &self.contents)],
        )
    }

    fn describe_create(&self, _deps: &Resolver) -> Vec<FieldChange> {
        vec![FieldChange::document("contents", "", &self.contents)]
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        write(self, cx).await
    }

    async fn update(
        &self,
        _observed: &ObservedManagedFile,
        _change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        write(self, cx).await
    }
}

async fn write(file: &ManagedFile, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
    cx.store
        .put(
            &file.name,
            file.contents.clone().into_bytes(),
            WriteCondition::Overwrite,
        )
        .await
        .map_err(|source| TaskError::Store {
            key: file.name.clone(),
            source: Box::new(source),
        })?;
    Ok(Output::id(&file.name))
}
