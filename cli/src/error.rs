//! The CLI's own failures: bad input it detects itself, each with a hint.
//!
//! Failures from the libraries keep their own types; [`crate::diagnostics`] decides which of
//! them are the user's to fix (exit code 1) and which are unexpected (exit code 2).

use crate::env_vars::{BERTH_CLUSTER_NAME, BERTH_STATE_STORE, EDITOR};

/// A failure the user can fix.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    /// No store given and no home directory to put the default in.
    #[error("no state store: pass `--state` or set `{variable}`")]
    NoStateStore { variable: &'static str },
    /// No cluster name anywhere.
    #[error("no cluster name given")]
    NoClusterName,
    /// The cluster is not in the store.
    #[error("cluster `{cluster}` does not exist in state store `{store}`")]
    ClusterNotFound {
        cluster: String,
        store: String,
        known: Vec<String>,
    },
    /// `create` of a cluster that exists.
    #[error("cluster `{cluster}` already exists in state store `{store}`")]
    ClusterExists { cluster: String, store: String },
    /// An instance group that is not in the cluster.
    #[error("instance group `{instance_group}` does not exist in cluster `{cluster}`")]
    InstanceGroupNotFound {
        instance_group: String,
        cluster: String,
    },
    /// `create -f` of an instance group that exists.
    #[error("instance group `{instance_group}` already exists in cluster `{cluster}`")]
    InstanceGroupExists {
        instance_group: String,
        cluster: String,
    },
    /// A file could not be read.
    #[error("cannot read `{path}`")]
    ReadInput {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file with no documents.
    #[error("`{source_name}` holds no Cluster or InstanceGroup documents")]
    NoDocuments { source_name: String },
    /// An instance group whose cluster cannot be told.
    #[error(
        "`{source_name}`: instance group `{instance_group}` names no cluster (label `kops.k8s.io/cluster`) and no `--name` was given"
    )]
    InstanceGroupWithoutCluster {
        source_name: String,
        instance_group: String,
    },
    /// Documents for several clusters in one file.
    #[error("`{source_name}` mixes clusters `{first}` and `{second}`: give one cluster per file")]
    MixedClusters {
        source_name: String,
        first: String,
        second: String,
    },
    /// The same object twice in one file.
    #[error("`{source_name}` holds {kind} `{name}` more than once")]
    DuplicateDocument {
        source_name: String,
        kind: &'static str,
        name: String,
    },
    /// Editing changed an object's name or kind.
    #[error("the edit renamed {kind} `{from}` to `{to}`; names cannot be changed by editing")]
    Renamed {
        kind: &'static str,
        from: String,
        to: String,
    },
    /// Editing produced something other than one object of the edited kind.
    #[error("the edited file must hold exactly one {kind} document")]
    EditShape { kind: &'static str },
    /// The editor failed.
    #[error("editor `{editor}` exited with {status}")]
    EditorFailed {
        editor: String,
        status: std::process::ExitStatus,
    },
    /// The editor could not be started.
    #[error("cannot start editor `{editor}`")]
    EditorStart {
        editor: String,
        #[source]
        source: std::io::Error,
    },
    /// The user left the errors in place without changing anything.
    #[error("edit cancelled: the file still has the errors listed above and nothing was saved")]
    EditAbandoned { errors: String },
    /// Deleting an instance group would leave an invalid cluster.
    #[error(
        "cannot delete instance group `{instance_group}`: the cluster would not be valid without it"
    )]
    DeleteBreaksCluster { instance_group: String },
    /// A `key=value` flag without `=`.
    #[error("`--{flag}`: `{value}` is not of the form key=value")]
    NotKeyValue { flag: &'static str, value: String },
    /// Stored data that Berth cannot read back.
    #[error("`{key}` in the state store is not a valid {kind} document")]
    CorruptObject {
        key: String,
        kind: &'static str,
        #[source]
        source: Box<berth_model::ParseError>,
    },
}

impl CommandError {
    /// What the user can do about it, if there is something specific to say.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            Self::NoStateStore { .. } => Some(format!(
                "pass `--state s3://bucket/prefix` or `--state file:///path`, or set `{BERTH_STATE_STORE}`"
            )),
            Self::NoClusterName => Some(format!(
                "name the cluster as an argument, with `--name`, or set `{BERTH_CLUSTER_NAME}`"
            )),
            Self::ClusterNotFound { known, .. } if known.is_empty() => Some(
                "the store holds no clusters yet: `berth create cluster NAME --zones ZONE`".into(),
            ),
            Self::ClusterNotFound { known, .. } => {
                Some(format!("clusters in this store: {}", known.join(", ")))
            }
            Self::ClusterExists { .. } => {
                Some("change it with `berth edit cluster` or `berth replace -f FILE`".into())
            }
            Self::InstanceGroupExists { .. } => {
                Some("change it with `berth edit instancegroup` or `berth replace -f FILE`".into())
            }
            Self::InstanceGroupWithoutCluster { .. } => {
                Some("add the label `kops.k8s.io/cluster: NAME` or pass `--name`".into())
            }
            Self::EditorFailed { .. } | Self::EditorStart { .. } => Some(format!(
                "set `{EDITOR}` to an editor that exits 0 after saving"
            )),
            Self::CorruptObject { .. } => {
                Some("fix it with `berth replace -f FILE`, which rewrites the object".into())
            }
            _ => None,
        }
    }
}
