//! Multi-document manifests: reading them into typed [`Document`]s and writing them back.
//!
//! Reading goes YAML → generic node tree → schema check → typed value, so every error
//! names the file, the document number, the object, the field path and the position.
//! Only `kops.k8s.io/v1alpha2` `Cluster` and `InstanceGroup` documents are accepted.

use std::fmt;

use serde::Serialize;

use super::{
    check::{SchemaCheck, problem, suggest},
    v1alpha2::{API_VERSION, CLUSTER_KIND, Cluster, INSTANCE_GROUP_KIND, InstanceGroup},
    yaml::{self, Node, NodeValue},
};
use crate::schema::{cluster_schema, instance_group_schema};

/// One manifest document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "documents are few and short-lived; unboxed variants keep pattern matching simple"
)]
pub enum Document {
    /// A `Cluster`.
    Cluster(Cluster),
    /// An `InstanceGroup`.
    InstanceGroup(InstanceGroup),
}

/// One problem in a document: a field path, a position when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Field path such as `spec.subnets[1].cidr` (empty for the whole document).
    pub path: String,
    /// 1-based line in the source, when known.
    pub line: Option<u64>,
    /// 1-based column in the source, when known.
    pub column: Option<u64>,
    /// What is wrong, in lowercase.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_empty(), self.message.starts_with("is ")) {
            (true, _) => f.write_str(&self.message),
            (false, true) => write!(f, "`{}` {}", self.path, self.message),
            (false, false) => write!(f, "`{}`: {}", self.path, self.message),
        }
    }
}

/// A manifest that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text is not valid YAML.
    #[error("{file}{}: document {document}: invalid yaml: {message}", position(*line, *column))]
    Syntax {
        /// Source name given by the caller.
        file: String,
        /// 1-based document number (best effort for syntax errors).
        document: usize,
        /// 1-based line.
        line: Option<u64>,
        /// 1-based column.
        column: Option<u64>,
        /// The parser's message.
        message: String,
    },
    /// The text holds no documents.
    #[error("{file}: no documents found (expected a Cluster and its InstanceGroups)")]
    Empty {
        /// Source name given by the caller.
        file: String,
    },
    /// A document has one or more problems.
    #[error("{}", render_invalid(file, *document, object.as_deref(), problems))]
    Invalid {
        /// Source name given by the caller.
        file: String,
        /// 1-based document number.
        document: usize,
        /// `Kind/name` when known.
        object: Option<String>,
        /// Every problem found in the document.
        problems: Vec<Problem>,
    },
}

