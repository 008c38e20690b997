//! Files written to the state store: the completed spec and one nodeup config per group.
//!
//! Keys are relative to the store root: `<c>/cluster-completed.spec` and
//! `<c>/igconfig/<role>/<instance group>/nodeupconfig.yaml`, with `<role>` one of
//! `control-plane`, `node` or `bastion`.

use std::collections::BTreeMap;

use super::{BuildContext, BuildError, names::sha256_hex, nodeup::nodeup_config};
use crate::{
    aws::{Graph, ManagedFile},
    cluster_to_yaml,
};

pub(crate) use crate::nodeup_config::nodeup_config_key;

/// Adds the files; returns each instance group's nodeup config hash (hex SHA-256).
///
/// # Errors
/// [`BuildError`] when a file cannot be rendered or the graph refuses a node.
pub fn build(
    context: &BuildContext,
    graph: &mut Graph,
) -> Result<BTreeMap<String, String>, BuildError> {
    let cluster = context.name();
    let spec_key = format!("{cluster}/cluster-completed.spec");
    let contents =
        cluster_to_yaml(&context.cluster.cluster).map_err(|source| BuildError::RenderFile {
            file: spec_key.clone(),
            source,
        })?;
    graph.add(ManagedFile {
        name: spec_key,
        contents,
    })?;

    let mut hashes = BTreeMap::new();
    for group in context.groups() {
        let config = nodeup_config(context, group)?;
        let key = format!(
            "{cluster}/{}",
            nodeup_config_key(config.role.as_str(), &group.metadata.name)
        );
        let contents = config.to_yaml().map_err(|source| BuildError::RenderFile {
            file: key.clone(),
            source,
        })?;
        hashes.insert(group.metadata.name.clone(), sha256_hex(&contents));
        graph.add(ManagedFile {
            name: key,
            contents,
        })?;
    }
    crate::addons::store::build(context, graph)?;
    Ok(hashes)
}
