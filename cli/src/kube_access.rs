//! Kubernetes access for the commands that talk to a cluster's API server: the cluster CA from
//! the state store, a short-lived admin client certificate signed by it, a kubeconfig holding
//! both, and a kube client built from that kubeconfig.
//!
//! The kubeconfig is standard (PEM base64-encoded in the `*-data` fields) and names its
//! cluster, user and context after the Berth cluster. The server is `--server` when the user
//! passes one (to reach the API through a tunnel or bastion). Otherwise, for a cluster with
//! DNS it is `https://` plus the spec's `masterPublicName` (default `api.<cluster>`); a
//! cluster without DNS has no record of that name, so the server is its API load balancer's
//! DNS name (one ELBv2 DescribeLoadBalancers), with `tls-server-name` set to
//! `masterPublicName`, a name the API server's certificate carries.

use std::time::Duration;

use berth_cloudup::{
    aws::{AwsClients, load_balancer_dns_name},
    engine::TaskError,
};
use berth_model::{
    Cluster, DnsType,
    builders::api_load_balancer_name,
    client_certificate::{self, ClientCertificate, ClientCertificateError},
    pki::KUBERNETES_CA,
};
use kube::config::{
    AuthInfo, Context, KubeConfigOptions, Kubeconfig, KubeconfigError, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use time::OffsetDateTime;

use crate::{aws_session, spec_store::SpecStore};

/// The user of admin credentials.
pub(crate) const ADMIN_USER: &str = "berth-admin";
/// The group of admin credentials: bound to `cluster-admin` in every cluster.
pub(crate) const ADMIN_GROUP: &str = "system:masters";

/// Why Kubernetes access could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KubeAccessError {
    /// The store lacks half of the cluster CA.
    #[error(
        "the state store has no `{KUBERNETES_CA}` {part} for cluster `{cluster}` (`{key}`): was it created with `berth create cluster`?"
    )]
    MissingCa {
        cluster: String,
        part: &'static str,
        key: String,
    },
    /// The stored CA cannot sign.
    #[error(
        "the `{KUBERNETES_CA}` keypair of cluster `{cluster}` in the state store is not usable"
    )]
    CorruptCa {
        cluster: String,
        #[source]
        source: ClientCertificateError,
    },
    /// A lifetime of zero or one too long to write into a certificate.
    #[error(
        "a credential lifetime of {seconds}s is not possible: give a positive duration such as 1h or 18h"
    )]
    InvalidValidity { seconds: u64 },
    /// A cluster without DNS whose API load balancer does not exist (yet), or one of its name
    /// exists that another cluster owns.
    #[error(
        "cluster `{cluster}` has no DNS name for its API and it owns no API load balancer `{load_balancer}`: run `berth update cluster {cluster} --yes` to create it (its plan shows a conflict if one of that name is another cluster's), or pass `--server URL`"
    )]
    NoApiLoadBalancer {
        cluster: String,
        load_balancer: String,
    },
    /// Looking the API load balancer up failed.
    #[error("failed to look up the API load balancer `{load_balancer}` of cluster `{cluster}`")]
    LookUpApiLoadBalancer {
        cluster: String,
        load_balancer: String,
        #[source]
        source: TaskError,
    },
    /// Issuing the client certificate failed for another reason.
    #[error("failed to issue an admin certificate for cluster `{cluster}`")]
    Issue {
        cluster: String,
        #[source]
        source: ClientCertificateError,
    },
    /// kube rejected the kubeconfig (in practice: the server URL).
    #[error("the kubeconfig for cluster `{cluster}` (server `{server}`) is not usable")]
    Config {
        cluster: String,
        server: String,
        #[source]
        source: KubeconfigError,
    },
    /// The kube client could not be built.
    #[error("failed to create a Kubernetes client for cluster `{cluster}`")]
    Client {
        cluster: String,
        #[source]
        source: berth_cloudup::kubernetes::KubeError,
    },
}

impl KubeAccessError {
    /// Whether the user can fix it (a missing CA or load balancer, a bad duration or server
    /// URL).
    pub(crate) fn is_user_error(&self) -> bool {
        !matches!(
            self,
            Self::Issue { .. } | Self::Client { .. } | Self::LookUpApiLoadBalancer { .. }
        )
    }
}

