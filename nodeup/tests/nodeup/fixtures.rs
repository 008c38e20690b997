//! Nodeup configs built by the model from a reference cluster, and a state store holding
//! them with the cluster's CA keypairs.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use berth_model::{
    CloudFacts, Cluster, CreateClusterOptions, DnsType, InstanceGroup, build_cluster,
    builders::{BuildContext, BuildFacts, HostedZoneFact, nodeup::nodeup_config},
    complete,
    nodeup_config::{Asset, NodeupConfig},
    pki::{GeneratedKeypair, generate_cluster_keypairs},
};
use berth_nodeup::pki::{CaKeypair, PrivateKeyPem};
use time::OffsetDateTime;

pub(crate) const CLUSTER: &str = "dev.example.com";
pub(crate) const CONTROL_PLANE_GROUP: &str = "control-plane-us-east-1a";
pub(crate) const NODE_GROUP: &str = "nodes-us-east-1a";
pub(crate) const BOOTSTRAP_TOKEN: &str = "abcdef.0123456789abcdef";

/// The nodeup config of each instance group of a one-zone cluster with a DNS zone, with
/// `config_base` as its store location.
pub(crate) fn configs(config_base: &str) -> BTreeMap<String, NodeupConfig> {
    configs_at(config_base, "1.32.3")
}

/// [`configs`] of a cluster of Kubernetes `version` (`1.36.2`).
pub(crate) fn configs_at(config_base: &str, version: &str) -> BTreeMap<String, NodeupConfig> {
    let options = CreateClusterOptions {
        name: CLUSTER.to_owned(),
        zones: vec!["us-east-1a".to_owned()],
        config_base: config_base.to_owned(),
        dns_zone: Some("example.com".to_owned()),
        dns: DnsType::Public,
        kubernetes_version: Some(version.to_owned()),
        ..CreateClusterOptions::default()
    };
    let (cluster, groups) = build_cluster(&options).unwrap();
    configs_of(&cluster, &groups)
}

/// Every group's nodeup config for a cluster spec, as `update cluster` builds them in
/// us-east-1 with the public zone `example.com`, by group name.
pub(crate) fn configs_of(
    cluster: &Cluster,
    groups: &[InstanceGroup],
) -> BTreeMap<String, NodeupConfig> {
    let cloud = CloudFacts {
        region: "us-east-1".to_owned(),
        ..CloudFacts::default()
    };
    let completed = complete(cluster, groups, &cloud).unwrap();
    let facts = BuildFacts {
        region: "us-east-1".to_owned(),
        hosted_zone: Some(HostedZoneFact {
            name: "example.com".to_owned(),
            private: false,
        }),
        ..BuildFacts::default()
    };
    let context = BuildContext {
        cluster: &completed,
        facts: &facts,
    };
    completed
        .instance_groups
        .iter()
        .map(|group| {
            let mut config = nodeup_config(&context, group).unwrap();
            // What the secrets stage fills in.
            config.bootstrap_token = Some(BOOTSTRAP_TOKEN.to_owned());
            (group.metadata.name.clone(), config)
        })
        .collect()
}

/// The cluster's CA keypairs, as nodeup reads them from the store.
pub(crate) fn keypairs() -> Vec<GeneratedKeypair> {
    generate_cluster_keypairs(OffsetDateTime::now_utc()).unwrap()
}

/// The keypairs as nodeup's planner sees them (keys included: control plane).
pub(crate) fn cas(keypairs: &[GeneratedKeypair], with_keys: bool) -> BTreeMap<String, CaKeypair> {
    keypairs
        .iter()
        .map(|keypair| {
            (
                keypair.name.to_owned(),
                CaKeypair {
                    certificate_pem: keypair.certificate_pem.clone(),
                    private_key: with_keys
                        .then(|| PrivateKeyPem::new(keypair.private_key_pem.clone())),
                },
            )
        })
        .collect()
}

/// Writes `keypairs` into a `file://` store at `store` (kops's `pki/` layout).
pub(crate) fn write_keypairs(store: &Path, keypairs: &[GeneratedKeypair]) {
    for keypair in keypairs {
        let issued = store.join(CLUSTER).join("pki/issued").join(keypair.name);
        let private = store.join(CLUSTER).join("pki/private").join(keypair.name);
        fs_err::create_dir_all(&issued).unwrap();
        fs_err::create_dir_all(&private).unwrap();
        fs_err::write(issued.join("certificate.pem"), &keypair.certificate_pem).unwrap();
        fs_err::write(private.join("key.pem"), &keypair.private_key_pem).unwrap();
    }
}

/// Writes `config` where cloudup would; returns its `--conf` URL.
pub(crate) fn write_config(store: &Path, config: &NodeupConfig) -> String {
    let key = format!(
        "{CLUSTER}/igconfig/{}/{}/nodeupconfig.yaml",
        config.role.as_str(),
        config.instance_group
    );
    let path = store.join(&key);
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(&path, config.to_yaml().unwrap()).unwrap();
    format!("file://{}/{key}", store.display())
}

/// A file-backed asset with its real sha256.
pub(crate) fn asset(name: &str, path: &Path) -> Asset {
    use sha2::Digest;
    let bytes = fs_err::read(path).unwrap();
    Asset {
        name: name.to_owned(),
        urls: vec![format!("file://{}", path.display())],
        sha256: hex::encode(sha2::Sha256::digest(&bytes)),
    }
}

/// A `.tar.gz` holding `files` (name → contents, mode 0755).
pub(crate) fn tar_gz(path: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let file = fs_err::File::create(path).unwrap();
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (name, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o755);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, name, *contents).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
    path.to_owned()
}

/// The nodeup binary, reading `conf` for [`CLUSTER`] and writing under `root`.
pub(crate) fn nodeup(conf: &str, root: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nodeup"));
    command.args([
        &format!("--conf={conf}"),
        &format!("--cluster-name={CLUSTER}"),
        &format!("--root={}", root.display()),
    ]);
    command
}

/// A full nodeup run as on the test machine `ip-172-20-32-10` (systemd recorded, no pinned
/// config hash, warnings only on stderr).
pub(crate) fn run_nodeup(conf: &str, root: &Path) -> Output {
    nodeup(conf, root)
        .args([
            "--service-manager=recording",
            "--hostname=ip-172-20-32-10.ec2.internal",
            "--node-ip=172.20.32.10",
        ])
        .env_remove("NODEUP_CONFIG_HASH")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Whether the tests run as root, which mounting and mount namespaces need: CI has it, so
/// there a test without it fails; elsewhere it says it is skipped, naming `what`.
pub(crate) fn runs_as_root(what: &str) -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0");
    if !root {
        assert!(
            !berth_test_support::k8s::in_ci(),
            "{what} needs root, which CI runs as"
        );
        eprintln!("skipped: {what} needs root");
    }
    root
}
