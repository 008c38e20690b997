//! kubeconfig files as a serde struct (the `v1` `Config` shape clients read).

use serde::Serialize;

/// A kubeconfig with one cluster (named after the Kubernetes cluster), one user and one
/// context named `default`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kubeconfig {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<NamedCluster>,
    users: Vec<NamedUser>,
    contexts: Vec<NamedContext>,
    current_context: String,
}

#[derive(Debug, Serialize)]
struct NamedCluster {
    name: String,
    cluster: ClusterEntry,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterEntry {
    server: String,
    certificate_authority: String,
}

#[derive(Debug, Serialize)]
struct NamedUser {
    name: String,
    user: UserEntry,
}

/// How the user authenticates.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct UserEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    client_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

#[derive(Debug, Serialize)]
struct NamedContext {
    name: String,
    context: ContextEntry,
}

#[derive(Debug, Serialize)]
struct ContextEntry {
    cluster: String,
    user: String,
}

/// How a kubeconfig's user proves who it is.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// A client certificate and key, by path.
    ClientCertificate {
        /// The certificate's path.
        certificate: &'a str,
        /// The key's path.
        key: &'a str,
    },
    /// A bearer token.
    Token(&'a str),
}

impl Kubeconfig {
    /// A kubeconfig for `user` reaching `server`, trusting the CA at `ca_path`.
    #[must_use]
    pub fn new(
        cluster: &str,
        server: &str,
        ca_path: &str,
        user: &str,
        credential: Credential<'_>,
    ) -> Self {
        let user_entry = match credential {
            Credential::ClientCertificate { certificate, key } => UserEntry {
                client_certificate: Some(certificate.to_owned()),
                client_key: Some(key.to_owned()),
                token: None,
            },
            Credential::Token(token) => UserEntry {
                client_certificate: None,
                client_key: None,
                token: Some(token.to_owned()),
            },
        };
        Self {
            api_version: "v1",
            kind: "Config",
            clusters: vec![NamedCluster {
                name: cluster.to_owned(),
                cluster: ClusterEntry {
                    server: server.to_owned(),
                    certificate_authority: ca_path.to_owned(),
                },
            }],
            users: vec![NamedUser {
                name: user.to_owned(),
                user: user_entry,
            }],
            contexts: vec![NamedContext {
                name: "default".to_owned(),
                context: ContextEntry {
                    cluster: cluster.to_owned(),
                    user: user.to_owned(),
                },
            }],
            current_context: "default".to_owned(),
        }
    }
}
