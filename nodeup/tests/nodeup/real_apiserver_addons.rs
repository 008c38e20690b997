//! Addons against the real kube-apiserver.
//!
//! - [`berth_nodeup::addons::apply`], for each shipped version: every addon Berth renders is
//!   accepted by server-side apply under strict field validation, and applying it again
//!   changes nothing.
//! - The control-plane addon step ([`berth_nodeup::addons::run`]): from the channel in a
//!   `file://` store, with the client certificate it issues itself from the cluster CA, it
//!   applies every addon once, then nothing while the hashes match, then only the addon whose
//!   hash changed; it leaves the addons to another node holding the lease.

use std::{path::Path, time::Duration};

use berth_model::{
    CloudFacts, CompletedCluster, CreateClusterOptions, KubeProxySpec,
    addons::{
        AddonManifest, BootstrapChannel, ChannelEntry, FIELD_MANAGER, render, store::CHANNEL_KEY,
    },
    build_cluster, complete,
};
use berth_nodeup::{
    addons::{
        self, AddonError, AddonsError, AddonsOptions, AddonsOutcome, AppliedObject, LEASE_NAME,
        LEASE_NAMESPACE, ObjectOutcome,
    },
    pki::{CaKeypair, KUBERNETES_CA, PrivateKeyPem},
    store::{ConfigLocation, StateStore},
};
use berth_state_store::error_text::one_line;
use berth_test_support::k8s::{CaPem, ControlPlaneOptions, K8sVersion, TestControlPlane};
use k8s_openapi::{
    api::{
        coordination::v1::{Lease, LeaseSpec},
        core::v1::ConfigMap,
    },
    apimachinery::pkg::apis::meta::v1::MicroTime,
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::{DynamicObject, PostParams},
    core::GroupVersionKind,
    discovery,
};
use serde_json::json;
use sha2::Digest;

use crate::fixtures;

/// The reference cluster of `create cluster --zones us-east-1a` at `version`, with
/// kube-proxy enabled so that every addon (kube-proxy and Cilium both) is rendered.
fn reference_cluster(version: K8sVersion) -> CompletedCluster {
    let (mut cluster, groups) = build_cluster(&CreateClusterOptions {
        name: "addons.example.com".to_owned(),
        zones: vec!["us-east-1a".to_owned()],
        config_base: "s3://berth-state/addons.example.com".to_owned(),
        kubernetes_version: Some(version.semver().to_owned()),
        ..CreateClusterOptions::default()
    })
    .expect("the reference cluster builds");
    cluster.spec.kube_proxy = Some(KubeProxySpec {
        enabled: Some(true),
    });
    let facts = CloudFacts {
        region: "us-east-1".to_owned(),
        state_store: Some("s3://berth-state".to_owned()),
        ..CloudFacts::default()
    };
    complete(&cluster, &groups, &facts).expect("the reference cluster completes")
}

