//! The reference clusters the builder tests build.

use std::collections::BTreeMap;

use super::{BuildFacts, HostedZoneFact, NodeBootstrap, NodeupAsset};
use crate::nodeup_config::Asset;
use crate::{
    CloudFacts, CompletedCluster, CreateClusterOptions, DEFAULT_IMAGE, DnsType, LoadBalancerType,
    Topology, build_cluster, complete, ssh::SshPublicKey,
};

pub(super) const AMI: &str = "ami-0123456789abcdef0";
const SSH_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example";

/// The options of `create cluster` for the reference clusters.
pub(super) fn options(name: &str, zones: &[&str]) -> CreateClusterOptions {
    CreateClusterOptions {
        name: name.to_owned(),
        zones: zones.iter().map(|zone| (*zone).to_owned()).collect(),
        config_base: format!("s3://berth-state/{name}"),
        ..CreateClusterOptions::default()
    }
}

/// (a) `--zones us-east-1a`.
pub(super) fn public_options() -> CreateClusterOptions {
    options("dev.example.com", &["us-east-1a"])
}

/// (b) `--zones us-east-1a,us-east-1b,us-east-1c --control-plane-zones same --topology
/// private --bastion`, optionally `--dns-zone example.com` (`dns: Public`) and
/// `--api-loadbalancer-type public`.
pub(super) fn private_options(dns: bool, load_balancer_with_dns: bool) -> CreateClusterOptions {
    let zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
    let mut options = options("prod.example.com", &zones);
    options.control_plane_zones = options.zones.clone();
    options.topology = Topology::Private;
    options.bastion = true;
    if dns {
        options.dns_zone = Some("example.com".to_owned());
        options.dns = DnsType::Public;
        if load_balancer_with_dns {
            options.api_load_balancer_type = Some(LoadBalancerType::Public);
        }
    }
    options
}

pub(super) fn completed(options: &CreateClusterOptions) -> CompletedCluster {
    let (cluster, groups) = build_cluster(options).unwrap();
    let facts = CloudFacts {
        region: "us-east-1".to_owned(),
        network_cidr: Some("10.1.0.0/16".to_owned()),
        state_store: Some("s3://berth-state".to_owned()),
        ..CloudFacts::default()
    };
    complete(&cluster, &groups, &facts).unwrap()
}

pub(super) fn facts(dns: bool) -> BuildFacts {
    BuildFacts {
        region: "us-east-1".to_owned(),
        images: BTreeMap::from([(DEFAULT_IMAGE.to_owned(), AMI.to_owned())]),
        ssh_public_key: Some(SshPublicKey::parse(SSH_KEY, "id_ed25519.pub").unwrap()),
        nodeup: NodeupAsset {
            urls: vec!["https://artifacts.example.com/berth/0.1.0/linux/amd64/nodeup".to_owned()],
            sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_owned(),
        },
        hosted_zone: dns.then(|| HostedZoneFact {
            name: "example.com".to_owned(),
            private: false,
        }),
        node_bootstrap: NodeBootstrap {
            assets: crate::assets::node_assets("1.36.0", crate::assets::DEFAULT_ARCH, &[])
                .unwrap()
                .into_iter()
                .map(|location| Asset {
                    sha256: crate::builders::names::sha256_hex(&location.name),
                    name: location.name,
                    urls: location.urls,
                })
                .collect(),
            kubernetes_ca_certificates: vec![
                "-----BEGIN CERTIFICATE-----\nfixture\n-----END CERTIFICATE-----\n".to_owned(),
            ],
            bootstrap_token: Some("abcdef.0123456789abcdef".to_owned()),
        },
    }
}
