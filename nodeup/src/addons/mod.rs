//! The addon step of a control-plane node: apply the cluster's addons once the local API
//! server answers, and again whenever cloudup stores different manifests.
//!
//! `berth update cluster` stores each addon at `<cluster>/addons/<name>/<version>.yaml` and
//! lists them, with each manifest's sha256, in `<cluster>/addons/bootstrap-channel.yaml`
//! ([`berth_model::addons::BootstrapChannel`]). After the plan is applied, [`run`]:
//!
//! 1. reads the channel and compares each entry's sha256 with what this node last applied
//!    (recorded in `/var/lib/nodeup/addons-applied.json`, [`crate::plan::paths::ADDONS_APPLIED`]); when
//!    nothing changed it stops there, without contacting the API server;
//! 2. reads the changed manifests, refusing one whose sha256 is not the channel's;
//! 3. issues itself a client certificate in memory from the cluster CA the control plane
//!    holds (CN `berth-nodeup`, O `system:masters`, valid for [`CLIENT_VALIDITY`]; never
//!    written to disk), trusting that CA for the API server's certificate;
//! 4. polls the API server's `/readyz` (default `https://127.0.0.1:443`) every
//!    [`AddonsOptions::poll_interval`] for at most [`AddonsOptions::ready_timeout`];
//! 5. takes the Lease `kube-system/berth-addons` (holder: the node's name) when it is free,
//!    expired or already this node's, so two control-plane nodes never apply at once. When
//!    another node holds it, the step waits up to [`AddonsOptions::lease_wait`] and then
//!    stops with [`AddonsOutcome::LeaseHeld`]: the holder is applying the same channel;
//! 6. applies each changed addon with server-side apply ([`apply::apply`], field manager
//!    [`FIELD_MANAGER`]), renewing the lease between addons and recording each addon as soon
//!    as it is applied, then releases the lease.
//!
//! Addons removed from the channel are dropped from the record; their objects are left in
//! the cluster (no pruning).

pub mod apply;

use std::{
    collections::BTreeMap,
    fmt,
    path::PathBuf,
    time::{Duration, Instant},
};

use base64::Engine;
use berth_model::addons::{AddonManifest, BootstrapChannel, ChannelEntry, store::CHANNEL_KEY};
use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::PostParams,
    config::{KubeConfigOptions, Kubeconfig},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use berth_model::addons::FIELD_MANAGER;

pub use self::apply::{AddonError, AppliedObject, ApplyReport, ObjectOutcome};
use crate::{
    atomic,
    pki::{self, CaKeypair, IssueRequest, PkiError, Usage},
    plan::control_plane::API_PORT,
    store::StateStore,
};

/// The Lease that makes one control-plane node at a time apply the addons.
pub const LEASE_NAME: &str = "berth-addons";
/// The Lease's namespace.
pub const LEASE_NAMESPACE: &str = "kube-system";
/// The user nodeup's client certificate names.
pub const CLIENT_COMMON_NAME: &str = "berth-nodeup";
/// The group nodeup's client certificate names: cluster-admin, as an addon may create RBAC.
pub const CLIENT_ORGANIZATION: &str = "system:masters";
/// How long nodeup's in-memory client certificate is valid.
pub const CLIENT_VALIDITY: Duration = Duration::from_secs(2 * 60 * 60);

/// The local API server, as the control plane's static pod serves it.
#[must_use]
pub fn default_api_server() -> String {
    format!("https://127.0.0.1:{API_PORT}")
}

/// How the step reaches the API server and how long it waits.
#[derive(Debug, Clone)]
pub struct AddonsOptions {
    /// The API server's URL.
    pub api_server: String,
    /// The lease holder: the node's name.
    pub holder: String,
    /// Where the record of applied addons is (a host path, root included).
    pub record: PathBuf,
    /// How long to wait for `/readyz` to answer `ok`.
    pub ready_timeout: Duration,
    /// How often to poll `/readyz` and a held lease.
    pub poll_interval: Duration,
    /// How long the lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long to wait for another holder's lease before giving up.
    pub lease_wait: Duration,
}

impl AddonsOptions {
    /// The defaults: 10 minutes for the API server, polled every 3 s; a 60 s lease; up to
    /// 2 minutes' wait for another holder's.
    #[must_use]
    pub fn new(api_server: String, holder: String, record: PathBuf) -> Self {
        Self {
            api_server,
            holder,
            record,
            ready_timeout: Duration::from_secs(10 * 60),
            poll_interval: Duration::from_secs(3),
            lease_duration: Duration::from_secs(60),
            lease_wait: Duration::from_secs(2 * 60),
        }
    }
}

