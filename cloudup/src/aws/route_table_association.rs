//! STUB: [`RouteTableAssociation`] reconciliation (replaced by the real implementation).

use async_trait::async_trait;
use berth_model::aws::RouteTableAssociation;

use crate::engine::{Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError};

#[async_trait]
impl Reconcile for RouteTableAssociation {
    type Observed = ();

    async fn discover(_scope: DiscoveryScope<'_, Self>) -> Result<Vec<()>, TaskError> {
        Ok(Vec::new())
    }

    fn find<'o>(&self, _observed: &'o [()]) -> Option<&'o ()> {
        None
    }

    fn output(_observed: &()) -> Output {
        Output::default()
    }

    fn diff(&self, _observed: &(), _deps: &Resolver) -> (Action, Vec<FieldChange>) {
        (Action::Unchanged, Vec::new())
    }

    fn describe_create(&self, _deps: &Resolver) -> Vec<FieldChange> {
        Vec::new()
    }

    async fn create(&self, _cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        Err(TaskError::Refused { message: "STUB".into() })
    }

    async fn update(&self, _observed: &(), _change: &Change, _cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        Err(TaskError::Refused { message: "STUB".into() })
    }
}
