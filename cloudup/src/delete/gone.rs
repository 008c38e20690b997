//! How a delete reads AWS errors: "it is already gone" is success (a re-run, or another
//! deleter, got there first), and a few refusals that only mean "not yet" while a cluster is
//! being torn down are retried.

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::aws::aws_error;
use crate::engine::{RetryClass, TaskError};

/// Codes that mean the resource no longer exists.
const GONE_CODES: &[&str] = &[
    "NoSuchEntity",
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "ListenerNotFound",
    "InvalidKeyPair.NotFound",
    "InvalidInstanceID.NotFound",
];

/// Codes that, during a delete, mean another resource still holds this one: retry.
const NOT_YET_CODES: &[&str] = &[
    "DeleteConflict",
    "VolumeInUse",
    "InvalidNetworkInterface.InUse",
    "InvalidIPAddress.InUse",
];

/// Whether `error` says the resource does not exist (any EC2 `*.NotFound` code too).
#[must_use]
pub fn is_gone(error: &TaskError) -> bool {
    match error {
        TaskError::Aws {
            code: Some(code), ..
        } => {
            GONE_CODES.contains(&code.as_str())
                || code.ends_with(".NotFound")
                || code.ends_with("NotFoundException")
        }
        _ => false,
    }
}

/// Reclassifies an error of a delete call: the "still in use" refusals become transient.
#[must_use]
pub(crate) fn for_delete(error: TaskError) -> TaskError {
    match error {
        TaskError::Aws {
            operation,
            code: Some(code),
            class: RetryClass::Fatal,
            source,
        } if NOT_YET_CODES.contains(&code.as_str()) => TaskError::Aws {
            operation,
            code: Some(code),
            class: RetryClass::Transient,
            source,
        },
        other => other,
    }
}

/// `Ok` when the call succeeded or the resource is already gone; the error otherwise,
/// reclassified for a delete.
pub(crate) fn tolerate_gone(result: Result<(), TaskError>) -> Result<(), TaskError> {
    match result {
        Err(error) if is_gone(&error) => Ok(()),
        Err(error) => Err(for_delete(error)),
        Ok(()) => Ok(()),
    }
}

/// A delete call's answer, as [`tolerate_gone`] reads it: `Ok` when `operation` succeeded or
/// the resource is already gone; the error otherwise, reclassified for a delete.
pub(crate) fn removed<T, E>(
    operation: &'static str,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<(), TaskError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    tolerate_gone(
        result
            .map(drop)
            .map_err(|error| aws_error(operation, error)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(code: &str, class: RetryClass) -> TaskError {
        TaskError::Aws {
            operation: "DeleteThing",
            code: Some(code.to_owned()),
            class,
            source: "boom".into(),
        }
    }

    #[test]
    fn not_found_counts_as_done_and_in_use_is_retried() {
        assert!(tolerate_gone(Err(aws("InvalidVpcID.NotFound", RetryClass::Transient))).is_ok());
        assert!(tolerate_gone(Err(aws("NoSuchEntity", RetryClass::Transient))).is_ok());
        let in_use = tolerate_gone(Err(aws("DeleteConflict", RetryClass::Fatal)));
        assert!(matches!(in_use, Err(error) if error.retry_class() == RetryClass::Transient));
        let refused = tolerate_gone(Err(aws("UnauthorizedOperation", RetryClass::Fatal)));
        assert!(matches!(refused, Err(error) if error.retry_class() == RetryClass::Fatal));
    }
}
