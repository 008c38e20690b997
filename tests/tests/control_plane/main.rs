//! The test control plane itself against the shipped binaries: it starts each version, the
//! clients it hands out are cluster admins, and a component that refuses its flags is reported
//! with its own error text.

use berth_test_support::k8s::{ControlPlaneOptions, K8sVersion, StartError, TestControlPlane};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};

#[tokio::test]
async fn real_apiserver_control_plane_starts_each_shipped_version() {
    for version in K8sVersion::ALL {
        let options = ControlPlaneOptions::new(version).with_controller_manager();
        let Some(control_plane) = TestControlPlane::start(options).await else {
            return;
        };
        let client = control_plane.client();
        let info = client.apiserver_version().await.expect("/version answers");
        assert_eq!(
            format!("v{}.{}", info.major, info.minor),
            version.as_str()[..5]
        );
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let namespace: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "harness-check"}
        }))
        .unwrap();
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .expect("the admin may create namespaces");
        // The controller manager runs: the service-account controller fills new namespaces.
        let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
            Api::namespaced(client, "harness-check");
        let mut found = false;
        for _ in 0..100 {
            if accounts.get_opt("default").await.unwrap().is_some() {
                found = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            found,
            "{version}: no default service account in a new namespace"
        );
        let dir = control_plane.layout().dir.clone();
        drop(control_plane);
        assert!(
            !dir.exists(),
            "{version}: {} was not removed",
            dir.display()
        );
    }
}

#[tokio::test]
async fn real_apiserver_harness_reports_a_refused_flag_with_the_servers_own_words() {
    // `--insecure-port` was removed in Kubernetes 1.24: every shipped version refuses it.
    let version = K8sVersion::V1_36_2;
    if berth_test_support::k8s::binaries(version).is_err() && !berth_test_support::k8s::in_ci() {
        eprintln!("skipping: the shipped binaries or etcd are missing");
        return;
    }
    let options = ControlPlaneOptions::new(version)
        .with_extra_apiserver_args(["--insecure-port=8080".to_owned()]);
    match TestControlPlane::try_start(options).await {
        Err(StartError::Exited { component, log, .. }) => {
            assert_eq!(component, "kube-apiserver");
            assert!(
                log.contains("unknown flag: --insecure-port"),
                "the API server's own error is reported: {log}"
            );
        }
        other => panic!("expected the API server to refuse the flag, got {other:?}"),
    }
}
