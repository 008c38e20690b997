//! The IAM policy documents of each role, least privilege.
//!
//! - Nodes: describe instances and regions, pull from ECR (`iam.allowContainerRegistry`),
//!   and, with an S3 store, read only their own nodeup configs and the store's assets.
//! - Control plane: what the AWS cloud-controller-manager, the EBS CSI driver, etcd volume
//!   attachment and (with DNS) the DNS controller need. Every mutation of an existing
//!   resource is limited to resources tagged `KubernetesCluster=<c>`; creations must carry
//!   that tag. Reads of the store are limited to the cluster's `configBase`.
//! - Bastion: `ec2:DescribeRegions` only.
//!
//! Documents are serialized from structs, so key order (and the rendered JSON) is stable.

use std::collections::BTreeMap;

use serde::Serialize;

use super::BuildContext;
use crate::{DnsType, aws::CLUSTER_TAG, nodeup_config::NodeRole};

/// An IAM policy document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PolicyDocument {
    version: &'static str,
    statement: Vec<Statement>,
}

/// Condition operator → key → values.
type Conditions = BTreeMap<&'static str, BTreeMap<String, Vec<String>>>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<BTreeMap<&'static str, &'static str>>,
    action: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    condition: Conditions,
}

impl Statement {
    fn allow(action: &[&'static str], resource: Vec<String>) -> Self {
        Self {
            effect: "Allow",
            principal: None,
            action: action.to_vec(),
            resource,
            condition: Conditions::new(),
        }
    }

    fn when(mut self, operator: &'static str, key: String, values: Vec<String>) -> Self {
        self.condition
            .entry(operator)
            .or_default()
            .insert(key, values);
        self
    }
}

fn any() -> Vec<String> {
    vec!["*".to_owned()]
}

/// The trust policy letting EC2 instances assume a role.
pub(crate) fn ec2_trust_policy() -> PolicyDocument {
    PolicyDocument {
        version: "2012-10-17",
        statement: vec![Statement {
            principal: Some(BTreeMap::from([("Service", "ec2.amazonaws.com")])),
            ..Statement::allow(&["sts:AssumeRole"], Vec::new())
        }],
    }
}

const ECR_PULL: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeRepositories",
    "ecr:GetAuthorizationToken",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetRepositoryPolicy",
    "ecr:ListImages",
];

/// Reads the cloud-controller-manager, the EBS CSI driver and etcd attachment need; EC2,
/// ELB and autoscaling describes cannot be limited by resource.
const CONTROL_PLANE_DESCRIBE: &[&str] = &[
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeTags",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstances",
    "ec2:DescribeRegions",
    "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSnapshots",
    "ec2:DescribeSubnets",
    "ec2:DescribeTags",
    "ec2:DescribeVolumes",
    "ec2:DescribeVolumesModifications",
    "ec2:DescribeVpcs",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
];

/// Changes to existing resources, allowed only on the cluster's own (tagged) ones.
const CONTROL_PLANE_TAGGED_MUTATIONS: &[&str] = &[
    "ec2:AttachVolume",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:CreateRoute",
    "ec2:DeleteRoute",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSnapshot",
    "ec2:DeleteVolume",
    "ec2:DetachVolume",
    "ec2:ModifyInstanceAttribute",
    "ec2:ModifyVolume",
    "ec2:RevokeSecurityGroupIngress",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:DeregisterTargets",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:SetSecurityGroups",
];

/// Creations, allowed only when the request tags the new resource with the cluster.
const CONTROL_PLANE_TAGGED_CREATIONS: &[&str] = &[
    "ec2:CreateSecurityGroup",
    "ec2:CreateSnapshot",
    "ec2:CreateVolume",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateTargetGroup",
];

/// The policy of a role's instances.
pub(crate) fn role_policy(context: &BuildContext, role: NodeRole) -> PolicyDocument {
    let statement = match role {
        NodeRole::ControlPlane => control_plane(context),
        NodeRole::Node => nodes(context),
        NodeRole::Bastion => vec![Statement::allow(&["ec2:DescribeRegions"], any())],
    };
    PolicyDocument {
        version: "2012-10-17",
        statement,
    }
}