/// What the step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddonsOutcome {
    /// The store has no bootstrap channel (the cluster was not updated by a Berth that
    /// renders addons): nothing to apply.
    NoChannel,
    /// Every addon's sha256 is the one last applied: the API server was not contacted.
    UpToDate {
        /// How many addons the channel lists.
        addons: usize,
    },
    /// These addons were applied (the others were up to date).
    Applied {
        /// The addons applied, in channel order.
        addons: Vec<String>,
        /// Every object applied.
        report: ApplyReport,
    },
    /// Another node held the lease for as long as the step waited; it applies the addons.
    LeaseHeld {
        /// The other holder.
        holder: String,
        /// How long the step waited.
        waited: Duration,
        /// The addons that would have been applied.
        pending: Vec<String>,
    },
}

impl fmt::Display for AddonsOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddonsOutcome::NoChannel => write!(
                f,
                "the state store has no `{CHANNEL_KEY}`; no addons to apply"
            ),
            AddonsOutcome::UpToDate { addons } => {
                write!(f, "all {addons} addons are up to date")
            }
            AddonsOutcome::Applied { addons, report } => write!(
                f,
                "applied {} ({} objects: {} created, {} updated, {} unchanged)",
                addons.join(", "),
                report.objects.len(),
                report.with_outcome(ObjectOutcome::Created).count(),
                report.with_outcome(ObjectOutcome::Updated).count(),
                report.with_outcome(ObjectOutcome::Unchanged).count(),
            ),
            AddonsOutcome::LeaseHeld {
                holder,
                waited,
                pending,
            } => write!(
                f,
                "not applied: the lease {LEASE_NAMESPACE}/{LEASE_NAME} is held by `{holder}` \
                 (waited {}s); that node applies the addons; pending here: {}",
                waited.as_secs(),
                pending.join(", ")
            ),
        }
    }
}

/// Why the addon step failed.
#[derive(Debug, thiserror::Error)]
pub enum AddonsError {
    /// The channel or a manifest could not be read from the store.
    #[error("failed to read the addons from the state store")]
    Store(#[source] Box<crate::Error>),
    /// The channel is not a bootstrap channel.
    #[error("the addon channel `{CHANNEL_KEY}` is invalid")]
    Channel(#[source] berth_model::addons::AddonError),
    /// The channel lists a manifest the store does not have.
    #[error("the addon channel lists `{key}`, which is not in the state store")]
    MissingManifest {
        /// The manifest's key, relative to the cluster's directory.
        key: String,
    },
    /// A manifest is not the one the channel lists (the store is being written, or was
    /// changed by hand).
    #[error("`{key}` has sha256 {actual}, but the addon channel lists {expected}")]
    ManifestHash {
        /// The manifest's key.
        key: String,
        /// The channel's sha256.
        expected: String,
        /// The manifest's.
        actual: String,
    },
    /// A manifest is not YAML objects.
    #[error("the addon manifest `{key}` is invalid")]
    Manifest {
        /// The manifest's key.
        key: String,
        /// Why.
        #[source]
        source: berth_model::addons::AddonError,
    },
    /// nodeup could not issue its client certificate.
    #[error("failed to issue nodeup's client certificate")]
    Credentials(#[source] PkiError),
    /// No client could be built for the API server.
    #[error("failed to build a client for the API server `{api_server}`")]
    Client {
        /// The URL.
        api_server: String,
        /// Why.
        #[source]
        source: kube::Error,
    },
    /// The API server did not become ready in time.
    #[error(
        "the API server `{api_server}` was not ready after {}s (last answer: {last})",
        waited.as_secs()
    )]
    NotReady {
        /// The URL.
        api_server: String,
        /// How long the step waited.
        waited: Duration,
        /// The last error or answer.
        last: String,
    },
    /// The lease could not be read or written.
    #[error("failed to take the lease {LEASE_NAMESPACE}/{LEASE_NAME}")]
    Lease(#[source] kube::Error),
    /// Another node took the lease while this one was applying.
    #[error(
        "lost the lease {LEASE_NAMESPACE}/{LEASE_NAME} to `{holder}` while applying; the rest is left to it"
    )]
    LeaseLost {
        /// The new holder.
        holder: String,
    },
    /// An addon could not be applied.
    #[error(transparent)]
    Apply(#[from] AddonError),
    /// The record could not be written.
    #[error("failed to record the applied addons")]
    Record(#[from] atomic::WriteError),
}

/// `/var/lib/nodeup/addons-applied.json`: what this node last applied, by addon name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedRecord {
    /// Each addon applied, by name.
    pub addons: BTreeMap<String, RecordedAddon>,
}

/// One addon in the [`AppliedRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedAddon {
    /// Its version.
    pub version: String,
    /// The sha256 of the manifest applied.
    pub sha256: String,
}