#[tokio::test]
async fn real_apiserver_addons_apply_strictly_and_reapply_as_no_ops() {
    for version in K8sVersion::ALL {
        let cluster = reference_cluster(version);
        let manifests = render(&cluster).expect("the addons render");
        let names: Vec<&str> = manifests.iter().map(|addon| addon.name.as_str()).collect();
        for expected in [
            "kubelet-api-rbac",
            "coredns",
            "kube-proxy",
            "cilium",
            "aws-cloud-controller-manager",
            "aws-ebs-csi-driver",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let options = ControlPlaneOptions::new(version)
            .with_extra_apiserver_args([service_range_arg(&cluster)]);
        let Some(control_plane) = TestControlPlane::start(options).await else {
            return;
        };
        let client = control_plane.client();
        let total: usize = manifests.iter().map(|addon| addon.objects.len()).sum();

        let first = addons::apply::apply(&client, &manifests, FIELD_MANAGER)
            .await
            .unwrap_or_else(|error| panic!("{version}: first apply: {}", one_line(&error)));
        assert_eq!(first.objects.len(), total);
        let not_created: Vec<_> = first
            .objects
            .iter()
            .filter(|object| object.outcome != ObjectOutcome::Created)
            .collect();
        assert!(not_created.is_empty(), "{version}: {not_created:#?}");

        let second = addons::apply::apply(&client, &manifests, FIELD_MANAGER)
            .await
            .unwrap_or_else(|error| panic!("{version}: second apply: {}", one_line(&error)));
        let changed: Vec<_> = second
            .objects
            .iter()
            .filter(|object| object.outcome != ObjectOutcome::Unchanged)
            .collect();
        assert!(
            changed.is_empty(),
            "{version}: changed on re-apply: {changed:#?}"
        );
        assert!(second.is_no_op());
        for (before, after) in first.objects.iter().zip(&second.objects) {
            assert_eq!(before.resource_version, after.resource_version);
        }

        // The manifests the builders store read back to the same objects.
        for addon in &manifests {
            let text = addon.to_yaml().unwrap();
            let read = AddonManifest::from_yaml(&addon.name, &addon.version, &text).unwrap();
            assert_eq!(&read, addon, "{version}: {} round trip", addon.name);
        }

        // Strict validation is on: an unknown field is refused, and nothing is created.
        let typo = AddonManifest {
            name: "typo".to_owned(),
            version: "1".to_owned(),
            objects: vec![json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": "berth-typo", "namespace": "kube-system" },
                "data": { "key": "value" },
                "dataa": { "key": "value" },
            })],
        };
        let error = addons::apply::apply(&client, &[typo], FIELD_MANAGER)
            .await
            .expect_err("strict validation refuses an unknown field");
        let AddonError::Apply {
            addon,
            kind,
            object,
            message,
            ..
        } = &error
        else {
            panic!("{version}: unexpected error {error:?}");
        };
        assert_eq!(
            (addon.as_str(), kind.as_str(), object.as_str()),
            ("typo", "ConfigMap", "kube-system/berth-typo")
        );
        assert!(message.contains("dataa"), "{version}: {message}");
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
        assert!(
            config_maps.get_opt("berth-typo").await.unwrap().is_none(),
            "{version}: the refused object was created"
        );
    }
}

/// The API server flag for the cluster's own service range, so that `kube-dns` gets its
/// conventional address.
fn service_range_arg(cluster: &CompletedCluster) -> String {
    let range = cluster
        .cluster
        .spec
        .service_cluster_ip_range
        .as_deref()
        .expect("completed");
    format!("--service-cluster-ip-range={range}")
}

/// A `file://` store holding `manifests` and their channel as the builders write them.
struct AddonStore {
    dir: tempfile::TempDir,
    cluster: String,
    manifests: Vec<AddonManifest>,
}

impl AddonStore {
    fn new(cluster: &CompletedCluster) -> Self {
        let store = Self {
            dir: tempfile::tempdir().unwrap(),
            cluster: cluster.cluster.metadata.name.clone(),
            manifests: render(cluster).expect("the addons render"),
        };
        store.write();
        store
    }

    fn cluster_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("store").join(&self.cluster)
    }

    /// Writes every manifest and the channel listing their hashes (as
    /// `berth_model::addons::store::build` does).
    fn write(&self) {
        let mut entries = Vec::new();
        for addon in &self.manifests {
            let text = addon.to_yaml().unwrap();
            let path = self.cluster_dir().join(addon.key());
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, &text).unwrap();
            entries.push(ChannelEntry {
                name: addon.name.clone(),
                version: addon.version.clone(),
                key: addon.key(),
                sha256: hex::encode(sha2::Sha256::digest(text.as_bytes())),
            });
        }
        let path = self.cluster_dir().join(CHANNEL_KEY);
        fs_err::write(&path, BootstrapChannel::new(entries).to_yaml().unwrap()).unwrap();
    }

    /// Labels the first object of `addon`, so its manifest and hash change.
    fn change(&mut self, addon: &str, label: &str) {
        let manifest = self
            .manifests
            .iter_mut()
            .find(|manifest| manifest.name == addon)
            .unwrap();
        manifest.objects[0]["metadata"]["labels"]["berth.dev/test"] = json!(label);
        self.write();
    }

    async fn open(&self) -> StateStore {
        StateStore::open(ConfigLocation {
            store_url: format!("file://{}", self.dir.path().join("store").display()),
            key: format!(
                "{}/igconfig/control-plane/cp/nodeupconfig.yaml",
                self.cluster
            ),
            cluster: self.cluster.clone(),
        })
        .await
        .unwrap()
    }

    fn options(&self, api_server: &str, holder: &str) -> AddonsOptions {
        let mut options = AddonsOptions::new(
            api_server.to_owned(),
            holder.to_owned(),
            self.dir
                .path()
                .join(format!("root-{holder}/addons-applied.json")),
        );
        options.poll_interval = Duration::from_millis(200);
        options.ready_timeout = Duration::from_secs(60);
        options.lease_wait = Duration::from_secs(2);
        options
    }
}

