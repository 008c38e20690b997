//! Managed files (the completed spec, nodeup configs, manifests) as `aws_s3_object`s.
//!
//! The graph knows each file's key relative to the state store, not the store itself, so the
//! bucket comes from the `state_store_bucket` variable (required) and an optional
//! `state_store_prefix` (the store's path inside the bucket, with a trailing `/`). The content
//! is a data file read with `file()`, so manifests containing `${…}` stay literal.

use berth_model::aws::ManagedFile;
use serde_json::{Value, json};

use super::{
    RenderError, RenderTerraform,
    expression::{escape, file},
    module::TfModule,
    origin,
};

/// The variable naming the state store's bucket.
pub(crate) const BUCKET_VARIABLE: &str = "state_store_bucket";
/// The variable holding the state store's key prefix inside the bucket.
pub(crate) const PREFIX_VARIABLE: &str = "state_store_prefix";

impl RenderTerraform for ManagedFile {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        tf.variable(
            BUCKET_VARIABLE,
            json!({
                "description": "The S3 bucket of the Berth state store (the bucket of the `s3://` config base).",
                "type": "string",
            }),
        );
        tf.variable(
            PREFIX_VARIABLE,
            json!({
                "default": "",
                "description": "The state store's path inside the bucket, ending in `/` (empty at the bucket root).",
                "type": "string",
            }),
        );
        let content = tf.data_file("aws_s3_object", &self.name, "content", &self.contents);
        let body = json!({
            "bucket": format!("${{var.{BUCKET_VARIABLE}}}"),
            "content": file(&content),
            "key": Value::String(format!("${{var.{PREFIX_VARIABLE}}}{}", escape(&self.name))),
        });
        tf.resource("aws_s3_object", &self.name, &origin(self), body)
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::{Graph, ManagedFile};
    use serde_json::json;

    use crate::terraform::{render, rendered};

    fn graph() -> Graph {
        let mut graph = Graph::new();
        let file = ManagedFile {
            name: "dev.example.com/manifests/${x}.yaml".into(),
            contents: "value: ${literal}\n".into(),
        };
        graph.add(file).unwrap();
        graph
    }

    #[test]
    fn managed_file_is_an_s3_object_in_the_state_store_variable() {
        let document = rendered(&graph());
        assert_eq!(
            document["resource"]["aws_s3_object"]["dev-example-com-manifests---x--yaml"],
            json!({
                "bucket": "${var.state_store_bucket}",
                "content": "${file(\"${path.module}/data/aws_s3_object_dev-example-com-manifests---x--yaml_content\")}",
                "key": "${var.state_store_prefix}dev.example.com/manifests/$${x}.yaml",
            })
        );
        assert_eq!(
            document["variable"]["state_store_bucket"]["type"],
            json!("string")
        );
        assert_eq!(
            document["variable"]["state_store_prefix"]["default"],
            json!("")
        );
    }

    #[test]
    fn content_is_written_verbatim() {
        let output = render(&graph(), "us-east-1", "dev.example.com").unwrap();
        assert_eq!(
            output.files["data/aws_s3_object_dev-example-com-manifests---x--yaml_content"],
            b"value: ${literal}\n"
        );
    }

    #[test]
    fn no_managed_files_means_no_variables() {
        assert_eq!(rendered(&Graph::new()).get("variable"), None);
    }
}
