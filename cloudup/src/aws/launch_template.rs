//! [`LaunchTemplate`] reconciliation: how an instance group's machines are launched.
//!
//! Launch templates are versioned: any change to what instances get (image, type, root
//! volume, security groups, profile, key, user data, instance tags) is an update that creates
//! a new version and makes it the default. The autoscaling group launches `$Latest`, so new
//! instances get it at once; replacing the running ones is the rolling update's job.
//!
//! What is compared is a [`TemplateData`] of Berth's own, built the same way from the desired
//! resource and from the template's latest version, so a diff lists exactly the fields that
//! differ.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    InstanceType, LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType,
    ResponseLaunchTemplateData, VolumeType,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use berth_model::aws::{LaunchTemplate, NodeKey, Resource, Tags};
use sha2::{Digest, Sha256};

use super::tags::{
    ec2_cluster_filter, ec2_create_tags, ec2_tag_specification, ec2_tags, from_ec2_tags,
    tags_change, tags_line,
};
use super::{aws_error, missing};
use crate::engine::{
    Action, ApplyCx, Change, DiscoveryScope, FieldChange, Output, Reconcile, Resolver, TaskError,
};

/// The root device of the Ubuntu images Berth runs.
const ROOT_DEVICE_NAME: &str = "/dev/sda1";

/// The version the autoscaling group launches and discovery compares against.
const LATEST_VERSION: &str = "$Latest";

/// A launch template and its latest version, as EC2 reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedLaunchTemplate {
    id: String,
    name: String,
    latest_version: i64,
    default_version: i64,
    data: TemplateData,
    tags: Tags,
}

/// What a version launches, in comparable form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
struct TemplateData {
    image_id: String,
    instance_type: String,
    root_volume_size: Option<i32>,
    root_volume_type: String,
    root_volume_encrypted: bool,
    root_volume_iops: Option<i32>,
    root_volume_throughput: Option<i32>,
    security_groups: BTreeSet<String>,
    /// The profile's ARN (or its name, if that is what the version holds).
    instance_profile: String,
    key_pair: Option<String>,
    associate_public_ip: bool,
    user_data: String,
    metadata_http_tokens: String,
    metadata_hop_limit: Option<i32>,
    /// The tags of the instances and volumes it launches.
    instance_tags: Tags,
}

#[async_trait]
impl Reconcile for LaunchTemplate {
    type Observed = ObservedLaunchTemplate;

