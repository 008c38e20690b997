//! nodeup's integration tests: the planned file tree per role (snapshots), the real
//! binary run end to end against a `file://` store into a temporary root, and the API's DNS
//! records against the moto emulator.

mod api_dns;
mod end_to_end;
mod fixtures;
mod flags;
mod kubelet_config_v1beta1;
mod plan;
mod real_apiserver;
mod real_apiserver_addons;
mod real_etcd;
mod real_mount;
