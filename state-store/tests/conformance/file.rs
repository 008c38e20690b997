//! The suite against the `file://` backend, plus its own guarantees: atomicity across
//! separate store instances and processes, reserved names, the root directory rules.

use std::{
    process::Command,
    sync::{Arc, Barrier},
};

use berth_state_store::{
    ETag, Error, LOCK_FILE_NAME, ObjectStore, WriteCondition, open, open_file,
};
use tempfile::TempDir;

async fn make() -> (Arc<dyn ObjectStore>, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(open_file(dir.path().join("state")));
    (store, dir)
}

crate::all_checks!(make);

/// Racers in the cross-instance and cross-process checks.
const RACERS: usize = 6;

/// Set in the environment of the child processes of
/// [`replaces_race_across_processes`]: the store root, then the tag to replace.
const CHILD_ROOT_ENV: &str = "BERTH_CONFORMANCE_RACE_ROOT";
const CHILD_ETAG_ENV: &str = "BERTH_CONFORMANCE_RACE_ETAG";
const CHILD_RESULT: &str = "race-result: ";

#[test]
fn replaces_race_across_store_instances_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("state");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let etag = runtime
        .block_on(open_file(&root).put("c/config", b"original".to_vec(), WriteCondition::Create))
        .unwrap();
    let barrier = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|racer| {
            let (root, barrier, etag) = (root.clone(), Arc::clone(&barrier), etag.clone());
            std::thread::spawn(move || {
                // A store instance and a runtime of its own per thread.
                let store = open_file(root);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                barrier.wait();
                runtime.block_on(store.put(
                    "c/config",
                    format!("racer {racer}").into_bytes(),
                    WriteCondition::Replace(etag),
                ))
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::Conflict { .. }))),
        "{results:?}"
    );
}

#[test]
fn replaces_race_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("state");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let etag = runtime
        .block_on(open_file(&root).put("c/config", b"original".to_vec(), WriteCondition::Create))
        .unwrap();
    let executable = std::env::current_exe().unwrap();
    // Spawn all children before waiting for any, so they really race.
    let children: Vec<_> = (0..RACERS)
        .map(|_| {
            Command::new(&executable)
                .args([
                    "file::race_child",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ROOT_ENV, &root)
                .env(CHILD_ETAG_ENV, &etag.0)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let results: Vec<String> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            stdout
                .lines()
                .find_map(|line| line.split_once(CHILD_RESULT).map(|(_, result)| result))
                .unwrap_or_else(|| panic!("child printed no result:\n{stdout}"))
                .to_owned()
        })
        .collect();
    assert_eq!(
        results.iter().filter(|r| *r == "ok").count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|r| r == "ok" || r == "conflict"),
        "{results:?}"
    );
}

/// The child side of [`replaces_race_across_processes`]; does nothing in a normal run.
#[test]
fn race_child() {
    let (Ok(root), Ok(etag)) = (std::env::var(CHILD_ROOT_ENV), std::env::var(CHILD_ETAG_ENV))
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let result = runtime.block_on(open_file(root).put(
        "c/config",
        format!("process {}", std::process::id()).into_bytes(),
        WriteCondition::Replace(ETag(etag)),
    ));
    let outcome = match result {
        Ok(_) => "ok".to_owned(),
        Err(Error::Conflict { .. }) => "conflict".to_owned(),
        Err(error) => format!("error {error:?}"),
    };
    println!("{CHILD_RESULT}{outcome}");
}

#[tokio::test]
async fn etag_is_the_content_hash() {
    let (store, _dir) = make().await;
    let etag = store
        .put("c/config", b"abc".to_vec(), WriteCondition::Create)
        .await
        .unwrap();
    assert_eq!(
        etag.0,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[tokio::test]
async fn root_is_created_on_first_write_when_its_parent_exists() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_file(dir.path().join("state"));
    let error = store.check().await.unwrap_err();
    assert!(matches!(error, Error::StoreDirNotFound { .. }), "{error:?}");
    assert!(error.is_user_error());
    assert_eq!(store.get("c/config").await.unwrap(), None);
    assert_eq!(store.list("").await.unwrap(), Vec::<String>::new());
    store
        .put("c/config", b"x".to_vec(), WriteCondition::Create)
        .await
        .unwrap();
    store.check().await.unwrap();
}

#[tokio::test]
async fn missing_parent_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("missing/state");
    let store = open_file(&root);
    let error = store
        .put("c/config", b"x".to_vec(), WriteCondition::Create)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::StoreDirNotFound { .. }), "{error:?}");
    assert!(message.contains(&root.display().to_string()), "{message}");
    assert!(message.contains("mkdir -p"), "{message}");
    assert!(!dir.path().join("missing").exists());
}

#[tokio::test]
async fn list_skips_lock_and_temp_files_and_delete_prunes_directories() {
    let (store, dir) = make().await;
    store
        .put(
            "c/pki/issued/ca/certificate.pem",
            b"x".to_vec(),
            WriteCondition::Create,
        )
        .await
        .unwrap();
    let root = dir.path().join("state");
    assert!(root.join(LOCK_FILE_NAME).exists());
    fs_err::write(root.join("c/.berth-tmp-1-2-config"), b"partial").unwrap();
    assert_eq!(
        store.list("").await.unwrap(),
        ["c/pki/issued/ca/certificate.pem"]
    );
    let error = store.get("c/.berth-tmp-1-2-config").await.unwrap_err();
    assert!(matches!(error, Error::InvalidKey { .. }), "{error:?}");

    store
        .delete("c/pki/issued/ca/certificate.pem", None)
        .await
        .unwrap();
    assert!(
        !root.join("c/pki").exists(),
        "emptied directories are removed"
    );
}

#[tokio::test]
async fn open_parses_file_urls_and_rejects_others() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let store = open(&url).await.unwrap();
    assert_eq!(store.url(), url);
    store.check().await.unwrap();

    let error = open("file://relative/path").await.unwrap_err();
    assert!(matches!(error, Error::InvalidUrl { .. }), "{error:?}");
    assert!(error.to_string().contains("s3://bucket/prefix"));
    assert!(error.is_user_error());
}
