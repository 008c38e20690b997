//! The Kubernetes side of a rolling update as the roll sees it: mark a group's outdated nodes
//! at its start, drain the nodes of instances about to be terminated, and validate the
//! cluster between steps.
//!
//! A roll without a gate is kops's `--cloudonly`. [`super::KubernetesGate`] is the gate of a
//! real cluster; tests and benchmarks may bring their own.

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::RollingError;

/// One reason the cluster is not valid, for messages: `Node ip-10-0-1-5: not Ready`.
pub type ValidationProblem = String;

/// Drains and validates for a rolling update.
#[async_trait]
pub trait NodeGate: Send + Sync {
    /// Marks the nodes of these instances — a group's outdated ones, at the start of its
    /// roll — so that the scheduler prefers other nodes for the pods drained meanwhile
    /// (kops's `PreferNoSchedule` taint). Instances without a node are skipped, and nodes
    /// already marked are left alone. Returns the names of the nodes it marked.
    ///
    /// The default does nothing, for gates without a scheduler to steer.
    async fn mark_for_update(&self, instance_ids: &[String]) -> Result<Vec<String>, RollingError> {
        let _ = instance_ids;
        Ok(Vec::new())
    }

    /// Cordons and drains the Kubernetes nodes of these instances, taking them out of
    /// external load balancers with the cordon; instances that have no node (never joined,
    /// or already gone) are skipped.
    async fn drain(&self, instance_ids: &[String]) -> Result<(), RollingError>;

    /// Validates the cluster once: an empty list means valid.
    async fn validate(&self) -> Result<Vec<ValidationProblem>, RollingError>;
}

/// How validation gates each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationPolicy {
    /// How many successful validations in a row count as valid (kops: 2).
    pub count: u32,
    /// From the start of one validation to the start of the next, so that the time a
    /// validation takes does not add to it (kops: 10 s between successes, 30 s between
    /// failures; one interval serves both here).
    pub interval: Duration,
    /// How long the cluster may take to validate.
    pub timeout: Duration,
}

impl Default for ValidationPolicy {
    fn default() -> Self {
        Self {
            count: 2,
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// Validates until `policy.count` validations in a row succeed; returns how many validations
/// it took.
///
/// # Errors
/// [`RollingError::NotValid`] with the last problems when the timeout passes first.
pub async fn wait_until_valid(
    gate: &dyn NodeGate,
    policy: &ValidationPolicy,
    what: &str,
) -> Result<u32, RollingError> {
    let started = Instant::now();
    let mut in_a_row = 0;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let next = Instant::now() + policy.interval;
        let problems = gate.validate().await?;
        if problems.is_empty() {
            in_a_row += 1;
            if in_a_row >= policy.count.max(1) {
                return Ok(attempts);
            }
        } else {
            in_a_row = 0;
            if next.saturating_duration_since(started) > policy.timeout {
                return Err(RollingError::NotValid {
                    what: what.to_owned(),
                    waited: started.elapsed(),
                    problems,
                });
            }
        }
        tokio::time::sleep_until(next).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Answers validations from a script, then valid forever.
    struct Scripted(Mutex<Vec<Vec<ValidationProblem>>>);

    #[async_trait]
    impl NodeGate for Scripted {
        async fn drain(&self, _: &[String]) -> Result<(), RollingError> {
            Ok(())
        }
        async fn validate(&self) -> Result<Vec<ValidationProblem>, RollingError> {
            let mut script = self.0.lock().unwrap();
            Ok(if script.is_empty() {
                Vec::new()
            } else {
                script.remove(0)
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_between_successes_starts_the_count_again() {
        let gate = Scripted(Mutex::new(vec![
            Vec::new(),
            vec!["Node a: not Ready".to_owned()],
        ]));
        let policy = ValidationPolicy {
            count: 2,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(60),
        };
        // ok, fail, ok, ok.
        assert_eq!(wait_until_valid(&gate, &policy, "test").await.unwrap(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn the_timeout_reports_the_last_problems() {
        let gate = Scripted(Mutex::new(vec![vec!["Node a: not Ready".to_owned()]; 100]));
        let policy = ValidationPolicy {
            count: 2,
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
        };
        let error = wait_until_valid(&gate, &policy, "the cluster")
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("Node a: not Ready"), "{message}");
        assert!(message.contains("the cluster"), "{message}");
    }
}
