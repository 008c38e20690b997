//! Where things live on a node: every well-known path in one place.

use std::path::PathBuf;

/// systemd's directory for administrator units.
pub const SYSTEMD_UNIT_DIR: &str = "/etc/systemd/system";
/// Kubernetes' configuration directory.
pub const KUBERNETES_DIR: &str = "/etc/kubernetes";
/// Certificates and keys.
pub const PKI_DIR: &str = "/etc/kubernetes/pki";
/// The cluster CA certificate (public only).
pub const CA_CERTIFICATE: &str = "/etc/kubernetes/pki/ca.crt";
/// The kubelet's static pod directory.
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
/// The kubelet's state directory.
pub const KUBELET_DIR: &str = "/var/lib/kubelet";
/// The kubelet's configuration file.
pub const KUBELET_CONFIG: &str = "/var/lib/kubelet/config.yaml";
/// The kubelet's kubeconfig (written by nodeup on the control plane, by the kubelet after
/// TLS bootstrapping on workers).
pub const KUBELET_KUBECONFIG: &str = "/var/lib/kubelet/kubeconfig";
/// The kubelet's bootstrap kubeconfig (workers).
pub const KUBELET_BOOTSTRAP_KUBECONFIG: &str = "/var/lib/kubelet/bootstrap-kubeconfig";
/// Where the kubelet keeps the certificates it obtained.
pub const KUBELET_PKI_DIR: &str = "/var/lib/kubelet/pki";
/// containerd's configuration directory.
pub const CONTAINERD_DIR: &str = "/etc/containerd";
/// containerd's configuration.
pub const CONTAINERD_CONFIG: &str = "/etc/containerd/config.toml";
/// containerd's CRI socket.
pub const CONTAINERD_SOCKET: &str = "unix:///run/containerd/containerd.sock";
/// CNI plugin binaries.
pub const CNI_BIN_DIR: &str = "/opt/cni/bin";
/// CNI network configurations (written by the CNI's own daemon set).
pub const CNI_CONF_DIR: &str = "/etc/cni/net.d";
/// Installed binaries.
pub const BIN_DIR: &str = "/usr/local/bin";
/// nodeup's own state (status, archive markers, certificate records).
pub const NODEUP_STATE_DIR: &str = "/var/lib/nodeup";
/// Records of the certificates nodeup issued, so an unchanged request reuses them.
pub const NODEUP_PKI_STATE_DIR: &str = "/var/lib/nodeup/pki";
/// Records of unpacked archives.
pub const NODEUP_ARCHIVE_STATE_DIR: &str = "/var/lib/nodeup/archives";
/// The run's status file.
pub const STATUS_FILE: &str = "/var/lib/nodeup/status.json";
/// What the addon step last applied: each addon's name, version and manifest sha256.
pub const ADDONS_APPLIED: &str = "/var/lib/nodeup/addons-applied.json";
/// The default asset cache.
pub const DEFAULT_CACHE_DIR: &str = "/var/cache/nodeup";

/// Where a unit's file lives.
#[must_use]
pub fn unit_path(name: &str) -> PathBuf {
    PathBuf::from(SYSTEMD_UNIT_DIR).join(name)
}

/// Where an issued certificate's record lives.
#[must_use]
pub fn pki_record(name: &str) -> String {
    format!("{NODEUP_PKI_STATE_DIR}/{name}.json")
}

/// Where an archive's marker lives (it holds the unpacked archive's sha256).
#[must_use]
pub fn archive_marker(name: &str) -> PathBuf {
    PathBuf::from(NODEUP_ARCHIVE_STATE_DIR).join(format!("{name}.sha256"))
}
