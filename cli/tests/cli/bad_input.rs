//! The bad-input corpus: every case fails with exit code 1, a message naming the problem, and
//! leaves the state store byte-for-byte as it was.
//!
//! File cases live in `tests/bad-input/*.yaml`, each starting with `# expect: <text>` (a
//! part of the message) and `# command: create|replace`; they run against a store that already
//! holds the cluster `existing.example.com`. The other cases are command-line ones below.

use crate::context::{TestContext, fixture, ok, run};

fn context_with_existing_cluster() -> TestContext {
    let context = TestContext::new();
    ok(context
        .berth()
        .arg("create")
        .arg("-f")
        .arg(fixture("fixtures/existing-cluster.yaml")));
    context
}

/// Runs `args` and asserts exit 1, `expect` in stderr, and an unchanged store.
fn assert_refused(
    context: &TestContext,
    args: &[&str],
    envs: &[(&str, &str)],
    expect: &str,
    case: &str,
) {
    let before = context.store_snapshot();
    let mut command = context.berth();
    command.args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    let result = run(&mut command);
    assert_eq!(
        result.code, 1,
        "case `{case}`: expected exit code 1\nstderr:\n{}",
        result.stderr
    );
    assert!(
        result.stderr.contains(expect),
        "case `{case}`: expected `{expect}` in the message\nstderr:\n{}",
        result.stderr
    );
    assert!(
        result.stderr.starts_with("error: "),
        "case `{case}`: stderr:\n{}",
        result.stderr
    );
    assert_eq!(
        before,
        context.store_snapshot(),
        "case `{case}` changed the store"
    );
}

#[test]
fn every_corpus_file_is_refused_clearly_and_changes_nothing() {
    let context = context_with_existing_cluster();
    let dir = fixture("bad-input");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 25, "the corpus must hold at least 25 cases");
    for path in cases {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let expect = lines
            .next()
            .and_then(|line| line.strip_prefix("# expect: "))
            .expect("expect line");
        let command = lines
            .next()
            .and_then(|line| line.strip_prefix("# command: "))
            .expect("command line");
        let case = path.file_name().unwrap().to_string_lossy().into_owned();
        let file = path.to_string_lossy().into_owned();
        assert_refused(&context, &[command, "-f", &file], &[], expect, &case);
    }
}

#[test]
fn command_line_mistakes_are_refused_clearly_and_change_nothing() {
    let context = context_with_existing_cluster();
    let garbage_key = context.write("garbage.pub", "this is not a key\n");
    let garbage_key = garbage_key.to_string_lossy().into_owned();
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "bad cluster name",
            &["create", "cluster", "Bad_Name", "--zones", "us-east-1a"],
            "Bad_Name",
        ),
        (
            "unsupported version flag",
            &[
                "create",
                "cluster",
                "a.example.com",
                "--zones",
                "us-east-1a",
                "--kubernetes-version",
                "1.10.0",
            ],
            "1.10.0",
        ),
        (
            "bastion on a public topology",
            &[
                "create",
                "cluster",
                "a.example.com",
                "--zones",
                "us-east-1a",
                "--bastion",
            ],
            "--bastion",
        ),
        (
            "zones in two regions",
            &[
                "create",
                "cluster",
                "a.example.com",
                "--zones",
                "us-east-1a,eu-west-1a",
            ],
            "region",
        ),
        (
            "cloud label without a value",
            &[
                "create",
                "cluster",
                "a.example.com",
                "--zones",
                "us-east-1a",
                "--cloud-labels",
                "team",
            ],
            "key=value",
        ),
        (
            "ssh key that is not a key",
            &[
                "create",
                "cluster",
                "a.example.com",
                "--zones",
                "us-east-1a",
                "--ssh-public-key",
                &garbage_key,
            ],
            "not an OpenSSH public key",
        ),
        (
            "cluster that exists",
            &[
                "create",
                "cluster",
                "existing.example.com",
                "--zones",
                "us-east-1a",
            ],
            "already exists",
        ),
        (
            "no zones",
            &["create", "cluster", "a.example.com"],
            "--zones",
        ),
        ("unknown flag", &["get", "clusters", "--colour"], "--colour"),
        (
            "missing input file",
            &["create", "-f", "/nonexistent/cluster.yaml"],
            "/nonexistent/cluster.yaml",
        ),
        (
            "unknown cluster",
            &["get", "instancegroups", "--name", "nope.example.com"],
            "nope.example.com",
        ),
        (
            "no cluster name",
            &["get", "instancegroups"],
            "no cluster name",
        ),
        (
            "unknown instance group",
            &[
                "get",
                "instancegroups",
                "ghost",
                "--name",
                "existing.example.com",
            ],
            "ghost",
        ),
        (
            "deleting the only control-plane group",
            &[
                "delete",
                "instancegroup",
                "control-plane-us-east-1a",
                "--name",
                "existing.example.com",
                "--yes",
            ],
            "cannot delete instance group `control-plane-us-east-1a`",
        ),
        (
            "bad store url",
            &["get", "clusters", "--state", "ftp://somewhere"],
            "ftp://somewhere",
        ),
    ];
    for (case, args, expect) in cases {
        assert_refused(&context, args, &[], expect, case);
    }
}

#[test]
fn a_missing_state_store_is_named_with_a_hint() {
    let context = TestContext::new();
    let missing = format!("file://{}/does-not-exist", context.path().display());
    let result = run(context
        .berth()
        .args(["get", "clusters", "--state", &missing]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("does-not-exist"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("hint:"), "{}", result.stderr);
    assert!(
        !context.path().join("does-not-exist").exists(),
        "a named store must not be created"
    );
}

#[test]
fn an_unreachable_s3_endpoint_is_named() {
    let context = context_with_existing_cluster();
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    assert_refused(
        &context,
        &[
            "get",
            "clusters",
            "--state",
            "s3://berth-unreachable/clusters",
        ],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
        &format!("127.0.0.1:{port}"),
        "unreachable s3 endpoint",
    );
}
