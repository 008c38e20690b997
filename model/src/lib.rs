//! The cluster model: kops-compatible spec types, parsing, validation and defaults.
//!
//! Pure: no async runtime, no AWS SDK, no I/O. Facts from the cloud come in as data
//! ([`CloudFacts`]).
//!
//! The flow is: [`parse_documents`] reads `kops.k8s.io/v1alpha2` manifests (or
//! [`build_cluster`] makes them from `create cluster` options), [`validate()`] reports
//! every problem at once, and [`complete()`] fills in the defaults, producing a
//! [`CompletedCluster`] that later stages consume.
//!
//! ```
//! let (cluster, groups) = berth_model::build_cluster(&berth_model::CreateClusterOptions {
//!     name: "demo.example.com".into(),
//!     zones: vec!["us-east-1a".into()],
//!     config_base: "s3://bucket/demo.example.com".into(),
//!     ..berth_model::CreateClusterOptions::default()
//! })?;
//! berth_model::validate(&cluster, &groups)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod addons;
pub mod api;
pub mod assets;
pub mod aws;
pub mod builders;
pub mod client_certificate;
pub mod complete;
pub mod create;
pub mod nodeup_config;
pub mod pki;
pub mod schema;
pub mod ssh;
pub mod upgrade;
pub mod validate;
pub mod version;

pub use api::{document::*, v1alpha2::*};
pub use complete::{
    ApiEndpoint, CloudFacts, CompleteError, CompletedCluster, api_endpoint, complete,
};
pub use create::{
    CreateClusterOptions, CreateError, DEFAULT_IMAGE, DEFAULT_MACHINE_TYPE, build_cluster,
};
pub use validate::{FieldError, ValidationErrors, validate};
pub use version::{
    DEFAULT_KUBERNETES_VERSION, KubernetesVersion, MAX_KUBERNETES_MINOR, MIN_KUBERNETES_VERSION,
};