fn position(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

fn render_invalid(
    file: &str,
    document: usize,
    object: Option<&str>,
    problems: &[Problem],
) -> String {
    let object = object
        .map(|object| format!(" ({object})"))
        .unwrap_or_default();
    problems
        .iter()
        .map(|item| {
            let at = position(item.line, item.column);
            format!("{file}{at}: document {document}{object}: {item}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A document that could not be written as YAML.
#[derive(Debug, thiserror::Error)]
#[error("failed to write yaml: {0}")]
pub struct SerializeError(#[from] serde_saphyr::SerializeError);

/// Read every document in `text`; `source` names the file in messages.
///
/// # Errors
/// [`ParseError`] for invalid YAML, no documents, or a document with problems.
pub fn parse_documents(text: &str, source: &str) -> Result<Vec<Document>, ParseError> {
    let nodes = yaml::parse_stream(text).map_err(|error| ParseError::Syntax {
        file: source.to_owned(),
        document: document_at(text, error.line),
        line: error.line,
        column: error.column,
        message: error.message,
    })?;
    if nodes.is_empty() {
        return Err(ParseError::Empty {
            file: source.to_owned(),
        });
    }
    let cluster = cluster_schema();
    let instance_group = instance_group_schema();
    nodes
        .iter()
        .enumerate()
        .map(|(index, node)| read_document(node, index + 1, source, &cluster, &instance_group))
        .collect()
}

fn read_document(
    node: &Node,
    document: usize,
    source: &str,
    cluster_schema: &serde_json::Value,
    instance_group_schema: &serde_json::Value,
) -> Result<Document, ParseError> {
    let invalid = |object: Option<String>, problems: Vec<Problem>| ParseError::Invalid {
        file: source.to_owned(),
        document,
        object,
        problems,
    };
    if !matches!(node.value, NodeValue::Map(_)) {
        let message = format!(
            "expected a mapping with apiVersion, kind, metadata and spec, found {}",
            node.value.describe()
        );
        return Err(invalid(None, vec![problem(node, "", message)]));
    }
    let kind = node.get_str("kind");
    let name = node
        .get("metadata")
        .and_then(|metadata| metadata.get_str("name"));
    let object = kind.map(|kind| match name {
        Some(name) => format!("{kind} `{name}`"),
        None => kind.to_owned(),
    });
    let mut problems = Vec::new();
    match node.get("apiVersion") {
        None => problems.push(problem(
            node,
            "apiVersion",
            format!("is required (expected `{API_VERSION}`)"),
        )),
        Some(found) => {
            if found.value != NodeValue::String(API_VERSION.to_owned()) {
                let message = match &found.value {
                    NodeValue::String(text) => {
                        format!("unsupported apiVersion `{text}`; berth reads only `{API_VERSION}`")
                    }
                    other => format!("expected `{API_VERSION}`, found {}", other.describe()),
                };
                problems.push(problem(found, "apiVersion", message));
            }
        }
    }
    let schema = match (node.get("kind"), kind) {
        (_, Some(CLUSTER_KIND)) => Some((cluster_schema, "Cluster")),
        (_, Some(INSTANCE_GROUP_KIND)) => Some((instance_group_schema, "InstanceGroup")),
        (None, _) => {
            problems.push(problem(
                node,
                "kind",
                "is required (expected `Cluster` or `InstanceGroup`)".to_owned(),
            ));
            None
        }
        (Some(found), _) => {
            let text = found.key_text();
            let mut message =
                format!("unknown kind `{text}`, expected `Cluster` or `InstanceGroup`");
            if let Some(suggestion) =
                suggest(&text, [CLUSTER_KIND, INSTANCE_GROUP_KIND].into_iter())
            {
                message.push_str(&format!(" (did you mean `{suggestion}`?)"));
            }
            problems.push(problem(found, "kind", message));
            None
        }
    };
    let Some((schema, definition)) = schema else {
        return Err(invalid(object, problems));
    };
    problems.extend(
        SchemaCheck::new(schema)
            .problems(node, definition)
            .into_iter()
            .filter(|item| item.path != "apiVersion"),
    );
    if !problems.is_empty() {
        return Err(invalid(object, problems));
    }
    let json = node.to_json();
    let typed = if definition == "Cluster" {
        serde_json::from_value::<Cluster>(json).map(Document::Cluster)
    } else {
        serde_json::from_value::<InstanceGroup>(json).map(Document::InstanceGroup)
    };
    typed.map_err(|error| invalid(object.clone(), vec![problem(node, "", error.to_string())]))
}

/// Best-effort document number for a line: separators (`---`) seen before it, counting a
/// leading separator as the start of document 1.
fn document_at(text: &str, line: Option<u64>) -> usize {
    let Some(line) = line else { return 1 };
    let mut document = 1;
    let mut seen_content = false;
    for (index, row) in text.lines().enumerate() {
        if index as u64 + 1 >= line {
            break;
        }
        let trimmed = row.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            if seen_content {
                document += 1;
            }
            seen_content = true;
        } else if !trimmed.is_empty() && !trimmed.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    document
}

/// Write documents as one multi-document YAML stream separated by `---`.
///
/// # Errors
/// [`SerializeError`] if a document cannot be serialized.
pub fn to_yaml(documents: &[Document]) -> Result<String, SerializeError> {
    let mut out = String::new();
    for (index, document) in documents.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        let text = match document {
            Document::Cluster(cluster) => cluster_to_yaml(cluster)?,
            Document::InstanceGroup(instance_group) => instance_group_to_yaml(instance_group)?,
        };
        out.push_str(&text);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// Write one cluster as a YAML document.
///
/// # Errors
/// [`SerializeError`] if the cluster cannot be serialized.
pub fn cluster_to_yaml(cluster: &Cluster) -> Result<String, SerializeError> {
    Ok(yaml::to_string(cluster)?)
}

/// Write one instance group as a YAML document.
///
/// # Errors
/// [`SerializeError`] if the instance group cannot be serialized.
pub fn instance_group_to_yaml(instance_group: &InstanceGroup) -> Result<String, SerializeError> {
    Ok(yaml::to_string(instance_group)?)
}
