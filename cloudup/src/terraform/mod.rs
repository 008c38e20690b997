//! `--target terraform`: renders the desired [`Graph`] as a Terraform module in JSON syntax —
//! `kubernetes.tf.json` plus the data files it reads — instead of applying it to AWS.
//!
//! The render is pure: no AWS call, no clock, no randomness. The same graph always gives the
//! same bytes (sorted maps, pretty-printed, trailing newline), so the output can be committed
//! and diffed. [`write()`] is the only function that touches the filesystem.
//!
//! What it renders, and the choices behind it:
//! - every node becomes one block (two for DHCP options: the options and their association),
//!   addressed kops style, `aws_vpc.dev-example-com` (see `expression`'s `identifier`); two
//!   nodes that collide on an address are an error, never a silent overwrite;
//! - a [`Ref`](berth_model::aws::Ref) renders as `${<type>.<id>.<attribute>}`, or
//!   `${data.<type>.<id>.<attribute>}` when it points at a shared VPC or subnet, which are only
//!   looked up (`data` blocks) and never created; a shared subnet only gains its cluster tag,
//!   through `aws_ec2_tag`;
//! - large or arbitrary documents — IAM policies, the SSH public key, user data, managed
//!   files — are data files under `data/`, read with `file()`/`filebase64()` as kops does, so
//!   they are neither re-escaped nor evaluated as templates; every literal string in the JSON
//!   is escaped for the same reason;
//! - managed files become `aws_s3_object`s in the bucket given by the `state_store_bucket`
//!   variable (plus an optional `state_store_prefix`): the graph knows keys relative to the
//!   state store, not the store, and declaring a variable keeps the module usable with any
//!   backend configuration rather than baking a bucket in;
//! - `locals` and `output`s expose the ids other Terraform needs (VPC, subnets, security
//!   groups, role ARNs).
//!
//! It deliberately does not render kinds the graph lacks, nor a backend or state
//! configuration: that is the user's Terraform setup.

mod compute;
mod dns;
mod error;
mod expression;
mod files;
mod iam;
mod load_balancer;
mod module;
mod network;
mod outputs;
mod security;

#[cfg(test)]
mod fixture;

use std::{
    collections::BTreeMap,
    path::{Component, Path},
};

use berth_model::aws::{AnyResource, Graph, NodeKey, Resource};
use serde_json::{Value, json};

pub use error::RenderError;

use self::{
    expression::{literal, sorted},
    module::TfModule,
};

/// The main file's name, relative to the output directory.
pub const MAIN_FILE: &str = "kubernetes.tf.json";

/// The Terraform AWS provider this output is written for.
const AWS_PROVIDER_SOURCE: &str = "hashicorp/aws";
/// `aws_s3_object` and `aws_eip.domain` need provider 5.
const AWS_PROVIDER_VERSION: &str = ">= 5.0";
/// `required_providers` with `source` needs 0.13; 1.0 is the oldest still supported upstream.
const TERRAFORM_VERSION: &str = ">= 1.0";

/// A rendered module: relative path → content. Holds [`MAIN_FILE`] and the `data/…` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerraformOutput {
    /// Every file, keyed by its path relative to the output directory (`/`-separated).
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A resource kind's Terraform rendering: adds its blocks and data files to the module.
pub(crate) trait RenderTerraform: Resource {
    /// Adds this resource's blocks (and data files) to `tf`.
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError>;
}

/// `Kind/name`: how errors name the node a block came from.
fn origin<T: Resource>(resource: &T) -> String {
    NodeKey::new(T::KIND, resource.name()).to_string()
}

