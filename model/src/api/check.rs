//! Walks a YAML [`Node`] against the JSON schema of a wire type, before the typed conversion.
//!
//! This is where unknown fields ("did you mean"), kops fields outside Berth's subset ("not
//! supported by berth"), wrong types, unknown enum values and missing required fields are
//! found, each with its field path and position. It reports every problem in a document,
//! not only the first. It understands the subset of JSON Schema that schemars emits for
//! the wire types: `$ref`, `anyOf`/`oneOf`, `type`, `const`/`enum`, `properties`,
//! `additionalProperties`, `required`, `items` and `minimum`/`maximum`.

use serde_json::Value;

use super::{
    document::Problem,
    kops_fields::kops_fields,
    yaml::{Node, NodeValue},
};

/// Schema walker over a root schema that holds `$defs`.
pub(crate) struct SchemaCheck<'a> {
    root: &'a Value,
}

impl<'a> SchemaCheck<'a> {
    pub(crate) fn new(root: &'a Value) -> Self {
        Self { root }
    }

    /// Every problem in `node`, checked against the root schema.
    pub(crate) fn problems(&self, node: &Node, definition: &str) -> Vec<Problem> {
        let mut problems = Vec::new();
        self.walk(node, self.root, "", definition, &mut problems);
        problems
    }

    fn resolve(&self, mut schema: &'a Value, mut definition: &'a str) -> (&'a Value, &'a str) {
        // A bounded loop: schemars never chains more than a couple of references.
        for _ in 0..16 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(name) = reference.strip_prefix("#/$defs/") else {
                break;
            };
            match self.root.get("$defs").and_then(|defs| defs.get(name)) {
                Some(target) => {
                    schema = target;
                    definition = name;
                }
                None => break,
            }
        }
        (schema, definition)
    }

    fn walk(
        &self,
        node: &Node,
        schema: &'a Value,
        path: &str,
        definition: &'a str,
        out: &mut Vec<Problem>,
    ) {
        let (schema, definition) = self.resolve(schema, definition);
        if let Some(branches) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            self.walk_alternatives(node, branches, path, definition, out);
            return;
        }
        let kinds = self.kinds(schema);
        if !kinds.is_empty() && !kinds.iter().any(|kind| kind_matches(kind, &node.value)) {
            out.push(type_mismatch(node, path, &kinds));
            return;
        }
        match &node.value {
            NodeValue::Map(entries) => {
                self.walk_object(node, entries, schema, path, definition, out)
            }
            NodeValue::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        let child = format!("{path}[{index}]");
                        self.walk(item, item_schema, &child, definition, out);
                    }
                }
            }
            NodeValue::String(text) => {
                let allowed = consts(schema);
                if !allowed.is_empty() && !allowed.iter().any(|value| value == text) {
                    out.push(unknown_value(node, path, text, &allowed));
                }
            }
            NodeValue::Int(value) => {
                let below = schema
                    .get("minimum")
                    .and_then(Value::as_f64)
                    .filter(|minimum| precise(*value) < *minimum);
                let above = schema
                    .get("maximum")
                    .and_then(Value::as_f64)
                    .filter(|maximum| precise(*value) > *maximum);
                if let Some(minimum) = below {
                    out.push(problem(
                        node,
                        path,
                        format!("{value} is below the minimum {minimum}"),
                    ));
                } else if let Some(maximum) = above {
                    out.push(problem(
                        node,
                        path,
                        format!("{value} is above the maximum {maximum}"),
                    ));
                }
            }
            NodeValue::Null | NodeValue::Bool(_) | NodeValue::Float(_) => {}
        }
    }

    fn walk_alternatives(
        &self,
        node: &Node,
        branches: &'a [Value],
        path: &str,
        definition: &'a str,
        out: &mut Vec<Problem>,
    ) {
        let mut structural: Option<Vec<Problem>> = None;
        let mut allowed = Vec::new();
        let mut kinds = Vec::new();
        for branch in branches {
            let mut trial = Vec::new();
            self.walk(node, branch, path, definition, &mut trial);
            if trial.is_empty() {
                return;
            }
            let (resolved, _) = self.resolve(branch, definition);
            let branch_consts = self.all_consts(resolved);
            let branch_kinds = self.kinds(resolved);
            let is_string = matches!(node.value, NodeValue::String(_));
            if structural.is_none()
                && (!is_string || branch_consts.is_empty())
                && branch_kinds
                    .iter()
                    .any(|kind| kind_matches(kind, &node.value))
            {
                structural = Some(trial);
            }
            allowed.extend(branch_consts);
            for kind in branch_kinds {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
        if let Some(problems) = structural {
            out.extend(problems);
        } else if let (NodeValue::String(text), false) = (&node.value, allowed.is_empty()) {
            out.push(unknown_value(node, path, text, &allowed));
        } else {
            out.push(type_mismatch(node, path, &kinds));
        }
    }

    fn walk_object(
        &self,
        node: &Node,
        entries: &[(Node, Node)],
        schema: &'a Value,
        path: &str,
        definition: &'a str,
        out: &mut Vec<Problem>,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for (key, value) in entries {
            let name = key.key_text();
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            if let Some(property) = properties.and_then(|properties| properties.get(&name)) {
                self.walk(value, property, &child, definition, out);
                continue;
            }
            match additional {
                Some(Value::Bool(false)) => {
                    let known =
                        properties.map(|p| p.keys().map(String::as_str).collect::<Vec<_>>());
                    out.push(unknown_field(
                        key,
                        &child,
                        &name,
                        definition,
                        &known.unwrap_or_default(),
                    ));
                }
                Some(additional @ Value::Object(_)) => {
                    self.walk(value, additional, &child, definition, out)
                }
                _ => {}
            }
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !entries.iter().any(|(key, _)| key.key_text() == name) {
                    let child = if path.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{path}.{name}")
                    };
                    out.push(problem(node, &child, "is required but missing".to_owned()));
                }
            }
        }
    }

    /// The JSON types a schema accepts (empty: anything).
    fn kinds(&self, schema: &'a Value) -> Vec<&'a str> {
        let (schema, _) = self.resolve(schema, "");
        match schema.get("type") {
            Some(Value::String(kind)) => vec![kind.as_str()],
            Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
            _ => {
                let mut kinds = Vec::new();
                if let Some(branches) = schema
                    .get("anyOf")
                    .or_else(|| schema.get("oneOf"))
                    .and_then(Value::as_array)
                {
                    for branch in branches {
                        kinds.extend(self.kinds(branch));
                    }
                } else if schema.get("const").is_some_and(Value::is_string) {
                    kinds.push("string");
                }
                kinds
            }
        }
    }

    /// Every string constant a schema (and its alternatives) allows.
    fn all_consts(&self, schema: &'a Value) -> Vec<String> {
        let (schema, _) = self.resolve(schema, "");
        let mut found = consts(schema);
        if let Some(branches) = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))
            .and_then(Value::as_array)
        {
            for branch in branches {
                found.extend(self.all_consts(branch));
            }
        }
        found
    }
}

