//! End-to-end tests of the `berth` binary: one test binary, one module per area.

mod bad_input;
mod context;
mod create_cluster;
mod delete_cluster;
mod edit;
mod export_kubeconfig;
mod fault_suite;
mod kops_manifest;
mod replace_and_delete;
mod rolling_update;
mod rolling_update_kubernetes;
mod s3_store;
mod update_cluster;
mod upgrade_cluster;
