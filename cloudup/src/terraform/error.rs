//! Why a graph could not be rendered as Terraform, or the result not written.

use std::path::PathBuf;

/// A failed render or write of the Terraform output.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Two resources of one Terraform type sanitize to the same identifier.
    #[error("`{first}` and `{second}` both render as `{address}`")]
    DuplicateAddress {
        /// The Terraform address, e.g. `aws_vpc.dev-example-com`.
        address: String,
        /// The node rendered first.
        first: String,
        /// The node that collided with it.
        second: String,
    },
    /// A shared lookup (`data` block) was rendered twice with different arguments.
    #[error("the lookup `{address}` is needed with two different arguments")]
    ConflictingLookup {
        /// The Terraform address, e.g. `data.aws_route53_zone.example-com`.
        address: String,
    },
    /// A reference names a node that is not in the graph (a bug in whoever built it).
    #[error("`{from}` refers to `{missing}`, which is not in the graph")]
    DanglingRef {
        /// The node holding the reference.
        from: String,
        /// The node it points at.
        missing: String,
    },
    /// The JSON document could not be serialized.
    #[error("failed to serialize `kubernetes.tf.json`")]
    Serialize(#[source] serde_json::Error),
    /// An output path would escape the output directory.
    #[error("refusing to write `{path}` outside the output directory")]
    UnsafePath {
        /// The relative path.
        path: String,
    },
    /// A directory could not be created.
    #[error("failed to create directory `{path}`")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("failed to write `{path}`")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
