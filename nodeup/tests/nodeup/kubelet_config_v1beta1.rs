//! `kubelet.config.k8s.io/v1beta1` `KubeletConfiguration`, transcribed for a strict parse of
//! the configuration nodeup renders.
//!
//! Source: the Go struct `KubeletConfiguration` and its `KubeletAuthentication` and
//! `KubeletAuthorization` parts in kubernetes/kubernetes
//! `staging/src/k8s.io/kubelet/config/v1beta1/types.go` at commit
//! `001332b0422071acf4860769f18e34b5e9b7c1bc` (the newest the research index held; it has `memoryReservationPolicy`,
//! i.e. v1.36), plus `v1.Taint` from `k8s.io/api/core/v1`. Every JSON field name of the struct
//! is listed below, in the Go file's order (126 fields). Fields nodeup writes have their
//! Go types; the others are opaque values: this type checks names, not defaults.
//!
//! Newer fields are accepted by older kubelets only from the release that added them, so a
//! field nodeup starts writing must also be checked against the oldest supported release
//! (1.28); every field nodeup writes today exists since 1.10 or earlier.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// `KubeletConfiguration`: every field, unknown ones refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubeletConfiguration {
    #[serde(rename = "apiVersion")]
    pub(crate) api_version: String,
    pub(crate) kind: String,
    #[serde(rename = "enableServer")]
    pub(crate) enable_server: Option<Value>,
    #[serde(rename = "staticPodPath")]
    pub(crate) static_pod_path: Option<String>,
    #[serde(rename = "podLogsDir")]
    pub(crate) pod_logs_dir: Option<Value>,
    #[serde(rename = "syncFrequency")]
    pub(crate) sync_frequency: Option<Value>,
    #[serde(rename = "fileCheckFrequency")]
    pub(crate) file_check_frequency: Option<Value>,
    #[serde(rename = "httpCheckFrequency")]
    pub(crate) http_check_frequency: Option<Value>,
    #[serde(rename = "staticPodURL")]
    pub(crate) static_pod_url: Option<Value>,
    #[serde(rename = "staticPodURLHeader")]
    pub(crate) static_pod_url_header: Option<Value>,
    #[serde(rename = "address")]
    pub(crate) address: Option<Value>,
    #[serde(rename = "port")]
    pub(crate) port: Option<Value>,
    #[serde(rename = "readOnlyPort")]
    pub(crate) read_only_port: Option<Value>,
    #[serde(rename = "tlsCertFile")]
    pub(crate) tls_cert_file: Option<Value>,
    #[serde(rename = "tlsPrivateKeyFile")]
    pub(crate) tls_private_key_file: Option<Value>,
    #[serde(rename = "tlsCipherSuites")]
    pub(crate) tls_cipher_suites: Option<Value>,
    #[serde(rename = "tlsCurvePreferences")]
    pub(crate) tls_curve_preferences: Option<Value>,
    #[serde(rename = "tlsMinVersion")]
    pub(crate) tls_min_version: Option<Value>,
    #[serde(rename = "rotateCertificates")]
    pub(crate) rotate_certificates: Option<bool>,
    #[serde(rename = "serverTLSBootstrap")]
    pub(crate) server_tls_bootstrap: Option<Value>,
    #[serde(rename = "authentication")]
    pub(crate) authentication: Option<KubeletAuthentication>,
    #[serde(rename = "authorization")]
    pub(crate) authorization: Option<KubeletAuthorization>,
    #[serde(rename = "registryPullQPS")]
    pub(crate) registry_pull_qps: Option<Value>,
    #[serde(rename = "registryBurst")]
    pub(crate) registry_burst: Option<Value>,
    #[serde(rename = "imagePullCredentialsVerificationPolicy")]
    pub(crate) image_pull_credentials_verification_policy: Option<Value>,
    #[serde(rename = "preloadedImagesVerificationAllowlist")]
    pub(crate) preloaded_images_verification_allowlist: Option<Value>,
    #[serde(rename = "eventRecordQPS")]
    pub(crate) event_record_qps: Option<Value>,
    #[serde(rename = "eventBurst")]
    pub(crate) event_burst: Option<Value>,
    #[serde(rename = "enableDebuggingHandlers")]
    pub(crate) enable_debugging_handlers: Option<Value>,
    #[serde(rename = "enableContentionProfiling")]
    pub(crate) enable_contention_profiling: Option<Value>,
    #[serde(rename = "healthzPort")]
    pub(crate) healthz_port: Option<Value>,
    #[serde(rename = "healthzBindAddress")]
    pub(crate) healthz_bind_address: Option<Value>,
    #[serde(rename = "oomScoreAdj")]
    pub(crate) oom_score_adj: Option<Value>,
    #[serde(rename = "clusterDomain")]
    pub(crate) cluster_domain: Option<String>,
    #[serde(rename = "clusterDNS")]
    pub(crate) cluster_dns: Option<Vec<String>>,
    #[serde(rename = "streamingConnectionIdleTimeout")]
    pub(crate) streaming_connection_idle_timeout: Option<Value>,
    #[serde(rename = "nodeStatusUpdateFrequency")]
    pub(crate) node_status_update_frequency: Option<Value>,
    #[serde(rename = "nodeStatusReportFrequency")]
    pub(crate) node_status_report_frequency: Option<Value>,
    #[serde(rename = "nodeLeaseDurationSeconds")]
    pub(crate) node_lease_duration_seconds: Option<Value>,
    #[serde(rename = "imageMinimumGCAge")]
    pub(crate) image_minimum_gc_age: Option<Value>,
    #[serde(rename = "imageMaximumGCAge")]
    pub(crate) image_maximum_gc_age: Option<Value>,
    #[serde(rename = "imageGCHighThresholdPercent")]
    pub(crate) image_gc_high_threshold_percent: Option<Value>,
    #[serde(rename = "imageGCLowThresholdPercent")]
    pub(crate) image_gc_low_threshold_percent: Option<Value>,
    #[serde(rename = "volumeStatsAggPeriod")]
    pub(crate) volume_stats_agg_period: Option<Value>,
    #[serde(rename = "kubeletCgroups")]
    pub(crate) kubelet_cgroups: Option<Value>,
    #[serde(rename = "systemCgroups")]
    pub(crate) system_cgroups: Option<Value>,
    #[serde(rename = "cgroupRoot")]
    pub(crate) cgroup_root: Option<Value>,
    #[serde(rename = "cgroupsPerQOS")]
    pub(crate) cgroups_per_qos: Option<Value>,
    #[serde(rename = "cgroupDriver")]
    pub(crate) cgroup_driver: Option<String>,
    #[serde(rename = "cpuManagerPolicy")]
    pub(crate) cpu_manager_policy: Option<Value>,
    #[serde(rename = "singleProcessOOMKill")]
    pub(crate) single_process_oom_kill: Option<Value>,
    #[serde(rename = "cpuManagerPolicyOptions")]
    pub(crate) cpu_manager_policy_options: Option<Value>,
    #[serde(rename = "cpuManagerReconcilePeriod")]
    pub(crate) cpu_manager_reconcile_period: Option<Value>,
    #[serde(rename = "draManagerReconcilePeriod")]
    pub(crate) dra_manager_reconcile_period: Option<Value>,
    #[serde(rename = "memoryManagerPolicy")]
    pub(crate) memory_manager_policy: Option<Value>,
    #[serde(rename = "topologyManagerPolicy")]
    pub(crate) topology_manager_policy: Option<Value>,
    #[serde(rename = "topologyManagerScope")]
    pub(crate) topology_manager_scope: Option<Value>,
    #[serde(rename = "topologyManagerPolicyOptions")]
    pub(crate) topology_manager_policy_options: Option<Value>,
    #[serde(rename = "qosReserved")]
    pub(crate) qos_reserved: Option<Value>,
    #[serde(rename = "runtimeRequestTimeout")]
    pub(crate) runtime_request_timeout: Option<Value>,
    #[serde(rename = "hairpinMode")]
    pub(crate) hairpin_mode: Option<Value>,
    #[serde(rename = "maxPods")]
    pub(crate) max_pods: Option<i32>,
    #[serde(rename = "podCIDR")]
    pub(crate) pod_cidr: Option<Value>,
    #[serde(rename = "podPidsLimit")]
    pub(crate) pod_pids_limit: Option<Value>,
    #[serde(rename = "resolvConf")]
    pub(crate) resolv_conf: Option<Value>,
    #[serde(rename = "runOnce")]
    pub(crate) run_once: Option<Value>,
    #[serde(rename = "cpuCFSQuota")]
    pub(crate) cpu_cfs_quota: Option<Value>,
    #[serde(rename = "cpuCFSQuotaPeriod")]
    pub(crate) cpu_cfs_quota_period: Option<Value>,
    #[serde(rename = "nodeStatusMaxImages")]
    pub(crate) node_status_max_images: Option<Value>,
    #[serde(rename = "maxOpenFiles")]
    pub(crate) max_open_files: Option<Value>,
    #[serde(rename = "contentType")]
    pub(crate) content_type: Option<Value>,
    #[serde(rename = "kubeAPIQPS")]
    pub(crate) kube_apiqps: Option<Value>,
    #[serde(rename = "kubeAPIBurst")]
    pub(crate) kube_api_burst: Option<Value>,
    #[serde(rename = "serializeImagePulls")]
    pub(crate) serialize_image_pulls: Option<Value>,
    #[serde(rename = "maxParallelImagePulls")]
    pub(crate) max_parallel_image_pulls: Option<Value>,
    #[serde(rename = "evictionHard")]
    pub(crate) eviction_hard: Option<Value>,
    #[serde(rename = "evictionSoft")]
    pub(crate) eviction_soft: Option<Value>,
    #[serde(rename = "evictionSoftGracePeriod")]
    pub(crate) eviction_soft_grace_period: Option<Value>,
    #[serde(rename = "evictionPressureTransitionPeriod")]
    pub(crate) eviction_pressure_transition_period: Option<Value>,
    #[serde(rename = "evictionMaxPodGracePeriod")]
    pub(crate) eviction_max_pod_grace_period: Option<Value>,
    #[serde(rename = "evictionMinimumReclaim")]
    pub(crate) eviction_minimum_reclaim: Option<Value>,
    #[serde(rename = "mergeDefaultEvictionSettings")]
    pub(crate) merge_default_eviction_settings: Option<Value>,
    #[serde(rename = "podsPerCore")]
    pub(crate) pods_per_core: Option<Value>,
    #[serde(rename = "enableControllerAttachDetach")]
    pub(crate) enable_controller_attach_detach: Option<Value>,
    #[serde(rename = "protectKernelDefaults")]
    pub(crate) protect_kernel_defaults: Option<Value>,
    #[serde(rename = "makeIPTablesUtilChains")]
    pub(crate) make_ip_tables_util_chains: Option<Value>,
    #[serde(rename = "iptablesMasqueradeBit")]
    pub(crate) iptables_masquerade_bit: Option<Value>,
    #[serde(rename = "iptablesDropBit")]
    pub(crate) iptables_drop_bit: Option<Value>,
    #[serde(rename = "featureGates")]
    pub(crate) feature_gates: Option<BTreeMap<String, bool>>,
    #[serde(rename = "failSwapOn")]
    pub(crate) fail_swap_on: Option<Value>,
    #[serde(rename = "memorySwap")]
    pub(crate) memory_swap: Option<Value>,
    #[serde(rename = "containerLogMaxSize")]
    pub(crate) container_log_max_size: Option<Value>,
    #[serde(rename = "containerLogMaxFiles")]
    pub(crate) container_log_max_files: Option<Value>,
    #[serde(rename = "containerLogMaxWorkers")]
    pub(crate) container_log_max_workers: Option<Value>,
    #[serde(rename = "containerLogMonitorInterval")]
    pub(crate) container_log_monitor_interval: Option<Value>,
    #[serde(rename = "configMapAndSecretChangeDetectionStrategy")]
    pub(crate) config_map_and_secret_change_detection_strategy: Option<Value>,
    #[serde(rename = "systemReserved")]
    pub(crate) system_reserved: Option<Value>,
    #[serde(rename = "kubeReserved")]
    pub(crate) kube_reserved: Option<Value>,
    #[serde(rename = "reservedSystemCPUs")]
    pub(crate) reserved_system_cp_us: Option<Value>,
    #[serde(rename = "showHiddenMetricsForVersion")]
    pub(crate) show_hidden_metrics_for_version: Option<Value>,
    #[serde(rename = "systemReservedCgroup")]
    pub(crate) system_reserved_cgroup: Option<Value>,
    #[serde(rename = "kubeReservedCgroup")]
    pub(crate) kube_reserved_cgroup: Option<Value>,
    #[serde(rename = "enforceNodeAllocatable")]
    pub(crate) enforce_node_allocatable: Option<Value>,
    #[serde(rename = "allowedUnsafeSysctls")]
    pub(crate) allowed_unsafe_sysctls: Option<Value>,
    #[serde(rename = "volumePluginDir")]
    pub(crate) volume_plugin_dir: Option<Value>,
    #[serde(rename = "providerID")]
    pub(crate) provider_id: Option<Value>,
    #[serde(rename = "kernelMemcgNotification")]
    pub(crate) kernel_memcg_notification: Option<Value>,
    #[serde(rename = "logging")]
    pub(crate) logging: Option<Value>,
    #[serde(rename = "enableSystemLogHandler")]
    pub(crate) enable_system_log_handler: Option<Value>,
    #[serde(rename = "enableSystemLogQuery")]
    pub(crate) enable_system_log_query: Option<Value>,
    #[serde(rename = "shutdownGracePeriod")]
    pub(crate) shutdown_grace_period: Option<Value>,
    #[serde(rename = "shutdownGracePeriodCriticalPods")]
    pub(crate) shutdown_grace_period_critical_pods: Option<Value>,
    #[serde(rename = "shutdownGracePeriodByPodPriority")]
    pub(crate) shutdown_grace_period_by_pod_priority: Option<Value>,
    #[serde(rename = "crashLoopBackOff")]
    pub(crate) crash_loop_back_off: Option<Value>,
    #[serde(rename = "reservedMemory")]
    pub(crate) reserved_memory: Option<Value>,
    #[serde(rename = "enableProfilingHandler")]
    pub(crate) enable_profiling_handler: Option<Value>,
    #[serde(rename = "enableDebugFlagsHandler")]
    pub(crate) enable_debug_flags_handler: Option<Value>,
    #[serde(rename = "seccompDefault")]
    pub(crate) seccomp_default: Option<Value>,
    #[serde(rename = "memoryThrottlingFactor")]
    pub(crate) memory_throttling_factor: Option<Value>,
    #[serde(rename = "memoryReservationPolicy")]
    pub(crate) memory_reservation_policy: Option<Value>,
    #[serde(rename = "registerWithTaints")]
    pub(crate) register_with_taints: Option<Vec<Taint>>,
    #[serde(rename = "registerNode")]
    pub(crate) register_node: Option<Value>,
    #[serde(rename = "tracing")]
    pub(crate) tracing: Option<Value>,
    #[serde(rename = "localStorageCapacityIsolation")]
    pub(crate) local_storage_capacity_isolation: Option<Value>,
    #[serde(rename = "containerRuntimeEndpoint")]
    pub(crate) container_runtime_endpoint: String,
    #[serde(rename = "imageServiceEndpoint")]
    pub(crate) image_service_endpoint: Option<Value>,
    #[serde(rename = "failCgroupV1")]
    pub(crate) fail_cgroup_v1: Option<Value>,
    #[serde(rename = "userNamespaces")]
    pub(crate) user_namespaces: Option<Value>,
}

