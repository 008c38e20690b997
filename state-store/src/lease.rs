//! The cluster lease: keeps two long operations (update, rolling-update, delete) from running
//! against one cluster at once.
//!
//! The lease is a JSON object `{holder, token, expires_at}` at [`ClusterKeys::lease`]. It is
//! taken with a [`WriteCondition::Create`], or with [`WriteCondition::Replace`] of the
//! observed tag when the existing lease has expired, so of two racing takers exactly one wins.
//! Renewal and release are conditional on the tag the holder last wrote: a holder whose lease
//! expired and was taken over learns it ([`Error::LeaseLost`]) instead of clobbering the new
//! holder's lease.
//!
//! Expiry uses wall-clock UTC, so the hosts involved need roughly synchronised clocks; choose
//! TTLs of minutes and renew well before expiry. A guard dropped without
//! [`LeaseGuard::release`] leaves the lease to expire.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    error::{Error, Result},
    layout::ClusterKeys,
    object::{ETag, ObjectStore, WriteCondition},
};

/// Attempts to take the lease when racing writers keep changing it between read and write.
const MAX_ACQUIRE_ATTEMPTS: usize = 5;

/// Makes tokens unique among the leases taken by this process.
static TOKEN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The content of the lease object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Who holds it, for messages (e.g. `berth update cluster (pid 123 on host)`).
    pub holder: String,
    /// Unique per acquisition.
    pub token: String,
    /// When it lapses unless renewed.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Lease {
    /// Takes the lease on `cluster` for `ttl`, or fails with [`Error::LeaseHeld`] naming the
    /// current holder and expiry when someone else holds a live one.
    pub async fn acquire(
        store: Arc<dyn ObjectStore>,
        cluster: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseGuard> {
        let key = ClusterKeys::new(cluster).lease();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let lease = Lease {
                holder: holder.to_owned(),
                token: new_token(holder),
                expires_at: expiry(&key, ttl)?,
            };
            let condition = match store.get(&key).await? {
                None => WriteCondition::Create,
                Some(object) => {
                    let current = parse(&key, &object.bytes)?;
                    if current.expires_at > OffsetDateTime::now_utc() {
                        return Err(Error::LeaseHeld {
                            cluster: cluster.to_owned(),
                            holder: current.holder,
                            until: format_time(current.expires_at),
                        });
                    }
                    tracing::debug!(%key, holder = %current.holder, "taking over an expired lease");
                    WriteCondition::Replace(object.etag)
                }
            };
            match store.put(&key, encode(&key, &lease)?, condition).await {
                Ok(etag) => {
                    return Ok(LeaseGuard {
                        store,
                        cluster: cluster.to_owned(),
                        key,
                        etag,
                        lease,
                        ttl,
                    });
                }
                // Someone else wrote the lease meanwhile: look again at what they wrote.
                Err(Error::AlreadyExists { .. } | Error::Conflict { .. })
                    if attempt < MAX_ACQUIRE_ATTEMPTS => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// The current lease on `cluster`, live or expired, if there is one.
    pub async fn read(store: &dyn ObjectStore, cluster: &str) -> Result<Option<Lease>> {
        let key = ClusterKeys::new(cluster).lease();
        match store.get(&key).await? {
            None => Ok(None),
            Some(object) => parse(&key, &object.bytes).map(Some),
        }
    }

    /// Whether the lease has lapsed.
    pub fn is_expired(&self) -> bool {
        self.expires_at <= OffsetDateTime::now_utc()
    }
}

/// A lease held by this process. Renew it before it expires; release it when done.
#[derive(Debug)]
pub struct LeaseGuard {
    store: Arc<dyn ObjectStore>,
    cluster: String,
    key: String,
    etag: ETag,
    lease: Lease,
    ttl: Duration,
}

impl LeaseGuard {
    /// The lease as last written.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Extends the lease by its TTL from now; [`Error::LeaseLost`] if it was taken over.
    pub async fn renew(&mut self) -> Result<()> {
        let lease = Lease {
            expires_at: expiry(&self.key, self.ttl)?,
            ..self.lease.clone()
        };
        let condition = WriteCondition::Replace(self.etag.clone());
        match self
            .store
            .put(&self.key, encode(&self.key, &lease)?, condition)
            .await
        {
            Ok(etag) => {
                self.etag = etag;
                self.lease = lease;
                Ok(())
            }
            Err(Error::Conflict { .. }) => Err(Error::LeaseLost {
                cluster: self.cluster.clone(),
            }),
            Err(error) => Err(error),
        }
    }

    /// Removes the lease; [`Error::LeaseLost`] (and the new holder's lease left alone) if it
    /// was taken over.
    pub async fn release(self) -> Result<()> {
        match self.store.delete(&self.key, Some(self.etag.clone())).await {
            Ok(()) => Ok(()),
            Err(Error::Conflict { .. }) => Err(Error::LeaseLost {
                cluster: self.cluster,
            }),
            Err(error) => Err(error),
        }
    }
}

fn expiry(key: &str, ttl: Duration) -> Result<OffsetDateTime> {
    time::Duration::try_from(ttl)
        .ok()
        .and_then(|ttl| OffsetDateTime::now_utc().checked_add(ttl))
        .ok_or_else(|| Error::LeaseExpiry {
            key: key.to_owned(),
        })
}

fn format_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

fn parse(key: &str, bytes: &[u8]) -> Result<Lease> {
    serde_json::from_slice(bytes).map_err(|source| Error::LeaseCorrupt {
        key: key.to_owned(),
        source,
    })
}

fn encode(key: &str, lease: &Lease) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(lease).map_err(|source| Error::LeaseEncode {
        key: key.to_owned(),
        source,
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A token unlikely to repeat across processes and hosts: a hash of the holder, the process,
/// the time and a counter (no randomness source is needed for that).
fn new_token(holder: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(holder.as_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(
        OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .to_le_bytes(),
    );
    hasher.update(TOKEN_COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hex::encode(&hasher.finalize()[..16])
}