/// An admin kubeconfig and what the user should know about it.
#[derive(Debug, Clone)]
pub(crate) struct AdminKubeconfig {
    /// Cluster, user and context all named after the Berth cluster; current context set.
    pub(crate) kubeconfig: Kubeconfig,
    /// The API server URL it points at.
    pub(crate) server: String,
    /// The name the server's certificate is checked against when it is not the URL's host.
    pub(crate) tls_server_name: Option<String>,
    /// When the client certificate expires.
    pub(crate) expires_at: OffsetDateTime,
}

/// Where a kubeconfig points: the URL, and the name to verify the certificate against when the
/// URL's host is not one the certificate carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiServer {
    /// `https://…`.
    pub(crate) url: String,
    /// The kubeconfig's `tls-server-name`.
    pub(crate) tls_server_name: Option<String>,
}

/// The cluster's API server: `override_url` when given; else, for a cluster without DNS but
/// with an API load balancer, that load balancer's DNS name (looked up in AWS) verified as
/// `masterPublicName`; else [`api_server_url`]. Only the load balancer case calls AWS, with
/// `aws` when the command has its clients already (else they are loaded for it).
///
/// # Errors
/// [`KubeAccessError::NoApiLoadBalancer`] when the load balancer does not exist.
pub(crate) async fn api_server(
    cluster: &Cluster,
    override_url: Option<&str>,
    aws: Option<&AwsClients>,
) -> anyhow::Result<ApiServer> {
    if let Some(url) = override_url {
        return Ok(ApiServer {
            url: url.to_owned(),
            tls_server_name: None,
        });
    }
    let endpoint = berth_model::api_endpoint(cluster);
    if endpoint.dns_type != DnsType::None || !endpoint.load_balancer {
        return Ok(ApiServer {
            url: api_server_url(cluster),
            tls_server_name: None,
        });
    }
    let name = &cluster.metadata.name;
    let load_balancer = api_load_balancer_name(name);
    let loaded;
    let clients = match aws {
        Some(clients) => clients,
        None => {
            loaded = aws_session::cluster_clients(cluster).await?;
            &loaded
        }
    };
    let dns_name = load_balancer_dns_name(&clients.elb, &load_balancer, name)
        .await
        .map_err(|source| KubeAccessError::LookUpApiLoadBalancer {
            cluster: name.clone(),
            load_balancer: load_balancer.clone(),
            source,
        })?
        .filter(|dns_name| !dns_name.is_empty())
        .ok_or_else(|| KubeAccessError::NoApiLoadBalancer {
            cluster: name.clone(),
            load_balancer,
        })?;
    Ok(ApiServer {
        url: format!("https://{dns_name}"),
        tls_server_name: Some(if endpoint.public_name.is_empty() {
            format!("api.{name}")
        } else {
            endpoint.public_name
        }),
    })
}

/// The URL of the cluster's API server as the spec names it: `https://<masterPublicName>`,
/// by default `https://api.<cluster>`.
pub(crate) fn api_server_url(cluster: &Cluster) -> String {
    match &cluster.spec.master_public_name {
        Some(name) if !name.is_empty() => format!("https://{name}"),
        _ => format!("https://api.{}", cluster.metadata.name),
    }
}

/// Issues admin credentials (`berth-admin` in `system:masters`) valid for `validity` and
/// returns a kubeconfig for `cluster` (the spec `specs` holds) with them; `server` and `aws`
/// are [`api_server`]'s.
///
/// Fails with [`KubeAccessError::MissingCa`] when the store lacks the cluster CA and
/// [`KubeAccessError::NoApiLoadBalancer`] when the API has no endpoint yet.
pub(crate) async fn admin_kubeconfig(
    specs: &SpecStore,
    cluster: &Cluster,
    server: Option<&str>,
    aws: Option<&AwsClients>,
    validity: Duration,
) -> anyhow::Result<AdminKubeconfig> {
    let name = specs.cluster_name();
    let (ca_certificate, ca_key) = read_ca(specs).await?;
    let certificate = issue_admin_certificate(name, &ca_certificate, &ca_key, validity)?;
    let server = api_server(cluster, server, aws).await?;
    Ok(AdminKubeconfig {
        kubeconfig: kubeconfig(name, &server, &ca_certificate, &certificate),
        server: server.url,
        tls_server_name: server.tls_server_name,
        expires_at: certificate.not_after,
    })
}