/// The store's `kubernetes-ca` with its key, as nodeup reads it on a control-plane node.
fn cluster_ca() -> CaKeypair {
    let keypair = fixtures::keypairs()
        .into_iter()
        .find(|keypair| keypair.name == KUBERNETES_CA)
        .unwrap();
    CaKeypair {
        certificate_pem: keypair.certificate_pem,
        private_key: Some(PrivateKeyPem::new(keypair.private_key_pem)),
    }
}

/// Each applied object's current `resourceVersion`.
async fn resource_versions(client: &Client, objects: &[AppliedObject]) -> Vec<Option<String>> {
    let mut versions = Vec::new();
    for object in objects {
        let (group, version) = object
            .api_version
            .split_once('/')
            .unwrap_or(("", object.api_version.as_str()));
        let gvk = GroupVersionKind::gvk(group, version, &object.kind);
        let (resource, _) = discovery::pinned_kind(client, &gvk).await.unwrap();
        let api: Api<DynamicObject> = match &object.namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let current = api
            .get_metadata(&object.name)
            .await
            .unwrap_or_else(|error| panic!("{} {} is missing: {error}", object.kind, object.name));
        versions.push(current.metadata.resource_version);
    }
    versions
}

#[tokio::test]
async fn real_apiserver_addon_step_applies_changed_addons_once_under_a_lease() {
    let version = K8sVersion::V1_36_2;
    let cluster = reference_cluster(version);
    let mut store = AddonStore::new(&cluster);
    let names: Vec<String> = store
        .manifests
        .iter()
        .map(|addon| addon.name.clone())
        .collect();
    let ca = cluster_ca();
    let options = ControlPlaneOptions::new(version)
        .with_ca(CaPem {
            certificate: ca.certificate_pem.clone(),
            private_key: ca.private_key.as_ref().unwrap().expose().to_owned(),
        })
        .with_extra_apiserver_args([service_range_arg(&cluster)]);
    let Some(control_plane) = TestControlPlane::start(options).await else {
        return;
    };
    let client = control_plane.client();
    let options = store.options(control_plane.server(), "cp-a");

    // First run: every addon, every object created, the lease released after.
    let outcome = addons::run(&store.open().await, &ca, &options)
        .await
        .unwrap_or_else(|error| panic!("first run: {}", one_line(&error)));
    let AddonsOutcome::Applied { addons, report } = &outcome else {
        panic!("first run: {outcome:?}");
    };
    assert_eq!(addons, &names);
    let total: usize = store
        .manifests
        .iter()
        .map(|addon| addon.objects.len())
        .sum();
    assert_eq!(report.objects.len(), total);
    assert_eq!(
        report.with_outcome(ObjectOutcome::Created).count(),
        total,
        "{report:#?}"
    );
    let objects = report.objects.clone();
    let versions = resource_versions(&client, &objects).await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let lease = leases.get(LEASE_NAME).await.unwrap();
    assert_eq!(lease.spec.unwrap().holder_identity, None, "released");
    assert!(options.record.is_file());

    // Second run: the hashes match the record; nothing applied, nothing changed.
    let outcome = addons::run(&store.open().await, &ca, &options)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        AddonsOutcome::UpToDate {
            addons: names.len()
        }
    );
    assert_eq!(resource_versions(&client, &objects).await, versions);

    // One addon changes: only it is applied, and only its changed object moves.
    store.change("coredns", "one");
    let outcome = addons::run(&store.open().await, &ca, &options)
        .await
        .unwrap();
    let AddonsOutcome::Applied { addons, report } = &outcome else {
        panic!("third run: {outcome:?}");
    };
    assert_eq!(addons, &["coredns".to_owned()]);
    assert!(
        report
            .objects
            .iter()
            .all(|object| object.addon == "coredns")
    );
    assert_eq!(report.with_outcome(ObjectOutcome::Updated).count(), 1);
    let after = resource_versions(&client, &objects).await;
    let moved: Vec<&AppliedObject> = objects
        .iter()
        .zip(versions.iter().zip(&after))
        .filter(|(_, (before, after))| before != after)
        .map(|(object, _)| object)
        .collect();
    assert_eq!(moved.len(), 1, "{moved:#?}");
    assert_eq!(moved[0].addon, "coredns");

    // Another node holds the lease: the step waits, then leaves the addons to it.
    let now = Timestamp::now();
    let mut lease = leases.get(LEASE_NAME).await.unwrap();
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    assert_eq!(spec.lease_transitions, Some(1), "taken twice by cp-a");
    spec.holder_identity = Some("cp-b".to_owned());
    spec.lease_duration_seconds = Some(3600);
    spec.acquire_time = Some(MicroTime(now));
    spec.renew_time = Some(MicroTime(now));
    leases
        .replace(LEASE_NAME, &PostParams::default(), &lease)
        .await
        .unwrap();
    store.change("coredns", "two");
    let before = resource_versions(&client, &objects).await;
    let outcome = addons::run(&store.open().await, &ca, &options)
        .await
        .unwrap();
    let AddonsOutcome::LeaseHeld {
        holder,
        waited,
        pending,
    } = &outcome
    else {
        panic!("fourth run: {outcome:?}");
    };
    assert_eq!(holder, "cp-b");
    assert!(*waited >= options.lease_wait, "{waited:?}");
    assert_eq!(pending, &["coredns".to_owned()]);
    let message = outcome.to_string();
    assert!(
        message.contains("held by `cp-b`") && message.contains("coredns"),
        "{message}"
    );
    assert_eq!(resource_versions(&client, &objects).await, before);

    // Once that lease expires, the pending addon is applied.
    let mut lease = leases.get(LEASE_NAME).await.unwrap();
    let past = MicroTime(Timestamp::from_second(now.as_second() - 7200).unwrap());
    let spec = lease.spec.as_mut().unwrap();
    spec.renew_time = Some(past.clone());
    spec.acquire_time = Some(past);
    leases
        .replace(LEASE_NAME, &PostParams::default(), &lease)
        .await
        .unwrap();
    let outcome = addons::run(&store.open().await, &ca, &options)
        .await
        .unwrap();
    assert!(
        matches!(&outcome, AddonsOutcome::Applied { addons, .. } if addons == &["coredns".to_owned()]),
        "{outcome:?}"
    );
    let lease = leases.get(LEASE_NAME).await.unwrap();
    assert_eq!(lease.spec.unwrap().lease_transitions, Some(2), "taken over");
    drop(control_plane);
}

