//! Addons: the Kubernetes objects every cluster runs on top of its control plane.
//!
//! [`render`] turns a completed spec into one [`AddonManifest`] per addon: CoreDNS,
//! kube-proxy (unless Cilium replaces it), the CNI chosen in `spec.networking`, the AWS
//! cloud-controller-manager, the EBS CSI driver, and the RBAC that lets the API server reach
//! kubelets. Objects are `serde_json` values of stable APIs only (`v1`, `apps/v1`,
//! `rbac.authorization.k8s.io/v1`, `storage.k8s.io/v1`), valid on every supported Kubernetes
//! release (1.28 through 1.36) under strict field validation. Every image is pinned in
//! [`images`].
//!
//! Pure: no I/O. The builders store each manifest at `<cluster>/addons/<name>/<version>.yaml`
//! and list them in `<cluster>/addons/bootstrap-channel.yaml` ([`BootstrapChannel`]); the
//! first control-plane node applies them with server-side apply.

mod cilium;
mod cloud_controller;
mod coredns;
mod ebs_csi;
pub mod images;
mod kube_proxy;
mod kubelet_rbac;
mod objects;
pub mod store;
#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{CompletedCluster, KubernetesVersion, SerializeError, nodeup_config::render_yaml};

/// The field manager Berth applies addons with.
pub const FIELD_MANAGER: &str = "berth-addons";

/// `apiVersion` of the bootstrap channel document.
pub const CHANNEL_API_VERSION: &str = "berth.dev/v1alpha1";
/// `kind` of the bootstrap channel document.
pub const CHANNEL_KIND: &str = "AddonChannel";

/// One addon: the objects to apply, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct AddonManifest {
    /// The addon's name, e.g. `coredns`.
    pub name: String,
    /// The upstream version it installs, e.g. `1.11.3` (part of its store key).
    pub version: String,
    /// The Kubernetes objects, each a full manifest with `apiVersion` and `kind`.
    pub objects: Vec<Value>,
}

impl AddonManifest {
    /// The store key, relative to the cluster's directory: `addons/<name>/<version>.yaml`.
    #[must_use]
    pub fn key(&self) -> String {
        format!("addons/{}/{}.yaml", self.name, self.version)
    }

    /// Reads a manifest the builders stored (the inverse of [`Self::to_yaml`]).
    ///
    /// # Errors
    /// [`AddonError::Parse`] when `text` is not YAML or a document is not an object.
    pub fn from_yaml(name: &str, version: &str, text: &str) -> Result<Self, AddonError> {
        let objects = parse(text, name)?
            .into_iter()
            .filter(|object| !object.is_null())
            .collect::<Vec<_>>();
        if let Some(index) = objects.iter().position(|object| !object.is_object()) {
            return Err(AddonError::Parse {
                file: name.to_owned(),
                message: format!("document {} is not an object", index + 1),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            version: version.to_owned(),
            objects,
        })
    }

    /// The objects as one multi-document YAML stream.
    ///
    /// # Errors
    /// [`SerializeError`] if an object cannot be written.
    pub fn to_yaml(&self) -> Result<String, SerializeError> {
        let mut out = String::new();
        for object in &self.objects {
            out.push_str("---\n");
            out.push_str(&render_yaml(object)?);
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        Ok(out)
    }
}

/// `<cluster>/addons/bootstrap-channel.yaml`: what the control plane applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BootstrapChannel {
    /// [`CHANNEL_API_VERSION`].
    pub api_version: String,
    /// [`CHANNEL_KIND`].
    pub kind: String,
    /// The addons, in the order they are applied.
    pub addons: Vec<ChannelEntry>,
}

/// One addon in the [`BootstrapChannel`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelEntry {
    /// The addon's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its manifest's store key, relative to the cluster's directory.
    pub key: String,
    /// Hex SHA-256 of the manifest: a node re-applies the addon when it changes.
    pub sha256: String,
}

impl BootstrapChannel {
    /// A channel listing `entries`.
    #[must_use]
    pub fn new(addons: Vec<ChannelEntry>) -> Self {
        Self {
            api_version: CHANNEL_API_VERSION.to_owned(),
            kind: CHANNEL_KIND.to_owned(),
            addons,
        }
    }

    /// The channel as YAML.
    ///
    /// # Errors
    /// [`SerializeError`] if it cannot be written.
    pub fn to_yaml(&self) -> Result<String, SerializeError> {
        render_yaml(self)
    }

    /// Reads the channel, refusing any `apiVersion`/`kind` but this format's.
    ///
    /// # Errors
    /// [`AddonError::Parse`] naming what is wrong.
    pub fn from_yaml(text: &str) -> Result<Self, AddonError> {
        const FILE: &str = "bootstrap-channel.yaml";
        let error = |message: String| AddonError::Parse {
            file: FILE.to_owned(),
            message,
        };
        let documents = parse(text, FILE)?;
        let [document] = documents.as_slice() else {
            return Err(error(format!(
                "expected one document, found {}",
                documents.len()
            )));
        };
        let channel: Self =
            serde_json::from_value(document.clone()).map_err(|e| error(e.to_string()))?;
        if channel.api_version != CHANNEL_API_VERSION || channel.kind != CHANNEL_KIND {
            return Err(error(format!(
                "unsupported apiVersion `{}` kind `{}` (expected {CHANNEL_API_VERSION} {CHANNEL_KIND})",
                channel.api_version, channel.kind
            )));
        }
        Ok(channel)
    }
}