/// `KubeletAuthentication`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubeletAuthentication {
    pub(crate) x509: Option<KubeletX509Authentication>,
    pub(crate) webhook: Option<KubeletWebhookAuthentication>,
    pub(crate) anonymous: Option<KubeletAnonymousAuthentication>,
}

/// `KubeletX509Authentication`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubeletX509Authentication {
    #[serde(rename = "clientCAFile")]
    pub(crate) client_ca_file: Option<String>,
}

/// `KubeletWebhookAuthentication`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubeletWebhookAuthentication {
    pub(crate) enabled: Option<bool>,
    #[serde(rename = "cacheTTL")]
    pub(crate) cache_ttl: Option<String>,
}

/// `KubeletAnonymousAuthentication`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubeletAnonymousAuthentication {
    pub(crate) enabled: Option<bool>,
}

/// `KubeletAuthorization`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubeletAuthorization {
    pub(crate) mode: Option<String>,
    pub(crate) webhook: Option<KubeletWebhookAuthorization>,
}

/// `KubeletWebhookAuthorization`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KubeletWebhookAuthorization {
    #[serde(rename = "cacheAuthorizedTTL")]
    pub(crate) cache_authorized_ttl: Option<String>,
    #[serde(rename = "cacheUnauthorizedTTL")]
    pub(crate) cache_unauthorized_ttl: Option<String>,
}

/// `v1.Taint` (`k8s.io/api/core/v1`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Taint {
    pub(crate) key: String,
    pub(crate) value: Option<String>,
    pub(crate) effect: String,
    #[serde(rename = "timeAdded")]
    pub(crate) time_added: Option<String>,
}