fn nodes(context: &BuildContext) -> Vec<Statement> {
    let mut statements = vec![Statement::allow(
        &["ec2:DescribeInstances", "ec2:DescribeRegions"],
        any(),
    )];
    if allows_container_registry(context) {
        statements.push(Statement::allow(ECR_PULL, any()));
    }
    if let Some(store) = S3Location::of(context) {
        statements.push(Statement::allow(
            &["s3:GetObject"],
            vec![
                store.objects(context, &format!("{}/igconfig/node/*", store.prefix)),
                store.objects(context, &format!("{}/assets/*", store.prefix)),
            ],
        ));
    }
    statements
}

fn control_plane(context: &BuildContext) -> Vec<Statement> {
    let cluster_tag = || vec![context.name().to_owned()];
    let mut describe = CONTROL_PLANE_DESCRIBE.to_vec();
    if allows_container_registry(context) {
        describe.extend_from_slice(ECR_PULL);
    }
    describe.sort_unstable();
    let mut statements = vec![
        Statement::allow(&describe, any()),
        Statement::allow(CONTROL_PLANE_TAGGED_MUTATIONS, any()).when(
            "StringEquals",
            format!("aws:ResourceTag/{CLUSTER_TAG}"),
            cluster_tag(),
        ),
        Statement::allow(CONTROL_PLANE_TAGGED_CREATIONS, any()).when(
            "StringEquals",
            format!("aws:RequestTag/{CLUSTER_TAG}"),
            cluster_tag(),
        ),
        Statement::allow(&["ec2:CreateTags"], any()).when(
            "StringEquals",
            "ec2:CreateAction".to_owned(),
            vec![
                "CreateSecurityGroup".to_owned(),
                "CreateSnapshot".to_owned(),
                "CreateVolume".to_owned(),
            ],
        ),
    ];
    if let Some(store) = S3Location::of(context) {
        statements.push(Statement::allow(
            &["s3:GetObject"],
            vec![store.objects(context, &format!("{}/*", store.prefix))],
        ));
        statements.push(
            Statement::allow(
                &["s3:GetBucketLocation", "s3:ListBucket"],
                vec![format!("arn:{}:s3:::{}", context.partition(), store.bucket)],
            )
            .when(
                "StringLike",
                "s3:prefix".to_owned(),
                vec![format!("{}/*", store.prefix)],
            ),
        );
    }
    if context.dns_type() != DnsType::None {
        statements.push(Statement::allow(
            &[
                "route53:ChangeResourceRecordSets",
                "route53:GetHostedZone",
                "route53:ListResourceRecordSets",
            ],
            vec![format!(
                "arn:{}:route53:::hostedzone/*",
                context.partition()
            )],
        ));
        statements.push(Statement::allow(
            &["route53:GetChange"],
            vec![format!("arn:{}:route53:::change/*", context.partition())],
        ));
        statements.push(Statement::allow(
            &[
                "route53:ListHostedZones",
                "route53:ListHostedZonesByName",
                "route53:ListTagsForResource",
            ],
            any(),
        ));
    }
    statements
}

fn allows_container_registry(context: &BuildContext) -> bool {
    context
        .spec()
        .iam
        .as_ref()
        .and_then(|iam| iam.allow_container_registry)
        .unwrap_or(true)
}

/// `configBase` split into bucket and key prefix, when the store is S3.
struct S3Location {
    bucket: String,
    prefix: String,
}

impl S3Location {
    fn of(context: &BuildContext) -> Option<Self> {
        let rest = context
            .spec()
            .config_base
            .as_deref()?
            .strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        Some(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_end_matches('/').to_owned(),
        })
    }

    fn objects(&self, context: &BuildContext, key_pattern: &str) -> String {
        let key = key_pattern.trim_start_matches('/');
        format!("arn:{}:s3:::{}/{key}", context.partition(), self.bucket)
    }
}