    /// DescribeLaunchTemplates filtered by the cluster tag, then one
    /// DescribeLaunchTemplateVersions for the `$Latest` version of every template: the API
    /// takes one template id at most, but without one it describes the latest version of all
    /// the account's templates, which costs one call however many groups the cluster has.
    async fn discover(
        scope: DiscoveryScope<'_, Self>,
    ) -> Result<Vec<ObservedLaunchTemplate>, TaskError> {
        let ec2 = &scope.clients.ec2;
        let templates = describe_templates(ec2, TemplatesBy::Cluster(scope.cluster)).await?;
        if templates.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: BTreeSet<&str> = templates
            .iter()
            .map(|template| template.id.as_str())
            .collect();
        let mut latest = BTreeMap::new();
        let mut next_token = None;
        loop {
            let page = ec2
                .describe_launch_template_versions()
                .versions(LATEST_VERSION)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|error| aws_error("DescribeLaunchTemplateVersions", error))?;
            for version in page.launch_template_versions() {
                let Some(id) = version
                    .launch_template_id()
                    .filter(|id| wanted.contains(id))
                else {
                    continue;
                };
                if let Some(data) = version.launch_template_data() {
                    latest.insert(id.to_owned(), TemplateData::from_response(data));
                }
            }
            next_token = page
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_owned);
            if next_token.is_none() {
                break;
            }
        }
        Ok(templates
            .into_iter()
            .filter_map(|template| {
                let data = latest.remove(&template.id)?;
                Some(ObservedLaunchTemplate {
                    data,
                    ..template.without_data()
                })
            })
            .collect())
    }

    fn find<'o>(
        &self,
        observed: &'o [ObservedLaunchTemplate],
    ) -> Option<&'o ObservedLaunchTemplate> {
        observed.iter().find(|template| template.name == self.name)
    }

    fn output(observed: &ObservedLaunchTemplate) -> Output {
        Output::id(&observed.id)
            .with("name", &observed.name)
            .with("latest_version", observed.latest_version.to_string())
    }

    fn diff(
        &self,
        observed: &ObservedLaunchTemplate,
        deps: &Resolver,
    ) -> (Action, Vec<FieldChange>) {
        let desired = data(self, deps);
        let mut fields = data_changes(&observed.data, &desired);
        if let Some(tags) = tags_change(&observed.tags, &self.tags)
            && !fields.iter().any(|field| field.field == "tags")
        {
            fields.push(tags);
        }
        if observed.default_version != observed.latest_version {
            fields.push(FieldChange::new(
                "default_version",
                observed.default_version,
                observed.latest_version,
            ));
        }
        Action::updating(fields)
    }

    fn describe_create(&self, deps: &Resolver) -> Vec<FieldChange> {
        let data = data(self, deps);
        let mut fields = vec![FieldChange::new("name", "", &self.name)];
        fields.extend(data_changes(&TemplateData::empty(), &data));
        fields
    }

    async fn create(&self, cx: &ApplyCx<'_>) -> Result<Output, TaskError> {
        if cx.attempt > 1
            && let Some(existing) = lookup(self, cx).await?
        {
            return adopt(self, &existing, cx).await;
        }
        let data = data(self, cx.deps);
        check_resolved(self, cx.deps)?;
        let created = cx
            .clients
            .ec2
            .create_launch_template()
            .launch_template_name(&self.name)
            .launch_template_data(data.to_request())
            .tag_specifications(ec2_tag_specification(
                ResourceType::LaunchTemplate,
                &self.tags,
            ))
            .send()
            .await;
        match created {
            Ok(created) => {
                let template = created
                    .launch_template()
                    .ok_or_else(|| missing("CreateLaunchTemplate", "LaunchTemplate"))?;
                let id = template
                    .launch_template_id()
                    .ok_or_else(|| missing("CreateLaunchTemplate", "LaunchTemplateId"))?;
                let version = template.latest_version_number().unwrap_or(1);
                Ok(Output::id(id)
                    .with("name", &self.name)
                    .with("latest_version", version.to_string()))
            }
            Err(error)
                if error.code() == Some("InvalidLaunchTemplateName.AlreadyExistsException") =>
            {
                let existing = lookup(self, cx)
                    .await?
                    .ok_or_else(|| missing("DescribeLaunchTemplates", "LaunchTemplates"))?;
                adopt(self, &existing, cx).await
            }
            Err(error) => Err(aws_error("CreateLaunchTemplate", error)),
        }
    }

    async fn update(
        &self,
        observed: &ObservedLaunchTemplate,
        _change: &Change,
        cx: &ApplyCx<'_>,
    ) -> Result<Output, TaskError> {
        let ec2 = &cx.clients.ec2;
        let desired = data(self, cx.deps);
        check_resolved(self, cx.deps)?;
        let mut latest_version = observed.latest_version;
        if desired != observed.data {
            let created = ec2
                .create_launch_template_version()
                .launch_template_id(&observed.id)
                .launch_template_data(desired.to_request())
                .client_token(version_token(observed, &desired))
                .send()
                .await
                .map_err(|error| aws_error("CreateLaunchTemplateVersion", error))?;
            latest_version = created
                .launch_template_version()
                .and_then(|version| version.version_number())
                .ok_or_else(|| missing("CreateLaunchTemplateVersion", "VersionNumber"))?;
        }
        if latest_version != observed.default_version {
            ec2.modify_launch_template()
                .launch_template_id(&observed.id)
                .default_version(latest_version.to_string())
                .send()
                .await
                .map_err(|error| aws_error("ModifyLaunchTemplate", error))?;
        }
        if tags_change(&observed.tags, &self.tags).is_some() {
            ec2_create_tags(cx.clients, &observed.id, &self.tags).await?;
        }
        Ok(Output::id(&observed.id)
            .with("name", &observed.name)
            .with("latest_version", latest_version.to_string()))
    }
}