/// Renders `graph` for `cluster` in `region`.
///
/// # Errors
///
/// [`RenderError::DuplicateAddress`] when two nodes sanitize to one Terraform address,
/// [`RenderError::ConflictingLookup`] when one lookup is needed with different arguments.
pub fn render(graph: &Graph, region: &str, cluster: &str) -> Result<TerraformOutput, RenderError> {
    let mut tf = TfModule::new(graph);
    for (_, resource) in graph.sorted() {
        render_node(resource, &mut tf)?;
    }
    let locals = outputs::locals(graph, &tf, region, cluster)?;
    let output = outputs::outputs(&locals);
    let mut document = json!({
        "output": output,
        "locals": Value::Object(locals.into_iter().collect()),
        "provider": { "aws": { "region": literal(region) } },
        "terraform": {
            "required_providers": {
                "aws": { "source": AWS_PROVIDER_SOURCE, "version": AWS_PROVIDER_VERSION },
            },
            "required_version": TERRAFORM_VERSION,
        },
    });
    for (section, value) in [
        ("resource", Some(tf.resource_section())),
        ("data", Some(tf.data_section())),
        ("variable", tf.variable_section()),
    ] {
        if let Some(value) =
            value.filter(|value| value.as_object().is_some_and(|map| !map.is_empty()))
        {
            document[section] = value;
        }
    }
    let mut main = serde_json::to_vec_pretty(&sorted(document)).map_err(RenderError::Serialize)?;
    main.push(b'\n');
    let mut files = tf.into_files();
    files.insert(MAIN_FILE.to_owned(), main);
    Ok(TerraformOutput { files })
}

/// Dispatches one node to its kind's [`RenderTerraform`] impl.
fn render_node(resource: &AnyResource, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
    match resource {
        AnyResource::Vpc(resource) => resource.render(tf),
        AnyResource::DhcpOptions(resource) => resource.render(tf),
        AnyResource::InternetGateway(resource) => resource.render(tf),
        AnyResource::Subnet(resource) => resource.render(tf),
        AnyResource::ElasticIp(resource) => resource.render(tf),
        AnyResource::NatGateway(resource) => resource.render(tf),
        AnyResource::RouteTable(resource) => resource.render(tf),
        AnyResource::Route(resource) => resource.render(tf),
        AnyResource::RouteTableAssociation(resource) => resource.render(tf),
        AnyResource::SecurityGroup(resource) => resource.render(tf),
        AnyResource::SecurityGroupRule(resource) => resource.render(tf),
        AnyResource::IamRole(resource) => resource.render(tf),
        AnyResource::IamRolePolicy(resource) => resource.render(tf),
        AnyResource::IamInstanceProfile(resource) => resource.render(tf),
        AnyResource::KeyPair(resource) => resource.render(tf),
        AnyResource::LaunchTemplate(resource) => resource.render(tf),
        AnyResource::EbsVolume(resource) => resource.render(tf),
        AnyResource::LoadBalancer(resource) => resource.render(tf),
        AnyResource::TargetGroup(resource) => resource.render(tf),
        AnyResource::Listener(resource) => resource.render(tf),
        AnyResource::AutoscalingGroup(resource) => resource.render(tf),
        AnyResource::DnsRecord(resource) => resource.render(tf),
        AnyResource::ManagedFile(resource) => resource.render(tf),
    }
}

