//! EC2 creates that take no idempotency token (or whose token the emulator ignores) are sent
//! once, without the SDK's own retries: when a connection drops after AWS acted, an SDK retry
//! creates a twin. The engine retries the task instead, and every kind looks up what an
//! earlier attempt made (by its tags) before creating again.

use aws_smithy_types::retry::RetryConfig;

/// A config override that turns the SDK's retries off for one call.
pub(crate) fn single_attempt() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}
