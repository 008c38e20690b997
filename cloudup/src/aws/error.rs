//! Turning SDK errors into [`TaskError`]s, classified once for retries.

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::engine::{RetryClass, TaskError};

/// Error codes that mean "try again later": throttling, eventual consistency, ordering.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "TooManyRequestsException",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "DependencyViolation",
    "IncorrectState",
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidAllocationID.NotFound",
    "InvalidNatGatewayID.NotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidParameterValue.IamInstanceProfile",
    "InvalidIamInstanceProfile.NotFound",
    "NoSuchEntity",
    "ResourceInUse",
    "PriorRequestNotComplete",
    "ScalingActivityInProgress",
    "ResourceContention",
];

/// Wraps an SDK error of `operation`, classifying it for retries.
pub(crate) fn aws_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> TaskError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error.code().map(str::to_owned);
    let class = match &error {
        // No answer or a broken one: the call may be repeated.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            RetryClass::Transient
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let transient_code = code
                .as_deref()
                .is_some_and(|code| TRANSIENT_CODES.contains(&code));
            if status >= 500 || status == 429 || transient_code {
                RetryClass::Transient
            } else {
                RetryClass::Fatal
            }
        }
        _ => RetryClass::Fatal,
    };
    TaskError::Aws {
        operation,
        code,
        class,
        source: Box::new(error),
    }
}

/// A response field that should have been there.
pub(crate) fn missing(operation: &'static str, field: &'static str) -> TaskError {
    TaskError::Missing { operation, field }
}
