//! Security groups and their rules (always separate `aws_security_group_rule` resources, as
//! kops renders them, never inline blocks).

use berth_model::aws::{RuleDirection, RuleSource, SecurityGroup, SecurityGroupRule};
use serde_json::json;

use super::{
    RenderError, RenderTerraform,
    expression::{literal, tags},
    module::TfModule,
    origin,
};

impl RenderTerraform for SecurityGroup {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "description": literal(&self.description),
            "name": literal(&self.name),
            "tags": tags(&self.tags),
            "vpc_id": tf.reference(&origin, &self.vpc, "id")?,
        });
        tf.resource("aws_security_group", &self.name, &origin, body)
    }
}

impl RenderTerraform for SecurityGroupRule {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let direction = match self.direction {
            RuleDirection::Ingress => "ingress",
            RuleDirection::Egress => "egress",
        };
        let mut body = json!({
            "from_port": self.from_port,
            "protocol": literal(&self.protocol),
            "security_group_id": tf.reference(&origin, &self.security_group, "id")?,
            "to_port": self.to_port,
            "type": direction,
        });
        match &self.source {
            RuleSource::Cidr(cidr) if cidr.contains(':') => {
                body["ipv6_cidr_blocks"] = json!([literal(cidr)]);
            }
            RuleSource::Cidr(cidr) => body["cidr_blocks"] = json!([literal(cidr)]),
            RuleSource::Group(group) => {
                body["source_security_group_id"] = tf.reference(&origin, group, "id")?;
            }
        }
        tf.resource("aws_security_group_rule", &self.name, &origin, body)
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::{Graph, RuleDirection, RuleSource, SecurityGroupRule};
    use serde_json::json;

    use crate::terraform::{fixture, rendered};

    fn rule(
        name: &str,
        group: &berth_model::aws::Ref<berth_model::aws::SecurityGroup>,
        direction: RuleDirection,
        source: RuleSource,
    ) -> SecurityGroupRule {
        SecurityGroupRule {
            name: name.into(),
            security_group: group.clone(),
            direction,
            protocol: "tcp".into(),
            from_port: 443,
            to_port: 443,
            source,
        }
    }

    #[test]
    fn security_group_has_name_description_vpc_and_tags() {
        let mut graph = Graph::new();
        let vpc = fixture::vpc(&mut graph, None);
        fixture::security_groups(&mut graph, &vpc);
        let document = rendered(&graph);
        assert_eq!(
            document["resource"]["aws_security_group"]["nodes-dev-example-com"],
            json!({
                "description": "Security group for nodes",
                "name": "nodes.dev.example.com",
                "tags": { "Name": "nodes.dev.example.com" },
                "vpc_id": "${aws_vpc.dev-example-com.id}",
            })
        );
    }

    #[test]
    fn rules_render_ipv4_ipv6_and_group_sources() {
        let mut graph = Graph::new();
        let vpc = fixture::vpc(&mut graph, None);
        let (masters, nodes) = fixture::security_groups(&mut graph, &vpc);
        let cidr = RuleSource::Cidr("0.0.0.0/0".into());
        graph
            .add(rule("https-v4", &masters, RuleDirection::Ingress, cidr))
            .unwrap();
        let cidr = RuleSource::Cidr("::/0".into());
        graph
            .add(rule("https-v6", &masters, RuleDirection::Egress, cidr))
            .unwrap();
        graph
            .add(rule(
                "from-nodes",
                &masters,
                RuleDirection::Ingress,
                RuleSource::Group(nodes),
            ))
            .unwrap();
        let rules = &rendered(&graph)["resource"]["aws_security_group_rule"];
        assert_eq!(
            rules["https-v4"],
            json!({
                "cidr_blocks": ["0.0.0.0/0"],
                "from_port": 443,
                "protocol": "tcp",
                "security_group_id": "${aws_security_group.masters-dev-example-com.id}",
                "to_port": 443,
                "type": "ingress",
            })
        );
        assert_eq!(rules["https-v6"]["ipv6_cidr_blocks"], json!(["::/0"]));
        assert_eq!(rules["https-v6"]["type"], json!("egress"));
        assert_eq!(rules["https-v6"].get("cidr_blocks"), None);
        assert_eq!(
            rules["from-nodes"]["source_security_group_id"],
            json!("${aws_security_group.nodes-dev-example-com.id}")
        );
    }
}