fn consts(schema: &Value) -> Vec<String> {
    let mut found: Vec<String> = schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(value) = schema.get("const").and_then(Value::as_str) {
        found.push(value.to_owned());
    }
    found
}

#[expect(
    clippy::cast_precision_loss,
    reason = "bounds in the schema are small integers"
)]
fn precise(value: i64) -> f64 {
    value as f64
}

fn kind_matches(kind: &str, value: &NodeValue) -> bool {
    matches!(
        (kind, value),
        ("null", NodeValue::Null)
            | ("boolean", NodeValue::Bool(_))
            | ("integer", NodeValue::Int(_))
            | ("number", NodeValue::Int(_) | NodeValue::Float(_))
            | ("string", NodeValue::String(_))
            | ("array", NodeValue::Seq(_))
            | ("object", NodeValue::Map(_))
    )
}

fn describe_kind(kind: &str) -> &'static str {
    match kind {
        "null" => "null",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "a mapping",
        _ => "a value",
    }
}

pub(crate) fn problem(node: &Node, path: &str, message: String) -> Problem {
    Problem {
        path: path.to_owned(),
        line: (node.line > 0).then_some(node.line),
        column: (node.column > 0).then_some(node.column),
        message,
    }
}

fn type_mismatch(node: &Node, path: &str, kinds: &[&str]) -> Problem {
    let expected: Vec<&str> = kinds
        .iter()
        .filter(|kind| **kind != "null")
        .map(|kind| describe_kind(kind))
        .collect();
    let expected = if expected.is_empty() {
        "null".to_owned()
    } else {
        expected.join(" or ")
    };
    let mut message = format!("expected {expected}, found {}", node.value.describe());
    let scalar = matches!(
        node.value,
        NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_)
    );
    if scalar && kinds.contains(&"string") {
        message.push_str(" (quote the value to make it a string)");
    }
    problem(node, path, message)
}

fn unknown_value(node: &Node, path: &str, value: &str, allowed: &[String]) -> Problem {
    let list = allowed
        .iter()
        .map(|value| format!("`{value}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut message = format!("unknown value `{value}`, expected one of {list}");
    if let Some(suggestion) = suggest(value, allowed.iter().map(String::as_str)) {
        message.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    problem(node, path, message)
}

fn unknown_field(key: &Node, path: &str, name: &str, definition: &str, known: &[&str]) -> Problem {
    if kops_fields(definition).contains(&name) {
        return problem(key, path, "is not supported by berth".to_owned());
    }
    let mut message = format!("unknown field `{name}`");
    if let Some(suggestion) = suggest(name, known.iter().copied()) {
        message.push_str(&format!(", did you mean `{suggestion}`?"));
    }
    problem(key, path, message)
}

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'c>(
    input: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let lower = input.to_ascii_lowercase();
    candidates
        .map(|candidate| {
            let score = if candidate.to_ascii_lowercase() == lower {
                1.0
            } else {
                strsim::jaro_winkler(&lower, &candidate.to_ascii_lowercase())
            };
            (score, candidate)
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}
