//! [`TfModule`]: the Terraform module being rendered — resource and data blocks, data files —
//! and how a typed [`Ref`] becomes a Terraform reference expression.
//!
//! Invariant: every block is keyed by `(type, identifier)`, and two different nodes never share
//! an address ([`RenderError::DuplicateAddress`] instead of one silently replacing the other).

use std::collections::BTreeMap;

use berth_model::aws::{AnyResource, Graph, NodeKey, Ref, ResourceKind};
use serde_json::Value;

use super::{
    RenderError,
    expression::{data_file_path, identifier},
};

/// A rendered block and the node it came from (to name both sides of a collision).
#[derive(Debug)]
struct Block {
    origin: String,
    body: Value,
}

/// The module under construction. Render functions add to it; nothing is ever removed.
#[derive(Debug)]
pub(crate) struct TfModule<'g> {
    graph: &'g Graph,
    resources: BTreeMap<&'static str, BTreeMap<String, Block>>,
    data: BTreeMap<&'static str, BTreeMap<String, Block>>,
    variables: BTreeMap<&'static str, Value>,
    files: BTreeMap<String, Vec<u8>>,
}

/// The Terraform type a node of `kind` renders as (the main one, when it renders several).
pub(crate) fn terraform_type(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Vpc => "aws_vpc",
        ResourceKind::DhcpOptions => "aws_vpc_dhcp_options",
        ResourceKind::InternetGateway => "aws_internet_gateway",
        ResourceKind::Subnet => "aws_subnet",
        ResourceKind::ElasticIp => "aws_eip",
        ResourceKind::NatGateway => "aws_nat_gateway",
        ResourceKind::RouteTable => "aws_route_table",
        ResourceKind::Route => "aws_route",
        ResourceKind::RouteTableAssociation => "aws_route_table_association",
        ResourceKind::SecurityGroup => "aws_security_group",
        ResourceKind::SecurityGroupRule => "aws_security_group_rule",
        ResourceKind::IamRole => "aws_iam_role",
        ResourceKind::IamRolePolicy => "aws_iam_role_policy",
        ResourceKind::IamInstanceProfile => "aws_iam_instance_profile",
        ResourceKind::KeyPair => "aws_key_pair",
        ResourceKind::LaunchTemplate => "aws_launch_template",
        ResourceKind::EbsVolume => "aws_ebs_volume",
        ResourceKind::LoadBalancer => "aws_lb",
        ResourceKind::TargetGroup => "aws_lb_target_group",
        ResourceKind::Listener => "aws_lb_listener",
        ResourceKind::AutoscalingGroup => "aws_autoscaling_group",
        ResourceKind::DnsRecord => "aws_route53_record",
        ResourceKind::ManagedFile => "aws_s3_object",
    }
}

/// Whether a node is an existing resource Berth only looks up (a `data` block). Exhaustive, so
/// a new kind must decide whether it can be shared.
fn is_lookup(resource: &AnyResource) -> bool {
    match resource {
        AnyResource::Vpc(vpc) => vpc.shared_id.is_some(),
        AnyResource::Subnet(subnet) => subnet.shared_id.is_some(),
        AnyResource::DhcpOptions(_)
        | AnyResource::InternetGateway(_)
        | AnyResource::ElasticIp(_)
        | AnyResource::NatGateway(_)
        | AnyResource::RouteTable(_)
        | AnyResource::Route(_)
        | AnyResource::RouteTableAssociation(_)
        | AnyResource::SecurityGroup(_)
        | AnyResource::SecurityGroupRule(_)
        | AnyResource::IamRole(_)
        | AnyResource::IamRolePolicy(_)
        | AnyResource::IamInstanceProfile(_)
        | AnyResource::KeyPair(_)
        | AnyResource::LaunchTemplate(_)
        | AnyResource::EbsVolume(_)
        | AnyResource::LoadBalancer(_)
        | AnyResource::TargetGroup(_)
        | AnyResource::Listener(_)
        | AnyResource::AutoscalingGroup(_)
        | AnyResource::DnsRecord(_)
        | AnyResource::ManagedFile(_) => false,
    }
}

impl<'g> TfModule<'g> {
    /// An empty module whose references resolve against `graph`.
    pub(crate) fn new(graph: &'g Graph) -> Self {
        Self {
            graph,
            resources: BTreeMap::new(),
            data: BTreeMap::new(),
            variables: BTreeMap::new(),
            files: BTreeMap::new(),
        }
    }

    /// `${<address>.<attribute>}` for the node `target`, as seen from the node `from`.
    pub(crate) fn reference<T>(
        &self,
        from: &str,
        target: &Ref<T>,
        attribute: &str,
    ) -> Result<Value, RenderError> {
        self.key_reference(from, target.key(), attribute)
    }

