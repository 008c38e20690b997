//! What nodeup learns about the machine before planning: its name and address, and the key
//! material gathered for it (see [`crate::pki`]).
//!
//! Discovery reads the kernel's hostname and finds the address of the interface that routes
//! to the instance metadata service (a UDP `connect` sends no packet). Both can be overridden,
//! which tests do to make runs deterministic.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket},
    path::PathBuf,
};

use crate::{etcd_volumes::EtcdPeer, pki::NodePki};

/// The kernel's hostname.
const HOSTNAME_FILE: &str = "/proc/sys/kernel/hostname";
/// An address only reachable through the instance's primary interface (the EC2 metadata
/// service), used to pick the node's internal address.
const METADATA_ADDRESS: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)), 80);

/// The machine's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The node name (the instance's hostname, the EC2 private DNS name on AWS).
    pub hostname: String,
    /// The node's internal address.
    pub internal_ip: IpAddr,
}

/// Everything [`crate::plan::plan`] reads besides the config.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// Who this machine is.
    pub identity: Identity,
    /// Certificates and keys prepared for it.
    pub pki: NodePki,
    /// This node's member of each etcd cluster, as named by the etcd volume it took
    /// ([`crate::etcd_volumes`]); empty when no volume was looked up.
    pub etcd_members: BTreeMap<String, String>,
    /// The device (a node path) of each etcd cluster's volume on this machine
    /// ([`crate::block_device`]); empty when no volume was looked up.
    pub etcd_devices: BTreeMap<String, PathBuf>,
    /// The other control-plane nodes' etcd members and addresses, as their volumes'
    /// attachments tell ([`crate::etcd_volumes::EtcdPeer`]).
    pub etcd_peers: Vec<EtcdPeer>,
    /// The live control-plane instances' private addresses, for the API server's name in
    /// `/etc/hosts` on clusters without DNS ([`crate::plan::hosts`]); empty otherwise.
    pub api_addresses: Vec<IpAddr>,
}

/// Why the machine's identity could not be found.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    /// The hostname could not be read.
    #[error("failed to read the hostname; pass --hostname")]
    Hostname(#[source] std::io::Error),
    /// The internal address could not be found.
    #[error("failed to find the node's internal address; pass --node-ip")]
    Address(#[source] std::io::Error),
}

/// Finds the identity, preferring the overrides.
///
/// # Errors
/// [`FactsError`] when a value is neither given nor discoverable.
pub fn discover(
    hostname: Option<String>,
    internal_ip: Option<IpAddr>,
) -> Result<Identity, FactsError> {
    let hostname = match hostname {
        Some(hostname) => hostname,
        None => fs_err::read_to_string(HOSTNAME_FILE)
            .map_err(FactsError::Hostname)?
            .trim()
            .to_owned(),
    };
    let internal_ip = match internal_ip {
        Some(address) => address,
        None => {
            let socket =
                UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(FactsError::Address)?;
            socket
                .connect(METADATA_ADDRESS)
                .map_err(FactsError::Address)?;
            socket.local_addr().map_err(FactsError::Address)?.ip()
        }
    };
    Ok(Identity {
        hostname,
        internal_ip,
    })
}
