//! The machine nodeup applies to, behind a trait so the whole agent runs in CI without
//! root: every path is mapped under a root prefix, and services go through a
//! [`ServiceManager`] ([`Systemd`] on a node, [`crate::testing::RecordingServiceManager`]
//! in tests).

mod systemd;

use std::path::{Path, PathBuf};

use async_trait::async_trait;

pub use systemd::{SYSTEMCTL_TIMEOUT, Systemd};

use crate::plan::ServiceActionKind;

/// Why a service operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The command could not be started.
    #[error("failed to run `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The command exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The command did not finish in time.
    #[error("`{command}` did not finish within {}s", timeout.as_secs())]
    Timeout {
        /// The command line.
        command: String,
        /// The limit.
        timeout: std::time::Duration,
    },
    /// The recording manager could not write its log.
    #[error("failed to record a service call")]
    Record(#[source] std::io::Error),
}

/// Starts, restarts and enables units, and reloads the manager's configuration.
#[async_trait]
pub trait ServiceManager: Send + Sync {
    /// Re-reads unit files (`systemctl daemon-reload`).
    async fn daemon_reload(&self) -> Result<(), ServiceError>;
    /// Performs `action` on `unit`.
    async fn apply(&self, unit: &str, action: ServiceActionKind) -> Result<(), ServiceError>;
}

/// The machine: a root prefix for paths and a service manager.
pub trait Host: Send + Sync {
    /// The prefix every node path is placed under (`/` on a node).
    fn root(&self) -> &Path;

    /// The service manager.
    fn service_manager(&self) -> &dyn ServiceManager;

    /// Where the node path `path` (absolute) is on this host.
    fn resolve(&self, path: &Path) -> PathBuf {
        self.root().join(path.strip_prefix("/").unwrap_or(path))
    }
}

/// The local machine under `root`.
pub struct LocalHost {
    root: PathBuf,
    services: Box<dyn ServiceManager>,
}

impl LocalHost {
    /// A host rooted at `root` using `services`.
    #[must_use]
    pub fn new(root: PathBuf, services: Box<dyn ServiceManager>) -> Self {
        Self { root, services }
    }
}

impl Host for LocalHost {
    fn root(&self) -> &Path {
        &self.root
    }

    fn service_manager(&self) -> &dyn ServiceManager {
        self.services.as_ref()
    }
}
