//! The network kinds: VPC (or a lookup of a shared one), DHCP options, internet gateway,
//! subnets (or lookups plus the `shared` tag), Elastic IPs, NAT gateways, route tables, routes
//! and route table associations.

use berth_model::aws::{
    DhcpOptions, ElasticIp, InternetGateway, NatGateway, Route, RouteTable, RouteTableAssociation,
    RouteTarget, Subnet, Vpc,
};
use serde_json::json;

use super::{
    RenderError, RenderTerraform,
    expression::{literal, reference, tags},
    module::TfModule,
    origin,
};

impl RenderTerraform for Vpc {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        // A shared VPC is never created, modified or tagged: only looked up by id.
        if let Some(id) = &self.shared_id {
            return tf.lookup("aws_vpc", &self.name, &origin, json!({ "id": literal(id) }));
        }
        let body = json!({
            "cidr_block": literal(&self.cidr),
            "enable_dns_hostnames": true,
            "enable_dns_support": true,
            "tags": tags(&self.tags),
        });
        tf.resource("aws_vpc", &self.name, &origin, body)
    }
}

impl RenderTerraform for DhcpOptions {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let options = json!({
            "domain_name": literal(&self.domain_name),
            "domain_name_servers": ["AmazonProvidedDNS"],
            "tags": tags(&self.tags),
        });
        tf.resource("aws_vpc_dhcp_options", &self.name, &origin, options)?;
        let association = json!({
            "dhcp_options_id": reference("aws_vpc_dhcp_options", &self.name, "id"),
            "vpc_id": tf.reference(&origin, &self.vpc, "id")?,
        });
        tf.resource(
            "aws_vpc_dhcp_options_association",
            &self.name,
            &origin,
            association,
        )
    }
}

impl RenderTerraform for InternetGateway {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "tags": tags(&self.tags),
            "vpc_id": tf.reference(&origin, &self.vpc, "id")?,
        });
        tf.resource("aws_internet_gateway", &self.name, &origin, body)
    }
}

impl RenderTerraform for Subnet {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        // A shared subnet is looked up, and only gains the cluster's `shared` tag, one
        // `aws_ec2_tag` per tag so Terraform never owns (or strips) the user's other tags.
        if let Some(id) = &self.shared_id {
            tf.lookup(
                "aws_subnet",
                &self.name,
                &origin,
                json!({ "id": literal(id) }),
            )?;
            for (key, value) in &self.tags {
                let body = json!({
                    "key": literal(key),
                    "resource_id": literal(id),
                    "value": literal(value),
                });
                tf.resource(
                    "aws_ec2_tag",
                    &format!("{}-{key}", self.name),
                    &origin,
                    body,
                )?;
            }
            return Ok(());
        }
        let body = json!({
            "availability_zone": literal(&self.zone),
            "cidr_block": literal(&self.cidr),
            "tags": tags(&self.tags),
            "vpc_id": tf.reference(&origin, &self.vpc, "id")?,
        });
        tf.resource("aws_subnet", &self.name, &origin, body)
    }
}

impl RenderTerraform for ElasticIp {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let body = json!({ "domain": "vpc", "tags": tags(&self.tags) });
        tf.resource("aws_eip", &self.name, &origin(self), body)
    }
}

impl RenderTerraform for NatGateway {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "allocation_id": tf.reference(&origin, &self.elastic_ip, "id")?,
            "subnet_id": tf.reference(&origin, &self.subnet, "id")?,
            "tags": tags(&self.tags),
        });
        tf.resource("aws_nat_gateway", &self.name, &origin, body)
    }
}

impl RenderTerraform for RouteTable {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "tags": tags(&self.tags),
            "vpc_id": tf.reference(&origin, &self.vpc, "id")?,
        });
        tf.resource("aws_route_table", &self.name, &origin, body)
    }
}

impl RenderTerraform for Route {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let (target_field, target) = match &self.target {
            RouteTarget::InternetGateway(gateway) => {
                ("gateway_id", tf.reference(&origin, gateway, "id")?)
            }
            RouteTarget::NatGateway(gateway) => {
                ("nat_gateway_id", tf.reference(&origin, gateway, "id")?)
            }
        };
        let destination_field = if self.destination.contains(':') {
            "destination_ipv6_cidr_block"
        } else {
            "destination_cidr_block"
        };
        let mut body = json!({
            destination_field: literal(&self.destination),
            "route_table_id": tf.reference(&origin, &self.route_table, "id")?,
        });
        body[target_field] = target;
        tf.resource("aws_route", &self.name, &origin, body)
    }
}

impl RenderTerraform for RouteTableAssociation {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        let body = json!({
            "route_table_id": tf.reference(&origin, &self.route_table, "id")?,
            "subnet_id": tf.reference(&origin, &self.subnet, "id")?,
        });
        tf.resource("aws_route_table_association", &self.name, &origin, body)
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::{Graph, Tags};
    use serde_json::json;

    use crate::terraform::{fixture, rendered};

