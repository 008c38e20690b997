//! When to try a failed call again: full-jitter exponential backoff under a deadline.
//!
//! Only errors whose [`TaskError::retry_class`] is [`RetryClass::Transient`] are retried.
//! Every attempt holds a permit of the run's concurrency limiter, so a task waiting out a
//! backoff leaves its slot to others. Waiting is cancellable, and the deadline bounds both
//! the waits and the attempts.

use std::{future::Future, time::Duration};

use tokio::{sync::Semaphore, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{RetryClass, TaskError};

/// The first backoff ceiling. AWS's SDKs start their own retries around 100-200 ms and EC2's
/// throttling guide suggests starting "in the low hundreds of milliseconds"; 200 ms keeps
/// eventual-consistency retries (a tag not visible yet) short without hammering the API.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);

/// The largest backoff ceiling. Long enough for a throttled bucket to refill (EC2 refills
/// mutating-action tokens at a few per second) yet short enough that an IAM propagation delay
/// (typically 5-10 s) costs only a couple of retries.
pub const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// How long one task may keep retrying before it gives up: kops's per-task deadline, which
/// covers IAM propagation and NAT gateways becoming available.
pub const DEFAULT_TASK_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// How a retried operation backs off and for how long it may try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff ceiling.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
    /// How long an operation may keep retrying, counted from its first attempt.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: BACKOFF_BASE,
            cap: BACKOFF_CAP,
            deadline: DEFAULT_TASK_DEADLINE,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): uniform in
    /// `[0, min(cap, base·2^(attempt-1))]` ("full jitter", which spreads competing clients
    /// best; see AWS's "Exponential Backoff And Jitter" article).
    #[must_use]
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

/// Why a retried operation stopped without success.
#[derive(Debug)]
pub(crate) enum GaveUp {
    /// A fatal error, or a transient one past the deadline.
    Failed(TaskError),
    /// The cancellation token fired before an attempt started.
    Cancelled,
}

/// What a retried operation tells its caller about along the way.
pub(crate) trait RetryObserver {
    /// The first attempt got its permit.
    fn started(&mut self) {}
    /// Attempt `attempt` failed with a transient error; the next starts after `delay`.
    fn retrying(&mut self, attempt: u32, error: &TaskError, delay: Duration);
}

/// Runs `operation` (given the 1-based attempt number), each attempt under a permit of
/// `limiter`, until it succeeds, fails fatally, the deadline passes or `cancel` fires.
pub(crate) async fn retry<T, Operation, Attempt>(
    policy: &RetryPolicy,
    limiter: &Semaphore,
    cancel: &CancellationToken,
    observer: &mut impl RetryObserver,
    mut operation: Operation,
) -> Result<T, GaveUp>
where
    Operation: FnMut(u32) -> Attempt,
    Attempt: Future<Output = Result<T, TaskError>>,
{
    let mut clock: Option<(Instant, Instant)> = None;
    let mut attempt = 1;
    loop {
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(GaveUp::Cancelled),
            permit = limiter.acquire() => permit.map_err(|_closed| GaveUp::Cancelled)?,
        };
        let (started, deadline) = *clock.get_or_insert_with(|| {
            let now = Instant::now();
            (now, now + policy.deadline)
        });
        if attempt == 1 {
            observer.started();
        }
        let outcome = tokio::time::timeout_at(deadline, operation(attempt)).await;
        drop(permit);
        let error = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_elapsed) => {
                return Err(GaveUp::Failed(TaskError::Deadline {
                    attempts: attempt,
                    elapsed: started.elapsed(),
                    last: None,
                }));
            }
        };
        if error.retry_class() == RetryClass::Fatal {
            return Err(GaveUp::Failed(error));
        }
        let delay = policy.backoff(attempt);
        if Instant::now() + delay >= deadline {
            return Err(GaveUp::Failed(TaskError::Deadline {
                attempts: attempt,
                elapsed: started.elapsed(),
                last: Some(Box::new(error)),
            }));
        }
        observer.retrying(attempt, &error, delay);
        tokio::select! {
            () = cancel.cancelled() => return Err(GaveUp::Cancelled),
            () = tokio::time::sleep(delay) => {}
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct CountRetries(u32);

    impl RetryObserver for CountRetries {
        fn retrying(&mut self, _attempt: u32, _error: &TaskError, _delay: Duration) {
            self.0 += 1;
        }
    }

    #[test]
    fn backoff_stays_under_the_exponential_ceiling_and_the_cap() {
        let policy = RetryPolicy::default();
        for attempt in 1..40_u32 {
            let ceiling = BACKOFF_BASE
                .saturating_mul(1 << (attempt.min(21) - 1))
                .min(BACKOFF_CAP);
            assert!(policy.backoff(attempt) <= ceiling, "attempt {attempt}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_until_success() {
        let mut retries = CountRetries(0);
        let result = retry(
            &RetryPolicy::default(),
            &Semaphore::new(1),
            &CancellationToken::new(),
            &mut retries,
            |attempt| async move {
                if attempt < 3 {
                    Err(TaskError::NotReady { what: "x".into() })
                } else {
                    Ok(attempt)
                }
            },
        )
        .await;
        assert!(matches!(result, Ok(3)));
        assert_eq!(retries.0, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_errors_are_not_retried() {
        let mut retries = CountRetries(0);
        let result: Result<(), _> = retry(
            &RetryPolicy::default(),
            &Semaphore::new(1),
            &CancellationToken::new(),
            &mut retries,
            |_| async {
                Err(TaskError::Refused {
                    message: "no".into(),
                })
            },
        )
        .await;
        assert!(matches!(
            result,
            Err(GaveUp::Failed(TaskError::Refused { .. }))
        ));
        assert_eq!(retries.0, 0);
    }
}