/// What this template should launch, with its dependencies' ids as far as known.
fn data(template: &LaunchTemplate, deps: &Resolver) -> TemplateData {
    let instance_profile = deps
        .attribute(&template.instance_profile, "arn")
        .map(str::to_owned)
        .unwrap_or_else(|_| deps.id_or_pending(&template.instance_profile));
    TemplateData {
        image_id: template.image_id.clone(),
        instance_type: template.instance_type.clone(),
        root_volume_size: Some(template.root_volume_size),
        root_volume_type: template.root_volume_type.clone(),
        root_volume_encrypted: template.root_volume_encrypted,
        root_volume_iops: template.root_volume_iops,
        root_volume_throughput: template.root_volume_throughput,
        security_groups: template
            .security_groups
            .iter()
            .map(|group| deps.id_or_pending(group))
            .collect(),
        instance_profile,
        key_pair: template
            .key_pair
            .as_ref()
            .map(|key_pair| deps.id_or_pending(key_pair)),
        associate_public_ip: template.associate_public_ip,
        user_data: template.user_data.clone(),
        metadata_http_tokens: template.metadata_http_tokens.clone(),
        metadata_hop_limit: Some(template.metadata_hop_limit),
        instance_tags: template.tags.clone(),
    }
}

/// At apply time every dependency has an id; a missing one is an executor bug that must
/// not end up in a template version.
fn check_resolved(template: &LaunchTemplate, deps: &Resolver) -> Result<(), TaskError> {
    for group in &template.security_groups {
        deps.id(group)?;
    }
    deps.id(&template.instance_profile)?;
    if let Some(key_pair) = &template.key_pair {
        deps.id(key_pair)?;
    }
    Ok(())
}

async fn lookup(
    template: &LaunchTemplate,
    cx: &ApplyCx<'_>,
) -> Result<Option<ObservedLaunchTemplate>, TaskError> {
    let ec2 = &cx.clients.ec2;
    let Some(template) = describe_templates(ec2, TemplatesBy::Name(&template.name))
        .await?
        .pop()
    else {
        return Ok(None);
    };
    let versions = ec2
        .describe_launch_template_versions()
        .launch_template_id(&template.id)
        .versions(LATEST_VERSION)
        .send()
        .await
        .map_err(|error| aws_error("DescribeLaunchTemplateVersions", error))?;
    let data = versions
        .launch_template_versions()
        .first()
        .and_then(|version| version.launch_template_data())
        .ok_or_else(|| missing("DescribeLaunchTemplateVersions", "LaunchTemplateData"))?;
    Ok(Some(ObservedLaunchTemplate {
        data: TemplateData::from_response(data),
        ..template.without_data()
    }))
}

/// Takes over a template an earlier attempt created, adding a version if it differs.
async fn adopt(
    template: &LaunchTemplate,
    existing: &ObservedLaunchTemplate,
    cx: &ApplyCx<'_>,
) -> Result<Output, TaskError> {
    let (action, fields) = template.diff(existing, cx.deps);
    if action == Action::Unchanged {
        return Ok(LaunchTemplate::output(existing));
    }
    let change = Change {
        key: NodeKey::new(LaunchTemplate::KIND, &template.name),
        action,
        fields,
    };
    template.update(existing, &change, cx).await
}

/// A template without its version data yet (between the two discovery calls).
struct TemplateHeader {
    id: String,
    name: String,
    latest_version: i64,
    default_version: i64,
    tags: Tags,
}

impl TemplateHeader {
    fn without_data(self) -> ObservedLaunchTemplate {
        ObservedLaunchTemplate {
            id: self.id,
            name: self.name,
            latest_version: self.latest_version,
            default_version: self.default_version,
            data: TemplateData::empty(),
            tags: self.tags,
        }
    }
}