/// Writes every file of `output` under `dir`, creating directories as needed.
///
/// Each file is written to a temporary sibling and renamed into place, so an interrupted write
/// never leaves a truncated file. Files already in `dir` that the output does not name are
/// left alone.
///
/// # Errors
///
/// [`RenderError::UnsafePath`] for a path that is not plainly relative, and
/// [`RenderError::CreateDir`]/[`RenderError::WriteFile`] on I/O failures.
pub fn write(output: &TerraformOutput, dir: &Path) -> Result<(), RenderError> {
    for (relative, content) in &output.files {
        let relative_path = Path::new(relative);
        let file_name = relative_path.file_name().and_then(|name| name.to_str());
        let is_plain = relative_path
            .components()
            .all(|part| matches!(part, Component::Normal(_)));
        let (Some(file_name), true) = (file_name, is_plain) else {
            return Err(RenderError::UnsafePath {
                path: relative.clone(),
            });
        };
        let path = dir.join(relative_path);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(|source| RenderError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let temporary = path.with_file_name(format!(".{file_name}.tmp"));
        fs_err::write(&temporary, content)
            .and_then(|()| fs_err::rename(&temporary, &path))
            .map_err(|source| RenderError::WriteFile {
                path: path.clone(),
                source,
            })?;
    }
    Ok(())
}

/// The parsed `kubernetes.tf.json` of `graph` (in `us-east-1`, cluster `dev.example.com`).
#[cfg(test)]
fn rendered(graph: &Graph) -> Value {
    let output = render(graph, "us-east-1", "dev.example.com").unwrap();
    serde_json::from_slice(&output.files[MAIN_FILE]).unwrap()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use berth_model::aws::{Graph, Tags, Vpc};

    use super::*;

    #[test]
    fn full_graph_main_file() {
        let document = rendered(&fixture::full_graph());
        insta::assert_json_snapshot!("kubernetes.tf.json", document);
    }

    #[test]
    fn full_graph_data_files() {
        let output = render(&fixture::full_graph(), "us-east-1", "dev.example.com").unwrap();
        let files: BTreeMap<&str, String> = output
            .files
            .iter()
            .filter(|(path, _)| path.as_str() != MAIN_FILE)
            .map(|(path, content)| (path.as_str(), String::from_utf8_lossy(content).into_owned()))
            .collect();
        insta::assert_json_snapshot!("data-files", files);
    }

    #[test]
    fn every_kind_is_covered_by_the_full_graph() {
        let graph = fixture::full_graph();
        let kinds: std::collections::BTreeSet<_> =
            graph.sorted().map(|(key, _)| key.kind).collect();
        assert_eq!(kinds.len(), berth_model::aws::ResourceKind::ALL.len());
    }

    #[test]
    fn output_is_deterministic_and_ends_with_a_newline() {
        let first = render(&fixture::full_graph(), "us-east-1", "dev.example.com").unwrap();
        let second = render(&fixture::full_graph(), "us-east-1", "dev.example.com").unwrap();
        assert_eq!(first, second);
        assert_eq!(first.files[MAIN_FILE].last(), Some(&b'\n'));
    }

    #[test]
    fn header_pins_the_provider_and_region() {
        let document = rendered(&Graph::new());
        assert_eq!(
            document["terraform"]["required_providers"]["aws"],
            json!({ "source": "hashicorp/aws", "version": ">= 5.0" })
        );
        assert_eq!(document["provider"]["aws"]["region"], json!("us-east-1"));
        assert_eq!(document.get("resource"), None);
    }

    #[test]
    fn colliding_identifiers_are_an_error() {
        let mut graph = Graph::new();
        for name in ["dev.example.com", "dev-example.com"] {
            graph
                .add(Vpc {
                    name: name.into(),
                    cidr: "10.0.0.0/16".into(),
                    shared_id: None,
                    tags: Tags::new(),
                })
                .unwrap();
        }
        let error = render(&graph, "us-east-1", "dev.example.com").unwrap_err();
        assert!(
            matches!(&error, RenderError::DuplicateAddress { address, .. } if address == "aws_vpc.dev-example-com"),
            "{error}"
        );
    }

    #[test]
    fn write_creates_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let output = render(&fixture::full_graph(), "us-east-1", "dev.example.com").unwrap();
        write(&output, dir.path()).unwrap();
        for (path, content) in &output.files {
            assert_eq!(&fs_err::read(dir.path().join(path)).unwrap(), content);
        }
        let leftovers = fs_err::read_dir(dir.path().join("data"))
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn write_refuses_paths_outside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        for path in ["../escape", "/abs", "data/../x", ""] {
            let output = TerraformOutput {
                files: BTreeMap::from([(path.to_owned(), Vec::new())]),
            };
            assert!(
                matches!(
                    write(&output, dir.path()),
                    Err(RenderError::UnsafePath { .. })
                ),
                "{path}"
            );
        }
    }
}
