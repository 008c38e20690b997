//! Every environment variable Berth reads, declared once.

/// The state store URL, as `--state`.
pub(crate) const BERTH_STATE_STORE: &str = "BERTH_STATE_STORE";
/// The cluster name, as `--name`.
pub(crate) const BERTH_CLUSTER_NAME: &str = "BERTH_CLUSTER_NAME";
/// Where the default `file://` state store lives (default: `$XDG_DATA_HOME/berth/state`).
pub(crate) const BERTH_HOME: &str = "BERTH_HOME";
/// The editor `berth edit` opens (a command line; the file name is appended).
pub(crate) const EDITOR: &str = "EDITOR";
/// Fallback editor variable, as kubectl reads it.
pub(crate) const KUBE_EDITOR: &str = "KUBE_EDITOR";
/// The kubeconfig files kubectl reads (a path list); `berth export kubeconfig` writes the first.
pub(crate) const KUBECONFIG: &str = "KUBECONFIG";
/// The log filter for stderr (tracing's env-filter syntax).
pub(crate) const BERTH_LOG: &str = "BERTH_LOG";
/// Mirrors of the `nodeup` binary machines download (comma-separated URLs).
pub(crate) const BERTH_NODEUP_URL: &str = "BERTH_NODEUP_URL";
/// The SHA-256 of the binary at `BERTH_NODEUP_URL`.
pub(crate) const BERTH_NODEUP_SHA256: &str = "BERTH_NODEUP_SHA256";
/// Mirrors of the node assets (kubelet, containerd, …): comma-separated base URLs that
/// replace the publishers' hosts, paths kept (`http(s)://` or `file://`).
pub(crate) const BERTH_ASSETS_BASE_URL: &str = "BERTH_ASSETS_BASE_URL";
