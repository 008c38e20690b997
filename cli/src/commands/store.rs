//! Opening the state store a command runs against.

use std::sync::Arc;

use anyhow::Context as _;
use berth_state_store::ObjectStore;

use crate::{
    args::GlobalArgs,
    settings::{self, StoreSettings},
    spec_store::SpecStore,
};

/// Opens the store from the global flags and checks that it exists and answers.
///
/// The embedded default directory is created on first use; a store the user named is not.
pub(crate) async fn open(global: &GlobalArgs) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let settings = StoreSettings::resolve(global)?;
    if let Some(dir) = &settings.default_dir {
        fs_err::create_dir_all(dir).context("failed to create the default state store")?;
    }
    let store = berth_state_store::open(&settings.url).await?;
    store.check().await?;
    Ok(store)
}

/// Opens the store and one cluster's objects in it.
pub(crate) async fn open_cluster(global: &GlobalArgs, cluster: &str) -> anyhow::Result<SpecStore> {
    Ok(SpecStore::new(open(global).await?, cluster))
}

/// Resolves the cluster's name (`cluster`, else `--name`) and opens its objects.
pub(crate) async fn open_named_cluster(
    global: &GlobalArgs,
    cluster: Option<&str>,
) -> anyhow::Result<(String, SpecStore)> {
    let name = settings::cluster_name(cluster, global)?;
    let specs = open_cluster(global, &name).await?;
    Ok((name, specs))
}
