//! What `berth create cluster NAME --zones …` builds: a cluster and its instance groups,
//! laid out as kops's `create cluster` lays them out.
//!
//! Pure: the CLI turns flags into [`CreateClusterOptions`]; [`build_cluster`] checks them
//! (errors name the flag) and returns the user-level spec, which passes
//! [`crate::validate()`]. It writes what kops writes, not the completed spec.
//!
//! Layout, as kops does it:
//! - subnets are carved from the network CIDR (default 172.20.0.0/16) split in eight: the
//!   zone subnets take the second and following eighths (172.20.32.0/19, 172.20.64.0/19, …);
//!   in the private topology the Utility subnets take eighths of the first eighth
//!   (172.20.0.0/22, 172.20.4.0/22, …);
//! - one control-plane group per control-plane zone (`control-plane-<zone>`), one node
//!   group per zone (`nodes-<zone>`) sharing the node count, and `bastions`;
//! - etcd `main` and `events` with one member per control-plane group, named after the
//!   zone letter.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use crate::{
    API_VERSION, AccessSpec, AuthorizationSpec, BastionSpec, CLUSTER_KIND, CLUSTER_LABEL,
    CiliumNetworkingSpec, CloudProvider, CloudProviderName, Cluster, ClusterSpec,
    ClusterSubnetSpec, CniNetworkingSpec, DEFAULT_KUBERNETES_VERSION, DnsAccessSpec, DnsSpec,
    DnsType, EtcdClusterSpec, EtcdManagerSpec, EtcdMemberSpec, INSTANCE_GROUP_KIND, IamSpec,
    InstanceGroup, InstanceGroupRole, InstanceGroupSpec, InstanceMetadataSpec, KubeProxySpec,
    KubeletSpec, KubernetesVersion, LoadBalancerAccessSpec, LoadBalancerClass, LoadBalancerType,
    NetworkingSpec, ObjectMeta, RbacAuthorizationSpec, SubnetType, Topology, TopologySpec,
    complete::{
        DEFAULT_ACCESS, DEFAULT_BASTION_MACHINE_TYPE, DEFAULT_NETWORK_CIDR,
        DEFAULT_NON_MASQUERADE_CIDR, INSTANCE_GROUP_LABEL,
    },
    validate::{dns_name_problem, ipv4_cidr, region_of_zone, zone_letter},
};

/// Default image: Ubuntu 24.04 LTS (noble), amd64, published under Canonical's owner ID.
pub const DEFAULT_IMAGE: &str =
    "099720109477/ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261101";
/// Default instance type for control-plane and node groups.
pub const DEFAULT_MACHINE_TYPE: &str = "t3.medium";
/// Default CNI for `--networking`.
pub const DEFAULT_NETWORKING: &str = "cilium";
/// Default node count for `--node-count`.
pub const DEFAULT_NODE_COUNT: u32 = 2;

/// The options of `create cluster`, one field per flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateClusterOptions {
    /// Cluster name (a DNS name).
    pub name: String,
    /// `--zones`: zones for nodes (and the control plane unless `--control-plane-zones`).
    pub zones: Vec<String>,
    /// `--control-plane-zones`.
    pub control_plane_zones: Vec<String>,
    /// `--control-plane-count` (default: the number of control-plane zones, or 1).
    pub control_plane_count: Option<u32>,
    /// `--node-count` (the CLI's default is 2).
    pub node_count: u32,
    /// `--node-size`.
    pub node_size: Option<String>,
    /// `--control-plane-size`.
    pub control_plane_size: Option<String>,
    /// `--kubernetes-version` (default: [`DEFAULT_KUBERNETES_VERSION`]).
    pub kubernetes_version: Option<String>,
    /// `--networking`: `cilium` (default) or `cni`.
    pub networking: String,
    /// `--topology`.
    pub topology: Topology,
    /// `--bastion` (private topology only).
    pub bastion: bool,
    /// `--dns-zone`.
    pub dns_zone: Option<String>,
    /// `--dns`.
    pub dns: DnsType,
    /// `--network-cidr` (default 172.20.0.0/16).
    pub network_cidr: Option<String>,
    /// `--vpc` / `--network-id`: a shared VPC.
    pub network_id: Option<String>,
    /// `--subnets`: shared subnet IDs, one per zone in `--zones` order.
    pub subnet_ids: Vec<String>,
    /// `--admin-access`: CIDRs allowed to reach the API (default anywhere).
    pub admin_access: Vec<String>,
    /// `--ssh-access`: CIDRs allowed to SSH (default: `--admin-access`, else anywhere).
    pub ssh_access: Vec<String>,
    /// `--image`.
    pub image: Option<String>,
    /// `--cloud-labels`.
    pub cloud_labels: BTreeMap<String, String>,
    /// `--api-loadbalancer-type`.
    pub api_load_balancer_type: Option<LoadBalancerType>,
    /// `--associate-public-ip`.
    pub associate_public_ip: Option<bool>,
    /// Where the cluster's configuration lives: `<state store>/<name>`.
    pub config_base: String,
}

