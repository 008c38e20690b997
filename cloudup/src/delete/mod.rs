//! `delete cluster`: find everything a cluster owns in AWS and delete it, fast, and nothing
//! else.
//!
//! 1. [`discover`]: one describe per kind, all kinds at once, filtered by the
//!    `kubernetes.io/cluster/<cluster>` tag (`owned` is deleted, `shared` only loses that
//!    tag), and by name where AWS has no tags or Berth names things: IAM roles and instance
//!    profiles, key pairs, and the cluster's records inside the hosted zones its name falls
//!    in (never the zones). Works without the spec: the name is enough.
//! 2. [`Inventory`]: what was found, for listing (`-o json` too).
//! 3. [`delete()`]: a dependency graph ([`order`]) run by the engine's DAG scheduler with
//!    bounded concurrency; each resource goes as soon as what must go before it is gone.
//!    Transient errors (throttling, `DependencyViolation`, "in use") are retried with
//!    jittered backoff; waits read the resources' own status (instances `terminated`, NAT
//!    gateways `deleted`), never fixed sleeps. "Not found" counts as deleted, so a re-run after
//!    an interruption finishes the job.
//!
//! State-store objects are not touched here: the caller deletes them once the cloud is clean.

mod discover;
mod discover_ec2;
mod discover_other;
mod gone;
mod inventory;
pub mod order;
mod remove_ec2;
mod remove_other;
mod run;
mod scope;

pub use discover::{DiscoverError, discover};
pub use gone::is_gone;
pub(crate) use inventory::Detail;
pub use inventory::{CloudResource, DeleteKind, Disposal, Inventory};
pub use run::delete;
pub use scope::DeleteScope;
