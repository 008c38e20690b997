//! The process exit codes, documented in docs/cli.md.

/// How `berth` exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Done.
    Success,
    /// Bad input, a failed validation, a conflict, a missing store: the user can fix it.
    UserError,
    /// Anything else.
    Unexpected,
    /// `update cluster --exit-code` found changes to apply (and applied nothing).
    ChangesPending,
    /// Stopped by the `BERTH_ABORT_AFTER_TASKS` test hook, as a crash of the cloud calls would.
    Aborted,
    /// `validate cluster` found the cluster not valid.
    ClusterInvalid,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::UserError => Self::from(1),
            ExitStatus::Unexpected => Self::from(2),
            ExitStatus::ChangesPending => Self::from(3),
            ExitStatus::Aborted => Self::from(4),
            ExitStatus::ClusterInvalid => Self::from(5),
        }
    }
}
