//! `berth create cluster`: what it writes, what it prints, and what it never prints.

use crate::context::{TestContext, ok, run};

const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkQECO1shKheI153RO8mJaMSCn/T26Ixy3dNCrh0CMV admin@example\n";

#[test]
fn writes_spec_cas_and_ssh_key_and_says_what_to_run_next() {
    let context = TestContext::new();
    let key = context.write("id.pub", ED25519);
    let result = run(context.berth().args([
        "create",
        "cluster",
        "dev.example.com",
        "--zones",
        "us-east-1a,us-east-1b,us-east-1c",
        "--control-plane-zones",
        "us-east-1a,us-east-1b,us-east-1c",
        "--topology",
        "private",
        "--bastion",
        "--ssh-public-key",
        key.to_str().unwrap(),
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("berth update cluster dev.example.com"),
        "{}",
        result.stderr
    );

    let store = context.store_dir().join("dev.example.com");
    assert!(store.join("config").is_file());
    assert!(store.join("berth-version.txt").is_file());
    let groups: Vec<String> = std::fs::read_dir(store.join("instancegroup"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(groups.iter().any(|name| name == "bastions"), "{groups:?}");
    assert_eq!(
        groups
            .iter()
            .filter(|name| name.starts_with("control-plane-"))
            .count(),
        3,
        "{groups:?}"
    );

    // Private keys live only under pki/private.
    let snapshot = context.store_snapshot();
    for (path, bytes) in &snapshot {
        if String::from_utf8_lossy(bytes).contains("PRIVATE KEY") {
            assert!(
                path.to_string_lossy().contains("/pki/private/"),
                "private key material outside pki/private: {}",
                path.display()
            );
        }
    }
    assert!(snapshot.keys().any(|path| {
        path.to_string_lossy()
            .contains("/pki/private/kubernetes-ca")
    }));
    assert!(
        snapshot
            .keys()
            .any(|path| path.to_string_lossy().contains("/pki/ssh/public/admin/"))
    );
}

#[test]
fn no_command_prints_key_material() {
    let context = TestContext::new();
    ok(context.berth().args([
        "create",
        "cluster",
        "dev.example.com",
        "--zones",
        "us-east-1a",
    ]));
    for args in [
        vec!["get", "secrets", "--name", "dev.example.com"],
        vec!["get", "secrets", "--name", "dev.example.com", "-o", "json"],
        vec!["get", "all", "--name", "dev.example.com", "-o", "yaml"],
        vec!["get", "all", "--name", "dev.example.com", "-o", "json"],
        vec!["get", "clusters", "-o", "yaml"],
    ] {
        let result = run(context.berth().args(&args));
        assert_eq!(result.code, 0, "{args:?}: {}", result.stderr);
        for text in [&result.stdout, &result.stderr] {
            assert!(
                !text.contains("PRIVATE KEY"),
                "{args:?} printed a private key"
            );
            assert!(
                !text.contains("BEGIN CERTIFICATE"),
                "{args:?} printed key material"
            );
        }
    }
    let secrets = ok(context
        .berth()
        .args(["get", "secrets", "--name", "dev.example.com"]));
    assert!(
        secrets.contains("Keypair") && secrets.contains("kubernetes-ca"),
        "{secrets}"
    );
}

#[test]
fn dry_run_prints_manifests_and_writes_nothing() {
    let context = TestContext::new();
    let yaml = ok(context.berth().args([
        "create",
        "cluster",
        "dev.example.com",
        "--zones",
        "us-east-1a",
        "--dry-run",
        "-o",
        "yaml",
    ]));
    let documents = berth_model::parse_documents(&yaml, "dry-run").expect("dry-run output parses");
    assert_eq!(
        documents.len(),
        3,
        "cluster + control plane + nodes:\n{yaml}"
    );
    assert!(
        context.store_snapshot().is_empty(),
        "dry run wrote to the store"
    );
    let json = ok(context.berth().args([
        "create",
        "cluster",
        "dev.example.com",
        "--zones",
        "us-east-1a",
        "--dry-run",
        "-o",
        "json",
    ]));
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(value.as_array().map(Vec::len), Some(3));
}

#[test]
fn default_store_is_a_local_directory_created_on_first_use() {
    let context = TestContext::new();
    let home = context.path().join("berth-home");
    ok(context
        .berth()
        .env_remove("BERTH_STATE_STORE")
        .env("BERTH_HOME", &home)
        .args([
            "create",
            "cluster",
            "dev.example.com",
            "--zones",
            "us-east-1a",
        ]));
    assert!(home.join("state/dev.example.com/config").is_file());
    let listed = ok(context
        .berth()
        .env_remove("BERTH_STATE_STORE")
        .env("BERTH_HOME", &home)
        .args(["get", "clusters"]));
    assert!(listed.contains("dev.example.com"), "{listed}");
}

#[test]
fn schema_describes_both_kinds() {
    let context = TestContext::new();
    let schema: serde_json::Value =
        serde_json::from_str(&ok(context.berth().arg("schema"))).expect("schema is JSON");
    let text = schema.to_string();
    assert!(
        text.contains("kubernetesVersion") && text.contains("machineType"),
        "{text}"
    );
}
