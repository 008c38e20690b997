//! JSON schemas (draft 2020-12) of the manifest kinds, for editors and for the parser's
//! unknown-field checks.
//!
//! `kind` and `apiVersion` are pinned with `const`, so the combined schema's `oneOf`
//! selects exactly one kind per document (yaml-language-server relies on that).

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Value, json};

use crate::{API_VERSION, CLUSTER_KIND, Cluster, INSTANCE_GROUP_KIND, InstanceGroup};

/// Schema of a `Cluster` document.
#[must_use]
pub fn cluster_schema() -> Value {
    root_schema::<Cluster>(CLUSTER_KIND)
}

/// Schema of an `InstanceGroup` document.
#[must_use]
pub fn instance_group_schema() -> Value {
    root_schema::<InstanceGroup>(INSTANCE_GROUP_KIND)
}

/// Schema of a manifest document of either kind (`oneOf` Cluster, InstanceGroup).
#[must_use]
pub fn combined_schema() -> Value {
    let mut generator = generator();
    let cluster = generator.subschema_for::<Cluster>().to_value();
    let instance_group = generator.subschema_for::<InstanceGroup>().to_value();
    let mut definitions = Value::Object(generator.take_definitions(true));
    pin_kind(&mut definitions, "Cluster", CLUSTER_KIND);
    pin_kind(&mut definitions, "InstanceGroup", INSTANCE_GROUP_KIND);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Berth manifest",
        "description": "A kops.k8s.io/v1alpha2 Cluster or InstanceGroup document, as Berth reads it.",
        "oneOf": [cluster, instance_group],
        "$defs": definitions,
    })
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
}

fn root_schema<T: JsonSchema>(kind: &str) -> Value {
    let mut schema = generator().into_root_schema_for::<T>().to_value();
    if let Some(properties) = schema.get_mut("properties") {
        pin(properties, kind);
    }
    schema
}

fn pin_kind(definitions: &mut Value, definition: &str, kind: &str) {
    if let Some(properties) = definitions
        .get_mut(definition)
        .and_then(|schema| schema.get_mut("properties"))
    {
        pin(properties, kind);
    }
}

fn pin(properties: &mut Value, kind: &str) {
    if let Some(field) = properties.get_mut("kind").and_then(Value::as_object_mut) {
        field.insert("const".to_owned(), Value::from(kind));
    }
    if let Some(field) = properties
        .get_mut("apiVersion")
        .and_then(Value::as_object_mut)
    {
        field.insert("const".to_owned(), Value::from(API_VERSION));
    }
}
