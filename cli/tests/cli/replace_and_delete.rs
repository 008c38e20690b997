//! `berth replace -f`, `create -f` for instance groups, and `delete instancegroup`.

use crate::context::{TestContext, fixture, ok, run};

const CLUSTER: &str = "existing.example.com";

fn context() -> TestContext {
    let context = TestContext::new();
    ok(context
        .berth()
        .arg("create")
        .arg("-f")
        .arg(fixture("fixtures/existing-cluster.yaml")));
    context
}

fn extra_group(name: &str, machine_type: &str) -> String {
    format!(
        "apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: {name}\nspec:\n  machineType: {machine_type}\n  maxSize: 3\n  minSize: 1\n  role: Node\n  subnets:\n  - us-east-1a\n"
    )
}

#[test]
fn instance_groups_are_added_replaced_and_deleted() {
    let context = context();
    let file = context.write("extra.yaml", &extra_group("nodes-extra", "t3.large"));
    ok(context
        .berth()
        .arg("create")
        .arg("-f")
        .arg(&file)
        .args(["--name", CLUSTER]));
    let table = ok(context.berth().args(["get", "ig", "--name", CLUSTER]));
    assert!(
        table.contains("nodes-extra") && table.contains("t3.large"),
        "{table}"
    );

    let file = context.write("extra.yaml", &extra_group("nodes-extra", "m7i.large"));
    ok(context
        .berth()
        .arg("replace")
        .arg("-f")
        .arg(&file)
        .args(["--name", CLUSTER]));
    let yaml =
        ok(context
            .berth()
            .args(["get", "ig", "nodes-extra", "-o", "yaml", "--name", CLUSTER]));
    assert!(
        yaml.contains("m7i.large") && yaml.contains("kops.k8s.io/cluster: existing.example.com"),
        "{yaml}"
    );

    let preview = run(context
        .berth()
        .args(["delete", "ig", "nodes-extra", "--name", CLUSTER]));
    assert_eq!(preview.code, 0);
    assert!(preview.stderr.contains("--yes"), "{}", preview.stderr);
    assert!(ok(context.berth().args(["get", "ig", "--name", CLUSTER])).contains("nodes-extra"));

    ok(context
        .berth()
        .args(["delete", "ig", "nodes-extra", "--name", CLUSTER, "--yes"]));
    assert!(!ok(context.berth().args(["get", "ig", "--name", CLUSTER])).contains("nodes-extra"));
}

#[test]
fn replace_force_creates_what_is_missing() {
    let context = context();
    let file = context.write("extra.yaml", &extra_group("nodes-forced", "t3.large"));
    let refused = run(context
        .berth()
        .arg("replace")
        .arg("-f")
        .arg(&file)
        .args(["--name", CLUSTER]));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    ok(context
        .berth()
        .arg("replace")
        .arg("-f")
        .arg(&file)
        .args(["--name", CLUSTER, "--force"]));
    assert!(ok(context.berth().args(["get", "ig", "--name", CLUSTER])).contains("nodes-forced"));
}

#[test]
fn concurrent_replaces_never_lose_an_update_silently() {
    let context = context();
    let files: Vec<_> = (0..6)
        .map(|index| {
            context.write(
                &format!("r{index}.yaml"),
                &extra_group("nodes-us-east-1a", &format!("t3.size{index}")),
            )
        })
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|file| {
            let mut command = context.berth_process();
            command
                .arg("replace")
                .arg("-f")
                .arg(file)
                .args(["--name", CLUSTER]);
            command
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let mut successes = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        match output.status.code() {
            Some(0) => successes += 1,
            Some(1) => assert!(
                String::from_utf8_lossy(&output.stderr).contains("changed by someone else"),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            ),
            other => panic!(
                "unexpected exit {other:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
    assert!(successes >= 1, "at least one replace wins");
    let stored = ok(context.berth().args([
        "get",
        "ig",
        "nodes-us-east-1a",
        "-o",
        "yaml",
        "--name",
        CLUSTER,
    ]));
    assert!(
        stored.contains("t3.size"),
        "the store holds one complete winner:\n{stored}"
    );
}
