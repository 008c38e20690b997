//! Machines: the key pair, launch templates, autoscaling groups and etcd volumes.
//!
//! The root volume's device name depends on the AMI (`/dev/xvda` on Amazon Linux,
//! `/dev/sda1` on Ubuntu), and the graph only knows the image id, so each launch template
//! reads it from a shared `data "aws_ami"` lookup instead of guessing: a wrong name would
//! attach a second, unused volume instead of sizing the root one.

use berth_model::aws::{AutoscalingGroup, EbsVolume, KeyPair, LaunchTemplate};
use serde_json::{Value, json};

use super::{
    RenderError, RenderTerraform,
    expression::{file, file_base64, literal, literals, reference, tags},
    module::TfModule,
    origin,
};

/// Instance metadata as the template asks (the builders default to IMDSv2 only, one hop).
fn metadata_options(template: &LaunchTemplate) -> Value {
    json!([{
        "http_endpoint": "enabled",
        "http_put_response_hop_limit": template.metadata_hop_limit,
        "http_tokens": literal(&template.metadata_http_tokens),
    }])
}

/// The root volume's `ebs` block.
fn root_volume(template: &LaunchTemplate) -> Value {
    let mut ebs = json!({
        "delete_on_termination": true,
        "encrypted": template.root_volume_encrypted,
        "volume_size": template.root_volume_size,
        "volume_type": literal(&template.root_volume_type),
    });
    if let Some(iops) = template.root_volume_iops {
        ebs["iops"] = json!(iops);
    }
    if let Some(throughput) = template.root_volume_throughput {
        ebs["throughput"] = json!(throughput);
    }
    json!([ebs])
}

impl RenderTerraform for KeyPair {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let public_key = tf.data_file("aws_key_pair", &self.name, "public_key", &self.public_key);
        let body = json!({
            "key_name": literal(&self.name),
            "public_key": file(&public_key),
            "tags": tags(&self.tags),
        });
        tf.resource("aws_key_pair", &self.name, &origin(self), body)
    }
}

impl RenderTerraform for LaunchTemplate {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let image_filter = json!({
            "filter": [{ "name": "image-id", "values": literals([self.image_id.as_str()]) }],
        });
        tf.shared_lookup("aws_ami", &self.image_id, &origin, image_filter)?;
        let user_data = tf.data_file(
            "aws_launch_template",
            &self.name,
            "user_data",
            &self.user_data,
        );
        let mut body = json!({
            "block_device_mappings": [{
                "device_name": reference("data.aws_ami", &self.image_id, "root_device_name"),
                "ebs": root_volume(self),
            }],
            "iam_instance_profile": [{
                "name": tf.reference(&origin, &self.instance_profile, "name")?,
            }],
            "image_id": literal(&self.image_id),
            "instance_type": literal(&self.instance_type),
            // The group follows `latest_version`; a replacement must exist before it switches.
            "lifecycle": { "create_before_destroy": true },
            "metadata_options": metadata_options(self),
            "name": literal(&self.name),
            "network_interfaces": [{
                "associate_public_ip_address": self.associate_public_ip,
                "delete_on_termination": true,
                "device_index": 0,
                "security_groups": tf.references(&origin, &self.security_groups, "id")?,
            }],
            "tag_specifications": [
                { "resource_type": "instance", "tags": tags(&self.tags) },
                { "resource_type": "volume", "tags": tags(&self.tags) },
            ],
            "tags": tags(&self.tags),
            "user_data": file_base64(&user_data),
        });
        if let Some(key_pair) = &self.key_pair {
            body["key_name"] = tf.reference(&origin, key_pair, "key_name")?;
        }
        tf.resource("aws_launch_template", &self.name, &origin, body)
    }
}

impl RenderTerraform for AutoscalingGroup {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let tag_blocks: Vec<Value> = self
            .tags
            .iter()
            .map(|(key, value)| {
                json!({ "key": literal(key), "propagate_at_launch": true, "value": literal(value) })
            })
            .collect();
        let mut body = json!({
            "launch_template": [{
                "id": tf.reference(&origin, &self.launch_template, "id")?,
                "version": tf.reference(&origin, &self.launch_template, "latest_version")?,
            }],
            "max_size": self.max_size,
            "min_size": self.min_size,
            "name": literal(&self.name),
            "tag": tag_blocks,
            "vpc_zone_identifier": tf.references(&origin, &self.subnets, "id")?,
        });
        if !self.target_groups.is_empty() {
            body["target_group_arns"] = tf.references(&origin, &self.target_groups, "arn")?;
        }
        if let Some(lifetime) = self.max_instance_lifetime {
            body["max_instance_lifetime"] = json!(lifetime);
        }
        tf.resource("aws_autoscaling_group", &self.name, &origin, body)
    }
}

