//! The addons' objects in the state store: `<cluster>/addons/<name>/<version>.yaml` per
//! addon and `<cluster>/addons/bootstrap-channel.yaml` listing them with their hashes.

use sha2::{Digest, Sha256};

use super::{AddonError, BootstrapChannel, ChannelEntry, render};
use crate::{
    aws::{Graph, ManagedFile},
    builders::{BuildContext, BuildError},
};

/// The channel's store key, relative to the cluster's directory.
pub const CHANNEL_KEY: &str = "addons/bootstrap-channel.yaml";

/// Adds one [`ManagedFile`] per addon and the bootstrap channel to `graph`.
///
/// # Errors
/// [`BuildError`] naming the spec field an addon could not be rendered from, or the file
/// that could not be written.
pub fn build(context: &BuildContext, graph: &mut Graph) -> Result<(), BuildError> {
    let cluster = context.name();
    let addons = render(context.cluster).map_err(|error| match error {
        AddonError::MissingField { field } => BuildError::MissingField { field },
        AddonError::InvalidField { field, problem } => BuildError::InvalidField { field, problem },
        AddonError::Parse { file, message } => BuildError::InvalidField {
            field: file,
            problem: message,
        },
    })?;
    let mut entries = Vec::with_capacity(addons.len());
    for addon in &addons {
        let key = addon.key();
        let name = format!("{cluster}/{key}");
        let contents = addon.to_yaml().map_err(|source| BuildError::RenderFile {
            file: name.clone(),
            source,
        })?;
        entries.push(ChannelEntry {
            name: addon.name.clone(),
            version: addon.version.clone(),
            key,
            sha256: hex::encode(Sha256::digest(contents.as_bytes())),
        });
        graph.add(ManagedFile { name, contents })?;
    }
    let name = format!("{cluster}/{CHANNEL_KEY}");
    let contents =
        BootstrapChannel::new(entries)
            .to_yaml()
            .map_err(|source| BuildError::RenderFile {
                file: name.clone(),
                source,
            })?;
    graph.add(ManagedFile { name, contents })?;
    Ok(())
}
