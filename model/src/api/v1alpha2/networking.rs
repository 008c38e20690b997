//! `spec.networking`: the CNI. Berth supports Cilium (its default) and `cni: {}`
//! (bring your own CNI); kops's other CNIs are recognised and rejected as unsupported.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `spec.networking`: exactly one entry should be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkingSpec {
    /// Cilium, installed and managed by Berth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cilium: Option<CiliumNetworkingSpec>,
    /// Bring your own CNI: Berth installs none; nodes stay NotReady until one is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cni: Option<CniNetworkingSpec>,
}

impl NetworkingSpec {
    /// Names of the CNIs that are set, in field order.
    #[must_use]
    pub fn selected(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.cilium.is_some() {
            names.push("cilium");
        }
        if self.cni.is_some() {
            names.push("cni");
        }
        names
    }
}

/// `spec.networking.cilium` (a few common settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CiliumNetworkingSpec {
    /// Cilium version to install; Berth picks one matching its release when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Replace kube-proxy with Cilium's NodePort implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_node_port: Option<bool>,
    /// Enable Hubble observability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hubble: Option<CiliumHubbleSpec>,
}

/// `spec.networking.cilium.hubble`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CiliumHubbleSpec {
    /// Whether Hubble is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `spec.networking.cni`: no settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CniNetworkingSpec {}
