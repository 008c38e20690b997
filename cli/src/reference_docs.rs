//! Generated reference pages under `docs/reference/`, checked by a test.
//!
//! `cli.md` comes from the clap definitions, `schema.json` and `spec.md` from the model's JSON
//! Schema, so that none of them can drift from the code. Run the tests with
//! `BERTH_UPDATE_DOCS=1` to rewrite the pages after a change.

use std::fmt::Write as _;

use clap::CommandFactory as _;
use serde_json::Value;

use crate::args::Cli;

/// The CLI reference: every command's `--help`, in order.
pub(crate) fn cli_reference() -> String {
    let mut text = String::from(
        "# CLI reference\n\nGenerated from the command definitions; do not edit by hand.\n",
    );
    let mut command = Cli::command().term_width(100);
    command.build();
    render_command(&mut text, &command, "berth");
    text
}

fn render_command(text: &mut String, command: &clap::Command, path: &str) {
    let mut command = command.clone();
    let help = command.render_long_help().to_string();
    let _ = write!(text, "\n## `{path}`\n\n```text\n{}\n```\n", help.trim_end());
    for sub in command.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        render_command(text, sub, &format!("{path} {}", sub.get_name()));
    }
}

/// The spec reference: every field of both kinds with its type and description.
pub(crate) fn spec_reference() -> String {
    let mut text = String::from(
        "# Spec reference\n\nThe `kops.k8s.io/v1alpha2` fields Berth accepts, generated from its JSON Schema \
         (`berth schema`); do not edit by hand. A kops field not listed here is refused with \
         \"not supported by berth\". Defaults Berth fills in are listed in [defaults](../defaults.md).\n",
    );
    for (title, schema) in [
        ("Cluster", berth_model::schema::cluster_schema()),
        (
            "InstanceGroup",
            berth_model::schema::instance_group_schema(),
        ),
    ] {
        let _ = write!(
            text,
            "\n## {title}\n\n| field | type | description |\n| --- | --- | --- |\n"
        );
        render_fields(&mut text, &schema, &schema, "", 0);
    }
    text
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix("#/")
            .map(|pointer| format!("/{pointer}"))
            .and_then(|pointer| root.pointer(&pointer))
            .map_or(schema, |target| resolve(root, target)),
        None => {
            // `Option<T>` renders as anyOf [T, null]: describe T.
            let variants = schema.get("anyOf").or_else(|| schema.get("oneOf"));
            match variants.and_then(Value::as_array) {
                Some(variants) if variants.len() == 2 => variants
                    .iter()
                    .find(|variant| variant.get("type").and_then(Value::as_str) != Some("null"))
                    .map_or(schema, |variant| resolve(root, variant)),
                _ => schema,
            }
        }
    }
}

fn type_name(root: &Value, schema: &Value) -> String {
    let schema = resolve(root, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|value| format!("`{value}`"))
            .collect();
        return names.join(" \\| ");
    }
    match schema.get("type") {
        Some(Value::String(kind)) if kind == "array" => {
            let items = schema
                .get("items")
                .map_or_else(String::new, |items| type_name(root, items));
            format!("list of {items}")
        }
        Some(Value::String(kind)) => kind.clone(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .filter(|kind| *kind != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "value".into(),
    }
}

fn render_fields(text: &mut String, root: &Value, schema: &Value, prefix: &str, depth: usize) {
    let schema = resolve(root, schema);
    let target = match schema.get("type").and_then(Value::as_str) {
        Some("array") => schema
            .get("items")
            .map_or(schema, |items| resolve(root, items)),
        _ => schema,
    };
    let Some(properties) = target.get("properties").and_then(Value::as_object) else {
        return;
    };
    if depth > 8 {
        return;
    }
    for (name, property) in properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let resolved = resolve(root, property);
        let description = property
            .get("description")
            .or_else(|| resolved.get("description"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .replace('\n', " ")
            .replace('|', "\\|");
        let _ = writeln!(
            text,
            "| `{path}` | {} | {description} |",
            type_name(root, property)
        );
        let is_array = resolved.get("type").and_then(Value::as_str) == Some("array");
        render_fields(
            text,
            root,
            property,
            &if is_array { format!("{path}[]") } else { path },
            depth + 1,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn docs_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/reference")
    }

    fn check(name: &str, generated: &str) {
        let path = docs_dir().join(name);
        if std::env::var_os("BERTH_UPDATE_DOCS").is_some() {
            fs_err::create_dir_all(docs_dir()).unwrap();
            fs_err::write(&path, generated).unwrap();
            return;
        }
        let committed = fs_err::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/reference/{name} is out of date: run the tests with BERTH_UPDATE_DOCS=1 and commit it"
        );
    }

    #[test]
    fn cli_reference_is_current() {
        check("cli.md", &cli_reference());
    }

    #[test]
    fn spec_reference_is_current() {
        check("spec.md", &spec_reference());
    }

    #[test]
    fn schema_is_current() {
        let schema = serde_json::to_string_pretty(&berth_model::schema::combined_schema()).unwrap();
        check("schema.json", &format!("{schema}\n"));
    }
}
