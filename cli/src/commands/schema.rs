//! `berth schema`: the JSON Schema of the spec kinds, for editors and CI linting.

use crate::{args::SchemaKind, exit_status::ExitStatus, printer};

/// Prints the schema of `kind`.
pub(crate) fn run(kind: SchemaKind) -> anyhow::Result<ExitStatus> {
    let schema = match kind {
        SchemaKind::All => berth_model::schema::combined_schema(),
        SchemaKind::Cluster => berth_model::schema::cluster_schema(),
        SchemaKind::Instancegroup => berth_model::schema::instance_group_schema(),
    };
    printer::stdout(&format!("{}\n", serde_json::to_string_pretty(&schema)?))?;
    Ok(ExitStatus::Success)
}
