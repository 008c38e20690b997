//! `kubelet-api-rbac`: lets the API server reach kubelets (logs, exec, port-forward).
//!
//! The API server authenticates to kubelets with the `apiserver-kubelet-client` certificate
//! nodeup issues (CN `kube-apiserver-kubelet-client`); kubelets authorize it through the
//! API server's webhook, so that user needs `system:kubelet-api-admin`.

use serde_json::json;

use super::{AddonManifest, objects::cluster_role_binding};

const NAME: &str = "kubelet-api-rbac";

/// The user the API server's kubelet client certificate names.
pub(crate) const KUBELET_CLIENT_USER: &str = "kube-apiserver-kubelet-client";

pub(super) fn render() -> AddonManifest {
    AddonManifest {
        name: NAME.to_owned(),
        version: "1".to_owned(),
        objects: vec![cluster_role_binding(
            "berth:kubelet-api-admin",
            NAME,
            NAME,
            "system:kubelet-api-admin",
            json!([{
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "User",
                "name": KUBELET_CLIENT_USER,
            }]),
        )],
    }
}
