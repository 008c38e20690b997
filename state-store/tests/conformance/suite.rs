//! The checks every backend must pass; each takes a fresh, empty store.

use std::{sync::Arc, time::Duration};

use berth_state_store::{
    ClusterKeys, ETag, Error, Lease, ObjectStore, WriteCondition, list_clusters,
};
use tokio::sync::Barrier;

/// How many tasks race in the concurrency checks.
const RACERS: usize = 8;

type Store = Arc<dyn ObjectStore>;

async fn create(store: &Store, key: &str, content: &str) -> ETag {
    store
        .put(key, content.as_bytes().to_vec(), WriteCondition::Create)
        .await
        .unwrap_or_else(|error| panic!("create `{key}`: {error:?}"))
}

async fn content(store: &Store, key: &str) -> Option<String> {
    store
        .get(key)
        .await
        .unwrap()
        .map(|object| String::from_utf8(object.bytes).unwrap())
}

pub(crate) async fn get_missing_is_none(store: Store) {
    assert_eq!(store.get("c/config").await.unwrap(), None);
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new());
}

pub(crate) async fn create_then_get_round_trips(store: Store) {
    let etag = create(&store, "c/config", "spec: 1\n").await;
    let object = store.get("c/config").await.unwrap().unwrap();
    assert_eq!(object.bytes, b"spec: 1\n");
    assert_eq!(object.etag, etag, "get returns the tag put returned");
}

pub(crate) async fn create_twice_is_already_exists_and_keeps_content(store: Store) {
    create(&store, "c/config", "first").await;
    let error = store
        .put("c/config", b"second".to_vec(), WriteCondition::Create)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::AlreadyExists { key } if key == "c/config"),
        "{error:?}"
    );
    assert!(error.is_user_error());
    assert_eq!(content(&store, "c/config").await.as_deref(), Some("first"));
}

pub(crate) async fn replace_with_current_etag_succeeds(store: Store) {
    let first = create(&store, "c/config", "first").await;
    let second = store
        .put(
            "c/config",
            b"second".to_vec(),
            WriteCondition::Replace(first.clone()),
        )
        .await
        .unwrap();
    assert_ne!(first, second, "new content, new tag");
    let object = store.get("c/config").await.unwrap().unwrap();
    assert_eq!(object.bytes, b"second");
    assert_eq!(object.etag, second);
}

pub(crate) async fn replace_with_stale_etag_conflicts_and_keeps_content(store: Store) {
    let stale = create(&store, "c/config", "first").await;
    store
        .put(
            "c/config",
            b"second".to_vec(),
            WriteCondition::Replace(stale.clone()),
        )
        .await
        .unwrap();
    let error = store
        .put(
            "c/config",
            b"third".to_vec(),
            WriteCondition::Replace(stale),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Conflict { key } if key == "c/config"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("`c/config` was changed by someone else")
    );
    assert_eq!(content(&store, "c/config").await.as_deref(), Some("second"));
}

pub(crate) async fn replace_of_deleted_key_conflicts(store: Store) {
    let etag = create(&store, "c/config", "first").await;
    store.delete("c/config", None).await.unwrap();
    let error = store
        .put(
            "c/config",
            b"second".to_vec(),
            WriteCondition::Replace(etag),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
    assert_eq!(content(&store, "c/config").await, None);
}

pub(crate) async fn overwrite_is_unconditional(store: Store) {
    store
        .put(
            "c/manifests/a.yaml",
            b"one".to_vec(),
            WriteCondition::Overwrite,
        )
        .await
        .unwrap();
    store
        .put(
            "c/manifests/a.yaml",
            b"two".to_vec(),
            WriteCondition::Overwrite,
        )
        .await
        .unwrap();
    assert_eq!(
        content(&store, "c/manifests/a.yaml").await.as_deref(),
        Some("two")
    );
}

pub(crate) async fn delete_removes_and_tolerates_missing(store: Store) {
    let etag = create(&store, "c/a", "a").await;
    create(&store, "c/b", "b").await;
    store.delete("c/a", Some(etag)).await.unwrap();
    store.delete("c/b", None).await.unwrap();
    assert_eq!(store.get("c/a").await.unwrap(), None);
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new());
    store.delete("c/a", None).await.unwrap();
    store
        .delete("c/b", Some(ETag("\"stale\"".into())))
        .await
        .unwrap();
}

