//! Route 53 alias records for the API. The hosted zone is the user's: it is looked up by name
//! (one shared `data "aws_route53_zone"` per zone), never created.

use berth_model::aws::DnsRecord;
use serde_json::json;

use super::{
    RenderError, RenderTerraform,
    expression::{literal, reference},
    module::TfModule,
    origin,
};

impl RenderTerraform for DnsRecord {
    fn render(&self, tf: &mut TfModule<'_>) -> Result<(), RenderError> {
        let origin = origin(self);
        // A public and a private zone may share a name (split-horizon DNS).
        let zone = if self.private_zone {
            format!("{}-private", self.zone)
        } else {
            self.zone.clone()
        };
        let lookup = json!({ "name": literal(&self.zone), "private_zone": self.private_zone });
        tf.shared_lookup("aws_route53_zone", &zone, &origin, lookup)?;
        let body = json!({
            "alias": [{
                "evaluate_target_health": false,
                "name": tf.reference(&origin, &self.load_balancer, "dns_name")?,
                "zone_id": tf.reference(&origin, &self.load_balancer, "zone_id")?,
            }],
            "name": literal(&self.name),
            "type": "A",
            "zone_id": reference("data.aws_route53_zone", &zone, "zone_id"),
        });
        tf.resource("aws_route53_record", &self.name, &origin, body)
    }
}

#[cfg(test)]
mod tests {
    use berth_model::aws::{DnsRecord, Graph};
    use serde_json::json;

    use crate::terraform::{fixture, rendered};

    #[test]
    fn record_aliases_the_load_balancer_in_a_looked_up_zone() {
        let mut graph = Graph::new();
        let load_balancer = fixture::api_load_balancer(&mut graph);
        for (name, private_zone) in [
            ("api.dev.example.com", false),
            ("api.internal.dev.example.com", true),
        ] {
            let record = DnsRecord {
                name: name.into(),
                zone: "example.com".into(),
                private_zone,
                load_balancer: load_balancer.clone(),
            };
            graph.add(record).unwrap();
        }
        let document = rendered(&graph);
        assert_eq!(
            document["resource"]["aws_route53_record"]["api-dev-example-com"],
            json!({
                "alias": [{
                    "evaluate_target_health": false,
                    "name": "${aws_lb.api-dev-example-com.dns_name}",
                    "zone_id": "${aws_lb.api-dev-example-com.zone_id}",
                }],
                "name": "api.dev.example.com",
                "type": "A",
                "zone_id": "${data.aws_route53_zone.example-com.zone_id}",
            })
        );
        assert_eq!(
            document["data"]["aws_route53_zone"],
            json!({
                "example-com": { "name": "example.com", "private_zone": false },
                "example-com-private": { "name": "example.com", "private_zone": true },
            })
        );
    }
}
