//! `berth edit`, driven non-interactively by `EDITOR` scripts.

use std::os::unix::fs::PermissionsExt as _;

use crate::context::{TestContext, fixture, ok, run};

pub(crate) const CLUSTER: &str = "existing.example.com";

pub(crate) fn context() -> TestContext {
    let context = TestContext::new();
    ok(context
        .berth()
        .arg("create")
        .arg("-f")
        .arg(fixture("fixtures/existing-cluster.yaml")));
    context
}

/// Writes an executable editor script; it gets the file to edit as `$1`.
pub(crate) fn editor(context: &TestContext, name: &str, body: &str) -> String {
    let path = context.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

pub(crate) fn nodes_yaml(context: &TestContext) -> String {
    ok(context.berth().args([
        "get",
        "instancegroups",
        "nodes-us-east-1a",
        "-o",
        "yaml",
        "--name",
        CLUSTER,
    ]))
}

#[test]
fn an_edit_is_saved() {
    let context = context();
    let script = editor(
        &context,
        "ed.sh",
        r#"sed -i 's/machineType: t3.medium/machineType: m6i.large/' "$1""#,
    );
    let result = run(context.berth().env("EDITOR", &script).args([
        "edit",
        "ig",
        "nodes-us-east-1a",
        "--name",
        CLUSTER,
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(nodes_yaml(&context).contains("machineType: m6i.large"));
}

#[test]
fn editor_with_arguments_and_cluster_edit() {
    let context = context();
    let result = run(context
        .berth()
        .env(
            "EDITOR",
            "sed -i s/kubernetesVersion:.*/kubernetesVersion:\\ 1.35.1/",
        )
        .args(["edit", "cluster", CLUSTER]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let yaml = ok(context
        .berth()
        .args(["get", "clusters", CLUSTER, "-o", "yaml"]));
    assert!(
        yaml.contains("kubernetesVersion: \"1.35.1\"")
            || yaml.contains("kubernetesVersion: 1.35.1"),
        "{yaml}"
    );
}

#[test]
fn no_change_writes_nothing() {
    let context = context();
    let before = context.store_snapshot();
    let result = run(context.berth().env("EDITOR", "true").args([
        "edit",
        "ig",
        "nodes-us-east-1a",
        "--name",
        CLUSTER,
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(result.stderr.contains("no changes"), "{}", result.stderr);
    assert_eq!(before, context.store_snapshot());
}

#[test]
fn an_invalid_edit_is_reopened_with_the_errors_and_can_be_fixed() {
    let context = context();
    let log = context.path().join("second-buffer.yaml");
    let script = editor(
        &context,
        "ed.sh",
        &format!(
            r#"if [ ! -e "{count}" ]; then touch "{count}"; sed -i 's/minSize: 2/minSize: 9/' "$1"; else cp "$1" "{log}"; sed -i 's/minSize: 9/minSize: 1/' "$1"; fi"#,
            count = context.path().join("count").display(),
            log = log.display(),
        ),
    );
    let result = run(context.berth().env("EDITOR", &script).args([
        "edit",
        "ig",
        "nodes-us-east-1a",
        "--name",
        CLUSTER,
    ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let reopened = std::fs::read_to_string(&log).unwrap();
    assert!(reopened.starts_with('#'), "errors come first:\n{reopened}");
    assert!(
        reopened.contains("# The edited file has errors") && reopened.contains("minSize"),
        "{reopened}"
    );
    assert!(
        reopened.contains("minSize: 9"),
        "the user's edit is kept:\n{reopened}"
    );
    assert!(nodes_yaml(&context).contains("minSize: 1"));
}

#[test]
fn saving_the_errors_unchanged_gives_up_and_writes_nothing() {
    let context = context();
    let before = context.store_snapshot();
    let script = editor(
        &context,
        "ed.sh",
        r#"sed -i 's/minSize: 2/minSize: 9/' "$1""#,
    );
    let result = run(context.berth().env("EDITOR", &script).args([
        "edit",
        "ig",
        "nodes-us-east-1a",
        "--name",
        CLUSTER,
    ]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("edit cancelled"),
        "{}",
        result.stderr
    );
    assert_eq!(before, context.store_snapshot());
}

#[test]
fn renaming_is_refused() {
    let context = context();
    let before = context.store_snapshot();
    let script = editor(
        &context,
        "ed.sh",
        r#"sed -i 's/name: nodes-us-east-1a/name: renamed/' "$1""#,
    );
    let result = run(context.berth().env("EDITOR", &script).args([
        "edit",
        "ig",
        "nodes-us-east-1a",
        "--name",
        CLUSTER,
    ]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(result.stderr.contains("renamed"), "{}", result.stderr);
    assert_eq!(before, context.store_snapshot());
}

#[test]
fn a_concurrent_change_makes_the_edit_a_conflict_and_keeps_the_other_change() {
    let context = context();
    let berth = assert_cmd::cargo::cargo_bin("berth");
    let other = context.write(
        "other.yaml",
        &nodes_yaml(&context).replace("machineType: t3.medium", "machineType: c7i.xlarge"),
    );
    // While the editor is open, another `berth replace` changes the same object.
    let script = editor(
        &context,
        "ed.sh",
        &format!(
            r#""{berth}" replace -f "{other}" >/dev/null 2>&1; sed -i 's/minSize: 2/minSize: 1/' "$1""#,
            berth = berth.display(),
            other = other.display()
        ),
    );
    let result = run(context.berth().env("EDITOR", &script).args([
        "edit",
        "ig",
        "nodes-us-east-1a",
        "--name",
        CLUSTER,
    ]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("changed by someone else"),
        "{}",
        result.stderr
    );
    let stored = nodes_yaml(&context);
    assert!(
        stored.contains("machineType: c7i.xlarge") && stored.contains("minSize: 2"),
        "{stored}"
    );
}
