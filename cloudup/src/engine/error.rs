//! A task's failure and whether retrying can help.

use berth_model::aws::NodeKey;

/// Whether an error is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// Throttling, 5xx, a dropped connection, eventual consistency ("not found yet", IAM
    /// propagation), `DependencyViolation`: retry with backoff until the task's deadline.
    Transient,
    /// Anything else: fail the task and everything that depends on it.
    Fatal,
}

/// A failed find, diff or apply of one resource.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// An AWS call failed.
    #[error("{operation} failed{}", code.as_deref().map(|code| format!(" ({code})")).unwrap_or_default())]
    Aws {
        /// The API action, e.g. `CreateVpc`.
        operation: &'static str,
        /// The AWS error code, when there is one.
        code: Option<String>,
        /// Retry or not.
        class: RetryClass,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A response lacked a field Berth needs.
    #[error("{operation} returned no {field}")]
    Missing {
        /// The API action.
        operation: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A dependency's output was not available (a bug in the graph or executor).
    #[error("the output of `{key}` is not available")]
    MissingOutput {
        /// The dependency.
        key: NodeKey,
    },
    /// The resource exists in a state Berth cannot change in place.
    #[error("{message}")]
    Refused {
        /// What and why.
        message: String,
    },
    /// A state store write failed.
    #[error("failed to write `{key}` to the state store")]
    Store {
        /// The key.
        key: String,
        /// The store error.
        #[source]
        source: Box<berth_state_store::Error>,
    },
    /// The resource is not ready yet (e.g. a NAT gateway still pending); retry.
    #[error("{what} is not ready yet")]
    NotReady {
        /// What is being waited for.
        what: String,
    },
    /// Transient errors went on past the task's deadline (or an attempt never finished).
    #[error("gave up after {attempts} attempts in {elapsed:?}")]
    Deadline {
        /// How many attempts were made.
        attempts: u32,
        /// How long the task tried.
        elapsed: std::time::Duration,
        /// The last error, unless the last attempt was cut off by the deadline.
        #[source]
        last: Option<Box<TaskError>>,
    },
    /// The task's code panicked (a bug); the rest of the run goes on.
    #[error("the task panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
}

impl TaskError {
    /// Whether retrying can help.
    #[must_use]
    pub fn retry_class(&self) -> RetryClass {
        match self {
            Self::Aws { class, .. } => *class,
            Self::NotReady { .. } => RetryClass::Transient,
            Self::Store { source, .. } if !source.is_user_error() => RetryClass::Transient,
            Self::Missing { .. }
            | Self::MissingOutput { .. }
            | Self::Refused { .. }
            | Self::Store { .. }
            | Self::Deadline { .. }
            | Self::Panicked { .. } => RetryClass::Fatal,
        }
    }
}
