//! Resolves flags and environment into the settings a command runs with.
//!
//! The state store comes from `--state`, then `BERTH_STATE_STORE`, then the embedded default:
//! a local `file://` directory under the user's data directory, created on first use. An
//! explicitly named store is never created: a missing bucket or directory is an error.

use std::path::PathBuf;

use crate::{
    args::GlobalArgs,
    env_vars::{BERTH_HOME, BERTH_STATE_STORE},
    error::CommandError,
};

/// Which state store to open, and whether the user named it.
#[derive(Debug, Clone)]
pub(crate) struct StoreSettings {
    /// `s3://…` or `file://…`.
    pub(crate) url: String,
    /// The embedded default, which Berth may create.
    pub(crate) default_dir: Option<PathBuf>,
}

impl StoreSettings {
    /// Resolves the store from the global flags (clap already read `BERTH_STATE_STORE`).
    pub(crate) fn resolve(global: &GlobalArgs) -> Result<Self, CommandError> {
        if let Some(url) = global.state.as_deref().filter(|url| !url.is_empty()) {
            return Ok(Self {
                url: url.to_owned(),
                default_dir: None,
            });
        }
        let dir = default_store_dir().ok_or(CommandError::NoStateStore {
            variable: BERTH_STATE_STORE,
        })?;
        Ok(Self {
            url: format!("file://{}", dir.display()),
            default_dir: Some(dir),
        })
    }
}

/// `$BERTH_HOME/state`, else `$XDG_DATA_HOME/berth/state`, else `~/.local/share/berth/state`.
fn default_store_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(home) = non_empty(BERTH_HOME) {
        return Some(PathBuf::from(home).join("state"));
    }
    let data = non_empty("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".local/share")))?;
    Some(data.join("berth").join("state"))
}

/// The cluster a command acts on: its positional argument, else `--name`/`BERTH_CLUSTER_NAME`.
pub(crate) fn cluster_name(
    positional: Option<&str>,
    global: &GlobalArgs,
) -> Result<String, CommandError> {
    positional
        .or(global.name.as_deref())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .ok_or(CommandError::NoClusterName)
}
