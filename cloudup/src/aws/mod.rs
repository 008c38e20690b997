//! One module per resource kind: the [`Reconcile`](crate::engine::Reconcile) implementations,
//! and the only code that calls the AWS SDK.

mod clients;
pub(crate) mod elb_tags;
mod error;
pub(crate) mod tags;

mod autoscaling_group;
mod dhcp_options;
mod dns_record;
mod ebs_volume;
mod elastic_ip;
mod iam_instance_profile;
mod iam_role;
mod iam_role_policy;
mod internet_gateway;
mod key_pair;
mod launch_template;
mod listener;
mod load_balancer;
mod managed_file;
mod nat_gateway;
mod ownership;
mod route;
mod route_table;
mod route_table_association;
mod security_group;
mod security_group_rule;
mod single_attempt;
mod subnet;
mod target_group;
mod vpc;

pub use clients::AwsClients;
pub(crate) use error::{aws_error, missing};
pub use load_balancer::load_balancer_dns_name;