impl RenderTerraform for EbsVolume {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let mut body = json!({
            "availability_zone": literal(&self.zone),
            "encrypted": self.encrypted,
            "size": self.size,
            "tags": tags(&self.tags),
            "type": literal(&self.volume_type),
        });
        if let Some(iops) = self.iops {
            body["iops"] = json!(iops);
        }
        if let Some(throughput) = self.throughput {
            body["throughput"] = json!(throughput);
        }
        tf.resource("aws_ebs_volume", &self.name, &origin(self), body)
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::{EbsVolume, Graph, Tags};
    use serde_json::json;

    use crate::terraform::{fixture, render, rendered};

    #[test]
    fn key_pair_public_key_is_a_data_file() {
        let mut graph = Graph::new();
        fixture::key_pair(&mut graph);
        let output = render(&graph, "us-east-1", "dev.example.com").unwrap();
        assert_eq!(
            output.files["data/aws_key_pair_dev-example-com-abcd_public_key"],
            fixture::PUBLIC_KEY.as_bytes()
        );
        let document = rendered(&graph);
        assert_eq!(
            document["resource"]["aws_key_pair"]["dev-example-com-abcd"]["public_key"],
            json!("${file(\"${path.module}/data/aws_key_pair_dev-example-com-abcd_public_key\")}")
        );
    }

    #[test]
    fn launch_template_is_hardened_and_reads_user_data_from_a_file() {
        let mut graph = Graph::new();
        fixture::machines(&mut graph);
        let output = render(&graph, "us-east-1", "dev.example.com").unwrap();
        assert_eq!(
            output.files["data/aws_launch_template_nodes-dev-example-com_user_data"],
            b"#!/bin/bash\necho ${not_a_template}\n"
        );
        let document = rendered(&graph);
        let template = &document["resource"]["aws_launch_template"]["nodes-dev-example-com"];
        assert_eq!(
            template["user_data"],
            json!(
                "${filebase64(\"${path.module}/data/aws_launch_template_nodes-dev-example-com_user_data\")}"
            )
        );
        assert_eq!(
            template["metadata_options"],
            json!([{ "http_endpoint": "enabled", "http_put_response_hop_limit": 1, "http_tokens": "required" }])
        );
        assert_eq!(
            template["iam_instance_profile"],
            json!([{ "name": "${aws_iam_instance_profile.nodes-dev-example-com.name}" }])
        );
        assert_eq!(
            template["key_name"],
            json!("${aws_key_pair.dev-example-com-abcd.key_name}")
        );
        assert_eq!(
            template["network_interfaces"][0]["security_groups"],
            json!(["${aws_security_group.nodes-dev-example-com.id}"])
        );
        assert_eq!(
            template["block_device_mappings"][0]["device_name"],
            json!("${data.aws_ami.ami-0123.root_device_name}")
        );
        assert_eq!(
            document["data"]["aws_ami"]["ami-0123"],
            json!({ "filter": [{ "name": "image-id", "values": ["ami-0123"] }] })
        );
        let resource_types: Vec<&str> = template["tag_specifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|spec| spec["resource_type"].as_str().unwrap())
            .collect();
        assert_eq!(resource_types, ["instance", "volume"]);
    }

    #[test]
    fn autoscaling_group_follows_the_latest_template_and_propagates_tags() {
        let mut graph = Graph::new();
        fixture::machines(&mut graph);
        let document = rendered(&graph);
        let group = &document["resource"]["aws_autoscaling_group"]["nodes-dev-example-com"];
        assert_eq!(
            group["launch_template"],
            json!([{
                "id": "${aws_launch_template.nodes-dev-example-com.id}",
                "version": "${aws_launch_template.nodes-dev-example-com.latest_version}",
            }])
        );
        assert_eq!(
            group["vpc_zone_identifier"],
            json!(["${aws_subnet.us-east-1a-dev-example-com.id}"])
        );
        assert_eq!(group["max_instance_lifetime"], json!(604_800));
        assert_eq!(
            group["tag"],
            json!([
                { "key": "KubernetesCluster", "propagate_at_launch": true, "value": "dev.example.com" },
                { "key": "Name", "propagate_at_launch": true, "value": "nodes.dev.example.com" },
            ])
        );
        assert_eq!(group.get("target_group_arns"), None);
    }

    #[test]
    fn ebs_volume_renders_optional_performance_only_when_set() {
        let mut graph = Graph::new();
        let volume = EbsVolume {
            name: "a.etcd-main.dev.example.com".into(),
            zone: "us-east-1a".into(),
            size: 20,
            volume_type: "gp3".into(),
            iops: Some(3000),
            throughput: None,
            encrypted: true,
            tags: Tags::new(),
        };
        graph.add(volume).unwrap();
        let document = rendered(&graph);
        assert_eq!(
            document["resource"]["aws_ebs_volume"]["a-etcd-main-dev-example-com"],
            json!({
                "availability_zone": "us-east-1a",
                "encrypted": true,
                "iops": 3000,
                "size": 20,
                "tags": {},
                "type": "gp3",
            })
        );
    }
}