enum TemplatesBy<'a> {
    Cluster(&'a str),
    Name(&'a str),
}

async fn describe_templates(
    ec2: &aws_sdk_ec2::Client,
    by: TemplatesBy<'_>,
) -> Result<Vec<TemplateHeader>, TaskError> {
    let mut headers = Vec::new();
    let mut next_token = None;
    loop {
        let request = ec2.describe_launch_templates().set_next_token(next_token);
        let request = match by {
            TemplatesBy::Cluster(cluster) => request.filters(ec2_cluster_filter(cluster)),
            TemplatesBy::Name(name) => request.launch_template_names(name),
        };
        let page = match request.send().await {
            Ok(page) => page,
            Err(error) if error.code() == Some("InvalidLaunchTemplateName.NotFoundException") => {
                return Ok(headers);
            }
            Err(error) => return Err(aws_error("DescribeLaunchTemplates", error)),
        };
        for template in page.launch_templates() {
            headers.push(TemplateHeader {
                id: template
                    .launch_template_id()
                    .ok_or_else(|| missing("DescribeLaunchTemplates", "LaunchTemplateId"))?
                    .to_owned(),
                name: template
                    .launch_template_name()
                    .ok_or_else(|| missing("DescribeLaunchTemplates", "LaunchTemplateName"))?
                    .to_owned(),
                latest_version: template.latest_version_number().unwrap_or(1),
                default_version: template.default_version_number().unwrap_or(1),
                tags: from_ec2_tags(template.tags()),
            });
        }
        next_token = page
            .next_token()
            .filter(|token| !token.is_empty())
            .map(str::to_owned);
        if next_token.is_none() {
            return Ok(headers);
        }
    }
}

/// The fields that differ between two versions' data, named as in the model.
fn data_changes(observed: &TemplateData, desired: &TemplateData) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    let mut plain = |field: &str, old: String, new: String| {
        if old != new {
            fields.push(FieldChange::new(field, old, new));
        }
    };
    plain(
        "image_id",
        observed.image_id.clone(),
        desired.image_id.clone(),
    );
    plain(
        "instance_type",
        observed.instance_type.clone(),
        desired.instance_type.clone(),
    );
    plain(
        "root_volume_size",
        show(observed.root_volume_size),
        show(desired.root_volume_size),
    );
    plain(
        "root_volume_type",
        observed.root_volume_type.clone(),
        desired.root_volume_type.clone(),
    );
    plain(
        "root_volume_encrypted",
        observed.root_volume_encrypted.to_string(),
        desired.root_volume_encrypted.to_string(),
    );
    plain(
        "root_volume_iops",
        show(observed.root_volume_iops),
        show(desired.root_volume_iops),
    );
    plain(
        "root_volume_throughput",
        show(observed.root_volume_throughput),
        show(desired.root_volume_throughput),
    );
    plain(
        "security_groups",
        list(&observed.security_groups),
        list(&desired.security_groups),
    );
    plain(
        "instance_profile",
        observed.instance_profile.clone(),
        desired.instance_profile.clone(),
    );
    plain(
        "key_pair",
        show(observed.key_pair.as_ref()),
        show(desired.key_pair.as_ref()),
    );
    plain(
        "associate_public_ip",
        observed.associate_public_ip.to_string(),
        desired.associate_public_ip.to_string(),
    );
    plain(
        "metadata_http_tokens",
        observed.metadata_http_tokens.clone(),
        desired.metadata_http_tokens.clone(),
    );
    plain(
        "metadata_hop_limit",
        show(observed.metadata_hop_limit),
        show(desired.metadata_hop_limit),
    );
    if observed.user_data != desired.user_data {
        fields.push(FieldChange::document(
            "user_data",
            &observed.user_data,
            &desired.user_data,
        ));
    }
    if observed.instance_tags != desired.instance_tags {
        fields.push(FieldChange::new(
            "tags",
            tags_line(&observed.instance_tags),
            tags_line(&desired.instance_tags),
        ));
    }
    fields
}

fn show<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

