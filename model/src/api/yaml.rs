//! The only module that touches the YAML crate (serde-saphyr), so it can be swapped.
//!
//! Reading produces a generic [`Node`] tree that remembers the line and column of every
//! value and key; [`crate::api::check`] walks it against the JSON schema before the typed
//! conversion. Writing serializes typed documents.

use std::fmt;

use serde::{
    Deserialize, Deserializer, Serialize,
    de::{self, MapAccess, SeqAccess, Visitor},
};

/// A YAML value with its position (1-based; 0 when unknown).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) value: NodeValue,
    pub(crate) line: u64,
    pub(crate) column: u64,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    /// Keys keep their own position so unknown keys can be pointed at.
    Map(Vec<(Node, Node)>),
}

impl NodeValue {
    /// A short name for messages ("a string", "a mapping", …).
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a number",
            Self::String(_) => "a string",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// Convert to JSON for the typed conversion (serde_json's error paths are not needed:
    /// the schema walk has already reported anything a well-typed document would reject).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(value) => Value::Bool(*value),
            NodeValue::Int(value) => Value::from(*value),
            NodeValue::Float(value) => {
                serde_json::Number::from_f64(*value).map_or(Value::Null, Value::Number)
            }
            NodeValue::String(value) => Value::String(value.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Self::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| (key.key_text(), value.to_json()))
                    .collect(),
            ),
        }
    }

    /// The text of a mapping key (non-string scalar keys are rendered as YAML would).
    pub(crate) fn key_text(&self) -> String {
        match &self.value {
            NodeValue::String(text) => text.clone(),
            NodeValue::Int(value) => value.to_string(),
            NodeValue::Float(value) => value.to_string(),
            NodeValue::Bool(value) => value.to_string(),
            NodeValue::Null => "null".to_owned(),
            NodeValue::Seq(_) | NodeValue::Map(_) => "<complex key>".to_owned(),
        }
    }

    /// The value under `key` when this is a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries
                .iter()
                .find(|(name, _)| matches!(&name.value, NodeValue::String(text) if text == key))
                .map(|(_, value)| value),
            _ => None,
        }
    }

    /// The string under `key` when this is a mapping and the value is a string.
    pub(crate) fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key).map(|node| &node.value) {
            Some(NodeValue::String(text)) => Some(text),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<NodeValue>::deserialize(deserializer)?;
        Ok(Self {
            value: spanned.value,
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(value).map_or_else(
            |_| {
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "beyond i64, a float is the best YAML can mean"
                )]
                let float = value as f64;
                NodeValue::Float(float)
            },
            NodeValue::Int,
        ))
    }

    fn visit_f64<E>(self, value: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(value))
    }

    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            let text = key.key_text();
            if entries
                .iter()
                .any(|(existing, _)| existing.key_text() == text)
            {
                return Err(de::Error::custom(format!("duplicate key `{text}`")));
            }
            entries.push((key, value));
        }
        Ok(NodeValue::Map(entries))
    }
}

/// A YAML syntax error with its position when the parser reports one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) line: Option<u64>,
    pub(crate) column: Option<u64>,
}

/// Parse every document of a YAML stream (empty documents are skipped by the parser).
pub(crate) fn parse_stream(text: &str) -> Result<Vec<Node>, SyntaxError> {
    serde_saphyr::from_multiple::<Node>(text).map_err(|error| {
        let location = error.location();
        let inner = error.without_snippet();
        SyntaxError {
            message: strip_location_suffix(&inner.to_string()),
            line: location.map(|l| l.line()).filter(|line| *line > 0),
            column: location.map(|l| l.column()).filter(|column| *column > 0),
        }
    })
}

/// The parser appends its own " at line X column Y"; Berth prints positions itself.
fn strip_location_suffix(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message);
    // The parser's duplicate-key message suggests one of its own options; drop that part.
    if let Some(rest) = first_line.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set ").next().unwrap_or(rest);
        let key = key.split(" at line ").next().unwrap_or(key);
        return format!("duplicate key `{key}`");
    }
    match first_line.find(" at line ") {
        Some(index) => first_line[..index].to_owned(),
        None => first_line.to_owned(),
    }
}

/// Serialize one value as a YAML document (no leading `---`).
pub(crate) fn to_string<T: Serialize>(value: &T) -> Result<String, serde_saphyr::SerializeError> {
    serde_saphyr::to_string(value)
}