impl Default for CreateClusterOptions {
    fn default() -> Self {
        Self {
            name: String::new(),
            zones: Vec::new(),
            control_plane_zones: Vec::new(),
            control_plane_count: None,
            node_count: DEFAULT_NODE_COUNT,
            node_size: None,
            control_plane_size: None,
            kubernetes_version: None,
            networking: DEFAULT_NETWORKING.to_owned(),
            topology: Topology::Public,
            bastion: false,
            dns_zone: None,
            dns: DnsType::None,
            network_cidr: None,
            network_id: None,
            subnet_ids: Vec::new(),
            admin_access: Vec::new(),
            ssh_access: Vec::new(),
            image: None,
            cloud_labels: BTreeMap::new(),
            api_load_balancer_type: None,
            associate_public_ip: None,
            config_base: String::new(),
        }
    }
}

/// Options that cannot make a cluster; the message names the flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct CreateError {
    /// The flag at fault, such as `--zones`.
    pub flag: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn fail<T>(flag: &'static str, message: impl Into<String>) -> Result<T, CreateError> {
    Err(CreateError {
        flag,
        message: message.into(),
    })
}

/// Build the cluster and instance groups `create cluster` would write.
///
/// # Errors
/// [`CreateError`] naming the flag when the options are inconsistent.
pub fn build_cluster(
    options: &CreateClusterOptions,
) -> Result<(Cluster, Vec<InstanceGroup>), CreateError> {
    check_name(&options.name)?;
    let zones = check_zones("--zones", &options.zones, None)?;
    let region = region_of_zone(&zones[0]).unwrap_or_default().to_owned();
    let control_plane_zones = if options.control_plane_zones.is_empty() {
        Vec::new()
    } else {
        check_zones(
            "--control-plane-zones",
            &options.control_plane_zones,
            Some(&region),
        )?
    };
    let version = options
        .kubernetes_version
        .clone()
        .unwrap_or_else(|| DEFAULT_KUBERNETES_VERSION.to_owned());
    match version.parse::<KubernetesVersion>() {
        Err(error) => return fail("--kubernetes-version", error.to_string()),
        Ok(parsed) if !parsed.is_supported() => {
            return fail(
                "--kubernetes-version",
                format!(
                    "{parsed} is not supported (supported: {} to {}.x)",
                    crate::MIN_KUBERNETES_VERSION,
                    crate::MAX_KUBERNETES_MINOR
                ),
            );
        }
        Ok(_) => {}
    }
    let networking = networking(&options.networking)?;
    if options.bastion && options.topology != Topology::Private {
        return fail("--bastion", "requires --topology private");
    }
    if options.dns == DnsType::None && options.dns_zone.is_some() {
        return fail("--dns-zone", "cannot be used with --dns none");
    }
    for (flag, list) in [
        ("--admin-access", &options.admin_access),
        ("--ssh-access", &options.ssh_access),
    ] {
        for entry in list {
            if let Err(problem) = crate::validate::any_cidr(entry) {
                return fail(flag, problem);
            }
        }
    }
    if options.config_base.is_empty() {
        return fail("--state", "a state store is required to derive configBase");
    }
    if options.node_size.as_deref() == Some("") || options.control_plane_size.as_deref() == Some("")
    {
        return fail("--node-size", "must not be empty");
    }

    let subnets = build_subnets(options, &zones)?;
    let placements = control_plane_placements(options, &zones, &control_plane_zones)?;
    let name = &options.name;

    let mut groups = Vec::new();
    for (group_name, zone, _) in &placements {
        groups.push(instance_group(
            options,
            group_name,
            InstanceGroupRole::ControlPlane,
            vec![zone.clone()],
            1,
        ));
    }
    let per_zone = distribute(options.node_count, zones.len());
    for (zone, count) in zones.iter().zip(per_zone) {
        groups.push(instance_group(
            options,
            &format!("nodes-{zone}"),
            InstanceGroupRole::Node,
            vec![zone.clone()],
            count,
        ));
    }
    if options.bastion {
        let utility = zones.iter().map(|zone| format!("utility-{zone}")).collect();
        groups.push(instance_group(
            options,
            "bastions",
            InstanceGroupRole::Bastion,
            utility,
            1,
        ));
    }

    let members: Vec<EtcdMemberSpec> = placements
        .iter()
        .map(|(group_name, _, member)| EtcdMemberSpec {
            name: member.clone(),
            instance_group: group_name.clone(),
            encrypted_volume: Some(true),
            ..EtcdMemberSpec::default()
        })
        .collect();
    let etcd_clusters = [("main", "200m"), ("events", "100m")]
        .into_iter()
        .map(|(etcd_name, cpu)| EtcdClusterSpec {
            name: etcd_name.to_owned(),
            etcd_members: members.clone(),
            cpu_request: Some(cpu.to_owned()),
            memory_request: Some("100Mi".to_owned()),
            manager: Some(EtcdManagerSpec {
                backup_retention_days: Some(90),
            }),
            ..EtcdClusterSpec::default()
        })
        .collect();

    let api = if options.dns == DnsType::None || options.api_load_balancer_type.is_some() {
        AccessSpec {
            load_balancer: Some(LoadBalancerAccessSpec {
                load_balancer_type: Some(
                    options
                        .api_load_balancer_type
                        .unwrap_or(LoadBalancerType::Public),
                ),
                class: Some(LoadBalancerClass::Network),
                ..LoadBalancerAccessSpec::default()
            }),
            ..AccessSpec::default()
        }
    } else {
        AccessSpec {
            dns: Some(DnsAccessSpec::default()),
            ..AccessSpec::default()
        }
    };
    let access = |list: &[String]| -> Vec<String> {
        if list.is_empty() {
            DEFAULT_ACCESS
                .iter()
                .map(|cidr| (*cidr).to_owned())
                .collect()
        } else {
            list.to_vec()
        }
    };
    let ssh_access = if options.ssh_access.is_empty() {
        access(&options.admin_access)
    } else {
        options.ssh_access.clone()
    };
    let uses_cilium = networking.cilium.is_some();
    let cluster = Cluster {
        api_version: API_VERSION.to_owned(),
        kind: CLUSTER_KIND.to_owned(),
        metadata: ObjectMeta {
            name: name.clone(),
            ..ObjectMeta::default()
        },
        spec: ClusterSpec {
            api: Some(api),
            authorization: Some(AuthorizationSpec {
                rbac: Some(RbacAuthorizationSpec {}),
            }),
            channel: Some("stable".to_owned()),
            cloud_labels: options.cloud_labels.clone(),
            cloud_provider: Some(CloudProvider::Name(CloudProviderName::Aws)),
            config_base: Some(options.config_base.clone()),
            dns_zone: options.dns_zone.clone(),
            etcd_clusters,
            iam: Some(IamSpec {
                allow_container_registry: Some(true),
                legacy: Some(false),
            }),
            kube_proxy: uses_cilium.then_some(KubeProxySpec {
                enabled: Some(false),
            }),
            kubelet: Some(KubeletSpec {
                anonymous_auth: Some(false),
                ..KubeletSpec::default()
            }),
            kubernetes_api_access: access(&options.admin_access),
            kubernetes_version: Some(version),
            master_public_name: Some(format!("api.{name}")),
            network_cidr: options.network_cidr.clone().or_else(|| {
                options
                    .network_id
                    .is_none()
                    .then(|| DEFAULT_NETWORK_CIDR.to_owned())
            }),
            network_id: options.network_id.clone(),
            networking: Some(networking),
            non_masquerade_cidr: Some(DEFAULT_NON_MASQUERADE_CIDR.to_owned()),
            ssh_access,
            subnets,
            topology: Some(TopologySpec {
                bastion: (options.bastion && options.dns != DnsType::None).then(|| BastionSpec {
                    public_name: Some(format!("bastion.{name}")),
                }),
                dns: Some(DnsSpec {
                    dns_type: options.dns,
                }),
                ..TopologySpec::default()
            }),
            ..ClusterSpec::default()
        },
    };
    Ok((cluster, groups))
}