/// Without a channel in the store there is nothing to apply, and no API server is needed.
#[tokio::test]
async fn addon_step_without_a_channel_applies_nothing() {
    let store = AddonStore::new(&reference_cluster(K8sVersion::V1_36_2));
    fs_err::remove_file(store.cluster_dir().join(CHANNEL_KEY)).unwrap();
    let options = store.options("https://127.0.0.1:1", "cp-a");
    let outcome = addons::run(&store.open().await, &cluster_ca(), &options)
        .await
        .unwrap();
    assert_eq!(outcome, AddonsOutcome::NoChannel);
    assert!(!options.record.exists());
}

/// A manifest that is not the one the channel lists is refused before any API call.
#[tokio::test]
async fn addon_step_refuses_a_manifest_whose_hash_differs_from_the_channel() {
    let store = AddonStore::new(&reference_cluster(K8sVersion::V1_36_2));
    let key = store.manifests[0].key();
    let path = store.cluster_dir().join(&key);
    let mut text = fs_err::read_to_string(&path).unwrap();
    text.push_str("# edited\n");
    fs_err::write(&path, text).unwrap();
    let options = store.options("https://127.0.0.1:1", "cp-a");
    let error = addons::run(&store.open().await, &cluster_ca(), &options)
        .await
        .expect_err("a changed manifest is refused");
    assert!(
        matches!(&error, AddonsError::ManifestHash { key: found, .. } if *found == key),
        "{error:?}"
    );
    assert!(!Path::new(&options.record).exists());
}