impl AppliedRecord {
    /// Reads the record; a missing or unreadable one is empty (everything is applied again,
    /// which server-side apply makes harmless).
    #[must_use]
    pub fn read(path: &std::path::Path) -> Self {
        match fs_err::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|error| {
                tracing::warn!(path = %path.display(), %error, "ignoring an unreadable addon record");
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    fn write(&self, path: &std::path::Path) -> Result<(), atomic::WriteError> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        atomic::ensure_file(path, text.as_bytes(), 0o600).map(drop)
    }

    fn is_current(&self, entry: &ChannelEntry) -> bool {
        self.addons
            .get(&entry.name)
            .is_some_and(|recorded| recorded.sha256 == entry.sha256)
    }
}

/// Runs the addon step (see the module's docs). `ca` is the cluster CA with its key.
///
/// # Errors
/// [`AddonsError`] naming the stage that failed; addons applied before it stay recorded.
pub async fn run(
    store: &StateStore,
    ca: &CaKeypair,
    options: &AddonsOptions,
) -> Result<AddonsOutcome, AddonsError> {
    let store_error = |error| AddonsError::Store(Box::new(error));
    let Some(text) = store.cluster_text(CHANNEL_KEY).await.map_err(store_error)? else {
        return Ok(AddonsOutcome::NoChannel);
    };
    let channel = BootstrapChannel::from_yaml(&text).map_err(AddonsError::Channel)?;
    let mut record = AppliedRecord::read(&options.record);
    let changed: Vec<&ChannelEntry> = channel
        .addons
        .iter()
        .filter(|entry| !record.is_current(entry))
        .collect();
    let listed = |name: &String| channel.addons.iter().any(|entry| &entry.name == name);
    if changed.is_empty() {
        if record.addons.keys().any(|name| !listed(name)) {
            record.addons.retain(|name, _| listed(name));
            record.write(&options.record)?;
        }
        return Ok(AddonsOutcome::UpToDate {
            addons: channel.addons.len(),
        });
    }
    let mut manifests = Vec::with_capacity(changed.len());
    for entry in &changed {
        manifests.push(read_manifest(store, entry).await?);
    }
    let pending: Vec<String> = changed.iter().map(|entry| entry.name.clone()).collect();
    tracing::info!(addons = ?pending, api_server = %options.api_server, "applying changed addons");

    let client = client(ca, &options.api_server).await?;
    wait_until_ready(&client, options).await?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let started = Instant::now();
    if let Some(holder) = acquire(&leases, options).await? {
        return Ok(AddonsOutcome::LeaseHeld {
            holder,
            waited: started.elapsed(),
            pending,
        });
    }
    let applied =
        apply_holding_lease(&client, &leases, &changed, &manifests, &mut record, options).await;
    if let Err(error) = release(&leases, &options.holder).await {
        tracing::warn!(%error, "failed to release the addon lease; it expires by itself");
    }
    let report = applied?;
    record.addons.retain(|name, _| listed(name));
    record.write(&options.record)?;
    Ok(AddonsOutcome::Applied {
        addons: pending,
        report,
    })
}

async fn apply_holding_lease(
    client: &Client,
    leases: &Api<Lease>,
    changed: &[&ChannelEntry],
    manifests: &[AddonManifest],
    record: &mut AppliedRecord,
    options: &AddonsOptions,
) -> Result<ApplyReport, AddonsError> {
    let mut report = ApplyReport::default();
    for (entry, manifest) in changed.iter().zip(manifests) {
        renew(leases, options).await?;
        let applied = apply::apply(client, std::slice::from_ref(manifest), FIELD_MANAGER).await?;
        tracing::info!(
            addon = %entry.name,
            version = %entry.version,
            objects = applied.objects.len(),
            "applied addon"
        );
        report.objects.extend(applied.objects);
        record.addons.insert(
            entry.name.clone(),
            RecordedAddon {
                version: entry.version.clone(),
                sha256: entry.sha256.clone(),
            },
        );
        record.write(&options.record)?;
    }
    Ok(report)
}

async fn read_manifest(
    store: &StateStore,
    entry: &ChannelEntry,
) -> Result<AddonManifest, AddonsError> {
    let text = store
        .cluster_text(&entry.key)
        .await
        .map_err(|error| AddonsError::Store(Box::new(error)))?
        .ok_or_else(|| AddonsError::MissingManifest {
            key: entry.key.clone(),
        })?;
    let actual = hex::encode(Sha256::digest(text.as_bytes()));
    if !actual.eq_ignore_ascii_case(&entry.sha256) {
        return Err(AddonsError::ManifestHash {
            key: entry.key.clone(),
            expected: entry.sha256.clone(),
            actual,
        });
    }
    AddonManifest::from_yaml(&entry.name, &entry.version, &text).map_err(|source| {
        AddonsError::Manifest {
            key: entry.key.clone(),
            source,
        }
    })
}

/// A cluster-admin client for `api_server`: a fresh in-memory certificate from `ca`, and
/// `ca` as the only trusted root.
async fn client(ca: &CaKeypair, api_server: &str) -> Result<Client, AddonsError> {
    let request = IssueRequest {
        name: CLIENT_COMMON_NAME.to_owned(),
        ca: pki::KUBERNETES_CA.to_owned(),
        common_name: CLIENT_COMMON_NAME.to_owned(),
        organization: Some(CLIENT_ORGANIZATION.to_owned()),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        usage: Usage::Client,
    };
    let validity = time::Duration::try_from(CLIENT_VALIDITY).unwrap_or(time::Duration::HOUR);
    let issued = pki::issue_ephemeral(request, ca, OffsetDateTime::now_utc(), validity)
        .map_err(AddonsError::Credentials)?;
    let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    let client_error = |source| AddonsError::Client {
        api_server: api_server.to_owned(),
        source,
    };
    let kubeconfig: Kubeconfig = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "local",
            "cluster": {
                "server": api_server,
                "certificate-authority-data": encode(&ca.certificate_pem),
            },
        }],
        "users": [{
            "name": CLIENT_COMMON_NAME,
            "user": {
                "client-certificate-data": encode(&issued.certificate_pem),
                "client-key-data": encode(issued.private_key.expose()),
            },
        }],
        "contexts": [{
            "name": "local",
            "context": { "cluster": "local", "user": CLIENT_COMMON_NAME },
        }],
        "current-context": "local",
    }))
    .map_err(|error| client_error(kube::Error::SerdeError(error)))?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|error| client_error(kube::Error::InferKubeconfig(error)))?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(60));
    Client::try_from(config).map_err(client_error)
}