pub(crate) async fn delete_with_stale_etag_conflicts(store: Store) {
    let stale = create(&store, "c/a", "one").await;
    store
        .put(
            "c/a",
            b"two".to_vec(),
            WriteCondition::Replace(stale.clone()),
        )
        .await
        .unwrap();
    let error = store.delete("c/a", Some(stale)).await.unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
    assert_eq!(content(&store, "c/a").await.as_deref(), Some("two"));
}

pub(crate) async fn list_filters_by_prefix_and_sorts(store: Store) {
    for key in [
        "c2/config",
        "c/instancegroup/nodes-b",
        "c/config",
        "c/instancegroup/nodes-a",
        "c/instancegroup/control-plane/extra",
        "c/pki/issued/ca/certificate.pem",
    ] {
        create(&store, key, key).await;
    }
    assert_eq!(
        store.list("c/instancegroup/").await.unwrap(),
        [
            "c/instancegroup/control-plane/extra",
            "c/instancegroup/nodes-a",
            "c/instancegroup/nodes-b",
        ]
    );
    assert_eq!(
        store.list("c/instancegroup/nodes").await.unwrap(),
        ["c/instancegroup/nodes-a", "c/instancegroup/nodes-b"]
    );
    assert_eq!(
        store.list("c").await.unwrap().len(),
        6,
        "a plain string prefix, as in S3"
    );
    assert_eq!(store.list("c/").await.unwrap().len(), 5);
    assert_eq!(store.list("nothing/").await.unwrap(), Vec::<String>::new());
}

