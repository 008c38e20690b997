//! The systemd service manager: `systemctl`, each call bounded by [`SYSTEMCTL_TIMEOUT`].

use std::time::Duration;

use async_trait::async_trait;
use tokio::process::Command;

use super::{ServiceError, ServiceManager};
use crate::plan::ServiceActionKind;

/// How long one `systemctl` call may take. A restart waits for the unit's start job, and
/// containerd or the kubelet start in seconds; two minutes leaves room for a slow first
/// boot without hanging forever on a wedged unit.
pub const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(120);

/// systemd through `systemctl`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Systemd;

impl Systemd {
    async fn systemctl(&self, args: &[&str]) -> Result<(), ServiceError> {
        let command = format!("systemctl {}", args.join(" "));
        let output = tokio::time::timeout(
            SYSTEMCTL_TIMEOUT,
            Command::new("systemctl")
                .args(args)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .map_err(|_| ServiceError::Timeout {
            command: command.clone(),
            timeout: SYSTEMCTL_TIMEOUT,
        })?
        .map_err(|source| ServiceError::Spawn {
            command: command.clone(),
            source,
        })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(ServiceError::Failed {
                command,
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

#[async_trait]
impl ServiceManager for Systemd {
    async fn daemon_reload(&self) -> Result<(), ServiceError> {
        self.systemctl(&["daemon-reload"]).await
    }

    async fn apply(&self, unit: &str, action: ServiceActionKind) -> Result<(), ServiceError> {
        self.systemctl(&[&action.to_string(), unit]).await
    }
}
