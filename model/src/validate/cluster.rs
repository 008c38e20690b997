//! Cluster-wide rules: name, version, provider, API access, CNI and store location.

use super::{
    Errors,
    names::{any_cidr, dns_subdomain_problem},
};
use crate::{
    API_VERSION, CLUSTER_KIND, Cluster, DnsType, KubernetesVersion, MAX_KUBERNETES_MINOR,
    MIN_KUBERNETES_VERSION,
};

pub(super) fn check(cluster: &Cluster, errors: &mut Errors) {
    if cluster.api_version != API_VERSION {
        errors.push("apiVersion", format!("must be `{API_VERSION}`"));
    }
    if cluster.kind != CLUSTER_KIND {
        errors.push("kind", format!("must be `{CLUSTER_KIND}`"));
    }
    let name = &cluster.metadata.name;
    if let Some(problem) = dns_subdomain_problem(name) {
        errors.push(
            "metadata.name",
            format!("must be a lowercase DNS name: {problem}"),
        );
    } else if !name.contains('.') {
        errors.push(
            "metadata.name",
            format!("must be a fully qualified DNS name such as `{name}.example.com`"),
        );
    }
    let spec = &cluster.spec;
    if let Some(version) = &spec.kubernetes_version {
        match version.parse::<KubernetesVersion>() {
            Err(error) => errors.push("spec.kubernetesVersion", error.to_string()),
            Ok(parsed) if !parsed.is_supported() => errors.push(
                "spec.kubernetesVersion",
                format!(
                    "{parsed} is outside the supported range {MIN_KUBERNETES_VERSION} to {MAX_KUBERNETES_MINOR}.x"
                ),
            ),
            Ok(_) => {}
        }
    }
    if let Some(provider) = &spec.cloud_provider
        && !provider.is_aws()
    {
        errors.push("spec.cloudProvider", "must be `aws`");
    }
    for (field, list) in [
        ("sshAccess", &spec.ssh_access),
        ("kubernetesApiAccess", &spec.kubernetes_api_access),
    ] {
        for (index, entry) in list.iter().enumerate() {
            if let Err(problem) = any_cidr(entry) {
                errors.push(format!("spec.{field}[{index}]"), problem);
            }
        }
    }
    check_api(cluster, errors);
    if let Some(networking) = &spec.networking {
        let selected = networking.selected();
        if selected.len() != 1 {
            errors.push(
                "spec.networking",
                format!(
                    "must select exactly one CNI (`cilium` or `cni`), found {}",
                    selected.len()
                ),
            );
        }
    }
    if spec.iam.as_ref().and_then(|iam| iam.legacy) == Some(true) {
        errors.push(
            "spec.iam.legacy",
            "legacy IAM policies are not supported by berth; set `false`",
        );
    }
    if let Some(runtime) = &spec.container_runtime
        && runtime != "containerd"
    {
        errors.push(
            "spec.containerRuntime",
            format!("`{runtime}` is not supported; berth uses `containerd`"),
        );
    }
    if let Some(authorization) = &spec.authorization
        && authorization.rbac.is_none()
    {
        errors.push("spec.authorization", "must be `rbac: {}`");
    }
    if let Some(config_base) = &spec.config_base
        && !(config_base.starts_with("s3://") || config_base.starts_with("file://"))
    {
        errors.push(
            "spec.configBase",
            format!("`{config_base}` must start with `s3://` or `file://`"),
        );
    }
    if let Some(provider) = spec
        .kube_dns
        .as_ref()
        .and_then(|dns| dns.provider.as_deref())
        && provider != "CoreDNS"
    {
        errors.push(
            "spec.kubeDNS.provider",
            format!("`{provider}` is not supported; berth uses `CoreDNS`"),
        );
    }
    if let Some(provider) = spec
        .external_dns
        .as_ref()
        .and_then(|dns| dns.provider.as_deref())
        && !matches!(provider, "dns-controller" | "external-dns" | "none")
    {
        errors.push(
            "spec.externalDns.provider",
            format!(
                "unknown provider `{provider}`, expected `dns-controller`, `external-dns` or `none`"
            ),
        );
    }
}

fn check_api(cluster: &Cluster, errors: &mut Errors) {
    let spec = &cluster.spec;
    for (field, value) in [
        ("masterPublicName", &spec.master_public_name),
        ("masterInternalName", &spec.master_internal_name),
    ] {
        if let Some(name) = value
            && let Some(problem) = dns_subdomain_problem(name)
        {
            errors.push(
                format!("spec.{field}"),
                format!("must be a lowercase DNS name: {problem}"),
            );
        }
    }
    let dns_type = spec
        .topology
        .as_ref()
        .and_then(|topology| topology.dns.as_ref())
        .map(|dns| dns.dns_type);
    if let Some(api) = &spec.api {
        if api.dns.is_some() && api.load_balancer.is_some() {
            errors.push("spec.api", "set either `dns` or `loadBalancer`, not both");
        }
        if api.dns.is_some() && dns_type == Some(DnsType::None) {
            errors.push(
                "spec.api.dns",
                "needs DNS, but `spec.topology.dns.type` is `None`; use `api.loadBalancer`",
            );
        }
    }
    if dns_type == Some(DnsType::None) && spec.dns_zone.is_some() {
        errors.push(
            "spec.dnsZone",
            "must not be set when `spec.topology.dns.type` is `None`",
        );
    }
}