fn check_name(name: &str) -> Result<(), CreateError> {
    if let Some(problem) = dns_name_problem(name) {
        return fail(
            "--name",
            format!("`{name}` must be a lowercase DNS name: {problem}"),
        );
    }
    if !name.contains('.') {
        return fail(
            "--name",
            format!("`{name}` must be a fully qualified DNS name such as `{name}.example.com`"),
        );
    }
    Ok(())
}

fn check_zones(
    flag: &'static str,
    zones: &[String],
    region: Option<&str>,
) -> Result<Vec<String>, CreateError> {
    if zones.is_empty() {
        return fail(
            flag,
            "at least one zone is required (for example us-east-1a)",
        );
    }
    let mut unique: Vec<String> = Vec::new();
    for zone in zones {
        let Some(zone_region) = region_of_zone(zone) else {
            return fail(
                flag,
                format!("`{zone}` is not an availability zone (for example us-east-1a)"),
            );
        };
        let expected = region.or_else(|| unique.first().and_then(|first| region_of_zone(first)));
        if let Some(expected) = expected
            && zone_region != expected
        {
            return fail(
                flag,
                format!("zones must be in one region; `{zone}` is not in {expected}"),
            );
        }
        if unique.contains(zone) {
            return fail(flag, format!("zone `{zone}` is listed twice"));
        }
        unique.push(zone.clone());
    }
    Ok(unique)
}

