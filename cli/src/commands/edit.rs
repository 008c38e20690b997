//! `berth edit cluster|instancegroup`: open one spec object in `$EDITOR`, as kubectl does.
//!
//! The object is written to a temp file and the editor started on it. An unchanged file
//! writes nothing. A file that does not parse or validate is reopened with the errors as
//! comments at the top; saving it again unchanged gives up, writing nothing. The new object
//! is written only if the stored one is still what was read (ETag), so two concurrent edits
//! cannot silently overwrite each other.

use std::{io::Write as _, process::Command};

use anyhow::Context as _;
use berth_model::{Cluster, Document};

use crate::{
    args::{EditCommand, GlobalArgs},
    commands::{input::CLUSTER_LABEL, store},
    env_vars::{EDITOR, KUBE_EDITOR},
    error::CommandError,
    exit_status::ExitStatus,
    printer, settings,
    spec_store::SpecStore,
};

const HEADER: &str = "\
# Edit the object below. Lines beginning with '#' are ignored;
# an unchanged file cancels the edit.
";

/// Runs `berth edit`.
pub(crate) async fn run(global: &GlobalArgs, command: &EditCommand) -> anyhow::Result<ExitStatus> {
    match command {
        EditCommand::Cluster { cluster } => {
            let name = settings::cluster_name(cluster.as_deref(), global)?;
            edit_cluster(&store::open_cluster(global, &name).await?).await
        }
        EditCommand::Instancegroup { instance_group } => {
            let name = settings::cluster_name(None, global)?;
            edit_instance_group(&store::open_cluster(global, &name).await?, instance_group).await
        }
    }
}

async fn edit_cluster(specs: &SpecStore) -> anyhow::Result<ExitStatus> {
    let stored = specs.cluster().await?;
    let groups = specs.instance_group_values().await?;
    let original = berth_model::cluster_to_yaml(&stored.value)?;
    let outcome = edit_loop(&original, |text| {
        let cluster = match single_document(text, "Cluster")? {
            Document::Cluster(cluster) => cluster,
            Document::InstanceGroup(_) => {
                return Err(CommandError::EditShape { kind: "Cluster" }.into());
            }
        };
        ensure_same_name(
            "Cluster",
            &stored.value.metadata.name,
            &cluster.metadata.name,
        )?;
        berth_model::validate::validate(&cluster, &groups)?;
        Ok(cluster)
    })?;
    let Some(cluster) = outcome else {
        return Ok(cancelled());
    };
    specs.replace_cluster(&cluster, stored.etag).await?;
    printer::note(&format!("Saved cluster `{}`.", specs.cluster_name()));
    Ok(ExitStatus::Success)
}

async fn edit_instance_group(specs: &SpecStore, name: &str) -> anyhow::Result<ExitStatus> {
    let cluster: Cluster = specs.cluster().await?.value;
    let (stored, others) = specs.instance_group_and_others(name).await?;
    let original = berth_model::instance_group_to_yaml(&stored.value)?;
    let outcome = edit_loop(&original, |text| {
        let mut group = match single_document(text, "InstanceGroup")? {
            Document::InstanceGroup(group) => group,
            Document::Cluster(_) => {
                return Err(CommandError::EditShape {
                    kind: "InstanceGroup",
                }
                .into());
            }
        };
        ensure_same_name("InstanceGroup", name, &group.metadata.name)?;
        group
            .metadata
            .labels
            .entry(CLUSTER_LABEL.to_owned())
            .or_insert_with(|| specs.cluster_name().to_owned());
        let mut all = others.clone();
        all.push(group.clone());
        berth_model::validate::validate(&cluster, &all)?;
        Ok(group)
    })?;
    let Some(group) = outcome else {
        return Ok(cancelled());
    };
    let yaml = berth_model::instance_group_to_yaml(&group)?;
    specs
        .store()
        .put(
            &specs.keys().instance_group(name),
            yaml.into_bytes(),
            berth_state_store::WriteCondition::Replace(stored.etag),
        )
        .await?;
    printer::note(&format!(
        "Saved instance group `{name}` of cluster `{}`.",
        specs.cluster_name()
    ));
    Ok(ExitStatus::Success)
}

