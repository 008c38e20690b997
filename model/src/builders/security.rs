//! Security groups and their rules, kops's rule set.
//!
//! - Control plane ↔ control plane, control plane → nodes and nodes → nodes: everything.
//! - Nodes → control plane: TCP 1–2379, 2382–4000, 4003–65535 and UDP 1–65535, i.e.
//!   everything but etcd's client and peer ports (2380–2381, 4001–4002).
//! - SSH (22) from `sshAccess` to the control plane and nodes, or, with a bastion, only to
//!   the bastion, which may then SSH to both.
//! - API (443) from `kubernetesApiAccess` to the control plane. With a load balancer the
//!   `api-elb` group admits the same CIDRs (and the cluster's own instances, which reach the
//!   API through it when there is no DNS), and the control plane admits 443 from that group
//!   and from the VPC CIDR (NLB health checks; the NLB preserves client addresses, which is
//!   why the access CIDRs are admitted on the control plane too).
//! - Egress: everything to `0.0.0.0/0` from every group.
//!
//! IPv6 CIDRs in the access lists (such as kops's default `::/0`) are kept as CIDR rules;
//! the engine decides what to do with them in a VPC without IPv6.

use super::{BuildContext, BuildError, network::Network};
use crate::{
    aws::{Graph, Ref, RuleDirection, RuleSource, SecurityGroup, SecurityGroupRule},
    nodeup_config::NodeRole,
};

/// The API port.
pub(crate) const API_PORT: i32 = 443;
/// The SSH port.
const SSH_PORT: i32 = 22;
/// The TCP ranges nodes may reach on the control plane (everything but etcd).
pub(crate) const NODE_TO_CONTROL_PLANE_TCP: [(i32, i32); 3] =
    [(1, 2379), (2382, 4000), (4003, 65535)];

/// The cluster's security groups.
#[derive(Debug, Clone)]
pub struct SecurityGroups {
    /// `masters.<c>`.
    pub masters: Ref<SecurityGroup>,
    /// `nodes.<c>`.
    pub nodes: Ref<SecurityGroup>,
    /// `api-elb.<c>`, with a load balancer.
    pub api_elb: Option<Ref<SecurityGroup>>,
    /// `bastion.<c>`, with a bastion instance group.
    pub bastion: Option<Ref<SecurityGroup>>,
}

impl SecurityGroups {
    /// The group of a role's instances.
    ///
    /// # Errors
    /// [`BuildError::MissingField`] for a bastion when the cluster has no bastion group.
    pub fn for_role(&self, role: NodeRole) -> Result<&Ref<SecurityGroup>, BuildError> {
        match role {
            NodeRole::ControlPlane => Ok(&self.masters),
            NodeRole::Node => Ok(&self.nodes),
            NodeRole::Bastion => self
                .bastion
                .as_ref()
                .ok_or_else(|| super::context::missing("bastion security group")),
        }
    }
}

/// Adds the groups and rules.
///
/// # Errors
/// [`BuildError`] when the graph refuses a node.
pub fn build(
    context: &BuildContext,
    graph: &mut Graph,
    network: &Network,
) -> Result<SecurityGroups, BuildError> {
    let mut group = |prefix: &str, description: &str| {
        let name = context.qualified(prefix);
        graph.add(SecurityGroup {
            vpc: network.vpc.clone(),
            description: format!("{description} of {}", context.name()),
            tags: context.owned_tags(&name),
            name,
        })
    };
    let masters = group("masters", "Security group for the control plane")?;
    let nodes = group("nodes", "Security group for nodes")?;
    let api_elb = match context.load_balancer() {
        Some(_) => Some(group(
            "api-elb",
            "Security group for the API load balancer",
        )?),
        None => None,
    };
    let bastion = if context.has_bastion() {
        Some(group("bastion", "Security group for the bastion")?)
    } else {
        None
    };
    let groups = SecurityGroups {
        masters,
        nodes,
        api_elb,
        bastion,
    };
    rules(context, graph, &groups)?;
    Ok(groups)
}

