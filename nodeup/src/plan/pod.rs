//! Static pod manifests as a serde struct shaped like a `v1` `Pod`: host network, one
//! container, host-path volumes, `system-node-critical` priority.

use std::collections::BTreeMap;

use serde::Serialize;

/// A static pod in `kube-system`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticPod {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: PodSpec,
}

#[derive(Debug, Serialize)]
struct Metadata {
    name: String,
    namespace: &'static str,
    labels: BTreeMap<&'static str, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    host_network: bool,
    priority_class_name: &'static str,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    name: String,
    image: String,
    command: Vec<String>,
    resources: Resources,
    volume_mounts: Vec<VolumeMount>,
}

#[derive(Debug, Serialize)]
struct Resources {
    requests: BTreeMap<&'static str, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: String,
    mount_path: String,
    read_only: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: String,
    host_path: HostPath,
}

#[derive(Debug, Serialize)]
struct HostPath {
    path: String,
    #[serde(rename = "type")]
    path_type: &'static str,
}

/// A host directory mounted into the pod at the same path.
#[derive(Debug, Clone, Copy)]
pub struct HostMount {
    /// The volume's name.
    pub name: &'static str,
    /// The directory (same inside and outside).
    pub path: &'static str,
    /// Mounted read-only.
    pub read_only: bool,
}

impl StaticPod {
    /// A pod `name` running `command` (program and flags) from `image`, requesting `cpu`.
    #[must_use]
    pub fn new(
        name: &str,
        image: String,
        command: Vec<String>,
        cpu: &str,
        mounts: &[HostMount],
        owned_mounts: Vec<(String, String)>,
    ) -> Self {
        let mut volume_mounts: Vec<VolumeMount> = mounts
            .iter()
            .map(|mount| VolumeMount {
                name: mount.name.to_owned(),
                mount_path: mount.path.to_owned(),
                read_only: mount.read_only,
            })
            .collect();
        let mut volumes: Vec<Volume> = mounts
            .iter()
            .map(|mount| Volume {
                name: mount.name.to_owned(),
                host_path: HostPath {
                    path: mount.path.to_owned(),
                    path_type: "Directory",
                },
            })
            .collect();
        for (volume, path) in owned_mounts {
            volume_mounts.push(VolumeMount {
                name: volume.clone(),
                mount_path: path.clone(),
                read_only: false,
            });
            volumes.push(Volume {
                name: volume,
                host_path: HostPath {
                    path,
                    path_type: "DirectoryOrCreate",
                },
            });
        }
        Self {
            api_version: "v1",
            kind: "Pod",
            metadata: Metadata {
                name: name.to_owned(),
                namespace: "kube-system",
                labels: BTreeMap::from([("k8s-app", name.to_owned())]),
            },
            spec: PodSpec {
                host_network: true,
                priority_class_name: "system-node-critical",
                containers: vec![Container {
                    name: name.to_owned(),
                    image,
                    command,
                    resources: Resources {
                        requests: BTreeMap::from([("cpu", cpu.to_owned())]),
                    },
                    volume_mounts,
                }],
                volumes,
            },
        }
    }

    /// Mounts the host's file `path` read-only at the same path (a `File` host path). For
    /// `/etc/hosts` this replaces the copy the kubelet makes of it when a host-network pod
    /// starts, so the pod sees nodeup's later changes to it (nodeup rewrites it in place).
    #[must_use]
    pub fn with_host_file(mut self, name: &str, path: &str) -> Self {
        if let Some(container) = self.spec.containers.first_mut() {
            container.volume_mounts.push(VolumeMount {
                name: name.to_owned(),
                mount_path: path.to_owned(),
                read_only: true,
            });
        }
        self.spec.volumes.push(Volume {
            name: name.to_owned(),
            host_path: HostPath {
                path: path.to_owned(),
                path_type: "File",
            },
        });
        self
    }
}

/// `program --flag=value …` with flags in the given order.
#[must_use]
pub fn command(program: &str, flags: &[(&str, String)]) -> Vec<String> {
    std::iter::once(program.to_owned())
        .chain(
            flags
                .iter()
                .map(|(flag, value)| format!("--{flag}={value}")),
        )
        .collect()
}
