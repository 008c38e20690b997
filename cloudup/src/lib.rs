//! Turns a completed cluster spec into AWS resources and reconciles them.
//!
//! - [`engine`]: the kind-independent machinery — the [`engine::Reconcile`] contract each
//!   resource kind implements, batched discovery, the pure plan, the DAG executor with retries.
//! - [`aws`]: one module per resource kind, the only place that calls the AWS SDK.
//!
//! The desired resources come from `berth_model::builders` as a `berth_model::aws::Graph`;
//! nothing here decides *what* a cluster is made of, only how to make AWS match it.

pub mod aws;
pub mod delete;
pub mod engine;
pub mod facts;
pub mod kubernetes;
pub mod rolling;
pub mod terraform;
