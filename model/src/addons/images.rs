//! Every image an addon runs, pinned to an exact tag, in one table.
//!
//! Where each version comes from:
//! - CoreDNS: the release Kubernetes 1.31–1.33's kubeadm installs
//!   (`cmd/kubeadm/app/constants`, `CoreDNSVersion`).
//! - kube-proxy: not here; it is always the cluster's own `kubernetesVersion`.
//! - Cilium and its operator: the 1.17 release KubeOne pins
//!   (`pkg/templates/images/images.go`), also kops's Cilium line.
//! - AWS cloud-controller-manager: one release per Kubernetes minor, as the project's
//!   compatibility table asks (github.com/kubernetes/cloud-provider-aws releases); older
//!   minors take the oldest pinned release (skew of two minors is supported), newer ones the
//!   newest.
//! - EBS CSI driver and its sidecars: the driver release and the EKS-distro sidecar builds
//!   KubeOne pins together (`pkg/templates/images/images.go`).

/// CoreDNS.
pub const COREDNS: &str = "registry.k8s.io/coredns/coredns:v1.11.3";
/// CoreDNS's version (the addon version).
pub const COREDNS_VERSION: &str = "1.11.3";

/// kube-proxy's repository; the tag is `v<kubernetesVersion>`.
pub const KUBE_PROXY_REPOSITORY: &str = "registry.k8s.io/kube-proxy";

/// Cilium's version when `spec.networking.cilium.version` is unset.
pub const CILIUM_VERSION: &str = "1.17.3";
/// Cilium agent repository; the tag is `v<version>`.
pub const CILIUM_REPOSITORY: &str = "quay.io/cilium/cilium";
/// Cilium operator repository; the tag is `v<version>`.
pub const CILIUM_OPERATOR_REPOSITORY: &str = "quay.io/cilium/operator-generic";

/// AWS cloud-controller-manager repository.
pub const CLOUD_CONTROLLER_REPOSITORY: &str =
    "registry.k8s.io/provider-aws/cloud-controller-manager";
/// AWS cloud-controller-manager release per Kubernetes minor: `(minor, version)`, ascending.
pub const CLOUD_CONTROLLER_VERSIONS: &[(u64, &str)] = &[
    (30, "1.30.7"),
    (31, "1.31.5"),
    (32, "1.32.1"),
    (33, "1.33.0"),
    (35, "1.35.0"),
];

/// The EBS CSI driver's version (the addon version).
pub const EBS_CSI_VERSION: &str = "1.43.0";
/// The EBS CSI driver.
pub const EBS_CSI_DRIVER: &str = "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.43.0";
/// CSI external-provisioner.
pub const CSI_PROVISIONER: &str =
    "public.ecr.aws/eks-distro/kubernetes-csi/external-provisioner:v5.2.0-eks-1-33-3";
/// CSI external-attacher.
pub const CSI_ATTACHER: &str =
    "public.ecr.aws/eks-distro/kubernetes-csi/external-attacher:v4.8.1-eks-1-33-2";
/// CSI external-resizer.
pub const CSI_RESIZER: &str =
    "public.ecr.aws/eks-distro/kubernetes-csi/external-resizer:v1.13.2-eks-1-33-3";
/// CSI liveness probe.
pub const CSI_LIVENESS_PROBE: &str =
    "public.ecr.aws/eks-distro/kubernetes-csi/livenessprobe:v2.15.0-eks-1-33-3";
/// CSI node-driver-registrar.
pub const CSI_NODE_DRIVER_REGISTRAR: &str =
    "public.ecr.aws/eks-distro/kubernetes-csi/node-driver-registrar:v2.13.0-eks-1-33-2";

/// The cloud-controller-manager release for a Kubernetes minor.
#[must_use]
pub fn cloud_controller_version(minor: u64) -> &'static str {
    CLOUD_CONTROLLER_VERSIONS
        .iter()
        .rev()
        .find(|(since, _)| *since <= minor)
        .or_else(|| CLOUD_CONTROLLER_VERSIONS.first())
        .map_or("1.30.7", |(_, version)| version)
}
