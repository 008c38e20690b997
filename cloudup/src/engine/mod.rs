//! The engine: what every resource kind implements, and how kinds are found, diffed, planned
//! and applied in dependency order.

mod change;
mod error;
mod output;
mod reconcile;

pub use change::{Action, Change, FieldChange};
pub use error::{RetryClass, TaskError};
pub use output::{Output, Resolver};
pub use reconcile::{ApplyCx, DiscoveryScope, Reconcile};
