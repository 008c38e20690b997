//! The suite against the `s3://` backend on the moto emulator (a unique bucket per test),
//! plus S3-specific failures: missing bucket, unreachable endpoint, prefix isolation.

use std::{
    net::TcpListener,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use berth_state_store::{Error, ObjectStore, WriteCondition, open, open_s3_with_config};
use berth_test_support::moto::{MotoServer, REGION, unique_bucket};

async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

/// A store in a fresh bucket of the shared moto server, under a prefix.
async fn make() -> (Arc<dyn ObjectStore>, ()) {
    let moto = MotoServer::shared();
    let bucket = unique_bucket("conformance");
    moto.create_bucket(&bucket);
    let sdk = sdk_config(&moto.endpoint()).await;
    let store = open_s3_with_config(&sdk, &bucket, "berth/state")
        .await
        .unwrap();
    (store, ())
}

crate::all_checks!(make);

#[tokio::test]
async fn prefixes_isolate_stores_in_one_bucket() {
    let moto = MotoServer::shared();
    let bucket = unique_bucket("prefixes");
    moto.create_bucket(&bucket);
    let sdk = sdk_config(&moto.endpoint()).await;
    let one = open_s3_with_config(&sdk, &bucket, "one").await.unwrap();
    let two = open_s3_with_config(&sdk, &bucket, "two/").await.unwrap();
    let root = open_s3_with_config(&sdk, &bucket, "").await.unwrap();
    one.put("c/config", b"1".to_vec(), WriteCondition::Create)
        .await
        .unwrap();
    two.put("c/config", b"2".to_vec(), WriteCondition::Create)
        .await
        .unwrap();
    assert_eq!(one.get("c/config").await.unwrap().unwrap().bytes, b"1");
    assert_eq!(one.list("").await.unwrap(), ["c/config"]);
    assert_eq!(
        root.list("").await.unwrap(),
        ["one/c/config", "two/c/config"]
    );
    assert_eq!(one.url(), format!("s3://{bucket}/one"));
}

#[tokio::test]
async fn missing_bucket_is_a_clear_error() {
    let moto = MotoServer::shared();
    let bucket = unique_bucket("missing");
    let sdk = sdk_config(&moto.endpoint()).await;
    let store = open_s3_with_config(&sdk, &bucket, "").await.unwrap();

    let error = store.check().await.unwrap_err();
    assert!(matches!(error, Error::BucketNotFound { .. }), "{error:?}");
    assert!(error.is_user_error());
    let message = error.to_string();
    assert!(message.contains(&format!("`{bucket}`")), "{message}");
    assert!(message.contains("aws s3 mb"), "{message}");

    for error in [
        store.get("c/config").await.unwrap_err(),
        store
            .put("c/config", b"x".to_vec(), WriteCondition::Create)
            .await
            .unwrap_err(),
        store.list("").await.unwrap_err(),
    ] {
        assert!(matches!(error, Error::BucketNotFound { .. }), "{error:?}");
    }
}

#[tokio::test]
async fn unreachable_endpoint_fails_quickly_naming_it() {
    // A loopback port nobody listens on: bind, note the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let sdk = sdk_config(&endpoint).await;
    let store = open_s3_with_config(&sdk, "some-bucket", "").await.unwrap();

    let started = Instant::now();
    let error = store.check().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    assert!(error.is_user_error());
    let message = error.to_string();
    assert!(message.contains(&endpoint), "{message}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the SDK error is kept as the source"
    );

    let error = store.get("c/config").await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
}

/// Set in the environment of [`open_child`]: the store URL to open.
const CHILD_URL_ENV: &str = "BERTH_CONFORMANCE_OPEN_URL";
const CHILD_RESULT: &str = "open-result: ";

/// `open` configures itself from the environment (as the CLI will use it), so it runs in a
/// child process given moto's environment rather than changing this process's.
#[test]
fn open_configures_s3_from_the_environment() {
    let moto = MotoServer::shared();
    let bucket = unique_bucket("open-env");
    moto.create_bucket(&bucket);
    let url = format!("s3://{bucket}/state");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "s3::open_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove("AWS_PROFILE")
        .envs(moto.env())
        .env(CHILD_URL_ENV, &url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        .find_map(|line| line.split_once(CHILD_RESULT).map(|(_, result)| result))
        .unwrap_or_else(|| panic!("child printed no result:\n{stdout}"));
    assert_eq!(result, "c/config");
}

/// The child side of [`open_configures_s3_from_the_environment`]; does nothing in a normal
/// run.
#[tokio::test]
async fn open_child() {
    let Ok(url) = std::env::var(CHILD_URL_ENV) else {
        return;
    };
    let store = open(&url).await.unwrap();
    assert_eq!(store.url(), url);
    store.check().await.unwrap();
    store
        .put("c/config", b"x".to_vec(), WriteCondition::Create)
        .await
        .unwrap();
    println!("{CHILD_RESULT}{}", store.list("").await.unwrap().join(","));
}
