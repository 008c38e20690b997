//! Test doubles that ship with the crate: a [`RecordingServiceManager`] that performs
//! nothing and records every call (in memory, and optionally appended to a log file so a
//! test can read what a separate `nodeup` process did).

use std::{
    io::Write,
    path::PathBuf,
    sync::{Mutex, PoisonError},
};

use async_trait::async_trait;

use crate::{
    host::{ServiceError, ServiceManager},
    plan::ServiceActionKind,
};

/// Where `nodeup --service-manager=recording` appends its calls, under the root.
pub const RECORDING_LOG: &str = "/var/lib/nodeup/service-manager.log";

/// Records calls, one line each: `daemon-reload` or `<action> <unit>`.
#[derive(Debug, Default)]
pub struct RecordingServiceManager {
    calls: Mutex<Vec<String>>,
    log: Option<PathBuf>,
}

impl RecordingServiceManager {
    /// Records in memory only.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also appends each call to `log`.
    #[must_use]
    pub fn with_log(log: PathBuf) -> Self {
        Self {
            calls: Mutex::default(),
            log: Some(log),
        }
    }

    /// The calls so far.
    #[must_use]
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, call: String) -> Result<(), ServiceError> {
        if let Some(log) = &self.log {
            if let Some(parent) = log.parent() {
                fs_err::create_dir_all(parent).map_err(ServiceError::Record)?;
            }
            let mut file = fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(ServiceError::Record)?;
            writeln!(file, "{call}").map_err(ServiceError::Record)?;
        }
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
        Ok(())
    }
}

#[async_trait]
impl ServiceManager for RecordingServiceManager {
    async fn daemon_reload(&self) -> Result<(), ServiceError> {
        self.record("daemon-reload".to_owned())
    }

    async fn apply(&self, unit: &str, action: ServiceActionKind) -> Result<(), ServiceError> {
        self.record(format!("{action} {unit}"))
    }
}