fn list(values: &BTreeSet<String>) -> String {
    values
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The client token of a new version: the same for a retry of the same update (so a lost
/// answer does not add a second version), different for the next update.
fn version_token(observed: &ObservedLaunchTemplate, desired: &TemplateData) -> String {
    let mut hasher = Sha256::new();
    hasher.update(observed.id.as_bytes());
    hasher.update(observed.latest_version.to_be_bytes());
    hasher.update(serde_json::to_vec(desired).unwrap_or_default());
    hex::encode(hasher.finalize())
}

impl TemplateData {
    fn empty() -> Self {
        Self {
            image_id: String::new(),
            instance_type: String::new(),
            root_volume_size: None,
            root_volume_type: String::new(),
            root_volume_encrypted: false,
            root_volume_iops: None,
            root_volume_throughput: None,
            security_groups: BTreeSet::new(),
            instance_profile: String::new(),
            key_pair: None,
            associate_public_ip: false,
            user_data: String::new(),
            metadata_http_tokens: String::new(),
            metadata_hop_limit: None,
            instance_tags: Tags::new(),
        }
    }

    fn from_response(data: &ResponseLaunchTemplateData) -> Self {
        let root = data
            .block_device_mappings()
            .iter()
            .find(|mapping| mapping.device_name() == Some(ROOT_DEVICE_NAME))
            .and_then(|mapping| mapping.ebs());
        let interface = data.network_interfaces().first();
        let security_groups = match interface {
            Some(interface) => interface.groups().to_vec(),
            None => data.security_group_ids().to_vec(),
        };
        let profile = data.iam_instance_profile();
        let metadata = data.metadata_options();
        let user_data = data.user_data().unwrap_or_default();
        Self {
            image_id: data.image_id().unwrap_or_default().to_owned(),
            instance_type: data
                .instance_type()
                .map(|kind| kind.as_str().to_owned())
                .unwrap_or_default(),
            root_volume_size: root.and_then(|ebs| ebs.volume_size()),
            root_volume_type: root
                .and_then(|ebs| ebs.volume_type())
                .map(|kind| kind.as_str().to_owned())
                .unwrap_or_default(),
            root_volume_encrypted: root.and_then(|ebs| ebs.encrypted()).unwrap_or(false),
            root_volume_iops: root.and_then(|ebs| ebs.iops()),
            root_volume_throughput: root.and_then(|ebs| ebs.throughput()),
            security_groups: security_groups.into_iter().collect(),
            instance_profile: profile
                .and_then(|profile| profile.arn().or(profile.name()))
                .unwrap_or_default()
                .to_owned(),
            key_pair: data.key_name().map(str::to_owned),
            associate_public_ip: interface
                .and_then(|interface| interface.associate_public_ip_address())
                .unwrap_or(false),
            // Versions hold user data base64-encoded; text that is not (which only a tool
            // other than Berth could have stored) compares as it is.
            user_data: BASE64
                .decode(user_data)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_else(|| user_data.to_owned()),
            metadata_http_tokens: metadata
                .and_then(|metadata| metadata.http_tokens())
                .map(|tokens| tokens.as_str().to_owned())
                .unwrap_or_default(),
            metadata_hop_limit: metadata
                .and_then(|metadata| metadata.http_put_response_hop_limit()),
            instance_tags: data
                .tag_specifications()
                .iter()
                .find(|spec| spec.resource_type() == Some(&ResourceType::Instance))
                .map(|spec| from_ec2_tags(spec.tags()))
                .unwrap_or_default(),
        }
    }

    fn to_request(&self) -> RequestLaunchTemplateData {
        let root_volume = LaunchTemplateEbsBlockDeviceRequest::builder()
            .volume_size(self.root_volume_size.unwrap_or_default())
            .volume_type(VolumeType::from(self.root_volume_type.as_str()))
            .encrypted(self.root_volume_encrypted)
            .delete_on_termination(true)
            .set_iops(self.root_volume_iops)
            .set_throughput(self.root_volume_throughput)
            .build();
        let groups: Vec<String> = self.security_groups.iter().cloned().collect();
        let profile = if self.instance_profile.starts_with("arn:") {
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .arn(&self.instance_profile)
        } else {
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name(&self.instance_profile)
        };
        let request = RequestLaunchTemplateData::builder()
            .image_id(&self.image_id)
            .instance_type(InstanceType::from(self.instance_type.as_str()))
            .block_device_mappings(
                LaunchTemplateBlockDeviceMappingRequest::builder()
                    .device_name(ROOT_DEVICE_NAME)
                    .ebs(root_volume)
                    .build(),
            )
            .iam_instance_profile(profile.build())
            .set_key_name(self.key_pair.clone())
            .user_data(BASE64.encode(&self.user_data))
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .http_tokens(LaunchTemplateHttpTokensState::from(
                        self.metadata_http_tokens.as_str(),
                    ))
                    .set_http_put_response_hop_limit(self.metadata_hop_limit)
                    .build(),
            )
            .tag_specifications(instance_tag_specification(
                ResourceType::Instance,
                &self.instance_tags,
            ))
            .tag_specifications(instance_tag_specification(
                ResourceType::Volume,
                &self.instance_tags,
            ));
        // A public address needs an explicit network interface, and EC2 then wants the groups
        // on that interface rather than on the instance.
        if self.associate_public_ip {
            request
                .network_interfaces(
                    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
                        .device_index(0)
                        .associate_public_ip_address(true)
                        .delete_on_termination(true)
                        .set_groups(Some(groups))
                        .build(),
                )
                .build()
        } else {
            request.set_security_group_ids(Some(groups)).build()
        }
    }
}

fn instance_tag_specification(
    resource_type: ResourceType,
    tags: &Tags,
) -> LaunchTemplateTagSpecificationRequest {
    LaunchTemplateTagSpecificationRequest::builder()
        .resource_type(resource_type)
        .set_tags(Some(ec2_tags(tags)))
        .build()
}