fn parse(text: &str, file: &str) -> Result<Vec<Value>, AddonError> {
    let nodes = crate::api::yaml::parse_stream(text).map_err(|error| AddonError::Parse {
        file: file.to_owned(),
        message: error.message,
    })?;
    Ok(nodes.iter().map(|node| node.to_json()).collect())
}

/// Why the addons of a cluster could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddonError {
    /// A field the completed spec should hold is missing.
    #[error("`{field}` is not set (the spec was not completed)")]
    MissingField {
        /// The field path.
        field: String,
    },
    /// A field's value cannot be used.
    #[error("`{field}`: {problem}")]
    InvalidField {
        /// The field path.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A stored manifest or channel could not be read.
    #[error("`{file}`: {message}")]
    Parse {
        /// The addon or file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// What the addon renderers read, resolved once from the completed spec.
#[derive(Debug, Clone)]
pub(crate) struct AddonContext {
    pub(crate) cluster_name: String,
    pub(crate) kubernetes_version: KubernetesVersion,
    pub(crate) cluster_domain: String,
    pub(crate) dns_ip: Ipv4Addr,
    pub(crate) pod_cidr: String,
    pub(crate) kube_proxy: bool,
    pub(crate) api_internal_name: String,
}

impl AddonContext {
    fn new(cluster: &CompletedCluster) -> Result<Self, AddonError> {
        let spec = &cluster.cluster.spec;
        let version_text = required(spec.kubernetes_version.as_deref(), "spec.kubernetesVersion")?;
        let kubernetes_version = version_text.parse::<KubernetesVersion>().map_err(|error| {
            AddonError::InvalidField {
                field: "spec.kubernetesVersion".to_owned(),
                problem: error.to_string(),
            }
        })?;
        let service_range = required(
            spec.service_cluster_ip_range.as_deref(),
            "spec.serviceClusterIPRange",
        )?;
        Ok(Self {
            cluster_name: cluster.cluster.metadata.name.clone(),
            kubernetes_version,
            cluster_domain: spec
                .cluster_dns_domain
                .clone()
                .unwrap_or_else(|| crate::complete::DEFAULT_CLUSTER_DNS_DOMAIN.to_owned()),
            dns_ip: dns_service_ip(service_range)?,
            pod_cidr: required(spec.pod_cidr.as_deref(), "spec.podCIDR")?.to_owned(),
            kube_proxy: spec
                .kube_proxy
                .as_ref()
                .and_then(|proxy| proxy.enabled)
                .unwrap_or(true),
            api_internal_name: required(
                spec.master_internal_name.as_deref(),
                "spec.masterInternalName",
            )?
            .to_owned(),
        })
    }

    /// `MAJOR.MINOR.PATCH`, without the leading `v`.
    pub(crate) fn version_number(&self) -> String {
        self.kubernetes_version.as_semver().to_string()
    }

    pub(crate) fn minor(&self) -> u64 {
        self.kubernetes_version.as_semver().minor
    }
}

fn required<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, AddonError> {
    value.ok_or_else(|| AddonError::MissingField {
        field: field.to_owned(),
    })
}

/// The cluster DNS service's address: the 10th address of the service range (kops's
/// convention, e.g. `100.64.0.10` for `100.64.0.0/13`).
fn dns_service_ip(range: &str) -> Result<Ipv4Addr, AddonError> {
    let invalid = |problem: String| AddonError::InvalidField {
        field: "spec.serviceClusterIPRange".to_owned(),
        problem,
    };
    let net: Ipv4Net = range
        .parse()
        .map_err(|_| invalid(format!("`{range}` is not an IPv4 CIDR")))?;
    if net.prefix_len() > 28 {
        return Err(invalid(format!(
            "`{range}` is too small to hold the DNS service address (.10)"
        )));
    }
    Ok(Ipv4Addr::from(u32::from(net.network()) + 10))
}

/// Renders every addon of `cluster`, in the order they are applied.
///
/// # Errors
/// [`AddonError`] naming the spec field that is missing or unusable.
pub fn render(cluster: &CompletedCluster) -> Result<Vec<AddonManifest>, AddonError> {
    let context = AddonContext::new(cluster)?;
    let networking = cluster.cluster.spec.networking.as_ref();
    let mut addons = vec![kubelet_rbac::render(), coredns::render(&context)];
    if context.kube_proxy {
        addons.push(kube_proxy::render(&context));
    }
    if let Some(cilium) = networking.and_then(|networking| networking.cilium.as_ref()) {
        addons.push(cilium::render(&context, cilium));
    }
    addons.push(cloud_controller::render(&context));
    addons.push(ebs_csi::render());
    Ok(addons)
}
