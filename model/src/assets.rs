//! The files nodeup downloads for a Kubernetes version: where each lives and where its
//! published checksum lives. Pure: cloudup fetches the checksums (a fact) and pins them.
//!
//! Every asset has an upstream location, a host and a path, as kops lays them out
//! (`dl.k8s.io/release/v1.32.3/bin/linux/amd64/kubelet`, the GitHub releases of containerd,
//! runc, the CNI plugins and crictl). A mirror keeps the same path under another base URL, as
//! kops's `fileRepository` does, so one override (`BERTH_ASSETS_BASE_URL`, a comma-separated
//! list) points every asset at an internal mirror or a local server. Each asset's checksum is
//! read from the file its publisher puts beside it: `<url>.sha256` for Kubernetes, the CNI
//! plugins and crictl, `<url>.sha256sum` for containerd, and runc's `runc.sha256sum` that
//! lists every architecture.

use crate::version::KubernetesVersion;

/// The only architecture Berth builds nodes for today (the nodeup binary is amd64).
pub const DEFAULT_ARCH: &str = "amd64";
/// containerd release installed on nodes.
pub const CONTAINERD_VERSION: &str = "1.7.27";
/// runc release installed on nodes.
pub const RUNC_VERSION: &str = "1.2.6";
/// CNI plugins release installed on nodes.
pub const CNI_PLUGINS_VERSION: &str = "1.6.2";
/// The newest crictl minor published; newer Kubernetes minors use it.
const CRICTL_MAX_MINOR: u64 = 33;

/// Where Kubernetes release binaries come from, and their CDN mirror.
const KUBERNETES_BASES: &[&str] = &["https://dl.k8s.io", "https://cdn.dl.k8s.io"];
/// Where GitHub release assets come from.
const GITHUB_BASES: &[&str] = &["https://github.com"];

/// One asset's locations, before its hash is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetLocation {
    /// The name nodeup installs it under (`kubelet`, `containerd`, …).
    pub name: String,
    /// Where to download it, tried in order.
    pub urls: Vec<String>,
    /// Where its published checksum is, in the same order as `urls`.
    pub checksum_urls: Vec<String>,
    /// The file name a multi-line checksum file lists it under.
    pub file_name: String,
}

/// Why the asset list cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssetsError {
    /// The Kubernetes version does not parse.
    #[error("cannot list node assets for Kubernetes `{version}`: not a MAJOR.MINOR.PATCH version")]
    InvalidVersion {
        /// The version as written.
        version: String,
    },
    /// A mirror base URL is not an `http(s)://` or `file://` URL.
    #[error("asset mirror `{url}` is not an http://, https:// or file:// URL")]
    InvalidMirror {
        /// The base URL as given.
        url: String,
    },
}

/// The assets every Kubernetes node (control plane or worker) installs for `version` on
/// `arch`: kubelet, kubectl, containerd, runc, the CNI plugins and crictl. The control plane
/// runs its components as static pods from container images, so it needs no more files.
///
/// `mirrors` replaces the upstream hosts (same paths) when not empty.
///
/// # Errors
/// [`AssetsError`] when the version does not parse or a mirror is not a URL.
pub fn node_assets(
    version: &str,
    arch: &str,
    mirrors: &[String],
) -> Result<Vec<AssetLocation>, AssetsError> {
    let parsed: KubernetesVersion = version.parse().map_err(|_| AssetsError::InvalidVersion {
        version: version.to_owned(),
    })?;
    for mirror in mirrors {
        if !["http://", "https://", "file://"]
            .iter()
            .any(|scheme| mirror.starts_with(scheme))
        {
            return Err(AssetsError::InvalidMirror {
                url: mirror.clone(),
            });
        }
    }
    let semver = parsed.as_semver();
    let version = semver.to_string();
    let crictl = format!("1.{}.0", semver.minor.min(CRICTL_MAX_MINOR));
    let kubernetes = |binary: &str| {
        let path = format!("/release/v{version}/bin/linux/{arch}/{binary}");
        located(binary, KUBERNETES_BASES, mirrors, &path, ".sha256", None)
    };
    let containerd_file = format!("containerd-{CONTAINERD_VERSION}-linux-{arch}.tar.gz");
    let runc_file = format!("runc.{arch}");
    let cni_file = format!("cni-plugins-linux-{arch}-v{CNI_PLUGINS_VERSION}.tgz");
    let crictl_file = format!("crictl-v{crictl}-linux-{arch}.tar.gz");
    let runc_dir = format!("/opencontainers/runc/releases/download/v{RUNC_VERSION}");
    Ok(vec![
        kubernetes("kubelet"),
        kubernetes("kubectl"),
        located(
            "containerd",
            GITHUB_BASES,
            mirrors,
            &format!(
                "/containerd/containerd/releases/download/v{CONTAINERD_VERSION}/{containerd_file}"
            ),
            ".sha256sum",
            None,
        ),
        located(
            "runc",
            GITHUB_BASES,
            mirrors,
            &format!("{runc_dir}/{runc_file}"),
            "",
            Some(&format!("{runc_dir}/runc.sha256sum")),
        ),
        located(
            "cni-plugins",
            GITHUB_BASES,
            mirrors,
            &format!(
                "/containernetworking/plugins/releases/download/v{CNI_PLUGINS_VERSION}/{cni_file}"
            ),
            ".sha256",
            None,
        ),
        located(
            "crictl",
            GITHUB_BASES,
            mirrors,
            &format!("/kubernetes-sigs/cri-tools/releases/download/v{crictl}/{crictl_file}"),
            ".sha256",
            None,
        ),
    ])
}

