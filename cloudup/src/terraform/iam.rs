//! IAM roles, inline policies and instance profiles. Policy documents go to data files and
//! are read with `file()`, as kops does, so their JSON is neither re-escaped nor templated.

use berth_model::aws::{IamInstanceProfile, IamRole, IamRolePolicy};
use serde_json::json;

use super::{
    RenderError, RenderTerraform,
    expression::{file, literal, tags},
    module::TfModule,
    origin,
};

impl RenderTerraform for IamRole {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let policy = tf.data_file(
            "aws_iam_role",
            &self.name,
            "policy",
            &self.assume_role_policy,
        );
        let body = json!({
            "assume_role_policy": file(&policy),
            "name": literal(&self.name),
            "tags": tags(&self.tags),
        });
        tf.resource("aws_iam_role", &self.name, &origin(self), body)
    }
}

impl RenderTerraform for IamRolePolicy {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let policy = tf.data_file(
            "aws_iam_role_policy",
            &self.name,
            "policy",
            &self.policy_document,
        );
        let body = json!({
            "name": literal(&self.name),
            "policy": file(&policy),
            "role": tf.reference(&origin, &self.role, "name")?,
        });
        tf.resource("aws_iam_role_policy", &self.name, &origin, body)
    }
}

impl RenderTerraform for IamInstanceProfile {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "name": literal(&self.name),
            "role": tf.reference(&origin, &self.role, "name")?,
            "tags": tags(&self.tags),
        });
        tf.resource("aws_iam_instance_profile", &self.name, &origin, body)
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::Graph;
    use serde_json::json;

    use crate::terraform::{fixture, render, rendered};

    #[test]
    fn role_policy_and_profile_use_data_files_and_role_names() {
        let mut graph = Graph::new();
        fixture::iam(&mut graph, "nodes");
        let document = rendered(&graph);
        let resources = &document["resource"];
        assert_eq!(
            resources["aws_iam_role"]["nodes-dev-example-com"],
            json!({
                "assume_role_policy": "${file(\"${path.module}/data/aws_iam_role_nodes-dev-example-com_policy\")}",
                "name": "nodes.dev.example.com",
                "tags": { "KubernetesCluster": "dev.example.com" },
            })
        );
        assert_eq!(
            resources["aws_iam_role_policy"]["nodes-dev-example-com"],
            json!({
                "name": "nodes.dev.example.com",
                "policy": "${file(\"${path.module}/data/aws_iam_role_policy_nodes-dev-example-com_policy\")}",
                "role": "${aws_iam_role.nodes-dev-example-com.name}",
            })
        );
        assert_eq!(
            resources["aws_iam_instance_profile"]["nodes-dev-example-com"]["role"],
            json!("${aws_iam_role.nodes-dev-example-com.name}")
        );
    }

    #[test]
    fn policy_documents_are_written_verbatim() {
        let mut graph = Graph::new();
        fixture::iam(&mut graph, "nodes");
        let output = render(&graph, "us-east-1", "dev.example.com").unwrap();
        assert_eq!(
            output.files["data/aws_iam_role_nodes-dev-example-com_policy"],
            fixture::ASSUME_ROLE_POLICY.as_bytes()
        );
        assert_eq!(
            output.files["data/aws_iam_role_policy_nodes-dev-example-com_policy"],
            fixture::ROLE_POLICY.as_bytes()
        );
    }
}