    /// Like [`Self::reference`], from an untyped key.
    pub(crate) fn key_reference(
        &self,
        from: &str,
        key: &NodeKey,
        attribute: &str,
    ) -> Result<Value, RenderError> {
        let resource = self
            .graph
            .get(key)
            .ok_or_else(|| RenderError::DanglingRef {
                from: from.to_owned(),
                missing: key.to_string(),
            })?;
        let address = format!("{}.{}", terraform_type(key.kind), identifier(&key.name));
        let address = if is_lookup(resource) {
            format!("data.{address}")
        } else {
            address
        };
        Ok(Value::String(format!("${{{address}.{attribute}}}")))
    }

    /// References to several nodes, in the given order.
    pub(crate) fn references<T>(
        &self,
        from: &str,
        targets: &[Ref<T>],
        attribute: &str,
    ) -> Result<Value, RenderError> {
        targets
            .iter()
            .map(|target| self.reference(from, target, attribute))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    /// Adds `resource "<resource_type>" "<identifier(name)>"`; `origin` names the node.
    pub(crate) fn resource(
        &mut self,
        resource_type: &'static str,
        name: &str,
        origin: &str,
        body: Value,
    ) -> Result<(), RenderError> {
        let blocks = self.resources.entry(resource_type).or_default();
        insert_unique(blocks, resource_type, identifier(name), origin, body)
    }

    /// Adds `data "<data_type>" "<identifier(name)>"` for a node looked up, not created.
    pub(crate) fn lookup(
        &mut self,
        data_type: &'static str,
        name: &str,
        origin: &str,
        body: Value,
    ) -> Result<(), RenderError> {
        let blocks = self.data.entry(data_type).or_default();
        insert_unique(
            blocks,
            &format!("data.{data_type}"),
            identifier(name),
            origin,
            body,
        )
    }

    /// Adds a `data` block several nodes share (a hosted zone, an AMI): rendering it again with
    /// the same arguments is a no-op.
    pub(crate) fn shared_lookup(
        &mut self,
        data_type: &'static str,
        name: &str,
        origin: &str,
        body: Value,
    ) -> Result<(), RenderError> {
        let id = identifier(name);
        let blocks = self.data.entry(data_type).or_default();
        match blocks.get(&id) {
            Some(existing) if existing.body == body => Ok(()),
            Some(_) => Err(RenderError::ConflictingLookup {
                address: format!("data.{data_type}.{id}"),
            }),
            None => {
                blocks.insert(
                    id,
                    Block {
                        origin: origin.to_owned(),
                        body,
                    },
                );
                Ok(())
            }
        }
    }

    /// Declares `variable "<name>"` (the same declaration may be made any number of times).
    pub(crate) fn variable(&mut self, name: &'static str, body: Value) {
        self.variables.insert(name, body);
    }

    /// Stores `content` as the data file for `field` of `resource_type.identifier(name)` and
    /// returns its path relative to the module.
    pub(crate) fn data_file(
        &mut self,
        resource_type: &str,
        name: &str,
        field: &str,
        content: &str,
    ) -> String {
        let path = data_file_path(resource_type, &identifier(name), field);
        self.files.insert(path.clone(), content.as_bytes().to_vec());
        path
    }

    /// The `resource` section: type → identifier → body.
    pub(crate) fn resource_section(&self) -> Value {
        section(&self.resources)
    }

    /// The `data` section: type → identifier → body.
    pub(crate) fn data_section(&self) -> Value {
        section(&self.data)
    }

    /// The `variable` section, or `None` when nothing needs an input.
    pub(crate) fn variable_section(&self) -> Option<Value> {
        (!self.variables.is_empty()).then(|| {
            Value::Object(
                self.variables
                    .iter()
                    .map(|(name, body)| ((*name).to_owned(), body.clone()))
                    .collect(),
            )
        })
    }

    /// The data files rendered so far.
    pub(crate) fn into_files(self) -> BTreeMap<String, Vec<u8>> {
        self.files
    }
}

fn insert_unique(
    blocks: &mut BTreeMap<String, Block>,
    prefix: &str,
    id: String,
    origin: &str,
    body: Value,
) -> Result<(), RenderError> {
    if let Some(existing) = blocks.get(&id) {
        return Err(RenderError::DuplicateAddress {
            address: format!("{prefix}.{id}"),
            first: existing.origin.clone(),
            second: origin.to_owned(),
        });
    }
    blocks.insert(
        id,
        Block {
            origin: origin.to_owned(),
            body,
        },
    );
    Ok(())
}

fn section(blocks: &BTreeMap<&'static str, BTreeMap<String, Block>>) -> Value {
    Value::Object(
        blocks
            .iter()
            .map(|(kind, blocks)| {
                let bodies = blocks
                    .iter()
                    .map(|(id, block)| (id.clone(), block.body.clone()))
                    .collect();
                ((*kind).to_owned(), Value::Object(bodies))
            })
            .collect(),
    )
}
