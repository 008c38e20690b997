//! The pieces of Terraform JSON syntax Berth emits: identifiers, literal strings, tag maps and
//! the `file()` expressions that point at data files.
//!
//! In Terraform's JSON syntax every string (values *and* object keys) is a template, so a
//! literal that happens to contain `${` or `%{` must be escaped, or Terraform would evaluate
//! it. [`literal`] does that; interpolations are built only from sanitized identifiers.

use berth_model::aws::Tags;
use serde_json::{Map, Value};

/// A Terraform identifier for `name`, kops style: every character that is not a letter, digit,
/// `_` or `-` becomes `-` (so `dev.example.com` → `dev-example-com`), and a name that does not
/// start with a letter or `_` gets a leading `_`, because Terraform requires one.
pub(crate) fn identifier(name: &str) -> String {
    let sanitized: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    match sanitized.chars().next() {
        Some(first) if first.is_ascii_alphabetic() || first == '_' => sanitized,
        _ => format!("_{sanitized}"),
    }
}

/// Escapes `text` so Terraform reads it as exactly that text, not as a template.
pub(crate) fn escape(text: &str) -> String {
    text.replace("${", "$${").replace("%{", "%%{")
}

/// A literal string value.
pub(crate) fn literal(text: &str) -> Value {
    Value::String(escape(text))
}

/// A literal string list.
pub(crate) fn literals<'a>(texts: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Array(texts.into_iter().map(literal).collect())
}

/// A tag map, keys and values escaped.
pub(crate) fn tags(tags: &Tags) -> Value {
    Value::Object(
        tags.iter()
            .map(|(key, value)| (escape(key), literal(value)))
            .collect(),
    )
}

/// `${<address>.<identifier(name)>.<attribute>}`, where `address` is a type (`aws_eip`) or a
/// data type (`data.aws_ami`).
pub(crate) fn reference(address: &str, name: &str, attribute: &str) -> Value {
    Value::String(format!("${{{address}.{}.{attribute}}}", identifier(name)))
}

/// The path of a data file relative to the output directory: `data/<type>_<id>_<field>`.
pub(crate) fn data_file_path(resource_type: &str, id: &str, field: &str) -> String {
    format!("data/{resource_type}_{id}_{field}")
}

/// `${file("${path.module}/<path>")}`: a data file's content, read verbatim (no templating).
pub(crate) fn file(path: &str) -> Value {
    Value::String(format!("${{file(\"${{path.module}}/{path}\")}}"))
}

/// `${filebase64("${path.module}/<path>")}`: a data file's content, base64-encoded.
pub(crate) fn file_base64(path: &str) -> Value {
    Value::String(format!("${{filebase64(\"${{path.module}}/{path}\")}}"))
}

/// Rebuilds every object of `value` with its keys sorted, so the output is the same whatever
/// map implementation `serde_json` was built with.
pub(crate) fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .into_iter()
                .map(|(key, value)| (key, sorted(value)))
                .collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(entries.into_iter().collect::<Map<String, Value>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_kops_style_and_valid() {
        assert_eq!(identifier("dev.example.com"), "dev-example-com");
        assert_eq!(identifier("a/b:c d"), "a-b-c-d");
        assert_eq!(identifier("masters_x-1"), "masters_x-1");
        assert_eq!(identifier("0.0.0.0/0"), "_0-0-0-0-0");
        assert_eq!(identifier(""), "_");
    }

    #[test]
    fn literals_cannot_inject_interpolations() {
        assert_eq!(
            literal("a ${b} %{c} $d"),
            Value::String("a $${b} %%{c} $d".into())
        );
    }

    #[test]
    fn file_expressions_point_into_the_module() {
        let path = data_file_path("aws_iam_role", "nodes-c", "policy");
        assert_eq!(path, "data/aws_iam_role_nodes-c_policy");
        assert_eq!(
            file(&path),
            Value::String("${file(\"${path.module}/data/aws_iam_role_nodes-c_policy\")}".into())
        );
    }
}