fn rules(
    context: &BuildContext,
    graph: &mut Graph,
    groups: &SecurityGroups,
) -> Result<(), BuildError> {
    let spec = context.spec();
    let mut rules = Rules { graph };
    let (masters, nodes) = (&groups.masters, &groups.nodes);

    rules.all_from_group(masters, masters)?;
    rules.all_from_group(nodes, masters)?;
    rules.all_from_group(nodes, nodes)?;
    for (from, to) in NODE_TO_CONTROL_PLANE_TCP {
        rules.ingress(masters, "tcp", from, to, RuleSource::Group(nodes.clone()))?;
    }
    rules.ingress(masters, "udp", 1, 65535, RuleSource::Group(nodes.clone()))?;

    match &groups.bastion {
        Some(bastion) => {
            for cidr in &spec.ssh_access {
                rules.ingress(
                    bastion,
                    "tcp",
                    SSH_PORT,
                    SSH_PORT,
                    RuleSource::Cidr(cidr.clone()),
                )?;
            }
            for target in [masters, nodes] {
                rules.ingress(
                    target,
                    "tcp",
                    SSH_PORT,
                    SSH_PORT,
                    RuleSource::Group(bastion.clone()),
                )?;
            }
        }
        None => {
            for target in [masters, nodes] {
                for cidr in &spec.ssh_access {
                    rules.ingress(
                        target,
                        "tcp",
                        SSH_PORT,
                        SSH_PORT,
                        RuleSource::Cidr(cidr.clone()),
                    )?;
                }
            }
        }
    }

    for cidr in &spec.kubernetes_api_access {
        rules.ingress(
            masters,
            "tcp",
            API_PORT,
            API_PORT,
            RuleSource::Cidr(cidr.clone()),
        )?;
    }
    if let Some(api_elb) = &groups.api_elb {
        for cidr in &spec.kubernetes_api_access {
            rules.ingress(
                api_elb,
                "tcp",
                API_PORT,
                API_PORT,
                RuleSource::Cidr(cidr.clone()),
            )?;
        }
        for member in [masters, nodes] {
            rules.ingress(
                api_elb,
                "tcp",
                API_PORT,
                API_PORT,
                RuleSource::Group(member.clone()),
            )?;
        }
        rules.ingress(
            masters,
            "tcp",
            API_PORT,
            API_PORT,
            RuleSource::Group(api_elb.clone()),
        )?;
        let vpc_cidr = context.network_cidr()?.to_owned();
        if !spec.kubernetes_api_access.contains(&vpc_cidr) {
            rules.ingress(
                masters,
                "tcp",
                API_PORT,
                API_PORT,
                RuleSource::Cidr(vpc_cidr),
            )?;
        }
    }

    let all_groups = [
        Some(masters),
        Some(nodes),
        groups.api_elb.as_ref(),
        groups.bastion.as_ref(),
    ];
    for group in all_groups.into_iter().flatten() {
        rules.egress_all(group)?;
    }
    Ok(())
}

/// Adds rules with readable unique names.
struct Rules<'g> {
    graph: &'g mut Graph,
}

impl Rules<'_> {
    fn all_from_group(
        &mut self,
        target: &Ref<SecurityGroup>,
        source: &Ref<SecurityGroup>,
    ) -> Result<(), BuildError> {
        self.ingress(target, "-1", 0, 0, RuleSource::Group(source.clone()))
    }

    fn ingress(
        &mut self,
        target: &Ref<SecurityGroup>,
        protocol: &str,
        from_port: i32,
        to_port: i32,
        source: RuleSource,
    ) -> Result<(), BuildError> {
        let peer = match &source {
            RuleSource::Cidr(cidr) => cidr.clone(),
            RuleSource::Group(group) => group.key().name.clone(),
        };
        let target_name = &target.key().name;
        self.graph.add(SecurityGroupRule {
            name: format!(
                "from-{peer}-to-{target_name}-{}",
                ports(protocol, from_port, to_port)
            ),
            security_group: target.clone(),
            direction: RuleDirection::Ingress,
            protocol: protocol.to_owned(),
            from_port,
            to_port,
            source,
        })?;
        Ok(())
    }

    fn egress_all(&mut self, group: &Ref<SecurityGroup>) -> Result<(), BuildError> {
        self.graph.add(SecurityGroupRule {
            name: format!("from-{}-egress-all-to-0.0.0.0/0", group.key().name),
            security_group: group.clone(),
            direction: RuleDirection::Egress,
            protocol: "-1".to_owned(),
            from_port: 0,
            to_port: 0,
            source: RuleSource::Cidr("0.0.0.0/0".to_owned()),
        })?;
        Ok(())
    }
}

fn ports(protocol: &str, from: i32, to: i32) -> String {
    if protocol == "-1" {
        "all".to_owned()
    } else if from == to {
        format!("{protocol}-{from}")
    } else {
        format!("{protocol}-{from}-{to}")
    }
}
