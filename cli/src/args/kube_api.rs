//! Flags shared by the commands that talk to a cluster's Kubernetes API.

use clap::Args;

/// How to reach the Kubernetes API server.
#[derive(Debug, Clone, Args)]
pub(crate) struct KubeApiArgs {
    /// The API server URL to use instead of the cluster's API endpoint
    /// (`https://<masterPublicName>`, by default `https://api.<cluster>`; for a cluster without
    /// DNS, its API load balancer), e.g. through an SSH tunnel or a bastion:
    /// `https://127.0.0.1:6443`.
    #[arg(long, value_name = "URL", value_parser = parse_server)]
    pub(crate) server: Option<String>,
}

/// Accepts `https://HOST[:PORT][/PATH]`.
fn parse_server(text: &str) -> Result<String, String> {
    let host = text
        .strip_prefix("https://")
        .map(|rest| rest.split('/').next().unwrap_or_default())
        .unwrap_or_default();
    if host.is_empty() || text.contains(char::is_whitespace) {
        return Err(format!(
            "`{text}` is not an https URL such as https://127.0.0.1:6443"
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_https_urls() {
        assert_eq!(
            parse_server("https://127.0.0.1:6443/"),
            Ok("https://127.0.0.1:6443".to_owned())
        );
        assert_eq!(
            parse_server("https://api.example.com"),
            Ok("https://api.example.com".to_owned())
        );
        for bad in [
            "",
            "127.0.0.1:6443",
            "http://api.example.com",
            "https://",
            "https:// x",
        ] {
            assert!(parse_server(bad).is_err(), "{bad}");
        }
    }
}