    #[test]
    fn owned_vpc_is_a_resource_with_dns_enabled() {
        let mut graph = Graph::new();
        fixture::vpc(&mut graph, None);
        let document = rendered(&graph);
        assert_eq!(
            document["resource"]["aws_vpc"]["dev-example-com"],
            json!({
                "cidr_block": "10.0.0.0/16",
                "enable_dns_hostnames": true,
                "enable_dns_support": true,
                "tags": { "KubernetesCluster": "dev.example.com", "Name": "dev.example.com" },
            })
        );
        assert_eq!(
            document["locals"]["vpc_id"],
            json!("${aws_vpc.dev-example-com.id}")
        );
    }

    #[test]
    fn shared_vpc_is_only_looked_up_and_referenced_as_data() {
        let mut graph = Graph::new();
        let vpc = fixture::vpc(&mut graph, Some("vpc-123"));
        fixture::subnet(&mut graph, &vpc, "us-east-1a", None);
        let document = rendered(&graph);
        assert_eq!(document["resource"].get("aws_vpc"), None);
        assert_eq!(
            document["data"]["aws_vpc"]["dev-example-com"],
            json!({ "id": "vpc-123" })
        );
        assert_eq!(
            document["resource"]["aws_subnet"]["us-east-1a-dev-example-com"]["vpc_id"],
            json!("${data.aws_vpc.dev-example-com.id}")
        );
    }

    #[test]
    fn shared_subnet_is_looked_up_and_only_tagged() {
        let mut graph = Graph::new();
        let vpc = fixture::vpc(&mut graph, Some("vpc-123"));
        fixture::subnet(&mut graph, &vpc, "us-east-1a", Some("subnet-1"));
        let document = rendered(&graph);
        assert_eq!(document["resource"].get("aws_subnet"), None);
        assert_eq!(
            document["data"]["aws_subnet"]["us-east-1a-dev-example-com"],
            json!({ "id": "subnet-1" })
        );
        assert_eq!(
            document["resource"]["aws_ec2_tag"]["us-east-1a-dev-example-com-kubernetes-io-cluster-dev-example-com"],
            json!({
                "key": "kubernetes.io/cluster/dev.example.com",
                "resource_id": "subnet-1",
                "value": "shared",
            })
        );
        assert_eq!(
            document["locals"]["subnet_ids"],
            json!(["${data.aws_subnet.us-east-1a-dev-example-com.id}"])
        );
    }

    #[test]
    fn dhcp_options_render_with_their_association() {
        let mut graph = Graph::new();
        let vpc = fixture::vpc(&mut graph, None);
        graph
            .add(berth_model::aws::DhcpOptions {
                name: "dev.example.com".into(),
                vpc,
                domain_name: "ec2.internal".into(),
                tags: Tags::new(),
            })
            .unwrap();
        let document = rendered(&graph);
        assert_eq!(
            document["resource"]["aws_vpc_dhcp_options"]["dev-example-com"],
            json!({ "domain_name": "ec2.internal", "domain_name_servers": ["AmazonProvidedDNS"], "tags": {} })
        );
        assert_eq!(
            document["resource"]["aws_vpc_dhcp_options_association"]["dev-example-com"],
            json!({
                "dhcp_options_id": "${aws_vpc_dhcp_options.dev-example-com.id}",
                "vpc_id": "${aws_vpc.dev-example-com.id}",
            })
        );
    }

    #[test]
    fn gateways_routes_and_associations_reference_their_dependencies() {
        let mut graph = Graph::new();
        fixture::routed_network(&mut graph);
        let document = rendered(&graph);
        let resources = &document["resource"];
        assert_eq!(
            resources["aws_internet_gateway"]["dev-example-com"]["vpc_id"],
            json!("${aws_vpc.dev-example-com.id}")
        );
        assert_eq!(
            resources["aws_eip"]["us-east-1a-dev-example-com"]["domain"],
            json!("vpc")
        );
        assert_eq!(
            resources["aws_nat_gateway"]["us-east-1a-dev-example-com"],
            json!({
                "allocation_id": "${aws_eip.us-east-1a-dev-example-com.id}",
                "subnet_id": "${aws_subnet.us-east-1a-dev-example-com.id}",
                "tags": {},
            })
        );
        assert_eq!(
            resources["aws_route"]["dev-example-com-0-0-0-0-0"],
            json!({
                "destination_cidr_block": "0.0.0.0/0",
                "gateway_id": "${aws_internet_gateway.dev-example-com.id}",
                "route_table_id": "${aws_route_table.dev-example-com.id}",
            })
        );
        assert_eq!(
            resources["aws_route"]["dev-example-com----0"],
            json!({
                "destination_ipv6_cidr_block": "::/0",
                "gateway_id": "${aws_internet_gateway.dev-example-com.id}",
                "route_table_id": "${aws_route_table.dev-example-com.id}",
            })
        );
        assert_eq!(
            resources["aws_route"]["private-us-east-1a-dev-example-com-0-0-0-0-0"]["nat_gateway_id"],
            json!("${aws_nat_gateway.us-east-1a-dev-example-com.id}")
        );
        assert_eq!(
            resources["aws_route_table_association"]["us-east-1a-dev-example-com"],
            json!({
                "route_table_id": "${aws_route_table.dev-example-com.id}",
                "subnet_id": "${aws_subnet.us-east-1a-dev-example-com.id}",
            })
        );
    }
}
