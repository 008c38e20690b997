//! The crate's error: one variant per stage, each naming what it was doing.

use std::time::Duration;

use berth_model::nodeup_config::NodeupConfigError;

use crate::{
    addons::AddonsError, apply::ApplyError, assets::AssetError, atomic::WriteError,
    facts::FactsError, pki::PkiError, plan::PlanError,
};

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why nodeup failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--conf` is not inside the cluster's directory of a store.
    #[error(
        "invalid --conf `{conf}`: expected `<state store>/{cluster}/igconfig/<role>/<instance group>/nodeupconfig.yaml`"
    )]
    ConfLocation {
        /// The argument.
        conf: String,
        /// The cluster name given.
        cluster: String,
    },
    /// The store could not be opened or reached.
    #[error("failed to open the state store `{url}`")]
    OpenStore {
        /// The store's URL.
        url: String,
        /// The store's error (boxed: it is large).
        #[source]
        source: Box<berth_state_store::Error>,
    },
    /// A store read failed.
    #[error("failed to read `{key}` from the state store `{store}`")]
    ReadStore {
        /// The store's URL.
        store: String,
        /// The key.
        key: String,
        /// The store's error (boxed: it is large).
        #[source]
        source: Box<berth_state_store::Error>,
    },
    /// A store read took too long.
    #[error("reading `{key}` from the state store did not finish within {}s", timeout.as_secs())]
    StoreTimeout {
        /// The key (empty for the reachability check).
        key: String,
        /// The limit.
        timeout: Duration,
    },
    /// An object nodeup needs is not in the store.
    #[error("`{key}` does not exist in the state store `{store}`")]
    MissingObject {
        /// The store's URL.
        store: String,
        /// The key.
        key: String,
    },
    /// An object is not UTF-8 text.
    #[error("`{key}` in the state store is not text")]
    NotText {
        /// The key.
        key: String,
    },
    /// The config could not be read.
    #[error("failed to read the nodeup config `{conf}`")]
    Config {
        /// `--conf`.
        conf: String,
        /// Why.
        #[source]
        source: NodeupConfigError,
    },
    /// The config belongs to another cluster.
    #[error("the nodeup config is for cluster `{found}`, but --cluster-name is `{expected}`")]
    WrongCluster {
        /// `--cluster-name`.
        expected: String,
        /// The config's `clusterName`.
        found: String,
    },
    /// The config is not the one the instance was launched with.
    #[error(
        "the nodeup config's sha256 is {actual}, but this instance was launched for {expected}: the config changed since (a rolling update replaces this instance)"
    )]
    ConfigHashMismatch {
        /// The pinned hash.
        expected: String,
        /// The config's hash.
        actual: String,
    },
    /// The machine's identity could not be found.
    #[error(transparent)]
    Facts(#[from] FactsError),
    /// Certificates could not be issued.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The etcd volumes could not be found or attached.
    #[error(transparent)]
    EtcdVolume(#[from] Box<crate::etcd_volumes::EtcdVolumeError>),
    /// The control-plane instances could not be listed.
    #[error(transparent)]
    ControlPlaneInstances(#[from] crate::control_plane_instances::ListError),
    /// An attached etcd volume's device did not appear.
    #[error(transparent)]
    BlockDevice(#[from] crate::block_device::BlockDeviceError),
    /// No plan could be made.
    #[error("failed to plan the node")]
    Plan(#[from] PlanError),
    /// An asset could not be provided.
    #[error(transparent)]
    Asset(#[from] AssetError),
    /// Applying failed.
    #[error("failed to apply the plan")]
    Apply(#[from] ApplyError),
    /// The status file could not be written.
    #[error("failed to write the status file")]
    Status(#[from] WriteError),
    /// `--sync` on a node that is not part of the control plane.
    #[error(
        "--sync refreshes a control-plane node's etcd peers, API DNS records and addons, and the API server's addresses on nodes of clusters without DNS; this {role} node has none of those"
    )]
    SyncRole {
        /// The node's role.
        role: &'static str,
    },
    /// The API's DNS records could not be published (the node itself is configured).
    #[error("failed to publish the API's DNS records")]
    ApiDns(#[source] Box<crate::api_dns::ApiDnsError>),
    /// The addons could not be applied (the node itself is configured).
    #[error("failed to apply the cluster's addons")]
    Addons(#[source] Box<AddonsError>),
}
