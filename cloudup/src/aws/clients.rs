//! The AWS clients, built once at the edge from one `SdkConfig` and passed down.

use aws_config::SdkConfig;

/// One client per AWS service Berth calls.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// Auto Scaling.
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// Elastic Load Balancing v2.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// Route 53.
    pub route53: aws_sdk_route53::Client,
    /// The region the clients talk to.
    pub region: String,
}

impl AwsClients {
    /// Clients for every service from one configuration.
    #[must_use]
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            ec2: aws_sdk_ec2::Client::new(config),
            autoscaling: aws_sdk_autoscaling::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            route53: aws_sdk_route53::Client::new(config),
            region: config.region().map(ToString::to_string).unwrap_or_default(),
        }
    }
}
