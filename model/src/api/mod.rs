//! The manifest API: wire types per version, YAML reading and writing, and the checks that
//! turn a YAML document into a typed one with precise errors.

pub(crate) mod check;
pub mod document;
mod kops_fields;
pub mod v1alpha2;
pub(crate) mod yaml;
