//! The API endpoint: a Network Load Balancer, its target group and its TCP listener.

use berth_model::aws::{Listener, LoadBalancer, TargetGroup};
use serde_json::json;

use super::{
    RenderError, RenderTerraform,
    expression::{literal, tags},
    module::TfModule,
    origin,
};

impl RenderTerraform for LoadBalancer {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "internal": self.scheme == "internal",
            "load_balancer_type": "network",
            "name": literal(&self.name),
            "security_groups": tf.references(&origin, &self.security_groups, "id")?,
            "subnets": tf.references(&origin, &self.subnets, "id")?,
            "tags": tags(&self.tags),
        });
        tf.resource("aws_lb", &self.name, &origin, body)
    }
}

impl RenderTerraform for TargetGroup {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "name": literal(&self.name),
            "port": self.port,
            "protocol": literal(&self.protocol),
            "tags": tags(&self.tags),
            "vpc_id": tf.reference(&origin, &self.vpc, "id")?,
        });
        tf.resource("aws_lb_target_group", &self.name, &origin, body)
    }
}

impl RenderTerraform for Listener {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "default_action": [{
                "target_group_arn": tf.reference(&origin, &self.target_group, "arn")?,
                "type": "forward",
            }],
            "load_balancer_arn": tf.reference(&origin, &self.load_balancer, "arn")?,
            "port": self.port,
            // A Network Load Balancer's API listener passes TLS through untouched.
            "protocol": "TCP",
        });
        tf.resource("aws_lb_listener", &self.name, &origin, body)
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::Graph;
    use serde_json::json;

    use crate::terraform::{fixture, rendered};

    #[test]
    fn load_balancer_target_group_and_listener_are_wired_by_arn() {
        let mut graph = Graph::new();
        fixture::api_load_balancer(&mut graph);
        let document = rendered(&graph);
        let resources = &document["resource"];
        assert_eq!(
            resources["aws_lb"]["api-dev-example-com"],
            json!({
                "internal": false,
                "load_balancer_type": "network",
                "name": "api-dev-example-com",
                "security_groups": ["${aws_security_group.api-elb-dev-example-com.id}"],
                "subnets": ["${aws_subnet.us-east-1a-dev-example-com.id}"],
                "tags": {},
            })
        );
        assert_eq!(
            resources["aws_lb_target_group"]["tcp-dev-example-com"],
            json!({
                "name": "tcp-dev-example-com",
                "port": 443,
                "protocol": "TCP",
                "tags": {},
                "vpc_id": "${aws_vpc.dev-example-com.id}",
            })
        );
        assert_eq!(
            resources["aws_lb_listener"]["api-dev-example-com-443"],
            json!({
                "default_action": [{
                    "target_group_arn": "${aws_lb_target_group.tcp-dev-example-com.arn}",
                    "type": "forward",
                }],
                "load_balancer_arn": "${aws_lb.api-dev-example-com.arn}",
                "port": 443,
                "protocol": "TCP",
            })
        );
    }
}
