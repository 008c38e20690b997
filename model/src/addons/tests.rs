//! Renders the addons of reference clusters: a snapshot per manifest, and the conventions
//! (DNS address, pinned images, kube-proxy only without Cilium's replacement).

use super::*;
use crate::{
    CloudFacts, CniNetworkingSpec, CreateClusterOptions, NetworkingSpec, build_cluster, complete,
};

fn completed(edit: impl FnOnce(&mut crate::Cluster)) -> CompletedCluster {
    let (mut cluster, groups) = build_cluster(&CreateClusterOptions {
        name: "dev.example.com".to_owned(),
        zones: vec!["us-east-1a".to_owned()],
        config_base: "s3://berth-state/dev.example.com".to_owned(),
        ..CreateClusterOptions::default()
    })
    .unwrap();
    edit(&mut cluster);
    let facts = CloudFacts {
        region: "us-east-1".to_owned(),
        state_store: Some("s3://berth-state".to_owned()),
        ..CloudFacts::default()
    };
    complete(&cluster, &groups, &facts).unwrap()
}

fn names(addons: &[AddonManifest]) -> Vec<&str> {
    addons.iter().map(|addon| addon.name.as_str()).collect()
}

fn find<'a>(addons: &'a [AddonManifest], name: &str) -> &'a AddonManifest {
    addons.iter().find(|addon| addon.name == name).unwrap()
}

fn object<'a>(addon: &'a AddonManifest, kind: &str, name: &str) -> &'a Value {
    addon
        .objects
        .iter()
        .find(|object| object["kind"] == kind && object["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{} has no {kind} {name}", addon.name))
}

#[test]
fn default_cluster_renders_every_addon_and_cilium_replaces_kube_proxy() {
    let addons = render(&completed(|_| {})).unwrap();
    assert_eq!(
        names(&addons),
        [
            "kubelet-api-rbac",
            "coredns",
            "cilium",
            "aws-cloud-controller-manager",
            "aws-ebs-csi-driver",
        ]
    );
    for addon in &addons {
        insta::assert_snapshot!(
            format!("{}_{}", addon.name, addon.version),
            addon.to_yaml().unwrap()
        );
    }
    let config = object(find(&addons, "cilium"), "ConfigMap", "cilium-config");
    assert_eq!(config["data"]["kube-proxy-replacement"], "true");
}

#[test]
fn kube_dns_is_the_tenth_address_of_the_service_range_with_the_cluster_domain() {
    let addons = render(&completed(|cluster| {
        cluster.spec.service_cluster_ip_range = Some("10.0.0.0/24".to_owned());
        cluster.spec.cluster_dns_domain = Some("k8s.internal".to_owned());
    }))
    .unwrap();
    let coredns = find(&addons, "coredns");
    assert_eq!(
        object(coredns, "Service", "kube-dns")["spec"]["clusterIP"],
        "10.0.0.10"
    );
    let corefile = object(coredns, "ConfigMap", "coredns")["data"]["Corefile"]
        .as_str()
        .unwrap();
    assert!(corefile.contains("kubernetes k8s.internal in-addr.arpa ip6.arpa"));

    let default = render(&completed(|_| {})).unwrap();
    assert_eq!(
        object(find(&default, "coredns"), "Service", "kube-dns")["spec"]["clusterIP"],
        "100.64.0.10"
    );
}

#[test]
fn bring_your_own_cni_gets_kube_proxy_at_the_cluster_version_and_no_cni() {
    let addons = render(&completed(|cluster| {
        cluster.spec.kubernetes_version = Some("1.30.4".to_owned());
        cluster.spec.networking = Some(NetworkingSpec {
            cni: Some(CniNetworkingSpec {}),
            ..NetworkingSpec::default()
        });
        cluster.spec.kube_proxy = None;
    }))
    .unwrap();
    assert!(!names(&addons).contains(&"cilium"));
    let proxy = find(&addons, "kube-proxy");
    assert_eq!(proxy.version, "1.30.4");
    insta::assert_snapshot!("kube-proxy", proxy.to_yaml().unwrap());
    let daemon_set = object(proxy, "DaemonSet", "kube-proxy");
    assert_eq!(
        daemon_set["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.k8s.io/kube-proxy:v1.30.4"
    );
    assert_eq!(
        find(&addons, "aws-cloud-controller-manager").version,
        "1.30.7"
    );
}

#[test]
fn cloud_controller_release_follows_the_kubernetes_minor() {
    assert_eq!(images::cloud_controller_version(28), "1.30.7");
    assert_eq!(images::cloud_controller_version(32), "1.32.1");
    assert_eq!(images::cloud_controller_version(34), "1.33.0");
    assert_eq!(images::cloud_controller_version(36), "1.35.0");
}

#[test]
fn every_image_is_pinned_to_an_exact_tag() {
    let addons = render(&completed(|cluster| {
        cluster.spec.kube_proxy = Some(crate::KubeProxySpec {
            enabled: Some(true),
        });
    }))
    .unwrap();
    let mut images = Vec::new();
    for addon in &addons {
        for object in &addon.objects {
            let spec = &object["spec"]["template"]["spec"];
            for list in ["initContainers", "containers"] {
                for container in spec[list].as_array().into_iter().flatten() {
                    images.push(container["image"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    assert!(images.len() > 10, "{images:?}");
    for image in images {
        let (_, tag) = image.rsplit_once(':').unwrap();
        assert!(tag.starts_with('v') && tag != "latest", "{image}");
    }
}

#[test]
fn a_small_service_range_is_an_error_naming_the_field() {
    let mut cluster = completed(|_| {});
    cluster.cluster.spec.service_cluster_ip_range = Some("10.0.0.0/30".to_owned());
    let error = render(&cluster).unwrap_err();
    assert!(
        error.to_string().contains("spec.serviceClusterIPRange"),
        "{error}"
    );
}

#[test]
fn the_channel_round_trips_through_yaml() {
    let channel = BootstrapChannel::new(vec![ChannelEntry {
        name: "coredns".to_owned(),
        version: "1.11.3".to_owned(),
        key: "addons/coredns/1.11.3.yaml".to_owned(),
        sha256: "00".repeat(32),
    }]);
    let text = channel.to_yaml().unwrap();
    let parsed = BootstrapChannel::from_yaml(&text).unwrap();
    assert_eq!(parsed, channel);
}