fn networking(name: &str) -> Result<NetworkingSpec, CreateError> {
    match name {
        "cilium" => Ok(NetworkingSpec {
            cilium: Some(CiliumNetworkingSpec {
                enable_node_port: Some(true),
                ..CiliumNetworkingSpec::default()
            }),
            ..NetworkingSpec::default()
        }),
        "cni" => Ok(NetworkingSpec {
            cni: Some(CniNetworkingSpec {}),
            ..NetworkingSpec::default()
        }),
        other => fail(
            "--networking",
            format!("`{other}` is not supported by berth (supported: cilium, cni)"),
        ),
    }
}

/// (group name, zone, etcd member name) for each control-plane group.
fn control_plane_placements(
    options: &CreateClusterOptions,
    zones: &[String],
    control_plane_zones: &[String],
) -> Result<Vec<(String, String, String)>, CreateError> {
    let candidates: Vec<String> = if control_plane_zones.is_empty() {
        zones.to_vec()
    } else {
        control_plane_zones.to_vec()
    };
    let count = match options.control_plane_count {
        Some(0) => return fail("--control-plane-count", "must be at least 1"),
        Some(count) => count as usize,
        None if control_plane_zones.is_empty() => 1,
        None => control_plane_zones.len(),
    };
    if count % 2 == 0 {
        return fail(
            "--control-plane-count",
            format!(
                "{count} control-plane instances cannot keep etcd quorum; use an odd number (1, 3, 5)"
            ),
        );
    }
    let repeated = count > candidates.len();
    let mut placements = Vec::with_capacity(count);
    for index in 0..count {
        let zone = &candidates[index % candidates.len()];
        let letter = zone_letter(zone).unwrap_or_else(|| zone.clone());
        if repeated {
            let round = index / candidates.len() + 1;
            placements.push((
                format!("control-plane-{zone}-{round}"),
                zone.clone(),
                format!("{letter}-{round}"),
            ));
        } else {
            placements.push((format!("control-plane-{zone}"), zone.clone(), letter));
        }
    }
    Ok(placements)
}

/// Split `total` over `parts`, giving the remainder to the first parts.
fn distribute(total: u32, parts: usize) -> Vec<u32> {
    let parts_u32 = u32::try_from(parts).unwrap_or(u32::MAX).max(1);
    let base = total / parts_u32;
    let remainder = total % parts_u32;
    (0..parts_u32)
        .map(|index| base + u32::from(index < remainder))
        .collect()
}