/// A kube client with admin credentials valid for `validity` (see [`admin_kubeconfig`]).
pub(crate) async fn admin_client(
    specs: &SpecStore,
    cluster: &Cluster,
    server: Option<&str>,
    aws: Option<&AwsClients>,
    validity: Duration,
) -> anyhow::Result<kube::Client> {
    let admin = admin_kubeconfig(specs, cluster, server, aws, validity).await?;
    Ok(client(specs.cluster_name(), &admin.server, admin.kubeconfig).await?)
}

/// A kube client for the current context of `kubeconfig`; `cluster` and `server` only label
/// errors.
pub(crate) async fn client(
    cluster: &str,
    server: &str,
    kubeconfig: Kubeconfig,
) -> Result<kube::Client, KubeAccessError> {
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|source| KubeAccessError::Config {
            cluster: cluster.to_owned(),
            server: server.to_owned(),
            source,
        })?;
    berth_cloudup::kubernetes::client(config).map_err(|source| KubeAccessError::Client {
        cluster: cluster.to_owned(),
        source,
    })
}

/// The cluster CA's certificate and private key, PEM.
async fn read_ca(specs: &SpecStore) -> anyhow::Result<(String, String)> {
    let keys = specs.keys();
    let certificate = read_ca_part(specs, "certificate", keys.pki_issued(KUBERNETES_CA)).await?;
    let key = read_ca_part(specs, "private key", keys.pki_private(KUBERNETES_CA)).await?;
    Ok((certificate, key))
}

/// One PEM of the cluster CA, `part` naming it when it is missing.
async fn read_ca_part(
    specs: &SpecStore,
    part: &'static str,
    key: String,
) -> anyhow::Result<String> {
    let object = specs
        .store()
        .get(&key)
        .await?
        .ok_or_else(|| KubeAccessError::MissingCa {
            cluster: specs.cluster_name().to_owned(),
            part,
            key,
        })?;
    Ok(String::from_utf8_lossy(&object.bytes).into_owned())
}

fn issue_admin_certificate(
    cluster: &str,
    ca_certificate: &str,
    ca_key: &str,
    validity: Duration,
) -> Result<ClientCertificate, KubeAccessError> {
    let invalid = || KubeAccessError::InvalidValidity {
        seconds: validity.as_secs(),
    };
    let lifetime = time::Duration::try_from(validity).map_err(|_| invalid())?;
    client_certificate::issue_client_certificate(
        ca_certificate,
        ca_key,
        ADMIN_USER,
        &[ADMIN_GROUP],
        lifetime,
        OffsetDateTime::now_utc(),
    )
    .map_err(|source| match source {
        ClientCertificateError::InvalidValidity => invalid(),
        ClientCertificateError::InvalidCa { .. } => KubeAccessError::CorruptCa {
            cluster: cluster.to_owned(),
            source,
        },
        source => KubeAccessError::Issue {
            cluster: cluster.to_owned(),
            source,
        },
    })
}

