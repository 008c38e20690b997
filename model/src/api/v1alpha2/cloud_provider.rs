//! `spec.cloudProvider`: kops writes either the string `aws` or, in newer versions, `{aws: {}}`.
//!
//! Both spellings are accepted and each is written back the way it was read.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The cloud the cluster runs on; only AWS is supported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CloudProvider {
    /// The legacy string form, `cloudProvider: aws`.
    Name(CloudProviderName),
    /// The object form, `cloudProvider: {aws: {}}`.
    Spec(CloudProviderSpec),
}

impl CloudProvider {
    /// Whether this names AWS (the object form counts only when `aws` is present).
    #[must_use]
    pub fn is_aws(&self) -> bool {
        match self {
            Self::Name(CloudProviderName::Aws) => true,
            Self::Spec(spec) => spec.aws.is_some(),
        }
    }
}

/// Cloud provider names accepted in the string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CloudProviderName {
    /// Amazon Web Services.
    #[serde(rename = "aws")]
    Aws,
}

/// The object form of `cloudProvider`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudProviderSpec {
    /// AWS settings; presence selects AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsProviderSpec>,
}

/// AWS-specific cloud provider settings (none are supported yet; `{}` is accepted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsProviderSpec {}
