//! The launch templates' user data: a small bash script that downloads nodeup, checks its
//! SHA-256, and runs it with the location of its instance group's config.
//!
//! The download loop tries every mirror in turn (curl with its own retries and timeouts),
//! keeps a binary only when `sha256sum` confirms the pinned hash, and starts over with a
//! capped exponential backoff until it succeeds: a node without nodeup is useless, and a
//! mirror that is down now may be up in a minute. The nodeup config's own hash is pinned as
//! `NODEUP_CONFIG_HASH`, so any config change changes the user data and therefore makes a
//! new launch-template version (kops pins it the same way); nodeup may compare it with the
//! config it reads. Every value is single-quoted for the shell.

use super::NodeupAsset;

/// Where nodeup is installed on the instance.
const INSTALL_DIR: &str = crate::nodeup_config::NODEUP_INSTALL_DIR;
/// curl's own retries per mirror and attempt.
const CURL_RETRIES: u32 = 3;
/// Seconds to wait for a connection (a dead mirror should not hold the loop for long).
const CONNECT_TIMEOUT_SECONDS: u32 = 20;
/// Seconds for a whole download (nodeup is tens of MiB).
const DOWNLOAD_TIMEOUT_SECONDS: u32 = 300;
/// Longest pause between rounds over all mirrors.
const MAX_BACKOFF_SECONDS: u32 = 60;

/// What the script needs to know.
#[derive(Debug, Clone, Copy)]
pub struct UserData<'a> {
    /// The nodeup binary's mirrors and hash.
    pub nodeup: &'a NodeupAsset,
    /// The full location of the group's nodeup config (`<configBase>/igconfig/…`).
    pub config_location: &'a str,
    /// Hex SHA-256 of that config's contents.
    pub config_hash: &'a str,
    /// The cluster's name.
    pub cluster_name: &'a str,
    /// The AWS region (for nodeup's store and API clients).
    pub region: &'a str,
}

impl UserData<'_> {
    /// The script.
    #[must_use]
    pub fn render(&self) -> String {
        let urls: Vec<String> = self.nodeup.urls.iter().map(|url| quote(url)).collect();
        format!(
            r#"#!/bin/bash
set -o errexit -o nounset -o pipefail

NODEUP_URLS=({urls})
NODEUP_SHA256={sha}
NODEUP_CONF={conf}
NODEUP_CONFIG_HASH={config_hash}
CLUSTER_NAME={cluster}
INSTALL_DIR={install_dir}
export AWS_REGION={region} NODEUP_CONFIG_HASH

download_nodeup() {{
  local url="$1" target="${{INSTALL_DIR}}/nodeup.download"
  rm -f "${{target}}"
  curl --fail --silent --show-error --location \
    --retry {retries} --retry-delay 2 --connect-timeout {connect} --max-time {max_time} \
    --output "${{target}}" "${{url}}" || return 1
  echo "${{NODEUP_SHA256}}  ${{target}}" | sha256sum --check --status || {{
    echo "nodeup from ${{url}} does not match its sha256" >&2
    return 1
  }}
  chmod 0755 "${{target}}"
  mv -f "${{target}}" "${{INSTALL_DIR}}/nodeup"
}}

mkdir -p "${{INSTALL_DIR}}"
attempt=0
until [[ -x "${{INSTALL_DIR}}/nodeup" ]]; do
  for url in "${{NODEUP_URLS[@]}}"; do
    if download_nodeup "${{url}}"; then
      break
    fi
    echo "failed to download nodeup from ${{url}}" >&2
  done
  if [[ ! -x "${{INSTALL_DIR}}/nodeup" ]]; then
    attempt=$((attempt + 1))
    delay=$((attempt < 6 ? 1 << attempt : {max_backoff}))
    echo "retrying the nodeup download in ${{delay}}s" >&2
    sleep "${{delay}}"
  fi
done

exec "${{INSTALL_DIR}}/nodeup" --conf="${{NODEUP_CONF}}" --cluster-name="${{CLUSTER_NAME}}"
"#,
            urls = urls.join(" "),
            sha = quote(&self.nodeup.sha256),
            conf = quote(self.config_location),
            config_hash = quote(self.config_hash),
            cluster = quote(self.cluster_name),
            install_dir = quote(INSTALL_DIR),
            region = quote(self.region),
            retries = CURL_RETRIES,
            connect = CONNECT_TIMEOUT_SECONDS,
            max_time = DOWNLOAD_TIMEOUT_SECONDS,
            max_backoff = MAX_BACKOFF_SECONDS,
        )
    }
}

/// Single-quotes `value` for bash (a `'` becomes `'\''`).
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset() -> NodeupAsset {
        NodeupAsset {
            urls: vec![
                "https://artifacts.example.com/berth/1.0.0/linux/amd64/nodeup".to_owned(),
                "https://mirror.example.org/berth/1.0.0/linux/amd64/nodeup".to_owned(),
            ],
            sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_owned(),
        }
    }

    #[test]
    fn renders_the_bootstrap_script() {
        let nodeup = asset();
        let script = UserData {
            nodeup: &nodeup,
            config_location: "s3://state/dev.example.com/igconfig/node/nodes-us-east-1a/nodeupconfig.yaml",
            config_hash: "feedface",
            cluster_name: "dev.example.com",
            region: "us-east-1",
        }
        .render();
        insta::assert_snapshot!(script);
    }

    #[test]
    fn quotes_values_for_the_shell() {
        assert_eq!(quote("a'b $(x)"), r"'a'\''b $(x)'");
    }
}