/// A kubeconfig with one cluster, user and context, all named `name`, as the current context.
fn kubeconfig(
    name: &str,
    server: &ApiServer,
    ca_certificate: &str,
    certificate: &ClientCertificate,
) -> Kubeconfig {
    Kubeconfig {
        api_version: Some("v1".to_owned()),
        kind: Some("Config".to_owned()),
        clusters: vec![NamedCluster {
            name: name.to_owned(),
            cluster: Some(kube::config::Cluster {
                server: Some(server.url.clone()),
                tls_server_name: server.tls_server_name.clone(),
                certificate_authority_data: Some(client_certificate::to_kubeconfig_data(
                    ca_certificate,
                )),
                ..Default::default()
            }),
            ..Default::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: name.to_owned(),
            auth_info: Some(AuthInfo {
                client_certificate_data: Some(client_certificate::to_kubeconfig_data(
                    &certificate.certificate_pem,
                )),
                client_key_data: Some(
                    client_certificate::to_kubeconfig_data(&certificate.private_key_pem).into(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }],
        contexts: vec![NamedContext {
            name: name.to_owned(),
            context: Some(Context {
                cluster: name.to_owned(),
                user: Some(name.to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        }],
        current_context: Some(name.to_owned()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use berth_model::pki::{CLUSTER_KEYPAIRS, generate_ca};

    use super::*;

    fn admin(validity: Duration) -> (String, ClientCertificate) {
        let ca = generate_ca(CLUSTER_KEYPAIRS[0], OffsetDateTime::now_utc()).unwrap();
        let certificate = issue_admin_certificate(
            "c.example.com",
            &ca.certificate_pem,
            &ca.private_key_pem,
            validity,
        )
        .unwrap();
        (ca.certificate_pem, certificate)
    }

    #[tokio::test]
    async fn kube_accepts_the_kubeconfig() {
        let (ca, certificate) = admin(Duration::from_secs(18 * 60 * 60));
        let server = ApiServer {
            url: "https://api-c-example-com-0123.elb.us-east-1.amazonaws.com".into(),
            tls_server_name: Some("api.c.example.com".into()),
        };
        let kubeconfig = kubeconfig("c.example.com", &server, &ca, &certificate);
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &KubeConfigOptions::default())
                .await
                .unwrap();
        assert_eq!(
            config.cluster_url.to_string(),
            "https://api-c-example-com-0123.elb.us-east-1.amazonaws.com/"
        );
        assert_eq!(config.tls_server_name.as_deref(), Some("api.c.example.com"));
        assert_eq!(config.root_cert.map(|certs| certs.len()), Some(1));
        client("c.example.com", &server.url, kubeconfig)
            .await
            .unwrap();
    }

    #[test]
    fn reads_a_ca_that_create_cluster_makes() {
        assert!(
            CLUSTER_KEYPAIRS
                .iter()
                .any(|spec| spec.name == KUBERNETES_CA)
        );
    }

    #[test]
    fn admin_certificates_are_for_system_masters() {
        let (ca, certificate) = admin(Duration::from_secs(3600));
        let verified =
            client_certificate::verify_client_certificate(&certificate.certificate_pem, &ca)
                .unwrap();
        assert_eq!(verified.common_name, ADMIN_USER);
        assert_eq!(verified.organizations, [ADMIN_GROUP]);
    }

    #[test]
    fn a_zero_lifetime_is_a_user_error() {
        let ca = generate_ca(CLUSTER_KEYPAIRS[0], OffsetDateTime::now_utc()).unwrap();
        let error = issue_admin_certificate(
            "c.example.com",
            &ca.certificate_pem,
            &ca.private_key_pem,
            Duration::ZERO,
        )
        .unwrap_err();
        assert!(matches!(error, KubeAccessError::InvalidValidity { .. }));
        assert!(error.is_user_error());
    }

    #[test]
    fn the_server_is_the_public_api_name() {
        let mut cluster: Cluster = berth_model::build_cluster(&berth_model::CreateClusterOptions {
            name: "c.example.com".into(),
            zones: vec!["us-east-1a".into()],
            config_base: "s3://bucket/c.example.com".into(),
            ..berth_model::CreateClusterOptions::default()
        })
        .unwrap()
        .0;
        cluster.spec.master_public_name = None;
        assert_eq!(api_server_url(&cluster), "https://api.c.example.com");
        cluster.spec.master_public_name = Some("k8s.example.org".into());
        assert_eq!(api_server_url(&cluster), "https://k8s.example.org");
    }

    #[tokio::test]
    async fn with_dns_or_a_server_override_aws_is_not_asked() {
        let (mut cluster, _) = berth_model::build_cluster(&berth_model::CreateClusterOptions {
            name: "c.example.com".into(),
            zones: vec!["us-east-1a".into()],
            config_base: "s3://bucket/c.example.com".into(),
            ..berth_model::CreateClusterOptions::default()
        })
        .unwrap();
        // No DNS: only an override avoids the load balancer lookup.
        let overridden = api_server(&cluster, Some("https://127.0.0.1:6443"), None)
            .await
            .unwrap();
        assert_eq!(
            overridden,
            ApiServer {
                url: "https://127.0.0.1:6443".into(),
                tls_server_name: None,
            }
        );
        cluster.spec.dns_zone = Some("example.com".into());
        cluster.spec.topology = None;
        cluster.spec.api = None;
        let named = api_server(&cluster, None, None).await.unwrap();
        assert_eq!(
            named,
            ApiServer {
                url: "https://api.c.example.com".into(),
                tls_server_name: None,
            }
        );
    }
}
