//! Builders: a completed cluster spec → the graph of AWS resources it is made of.
//!
//! Pure functions, one module per concern as kops organises its model builders: [`network`],
//! [`security`], [`iam`], [`etcd`] and [`api`] (the control plane's volumes and endpoint),
//! [`files`] (the state-store objects, including each group's [`NodeupConfig`]), and
//! [`compute`] (key pair, launch templates with the [`user_data`] script, autoscaling
//! groups). Each takes the [`BuildContext`] and the [`Graph`], and returns the typed
//! [`Ref`]s later builders point at, so an edge can only name a node that exists. [`build`]
//! runs them in order. They read the completed spec and [`BuildFacts`] only: no clients,
//! no I/O.
//!
//! Names follow kops (`<prefix>.<cluster>`); the full list of what a cluster becomes is in
//! `docs/resources.md`.
//!
//! [`NodeupConfig`]: crate::nodeup_config::NodeupConfig
//! [`Ref`]: crate::aws::Ref

pub mod api;
pub mod compute;
mod context;
mod error;
pub mod etcd;
pub mod files;
pub mod iam;
mod iam_policy;
mod lifetime;
mod names;
pub mod network;
pub mod nodeup;
pub mod security;
pub mod user_data;
mod weight;

pub use context::{BuildContext, BuildFacts, HostedZoneFact, NodeBootstrap, NodeupAsset};
pub use error::BuildError;
pub use names::api_load_balancer_name;
pub use weight::critical_path_weight;

use crate::aws::Graph;

/// Builds the whole desired graph of a cluster.
///
/// # Errors
/// [`BuildError`] naming the instance group, subnet or field that could not be built.
pub fn build(context: &BuildContext) -> Result<Graph, BuildError> {
    let mut graph = Graph::new();
    let network = network::build(context, &mut graph)?;
    let security = security::build(context, &mut graph, &network)?;
    let profiles = iam::build(context, &mut graph)?;
    etcd::build(context, &mut graph)?;
    let api_target_group = api::build(context, &mut graph, &network, &security)?;
    let config_hashes = files::build(context, &mut graph)?;
    compute::build(
        context,
        &mut graph,
        &compute::ComputeInputs {
            network: &network,
            security: &security,
            profiles: &profiles,
            api_target_group: api_target_group.as_ref(),
            config_hashes: &config_hashes,
        },
    )?;
    Ok(graph)
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
