//! The one place errors are rendered: the chain of causes, then a hint, on stderr.
//!
//! It also decides the exit code: 1 for anything the user can fix (bad input, validation,
//! conflicts, a missing or unreachable store), 2 for the unexpected.

use std::{error::Error as StdError, io::Write};

use crate::{env_vars::BERTH_STATE_STORE, error::CommandError, exit_status::ExitStatus};

/// Prints `error` with its causes and hint to stderr and returns the exit status it maps to.
pub(crate) fn report(error: &anyhow::Error) -> ExitStatus {
    let mut stderr = std::io::stderr().lock();
    // Diagnostics that cannot be written have nowhere else to go.
    let _ = writeln!(stderr, "{}", render(error));
    classify(error)
}

/// The text of an error report: `error: …`, `  caused by: …` lines, then `  hint: …`.
pub(crate) fn render(error: &anyhow::Error) -> String {
    // Multi-line messages (a list of validation errors) continue indented under `error:`.
    let mut text = format!("error: {}", error.to_string().replace('\n', "\n  "));
    let mut hint = None;
    for cause in error.chain() {
        if hint.is_none() {
            hint = hint_of(cause);
        }
    }
    for cause in error.chain().skip(1) {
        let shown = cause.to_string();
        // Multi-line causes (validation lists) are indented as a block.
        let shown = shown.replace('\n', "\n    ");
        text.push_str(&format!("\n  caused by: {shown}"));
    }
    if let Some(hint) = hint {
        text.push_str(&format!("\n  hint: {hint}"));
    }
    text
}

fn hint_of(cause: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(error) = cause.downcast_ref::<CommandError>() {
        return error.hint();
    }
    match cause.downcast_ref::<berth_state_store::Error>()? {
        berth_state_store::Error::StoreDirNotFound { .. }
        | berth_state_store::Error::BucketNotFound { .. }
        | berth_state_store::Error::InvalidUrl { .. }
        | berth_state_store::Error::Unreachable { .. } => Some(format!(
            "check `--state` or `{BERTH_STATE_STORE}` (and for S3 the AWS profile, region and endpoint)"
        )),
        berth_state_store::Error::Conflict { .. } => {
            Some("another command changed the cluster meanwhile: run yours again".into())
        }
        _ => None,
    }
}

fn classify(error: &anyhow::Error) -> ExitStatus {
    let is_user_error = error.chain().any(|cause| {
        cause.is::<CommandError>()
            || cause.is::<berth_model::ParseError>()
            || cause.is::<berth_model::validate::ValidationErrors>()
            || cause.is::<berth_model::create::CreateError>()
            || cause.is::<berth_model::ssh::SshKeyError>()
            || cause.is::<berth_model::CompleteError>()
            || cause.is::<berth_model::builders::BuildError>()
            || cause.is::<berth_model::upgrade::UpgradeError>()
            || cause
                .downcast_ref::<berth_cloudup::facts::FactsError>()
                .is_some_and(berth_cloudup::facts::FactsError::is_user_error)
            || cause
                .downcast_ref::<berth_cloudup::engine::ApplyError>()
                .is_some_and(berth_cloudup::engine::ApplyError::is_user_error)
            || cause
                .downcast_ref::<crate::kube_access::KubeAccessError>()
                .is_some_and(crate::kube_access::KubeAccessError::is_user_error)
            || cause
                .downcast_ref::<berth_state_store::Error>()
                .is_some_and(berth_state_store::Error::is_user_error)
    });
    if is_user_error {
        ExitStatus::UserError
    } else {
        ExitStatus::Unexpected
    }
}
