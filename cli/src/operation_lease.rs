//! The lease long operations (`update`, `delete`, `rolling-update`) hold on a cluster.
//!
//! The lease is short and renewed often, so that a process that dies without releasing it (a
//! crash, a kill, a lost machine) blocks the next operation for at most [`LEASE_TTL`], while a
//! live one keeps it for as long as it works.

use std::time::Duration;

/// How long a lease lasts without renewal.
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(120);

/// How often the holder renews it: a third of the TTL leaves two chances before it lapses.
pub(crate) const LEASE_RENEWAL: Duration = Duration::from_secs(40);

/// Who holds the lease, as shown to an operation that is refused.
pub(crate) fn holder(operation: &str) -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this host".into());
    format!("berth {operation} (pid {} on {host})", std::process::id())
}
