//! How resources are named (kops's conventions), in one place.
//!
//! Most names are `<prefix>.<cluster>`; AWS names limited to 32 characters (load balancers,
//! target groups) are truncated with a short hash suffix exactly as kops does, so a cluster
//! name keeps mapping to the same load balancer name.

use sha2::{Digest, Sha256};

use crate::nodeup_config::NodeRole;

/// Longest name AWS accepts for a load balancer or target group.
const ELB_NAME_MAX: usize = 32;
/// Characters of hash kops appends to a truncated name.
const HASH_LENGTH: usize = 6;

/// The IAM role and instance profile prefix of a role (`masters`, `nodes`, `bastions`).
pub(crate) fn iam_prefix(role: NodeRole) -> &'static str {
    match role {
        NodeRole::ControlPlane => "masters",
        NodeRole::Node => "nodes",
        NodeRole::Bastion => "bastions",
    }
}

/// The role tag key, `k8s.io/role/<control-plane|node|bastion>`.
pub(crate) fn role_tag(role: NodeRole) -> String {
    format!("k8s.io/role/{}", role.as_str())
}

/// The name of a cluster's API load balancer, `api-<cluster with dots as dashes>` (truncated
/// as `elb_name` does): what clients look it up by.
#[must_use]
pub fn api_load_balancer_name(cluster: &str) -> String {
    elb_name("api", cluster)
}

/// `<prefix>-<cluster with dots as dashes>`, truncated to 32 characters with a hash when longer
/// (kops's `GetELBName32`).
pub(crate) fn elb_name(prefix: &str, cluster: &str) -> String {
    truncate(
        &format!("{prefix}-{}", cluster.replace('.', "-")),
        ELB_NAME_MAX,
    )
}

/// kops's `TruncateString`: names that fit are kept; longer ones keep their start and end in
/// `-<6 characters of the lowercase base32hex FNV-1a hash of the whole name>`.
fn truncate(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let hash = base32hex_lower(&fnv1a32(name.as_bytes()).to_be_bytes());
    let hash = &hash[..HASH_LENGTH.min(hash.len())];
    let keep = max - hash.len() - 1;
    // Names are ASCII (DNS names with dashes), so a byte cut is a character cut.
    let base = name.get(..keep).unwrap_or(name);
    format!("{base}-{hash}")
}

fn fnv1a32(bytes: &[u8]) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(PRIME)
    })
}

/// RFC 4648 base32 with the extended-hex alphabet, lowercase, without padding.
fn base32hex_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Hex SHA-256 of `text`.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_and_long_ones_get_a_stable_hash() {
        assert_eq!(elb_name("api", "dev.example.com"), "api-dev-example-com");
        let long = elb_name("api", "a-very-long-cluster-name.k8s.example.com");
        assert_eq!(long.len(), 32);
        assert!(long.starts_with("api-a-very-long-cluster-n-"));
        assert_eq!(
            long,
            elb_name("api", "a-very-long-cluster-name.k8s.example.com")
        );
        assert_ne!(
            long,
            elb_name("api", "a-very-long-cluster-name.k8s.example.org")
        );
    }

    #[test]
    fn base32hex_matches_rfc_4648_vectors() {
        // RFC 4648 §10, lowercase and unpadded.
        assert_eq!(base32hex_lower(b"f"), "co");
        assert_eq!(base32hex_lower(b"foob"), "cpnmuog");
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
    }
}
