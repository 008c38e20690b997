//! `berth create cluster NAME --zones …`: build the spec from flags, validate, write it.

use std::collections::BTreeMap;

use berth_model::{
    DnsType, LoadBalancerType, Topology, create::CreateClusterOptions, ssh::SshPublicKey,
};

use crate::{
    args::{CreateClusterArgs, DnsArg, DryRunFormat, GlobalArgs, LoadBalancerArg, TopologyArg},
    commands::{get, new_cluster, store},
    error::CommandError,
    exit_status::ExitStatus,
    printer,
    settings::{self, StoreSettings},
};

/// Runs `berth create cluster`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &CreateClusterArgs,
) -> anyhow::Result<ExitStatus> {
    let name = settings::cluster_name(args.cluster.as_deref(), global)?;
    let store_settings = StoreSettings::resolve(global)?;
    let options = options(&name, args, &store_settings.url)?;
    let (cluster, instance_groups) = berth_model::create::build_cluster(&options)?;
    berth_model::validate::validate(&cluster, &instance_groups)?;
    let ssh_key = ssh_key(args.ssh_public_key.as_deref())?;

    if args.dry_run {
        let text = match args.output {
            DryRunFormat::Yaml => get::yaml(Some(&cluster), &instance_groups)?,
            DryRunFormat::Json => get::json(Some(&cluster), &instance_groups)?,
        };
        printer::stdout(&text)?;
        return Ok(ExitStatus::Success);
    }

    let specs = store::open_cluster(global, &name).await?;
    new_cluster::write(&specs, &cluster, &instance_groups, ssh_key.as_ref()).await?;
    let state = if store_settings.default_dir.is_some() {
        String::new()
    } else {
        format!(" --state {}", store_settings.url)
    };
    printer::note(&format!(
        "Cluster `{name}` written to {} ({} instance groups{}).\n\n\
         Review or change it:\n  berth get all --name {name}{state}\n  berth edit cluster {name}{state}\n\n\
         Then create it on AWS:\n  berth update cluster {name}{state} --yes",
        store_settings.url,
        instance_groups.len(),
        if ssh_key.is_some() {
            ", SSH key"
        } else {
            ", no SSH key"
        },
    ));
    Ok(ExitStatus::Success)
}

fn options(
    name: &str,
    args: &CreateClusterArgs,
    store_url: &str,
) -> anyhow::Result<CreateClusterOptions> {
    let mut cloud_labels = BTreeMap::new();
    for label in &args.cloud_labels {
        let (key, value) = label
            .split_once('=')
            .ok_or_else(|| CommandError::NotKeyValue {
                flag: "cloud-labels",
                value: label.clone(),
            })?;
        cloud_labels.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    Ok(CreateClusterOptions {
        name: name.to_owned(),
        zones: args.zones.clone(),
        control_plane_zones: args.control_plane_zones.clone(),
        control_plane_count: args.control_plane_count,
        node_count: args.node_count,
        node_size: args.node_size.clone(),
        control_plane_size: args.control_plane_size.clone(),
        kubernetes_version: args.kubernetes_version.clone(),
        networking: args.networking.clone(),
        topology: match args.topology {
            TopologyArg::Public => Topology::Public,
            TopologyArg::Private => Topology::Private,
        },
        bastion: args.bastion,
        dns_zone: args.dns_zone.clone(),
        dns: match args.dns {
            Some(DnsArg::Public) => DnsType::Public,
            Some(DnsArg::Private) => DnsType::Private,
            Some(DnsArg::None) => DnsType::None,
            None if args.dns_zone.is_some() => DnsType::Public,
            None => DnsType::None,
        },
        network_cidr: args.network_cidr.clone(),
        network_id: args.vpc.clone(),
        subnet_ids: args.subnets.clone(),
        admin_access: args.admin_access.clone(),
        ssh_access: args.ssh_access.clone(),
        image: args.image.clone(),
        cloud_labels,
        api_load_balancer_type: args.api_loadbalancer_type.map(|kind| match kind {
            LoadBalancerArg::Public => LoadBalancerType::Public,
            LoadBalancerArg::Internal => LoadBalancerType::Internal,
        }),
        associate_public_ip: args.associate_public_ip,
        config_base: format!("{}/{name}", store_url.trim_end_matches('/')),
    })
}

/// The SSH key: the file given, else the user's default key if there is one, else none.
fn ssh_key(file: Option<&str>) -> anyhow::Result<Option<SshPublicKey>> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file).map_err(|source| CommandError::ReadInput {
            path: file.to_owned(),
            source,
        })?;
        return Ok(Some(SshPublicKey::parse(&text, file)?));
    }
    let Some(home) = std::env::var_os("HOME") else {
        return Ok(None);
    };
    for candidate in [".ssh/id_rsa.pub", ".ssh/id_ed25519.pub"] {
        let path = std::path::Path::new(&home).join(candidate);
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(Some(SshPublicKey::parse(
                &text,
                &path.display().to_string(),
            )?));
        }
    }
    Ok(None)
}
