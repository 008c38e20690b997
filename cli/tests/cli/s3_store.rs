//! The same commands against an S3 state store on the AWS emulator, through the standard
//! AWS environment (`AWS_ENDPOINT_URL`, credentials, region).

use berth_test_support::moto::{MotoServer, unique_bucket};

use crate::context::{TestContext, fixture, ok, run};

fn s3_context(bucket: &str) -> (TestContext, String) {
    let moto = MotoServer::shared();
    moto.create_bucket(bucket);
    (TestContext::new(), format!("s3://{bucket}/clusters"))
}

fn berth_s3(context: &TestContext, store: &str) -> assert_cmd::Command {
    let mut command = context.berth();
    command
        .envs(MotoServer::shared().env())
        .env("BERTH_STATE_STORE", store);
    command
}

#[test]
fn create_get_edit_and_replace_against_s3() {
    let bucket = unique_bucket("cli");
    let (context, store) = s3_context(&bucket);
    ok(berth_s3(&context, &store).args([
        "create",
        "cluster",
        "s3.example.com",
        "--zones",
        "us-east-1a,us-east-1b",
    ]));
    let listed = ok(berth_s3(&context, &store).args(["get", "clusters"]));
    assert!(listed.contains("s3.example.com"), "{listed}");

    ok(berth_s3(&context, &store)
        .arg("create")
        .arg("-f")
        .arg(fixture("fixtures/existing-cluster.yaml")));
    let result = run(berth_s3(&context, &store)
        .env("EDITOR", "sed -i s/maxSize:\\ 2/maxSize:\\ 4/")
        .args([
            "edit",
            "ig",
            "nodes-us-east-1a",
            "--name",
            "existing.example.com",
        ]));
    assert_eq!(result.code, 0, "{}", result.stderr);
    let yaml = ok(berth_s3(&context, &store).args([
        "get",
        "ig",
        "nodes-us-east-1a",
        "-o",
        "yaml",
        "--name",
        "existing.example.com",
    ]));
    assert!(yaml.contains("maxSize: 4"), "{yaml}");

    let secrets =
        ok(berth_s3(&context, &store).args(["get", "secrets", "--name", "s3.example.com"]));
    assert!(secrets.contains("kubernetes-ca"), "{secrets}");
}

#[test]
fn a_missing_bucket_is_named() {
    let context = TestContext::new();
    let bucket = unique_bucket("missing");
    let store = format!("s3://{bucket}/clusters");
    let result = run(berth_s3(&context, &store).args([
        "create",
        "cluster",
        "a.example.com",
        "--zones",
        "us-east-1a",
    ]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(result.stderr.contains(&bucket), "{}", result.stderr);
}
