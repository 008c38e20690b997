//! `berth update cluster` end to end against the AWS emulator: the two reference clusters
//! (public single-zone; private three-zone HA with a bastion and DNS), an instance group edit,
//! faults injected by a proxy, an apply killed midway, bad input, and the Terraform target.
//!
//! Every test works in an emulator account of its own, so clusters can keep fixed names.

pub(crate) mod account;
mod bad_input;
mod changes;
mod dns;
mod faults;
mod name_collision;
mod node_bootstrap;
mod node_etcd;
mod reference;
mod terraform;
pub(crate) mod world;