/// An asset at `path` under each base (the mirrors when given, else `upstream`).
fn located(
    name: &str,
    upstream: &[&str],
    mirrors: &[String],
    path: &str,
    checksum_suffix: &str,
    checksum_path: Option<&str>,
) -> AssetLocation {
    let bases: Vec<&str> = if mirrors.is_empty() {
        upstream.to_vec()
    } else {
        mirrors.iter().map(String::as_str).collect()
    };
    let join = |base: &str, path: &str| format!("{}{path}", base.trim_end_matches('/'));
    let checksum_path =
        checksum_path.map_or_else(|| format!("{path}{checksum_suffix}"), str::to_owned);
    AssetLocation {
        name: name.to_owned(),
        urls: bases.iter().map(|base| join(base, path)).collect(),
        checksum_urls: bases
            .iter()
            .map(|base| join(base, &checksum_path))
            .collect(),
        file_name: path.rsplit('/').next().unwrap_or(path).to_owned(),
    }
}

/// The lowercase hex SHA-256 a checksum file gives for `file_name`: either the file is
/// just the hash (`dl.k8s.io`), or it has `sha256sum`-style lines (`<hash>  <name>`, the
/// name possibly prefixed by `*` or a directory) and the one naming `file_name` wins.
#[must_use]
pub fn parse_checksum(text: &str, file_name: &str) -> Option<String> {
    let is_hash = |word: &str| word.len() == 64 && word.chars().all(|c| c.is_ascii_hexdigit());
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|words| !words.is_empty())
        .collect();
    let found = match lines.as_slice() {
        [words] if words.len() == 1 => Some(words[0]),
        _ => lines.iter().find_map(|words| match words.as_slice() {
            [hash, name] => {
                let name = name.trim_start_matches('*');
                let name = name.rsplit('/').next().unwrap_or(name);
                (name == file_name).then_some(*hash)
            }
            _ => None,
        }),
    }?;
    is_hash(found).then(|| found.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn upstream_locations_follow_the_publishers_layout() {
        let assets = node_assets("1.32.3", "amd64", &[]).unwrap();
        let names: Vec<_> = assets.iter().map(|asset| asset.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kubelet",
                "kubectl",
                "containerd",
                "runc",
                "cni-plugins",
                "crictl"
            ]
        );
        assert_eq!(
            assets[0].urls,
            [
                "https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kubelet",
                "https://cdn.dl.k8s.io/release/v1.32.3/bin/linux/amd64/kubelet"
            ]
        );
        assert_eq!(
            assets[0].checksum_urls[0],
            "https://dl.k8s.io/release/v1.32.3/bin/linux/amd64/kubelet.sha256"
        );
        assert_eq!(
            assets[3].checksum_urls,
            ["https://github.com/opencontainers/runc/releases/download/v1.2.6/runc.sha256sum"]
        );
        assert_eq!(assets[3].file_name, "runc.amd64");
        assert!(assets[5].urls[0].ends_with("/v1.32.0/crictl-v1.32.0-linux-amd64.tar.gz"));
    }

    #[test]
    fn mirrors_keep_the_paths() {
        let mirrors = vec![
            "http://127.0.0.1:8080/".to_owned(),
            "file:///srv/assets".to_owned(),
        ];
        let assets = node_assets("1.36.2", "amd64", &mirrors).unwrap();
        assert_eq!(
            assets[0].urls,
            [
                "http://127.0.0.1:8080/release/v1.36.2/bin/linux/amd64/kubelet",
                "file:///srv/assets/release/v1.36.2/bin/linux/amd64/kubelet"
            ]
        );
        assert!(assets[5].urls[0].ends_with("/v1.33.0/crictl-v1.33.0-linux-amd64.tar.gz"));
        assert_eq!(
            node_assets("1.32.3", "amd64", &["ftp://x".to_owned()]),
            Err(AssetsError::InvalidMirror {
                url: "ftp://x".to_owned()
            })
        );
        assert!(node_assets("latest", "amd64", &[]).is_err());
    }

    #[test]
    fn parses_both_checksum_formats() {
        assert_eq!(
            parse_checksum(&format!("{HASH}\n"), "kubelet").as_deref(),
            Some(HASH)
        );
        let upper = HASH.to_ascii_uppercase();
        assert_eq!(parse_checksum(&upper, "kubelet").as_deref(), Some(HASH));
        let listing = format!("{}  runc.arm64\n{HASH} *runc.amd64\n", "f".repeat(64));
        assert_eq!(
            parse_checksum(&listing, "runc.amd64").as_deref(),
            Some(HASH)
        );
        assert_eq!(parse_checksum(&listing, "runc.s390x"), None);
        assert_eq!(parse_checksum("not a hash", "kubelet"), None);
        assert_eq!(parse_checksum("", "kubelet"), None);
    }
}