fn build_subnets(
    options: &CreateClusterOptions,
    zones: &[String],
) -> Result<Vec<ClusterSubnetSpec>, CreateError> {
    let private = options.topology == Topology::Private;
    if !options.subnet_ids.is_empty() {
        if options.network_id.is_none() {
            return fail(
                "--subnets",
                "requires --vpc (the shared VPC the subnets belong to)",
            );
        }
        if options.subnet_ids.len() != zones.len() {
            return fail(
                "--subnets",
                format!(
                    "give one subnet ID per zone ({} zones, {} IDs)",
                    zones.len(),
                    options.subnet_ids.len()
                ),
            );
        }
    }
    let needs_carving = options.subnet_ids.is_empty() || private;
    let network = match (&options.network_cidr, &options.network_id) {
        (Some(text), _) => {
            Some(ipv4_cidr(text).or_else(|problem| fail("--network-cidr", problem))?)
        }
        (None, None) => ipv4_cidr(DEFAULT_NETWORK_CIDR).ok(),
        (None, Some(_)) if needs_carving => {
            return fail(
                "--network-cidr",
                "is required with --vpc, to carve subnets from (or give --subnets)",
            );
        }
        (None, Some(_)) => None,
    };
    let (big, little) = match network {
        Some(network) => carve(network, zones.len(), private)?,
        None => (Vec::new(), Vec::new()),
    };
    let mut subnets = Vec::new();
    for (index, zone) in zones.iter().enumerate() {
        let id = options.subnet_ids.get(index).cloned();
        subnets.push(ClusterSubnetSpec {
            name: zone.clone(),
            zone: zone.clone(),
            cidr: if id.is_some() {
                None
            } else {
                big.get(index).map(ToString::to_string)
            },
            subnet_type: if private {
                SubnetType::Private
            } else {
                SubnetType::Public
            },
            id,
            egress: None,
        });
    }
    if private {
        for (index, zone) in zones.iter().enumerate() {
            subnets.push(ClusterSubnetSpec {
                name: format!("utility-{zone}"),
                zone: zone.clone(),
                cidr: little.get(index).map(ToString::to_string),
                subnet_type: SubnetType::Utility,
                id: None,
                egress: None,
            });
        }
    }
    Ok(subnets)
}

/// kops's split: eighths of the network for zone subnets (skipping the first), and eighths
/// of the first eighth for utility subnets.
fn carve(
    network: Ipv4Net,
    zones: usize,
    private: bool,
) -> Result<(Vec<Ipv4Net>, Vec<Ipv4Net>), CreateError> {
    let too_small = || CreateError {
        flag: "--network-cidr",
        message: format!(
            "{network} is too small to carve subnets for {zones} zones (use /22 or larger)"
        ),
    };
    let big: Vec<Ipv4Net> = network
        .subnets(network.prefix_len() + 3)
        .map_err(|_| too_small())?
        .collect();
    if zones > big.len() - 1 {
        return fail(
            "--zones",
            format!("at most {} zones are supported", big.len() - 1),
        );
    }
    let little: Vec<Ipv4Net> = if private {
        big[0]
            .subnets(big[0].prefix_len() + 3)
            .map_err(|_| too_small())?
            .collect()
    } else {
        Vec::new()
    };
    Ok((big[1..=zones].to_vec(), little))
}

fn instance_group(
    options: &CreateClusterOptions,
    name: &str,
    role: InstanceGroupRole,
    subnets: Vec<String>,
    size: u32,
) -> InstanceGroup {
    let machine_type = match role {
        InstanceGroupRole::ControlPlane | InstanceGroupRole::Master => options
            .control_plane_size
            .clone()
            .unwrap_or_else(|| DEFAULT_MACHINE_TYPE.to_owned()),
        InstanceGroupRole::Node => options
            .node_size
            .clone()
            .unwrap_or_else(|| DEFAULT_MACHINE_TYPE.to_owned()),
        InstanceGroupRole::Bastion => DEFAULT_BASTION_MACHINE_TYPE.to_owned(),
    };
    let mut node_labels = BTreeMap::new();
    if role != InstanceGroupRole::Bastion {
        node_labels.insert(INSTANCE_GROUP_LABEL.to_owned(), name.to_owned());
    }
    InstanceGroup {
        api_version: API_VERSION.to_owned(),
        kind: INSTANCE_GROUP_KIND.to_owned(),
        metadata: ObjectMeta {
            name: name.to_owned(),
            creation_timestamp: None,
            labels: BTreeMap::from([(CLUSTER_LABEL.to_owned(), options.name.clone())]),
        },
        spec: InstanceGroupSpec {
            role,
            associate_public_ip: options.associate_public_ip,
            cloud_labels: BTreeMap::new(),
            image: Some(
                options
                    .image
                    .clone()
                    .unwrap_or_else(|| DEFAULT_IMAGE.to_owned()),
            ),
            instance_metadata: Some(InstanceMetadataSpec {
                http_put_response_hop_limit: Some(if role.is_control_plane() { 3 } else { 1 }),
                http_tokens: Some("required".to_owned()),
            }),
            machine_type: Some(machine_type),
            max_instance_lifetime: None,
            max_size: Some(size),
            min_size: Some(size),
            node_labels,
            root_volume: None,
            root_volume_size: None,
            root_volume_type: None,
            rolling_update: None,
            subnets,
            taints: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests;
