//! Finding the cluster's autoscaling groups, load balancers, IAM roles and profiles and DNS
//! records: groups by tag; load balancers and target groups by tag (read in batches of 20);
//! IAM by the names Berth gives; records by name inside the hosted zones the cluster name
//! falls in (the zones themselves are never touched).

use std::collections::BTreeMap;

use aws_sdk_autoscaling::types::Filter as GroupFilter;
use aws_sdk_route53::types::RrType;
use berth_model::aws::cluster_owned_tag_key;

use super::{CloudResource, DeleteKind, Detail, Disposal, scope::DeleteScope};
use crate::{
    aws::{AwsClients, aws_error, elb_tags::describe_tags},
    engine::TaskError,
};

/// The IAM role and instance profile names Berth gives a cluster's roles.
const IAM_ROLE_PREFIXES: [&str; 3] = ["masters", "nodes", "bastions"];

/// The record names (before `.<cluster>`) Berth and the control plane create.
const RECORD_PREFIXES: [&str; 4] = ["api", "api.internal", "bastion", "kops-controller.internal"];

fn disposal_of(cluster: &str, tags: &BTreeMap<String, String>) -> Option<Disposal> {
    match tags
        .get(&cluster_owned_tag_key(cluster))
        .map(String::as_str)
    {
        Some("owned") => Some(Disposal::Delete),
        Some("shared") => Some(Disposal::Untag),
        _ => None,
    }
}

/// Autoscaling groups tagged for the cluster.
pub(crate) async fn autoscaling_groups(
    clients: &AwsClients,
    scope: &DeleteScope,
) -> Result<Vec<CloudResource>, TaskError> {
    let filter = GroupFilter::builder()
        .name(format!("tag:{}", cluster_owned_tag_key(&scope.cluster)))
        .values("owned")
        .values("shared")
        .build();
    let groups = clients
        .autoscaling
        .describe_auto_scaling_groups()
        .filters(filter)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|error| aws_error("DescribeAutoScalingGroups", error))?;
    Ok(groups
        .iter()
        .filter_map(|group| {
            let name = group.auto_scaling_group_name()?;
            let tags: BTreeMap<String, String> = group
                .tags()
                .iter()
                .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
                .collect();
            // A group is never shared: only an owned one is acted on.
            (disposal_of(&scope.cluster, &tags)? == Disposal::Delete).then(|| {
                CloudResource::new(DeleteKind::AutoscalingGroup, name, name, Disposal::Delete)
            })
        })
        .collect())
}