fn cancelled() -> ExitStatus {
    printer::note("Edit cancelled, no changes made.");
    ExitStatus::Success
}

fn single_document(text: &str, kind: &'static str) -> anyhow::Result<Document> {
    let mut documents = berth_model::parse_documents(text, "edited file")?;
    match (documents.pop(), documents.is_empty()) {
        (Some(document), true) => Ok(document),
        _ => Err(CommandError::EditShape { kind }.into()),
    }
}

fn ensure_same_name(kind: &'static str, from: &str, to: &str) -> Result<(), CommandError> {
    if from == to {
        Ok(())
    } else {
        Err(CommandError::Renamed {
            kind,
            from: from.to_owned(),
            to: to.to_owned(),
        })
    }
}

/// Runs the editor until the text is unchanged (`None`) or `accept` takes it (`Some`).
fn edit_loop<T>(
    original: &str,
    accept: impl Fn(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Option<T>> {
    let mut buffer = format!("{HEADER}{original}");
    let mut rejected: Option<(String, String)> = None;
    loop {
        let edited = run_editor(&buffer)?;
        let body = strip_header_comments(&edited);
        if body.trim() == original.trim() {
            return Ok(None);
        }
        if let Some((previous, errors)) = &rejected
            && body.trim() == previous.trim()
        {
            printer::note(errors);
            return Err(CommandError::EditAbandoned {
                errors: errors.clone(),
            }
            .into());
        }
        match accept(&body) {
            Ok(value) => return Ok(Some(value)),
            Err(error) => {
                let errors = crate::diagnostics::render(&error);
                let commented: String = errors.lines().map(|line| format!("# {line}\n")).collect();
                buffer = format!("{HEADER}#\n# The edited file has errors:\n{commented}#\n{body}");
                rejected = Some((body, errors));
            }
        }
    }
}

/// The text without the comment lines at its top (ours, possibly edited by the user).
fn strip_header_comments(text: &str) -> String {
    let mut lines = text.lines().peekable();
    while lines
        .peek()
        .is_some_and(|line| line.trim_start().starts_with('#'))
    {
        lines.next();
    }
    let mut body: String = lines.collect::<Vec<_>>().join("\n");
    body.push('\n');
    body
}

/// Writes `text` to a temp file, runs the editor on it and returns what it saved.
fn run_editor(text: &str) -> anyhow::Result<String> {
    let editor = std::env::var(KUBE_EDITOR)
        .ok()
        .filter(|value| !value.is_empty())
        .or_else(|| std::env::var(EDITOR).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "vi".to_owned());
    let mut file = tempfile::Builder::new()
        .prefix("berth-edit-")
        .suffix(".yaml")
        .tempfile()
        .context("failed to create a temp file to edit")?;
    file.write_all(text.as_bytes())
        .context("failed to write the temp file to edit")?;
    file.flush()
        .context("failed to write the temp file to edit")?;
    // Through the shell, so that EDITOR may carry arguments (`code --wait`), as git does.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("berth-edit")
        .arg(file.path())
        .status()
        .map_err(|source| CommandError::EditorStart {
            editor: editor.clone(),
            source,
        })?;
    if !status.success() {
        return Err(CommandError::EditorFailed { editor, status }.into());
    }
    fs_err::read_to_string(file.path()).context("failed to read back the edited file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_the_leading_comment_block() {
        let text = "# a\n# b\napiVersion: v\n# kept\nkind: Cluster\n";
        assert_eq!(
            strip_header_comments(text),
            "apiVersion: v\n# kept\nkind: Cluster\n"
        );
    }
}