/// Polls `/readyz` until it answers `ok`.
async fn wait_until_ready(client: &Client, options: &AddonsOptions) -> Result<(), AddonsError> {
    let started = Instant::now();
    let mut logged = false;
    loop {
        let request = http::Request::get("/readyz")
            .body(Vec::new())
            .unwrap_or_default();
        let answer = tokio::time::timeout(Duration::from_secs(10), client.request_text(request));
        let last = match answer.await {
            Ok(Ok(text)) if text.trim() == "ok" => return Ok(()),
            Ok(Ok(text)) => format!("`{}`", text.trim()),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "no answer within 10s".to_owned(),
        };
        if started.elapsed() >= options.ready_timeout {
            return Err(AddonsError::NotReady {
                api_server: options.api_server.clone(),
                waited: started.elapsed(),
                last,
            });
        }
        if !logged {
            tracing::info!(api_server = %options.api_server, %last, "waiting for the API server to be ready");
            logged = true;
        }
        tokio::time::sleep(options.poll_interval).await;
    }
}

/// What one attempt at the lease found.
enum Attempt {
    /// This node holds it now.
    Taken,
    /// Another node holds it and it has not expired.
    Held(String),
    /// Someone wrote it between the read and the write: try again.
    Raced,
}

/// Takes the lease, waiting up to `lease_wait` while another node holds it. `Some(holder)`
/// when the wait ran out.
async fn acquire(
    leases: &Api<Lease>,
    options: &AddonsOptions,
) -> Result<Option<String>, AddonsError> {
    let started = Instant::now();
    let mut logged = false;
    loop {
        match attempt(leases, options).await.map_err(AddonsError::Lease)? {
            Attempt::Taken => return Ok(None),
            Attempt::Raced => continue,
            Attempt::Held(holder) => {
                if started.elapsed() >= options.lease_wait {
                    return Ok(Some(holder));
                }
                if !logged {
                    tracing::info!(%holder, "waiting for the addon lease {LEASE_NAMESPACE}/{LEASE_NAME}");
                    logged = true;
                }
                tokio::time::sleep(options.poll_interval).await;
            }
        }
    }
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// The lease's holder while it is valid.
fn current_holder(lease: &Lease, now: Timestamp) -> Option<String> {
    let spec = lease.spec.as_ref()?;
    let holder = spec
        .holder_identity
        .clone()
        .filter(|holder| !holder.is_empty())?;
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?;
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    (renewed.0.as_second() + duration > now.as_second()).then_some(holder)
}

async fn attempt(leases: &Api<Lease>, options: &AddonsOptions) -> Result<Attempt, kube::Error> {
    let now = Timestamp::now();
    let duration = i32::try_from(options.lease_duration.as_secs()).unwrap_or(i32::MAX);
    let existing = leases.get_opt(LEASE_NAME).await?;
    let result = match existing {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE_NAME.to_owned()),
                    namespace: Some(LEASE_NAMESPACE.to_owned()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(options.holder.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            leases.create(&PostParams::default(), &lease).await
        }
        Some(mut lease) => {
            let holder = current_holder(&lease, now);
            if let Some(holder) = holder.as_ref().filter(|holder| **holder != options.holder) {
                return Ok(Attempt::Held(holder.clone()));
            }
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if holder.is_none() {
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            spec.holder_identity = Some(options.holder.clone());
            spec.lease_duration_seconds = Some(duration);
            spec.renew_time = Some(MicroTime(now));
            leases
                .replace(LEASE_NAME, &PostParams::default(), &lease)
                .await
        }
    };
    match result {
        Ok(_) => Ok(Attempt::Taken),
        Err(error) if is_conflict(&error) => Ok(Attempt::Raced),
        Err(error) => Err(error),
    }
}

/// Renews the lease this node holds.
async fn renew(leases: &Api<Lease>, options: &AddonsOptions) -> Result<(), AddonsError> {
    loop {
        match attempt(leases, options).await.map_err(AddonsError::Lease)? {
            Attempt::Taken => return Ok(()),
            Attempt::Raced => continue,
            Attempt::Held(holder) => return Err(AddonsError::LeaseLost { holder }),
        }
    }
}

/// Gives the lease up when this node still holds it.
async fn release(leases: &Api<Lease>, holder: &str) -> Result<(), kube::Error> {
    let Some(mut lease) = leases.get_opt(LEASE_NAME).await? else {
        return Ok(());
    };
    let Some(spec) = lease.spec.as_mut() else {
        return Ok(());
    };
    if spec.holder_identity.as_deref() != Some(holder) {
        return Ok(());
    }
    spec.holder_identity = None;
    spec.renew_time = Some(MicroTime(Timestamp::now()));
    match leases
        .replace(LEASE_NAME, &PostParams::default(), &lease)
        .await
    {
        Err(error) if !is_conflict(&error) => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed: i64, duration: i32) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_owned),
                renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
                lease_duration_seconds: Some(duration),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn a_lease_is_held_until_it_expires() {
        let now = Timestamp::from_second(1_000).unwrap();
        assert_eq!(
            current_holder(&lease(Some("a"), 990, 60), now).as_deref(),
            Some("a")
        );
        assert_eq!(current_holder(&lease(Some("a"), 900, 60), now), None);
        assert_eq!(current_holder(&lease(None, 990, 60), now), None);
        assert_eq!(current_holder(&lease(Some(""), 990, 60), now), None);
    }

    #[test]
    fn the_record_says_which_entries_changed() {
        let entry = |name: &str, sha256: &str| ChannelEntry {
            name: name.to_owned(),
            version: "1".to_owned(),
            key: format!("addons/{name}/1.yaml"),
            sha256: sha256.to_owned(),
        };
        let mut record = AppliedRecord::default();
        record.addons.insert(
            "coredns".to_owned(),
            RecordedAddon {
                version: "1".to_owned(),
                sha256: "aa".to_owned(),
            },
        );
        assert!(record.is_current(&entry("coredns", "aa")));
        assert!(!record.is_current(&entry("coredns", "bb")));
        assert!(!record.is_current(&entry("cilium", "aa")));
    }
}