pub(crate) async fn concurrent_replaces_have_exactly_one_winner(store: Store) {
    let etag = create(&store, "c/config", "original").await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut racers = tokio::task::JoinSet::new();
    for racer in 0..RACERS {
        let (store, barrier, etag) = (Arc::clone(&store), Arc::clone(&barrier), etag.clone());
        racers.spawn(async move {
            barrier.wait().await;
            let bytes = format!("racer {racer}").into_bytes();
            (
                racer,
                store
                    .put("c/config", bytes, WriteCondition::Replace(etag))
                    .await,
            )
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = racers.join_next().await {
        match joined.unwrap() {
            (racer, Ok(_)) => winners.push(racer),
            (_, Err(Error::Conflict { .. })) => {}
            (_, Err(error)) => panic!("unexpected error: {error:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one replace wins: {winners:?}");
    assert_eq!(
        content(&store, "c/config").await,
        Some(format!("racer {}", winners[0]))
    );
}

pub(crate) async fn concurrent_creates_have_exactly_one_winner(store: Store) {
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut racers = tokio::task::JoinSet::new();
    for racer in 0..RACERS {
        let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
        racers.spawn(async move {
            barrier.wait().await;
            let bytes = format!("racer {racer}").into_bytes();
            store.put("c/config", bytes, WriteCondition::Create).await
        });
    }
    let mut wins = 0;
    while let Some(joined) = racers.join_next().await {
        match joined.unwrap() {
            Ok(_) => wins += 1,
            Err(Error::AlreadyExists { .. }) => {}
            Err(error) => panic!("unexpected error: {error:?}"),
        }
    }
    assert_eq!(wins, 1, "exactly one create wins");
}

pub(crate) async fn invalid_keys_are_rejected(store: Store) {
    for key in ["", "/c/config", "c//config", "c/../config", "c/config/"] {
        let error = store
            .put(key, b"x".to_vec(), WriteCondition::Overwrite)
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::InvalidKey { .. }),
            "{key:?}: {error:?}"
        );
    }
}

pub(crate) async fn list_clusters_finds_configs(store: Store) {
    for key in [
        "b.example.com/config",
        "b.example.com/instancegroup/nodes",
        "a.example.com/config",
        "orphan.example.com/instancegroup/nodes",
    ] {
        create(&store, key, "x").await;
    }
    assert_eq!(
        list_clusters(store.as_ref()).await.unwrap(),
        ["a.example.com", "b.example.com"]
    );
}

const TTL: Duration = Duration::from_secs(300);

pub(crate) async fn lease_refuses_a_second_holder(store: Store) {
    let guard = Lease::acquire(
        Arc::clone(&store),
        "c",
        "berth update cluster (pid 1 on a)",
        TTL,
    )
    .await
    .unwrap();
    let error = Lease::acquire(
        Arc::clone(&store),
        "c",
        "berth rolling-update (pid 2 on b)",
        TTL,
    )
    .await
    .unwrap_err();
    let Error::LeaseHeld {
        ref cluster,
        ref holder,
        ref until,
    } = error
    else {
        panic!("expected LeaseHeld, got {error:?}");
    };
    assert_eq!(cluster, "c");
    assert_eq!(holder, "berth update cluster (pid 1 on a)");
    assert!(
        until.contains('T') && until.ends_with('Z'),
        "RFC 3339: {until}"
    );
    let message = error.to_string();
    assert!(
        message.contains("berth update cluster (pid 1 on a)"),
        "{message}"
    );
    assert!(message.contains(until.as_str()), "{message}");
    assert!(error.is_user_error());

    // Another cluster's lease is independent.
    let other = Lease::acquire(Arc::clone(&store), "d", "someone", TTL)
        .await
        .unwrap();
    other.release().await.unwrap();
    guard.release().await.unwrap();
}

pub(crate) async fn lease_renew_then_release_then_reacquire(store: Store) {
    let mut guard = Lease::acquire(Arc::clone(&store), "c", "first", TTL)
        .await
        .unwrap();
    let before = guard.lease().expires_at;
    tokio::time::sleep(Duration::from_millis(20)).await;
    guard.renew().await.unwrap();
    assert!(
        guard.lease().expires_at > before,
        "renew extends the expiry"
    );
    let stored = Lease::read(store.as_ref(), "c").await.unwrap().unwrap();
    assert_eq!(&stored, guard.lease());
    guard.renew().await.unwrap();
    guard.release().await.unwrap();
    assert_eq!(Lease::read(store.as_ref(), "c").await.unwrap(), None);

    let again = Lease::acquire(Arc::clone(&store), "c", "second", TTL)
        .await
        .unwrap();
    assert_eq!(again.lease().holder, "second");
    again.release().await.unwrap();
}

pub(crate) async fn expired_lease_is_taken_over(store: Store) {
    let mut stale = Lease::acquire(Arc::clone(&store), "c", "crashed", Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(stale.lease().is_expired());
    let fresh = Lease::acquire(Arc::clone(&store), "c", "fresh", TTL)
        .await
        .unwrap();
    assert_eq!(
        Lease::read(store.as_ref(), "c")
            .await
            .unwrap()
            .unwrap()
            .holder,
        "fresh"
    );

    // The old holder learns it lost the lease and cannot disturb the new one.
    let error = stale.renew().await.unwrap_err();
    assert!(matches!(error, Error::LeaseLost { .. }), "{error:?}");
    let error = stale.release().await.unwrap_err();
    assert!(matches!(error, Error::LeaseLost { .. }), "{error:?}");
    assert_eq!(
        Lease::read(store.as_ref(), "c")
            .await
            .unwrap()
            .unwrap()
            .holder,
        "fresh"
    );
    fresh.release().await.unwrap();
}

pub(crate) async fn layout_keys_are_storable(store: Store) {
    let keys = ClusterKeys::new("c.example.com");
    let all = [
        keys.config(),
        keys.instance_group("nodes"),
        keys.completed_spec(),
        keys.berth_version(),
        keys.pki_issued("kubernetes-ca"),
        keys.pki_private("kubernetes-ca"),
        keys.secret("admin"),
        keys.ssh_public_key("be3ef7e4c1b5a2c0d8f9e6a7b4c3d2e1"),
        keys.igconfig("control-plane", "control-plane-us-east-1a"),
        format!("{}kube-apiserver.yaml", keys.manifests_prefix()),
        keys.lease(),
    ];
    for key in &all {
        create(&store, key, key).await;
    }
    let mut expected = all.to_vec();
    expected.sort();
    assert_eq!(store.list(&keys.prefix()).await.unwrap(), expected);
    assert_eq!(
        store.list(&keys.ssh_public_keys_prefix()).await.unwrap(),
        [keys.ssh_public_key("be3ef7e4c1b5a2c0d8f9e6a7b4c3d2e1")]
    );
    assert_eq!(
        store.list(&keys.instance_groups_prefix()).await.unwrap(),
        [keys.instance_group("nodes")]
    );
}
