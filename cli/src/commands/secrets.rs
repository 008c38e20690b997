//! `berth get secrets` and `berth create secret sshpublickey`.
//!
//! Listing shows names and types only; no command ever prints key material.

use berth_model::ssh::SshPublicKey;
use serde::Serialize;

use crate::{
    args::{GlobalArgs, OutputFormat, SshPublicKeyArgs},
    commands::store,
    error::CommandError,
    exit_status::ExitStatus,
    printer, settings,
};

/// One entry of `berth get secrets`.
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct SecretEntry {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
}

/// `berth get secrets`.
pub(crate) async fn list(global: &GlobalArgs, output: OutputFormat) -> anyhow::Result<ExitStatus> {
    let specs = store::open_cluster(global, &settings::cluster_name(None, global)?).await?;
    specs.cluster().await?;
    let keys = specs.keys();
    let store = specs.store();
    let mut entries = Vec::new();
    for key in store.list(&keys.pki_issued_prefix()).await? {
        if let Some(name) = first_segment(&key, &keys.pki_issued_prefix()) {
            entries.push(SecretEntry {
                kind: "Keypair",
                name,
            });
        }
    }
    for key in store.list(&keys.ssh_public_keys_prefix()).await? {
        if let Some(name) = first_segment(&key, &keys.ssh_public_keys_prefix()) {
            entries.push(SecretEntry {
                kind: "SSHPublicKey",
                name,
            });
        }
    }
    for key in store.list(&keys.secrets_prefix()).await? {
        if let Some(name) = first_segment(&key, &keys.secrets_prefix()) {
            entries.push(SecretEntry {
                kind: "Secret",
                name,
            });
        }
    }
    entries.sort();
    entries.dedup();
    let text = match output {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&entries)?),
        OutputFormat::Table | OutputFormat::Yaml => {
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|entry| vec![entry.kind.to_owned(), entry.name.clone()])
                .collect();
            printer::table(&["TYPE", "NAME"], &rows)
        }
    };
    printer::stdout(&text)?;
    Ok(ExitStatus::Success)
}

fn first_segment(key: &str, prefix: &str) -> Option<String> {
    let rest = key.strip_prefix(prefix)?.trim_start_matches('/');
    rest.split('/')
        .next()
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

/// `berth create secret sshpublickey -i FILE`.
pub(crate) async fn create_ssh_public_key(
    global: &GlobalArgs,
    args: &SshPublicKeyArgs,
) -> anyhow::Result<ExitStatus> {
    let text = std::fs::read_to_string(&args.file).map_err(|source| CommandError::ReadInput {
        path: args.file.clone(),
        source,
    })?;
    let key = SshPublicKey::parse(&text, &args.file)?;
    let specs = store::open_cluster(global, &settings::cluster_name(None, global)?).await?;
    specs.cluster().await?;
    let object_key = specs.keys().ssh_public_key(key.fingerprint());
    match specs
        .store()
        .put(
            &object_key,
            key.text().as_bytes().to_vec(),
            berth_state_store::WriteCondition::Create,
        )
        .await
    {
        Ok(_) => printer::note(&format!(
            "Added SSH public key {} ({}) to cluster `{}`.",
            key.fingerprint(),
            key.algorithm(),
            specs.cluster_name()
        )),
        Err(berth_state_store::Error::AlreadyExists { .. }) => printer::note(&format!(
            "SSH public key {} is already in cluster `{}`.",
            key.fingerprint(),
            specs.cluster_name()
        )),
        Err(error) => return Err(error.into()),
    }
    Ok(ExitStatus::Success)
}
