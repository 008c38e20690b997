//! Test support shared by the workspace's integration tests.
//!
//! - [`moto`]: starts the moto AWS emulator (patched for Berth, see `tests/moto/berth_moto.py`)
//!   on a free loopback port, once per test binary, and hands out unique bucket names.
//! - [`fault_proxy`]: an HTTP proxy in front of moto that injects latency, throttling, 5xx
//!   and dropped connections, and counts calls per API action.
//! - [`k8s`]: a real etcd + kube-apiserver (+ kube-controller-manager) on loopback ports.
//! - [`instance_nodes`]: the cloud's running instances join the test control plane as
//!   nodes (through [`kubelet`]).
//! - [`workload`]: a Deployment behind a PodDisruptionBudget, for drains to evict.
//!
//! This crate depends on no `berth-*` crate: it drives moto over plain HTTP (and lists
//! instances with the EC2 SDK client a test hands it), and the test API server through the
//! `kube` crate. It is for tests only; it panics
//! with a clear message when its setup fails.

pub mod emulated_network;
pub mod fault_proxy;
mod http;
pub mod instance_nodes;
pub mod k8s;
pub mod kubelet;
pub mod moto;
pub mod workload;