/// Load balancers, their listeners and target groups tagged as owned by the cluster.
pub(crate) async fn load_balancers(
    clients: &AwsClients,
    scope: &DeleteScope,
) -> Result<Vec<CloudResource>, TaskError> {
    let elb = &clients.elb;
    let (balancers, groups) = tokio::join!(
        elb.describe_load_balancers()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
        elb.describe_target_groups()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>(),
    );
    let balancers: Vec<(String, String)> = balancers
        .map_err(|error| aws_error("DescribeLoadBalancers", error))?
        .iter()
        .filter_map(|balancer| {
            Some((
                balancer.load_balancer_arn()?.to_owned(),
                balancer.load_balancer_name().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let groups: Vec<(String, String)> = groups
        .map_err(|error| aws_error("DescribeTargetGroups", error))?
        .iter()
        .filter_map(|group| {
            Some((
                group.target_group_arn()?.to_owned(),
                group.target_group_name().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let arns: Vec<String> = balancers
        .iter()
        .chain(&groups)
        .map(|(arn, _)| arn.clone())
        .collect();
    let tags = describe_tags(&clients.elb, &arns).await?;
    let owned = |arn: &str| {
        tags.get(arn)
            .and_then(|tags| disposal_of(&scope.cluster, tags))
            == Some(Disposal::Delete)
    };
    let mut resources = Vec::new();
    for (arn, name) in balancers.iter().filter(|(arn, _)| owned(arn)) {
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(|error| aws_error("DescribeListeners", error))?;
        for listener in listeners.listeners() {
            if let Some(listener_arn) = listener.listener_arn() {
                let port = listener.port().unwrap_or_default();
                resources.push(CloudResource::new(
                    DeleteKind::Listener,
                    listener_arn,
                    format!("{name}-{port}"),
                    Disposal::Delete,
                ));
            }
        }
        resources.push(CloudResource::new(
            DeleteKind::LoadBalancer,
            arn,
            name,
            Disposal::Delete,
        ));
    }
    for (arn, name) in groups.iter().filter(|(arn, _)| owned(arn)) {
        resources.push(CloudResource::new(
            DeleteKind::TargetGroup,
            arn,
            name,
            Disposal::Delete,
        ));
    }
    Ok(resources)
}

/// The cluster's IAM roles and instance profiles, by name, all looked up at once.
pub(crate) async fn iam(
    clients: &AwsClients,
    scope: &DeleteScope,
) -> Result<Vec<CloudResource>, TaskError> {
    let mut lookups = tokio::task::JoinSet::new();
    for prefix in IAM_ROLE_PREFIXES {
        let name = format!("{prefix}.{}", scope.cluster);
        let iam = clients.iam.clone();
        lookups.spawn(async move {
            let (role, profile) = tokio::join!(
                iam.get_role().role_name(&name).send(),
                iam.get_instance_profile()
                    .instance_profile_name(&name)
                    .send(),
            );
            let role = exists(role.map_err(|error| aws_error("GetRole", error)))?;
            let profile = exists(profile.map_err(|error| aws_error("GetInstanceProfile", error)))?;
            let mut found = Vec::new();
            if role {
                found.push(CloudResource::new(
                    DeleteKind::IamRole,
                    &name,
                    &name,
                    Disposal::Delete,
                ));
            }
            if profile {
                found.push(CloudResource::new(
                    DeleteKind::IamInstanceProfile,
                    &name,
                    &name,
                    Disposal::Delete,
                ));
            }
            Ok::<_, TaskError>(found)
        });
    }
    let mut resources = Vec::new();
    while let Some(joined) = lookups.join_next().await {
        let found = joined.map_err(|error| TaskError::Panicked {
            message: error.to_string(),
        })??;
        resources.extend(found);
    }
    Ok(resources)
}

/// Whether a lookup found its resource (`NoSuchEntity` is "no").
fn exists<T>(result: Result<T, TaskError>) -> Result<bool, TaskError> {
    match result {
        Ok(_) => Ok(true),
        Err(error) if super::gone::is_gone(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Lowercase, without the trailing dot, with Route 53's `\052` turned back into `*`.
fn normalize(name: &str) -> String {
    name.trim_end_matches('.')
        .replace("\\052", "*")
        .to_ascii_lowercase()
}

/// The cluster's DNS records in every hosted zone its name falls in.
pub(crate) async fn dns_records(
    clients: &AwsClients,
    scope: &DeleteScope,
) -> Result<Vec<CloudResource>, TaskError> {
    let cluster = normalize(&scope.cluster);
    let mut wanted: Vec<String> = RECORD_PREFIXES
        .iter()
        .map(|prefix| format!("{prefix}.{cluster}"))
        .collect();
    wanted.extend(scope.dns_names.iter().map(|name| normalize(name)));
    let zones = clients
        .route53
        .list_hosted_zones()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|error| aws_error("ListHostedZones", error))?;
    let mut resources = Vec::new();
    for zone in zones {
        let zone_name = normalize(zone.name());
        if cluster != zone_name && !cluster.ends_with(&format!(".{zone_name}")) {
            continue;
        }
        let zone_id = zone.id().trim_start_matches("/hostedzone/").to_owned();
        let mut start: Option<(String, RrType)> = None;
        loop {
            let mut request = clients
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(&zone_id);
            if let Some((name, kind)) = start.take() {
                request = request.start_record_name(name).start_record_type(kind);
            }
            let page = request
                .send()
                .await
                .map_err(|error| aws_error("ListResourceRecordSets", error))?;
            for record in page.resource_record_sets() {
                let name = normalize(record.name());
                let kept = matches!(record.r#type(), RrType::Ns | RrType::Soa);
                if kept || !wanted.contains(&name) {
                    continue;
                }
                let mut resource = CloudResource::new(
                    DeleteKind::DnsRecord,
                    format!("{zone_id}/{name}/{}", record.r#type().as_str()),
                    &name,
                    Disposal::Delete,
                );
                resource.detail = Detail::DnsRecord {
                    zone_id: zone_id.clone(),
                    record: Box::new(record.clone()),
                };
                resources.push(resource);
            }
            match (
                page.is_truncated(),
                page.next_record_name(),
                page.next_record_type(),
            ) {
                (true, Some(name), Some(kind)) => start = Some((name.to_owned(), kind.clone())),
                _ => break,
            }
        }
    }
    Ok(resources)
}
