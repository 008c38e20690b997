//! `berth export kubeconfig --admin`: the kubeconfig it writes (server, CA, a client
//! certificate the cluster CA signed and when it expires), merging into an existing file, and
//! refusals that write nothing. The clusters here have DNS, so their server is
//! `https://api.<cluster>` and no AWS call is made (the tests set no AWS endpoint); a cluster
//! without DNS is reached through its API load balancer, looked up in the AWS emulator.

use std::path::Path;

use berth_model::client_certificate::{
    VerifiedCertificate, from_kubeconfig_data, verify_client_certificate,
};
use kube::config::Kubeconfig;
use time::{Duration, OffsetDateTime};

use crate::{
    context::{Run, TestContext, ok, run},
    update_cluster::world::{PUBLIC_CLUSTER, World},
};

const CLUSTER: &str = "k.example.com";

fn context_with_cluster() -> TestContext {
    let context = TestContext::new();
    ok(context.berth().args([
        "create",
        "cluster",
        CLUSTER,
        "--zones",
        "us-east-1a",
        "--dns-zone",
        "example.com",
    ]));
    context
}

fn stored_ca(context: &TestContext) -> String {
    let path = context
        .store_dir()
        .join(CLUSTER)
        .join("pki/issued/kubernetes-ca/certificate.pem");
    std::fs::read_to_string(path).expect("the store holds the cluster CA")
}

/// Our cluster's server, CA and user of `kubeconfig`, the CA checked against the store's and
/// the client certificate against the CA.
fn ours(context: &TestContext, kubeconfig: &Kubeconfig) -> (String, VerifiedCertificate) {
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|entry| entry.name == CLUSTER)
        .and_then(|entry| entry.cluster.clone())
        .expect("our cluster entry");
    let ca = from_kubeconfig_data(&cluster.certificate_authority_data.expect("CA data")).unwrap();
    assert_eq!(ca, stored_ca(context));
    let user = kubeconfig
        .auth_infos
        .iter()
        .find(|entry| entry.name == CLUSTER)
        .and_then(|entry| entry.auth_info.clone())
        .expect("our user entry");
    let certificate =
        from_kubeconfig_data(&user.client_certificate_data.expect("certificate data")).unwrap();
    assert!(user.client_key_data.is_some());
    let verified = verify_client_certificate(&certificate, &ca).expect("signed by the cluster CA");
    assert_eq!(verified.common_name, "berth-admin");
    assert_eq!(verified.organizations, ["system:masters"]);
    (cluster.server.expect("server"), verified)
}

fn read(path: &Path) -> Kubeconfig {
    Kubeconfig::read_from(path).expect("a kubeconfig")
}

/// `berth export kubeconfig CLUSTER --admin --out OUT`.
fn export_admin_to(context: &TestContext, cluster: &str, out: &Path) -> Run {
    run(context
        .berth()
        .args(["export", "kubeconfig", cluster, "--admin", "--out"])
        .arg(out))
}

fn assert_expires_in(verified: &VerifiedCertificate, lifetime: Duration) {
    let off = verified.not_after - (OffsetDateTime::now_utc() + lifetime);
    assert!(off.abs() < Duration::minutes(1), "{verified:?}");
}

#[test]
fn writes_a_standalone_kubeconfig_with_an_18h_admin_certificate() {
    let context = context_with_cluster();
    let out = context.path().join("out/kubeconfig");
    let result = export_admin_to(&context, CLUSTER, &out);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stderr.contains(out.to_str().unwrap()),
        "{}",
        result.stderr
    );
    assert!(!result.stderr.contains("PRIVATE KEY") && !result.stdout.contains("PRIVATE KEY"));

    let kubeconfig = read(&out);
    assert_eq!(kubeconfig.current_context.as_deref(), Some(CLUSTER));
    assert_eq!(kubeconfig.clusters.len(), 1);
    let (server, verified) = ours(&context, &kubeconfig);
    assert_eq!(server, format!("https://api.{CLUSTER}"));
    assert_expires_in(&verified, Duration::hours(18));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_duration_and_a_server_override() {
    let context = context_with_cluster();
    let out = context.path().join("kubeconfig");
    ok(context.berth().args([
        "export",
        "kubeconfig",
        "--name",
        CLUSTER,
        "--admin=1h",
        "--server",
        "https://127.0.0.1:6443",
        "--out",
        out.to_str().unwrap(),
    ]));
    let (server, verified) = ours(&context, &read(&out));
    assert_eq!(server, "https://127.0.0.1:6443");
    assert_expires_in(&verified, Duration::hours(1));
}

const EXISTING: &str = "\
apiVersion: v1
kind: Config
clusters:
- name: other
  cluster:
    server: https://other.example.org
- name: k.example.com
  cluster:
    server: https://stale.example.org
users:
- name: other-user
  user:
    token: other-token
contexts:
- name: other
  context:
    cluster: other
    user: other-user
current-context: other
";

#[test]
fn merges_into_kubeconfig_keeping_other_entries() {
    let context = context_with_cluster();
    let path = context.write("existing-kubeconfig", EXISTING);
    let kubeconfig_env = format!("{}:/nonexistent/second", path.display());
    for _ in 0..2 {
        ok(context.berth().env("KUBECONFIG", &kubeconfig_env).args([
            "export",
            "kubeconfig",
            CLUSTER,
            "--admin",
        ]));
    }
    let merged = read(&path);
    let names = |names: Vec<&str>| names.join(",");
    assert_eq!(
        names(merged.clusters.iter().map(|c| c.name.as_str()).collect()),
        "other,k.example.com"
    );
    assert_eq!(
        names(merged.auth_infos.iter().map(|u| u.name.as_str()).collect()),
        "other-user,k.example.com"
    );
    assert_eq!(
        names(merged.contexts.iter().map(|c| c.name.as_str()).collect()),
        "other,k.example.com"
    );
    assert_eq!(merged.current_context.as_deref(), Some(CLUSTER));
    let other = merged.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(other.server.as_deref(), Some("https://other.example.org"));
    let (server, _) = ours(&context, &merged);
    assert_eq!(server, format!("https://api.{CLUSTER}"));
    assert!(!Path::new("/nonexistent/second").exists());
}

#[test]
fn defaults_to_the_kubeconfig_in_home() {
    let context = context_with_cluster();
    ok(context
        .berth()
        .args(["export", "kubeconfig", CLUSTER, "--admin"]));
    let path = context.path().join("home/.kube/config");
    let (server, _) = ours(&context, &read(&path));
    assert_eq!(server, format!("https://api.{CLUSTER}"));
}

#[test]
fn an_unknown_cluster_writes_nothing() {
    let context = context_with_cluster();
    let out = context.path().join("kubeconfig");
    let result = export_admin_to(&context, "missing.example.com", &out);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("missing.example.com"),
        "{}",
        result.stderr
    );
    assert!(!out.exists());
    assert!(!context.path().join("home/.kube").exists());
}

#[test]
fn a_cluster_without_its_ca_says_so() {
    let context = context_with_cluster();
    std::fs::remove_dir_all(context.store_dir().join(CLUSTER).join("pki/private")).unwrap();
    let out = context.path().join("kubeconfig");
    let result = export_admin_to(&context, CLUSTER, &out);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(
        result.stderr.contains("no `kubernetes-ca` private key") && result.stderr.contains(CLUSTER),
        "{}",
        result.stderr
    );
    assert!(!out.exists());
}

#[test]
fn without_admin_it_refuses() {
    let context = context_with_cluster();
    let result = run(context.berth().args(["export", "kubeconfig", CLUSTER]));
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert!(result.stderr.contains("--admin"), "{}", result.stderr);
    assert!(!context.path().join("home/.kube").exists());
}

/// The server and `tls-server-name` of the only cluster entry of the kubeconfig at `path`.
fn server_of(path: &Path) -> (String, Option<String>) {
    let kubeconfig = read(path);
    let cluster = kubeconfig.clusters[0]
        .cluster
        .clone()
        .expect("a cluster entry");
    (cluster.server.expect("a server"), cluster.tls_server_name)
}

#[test]
fn without_dns_the_server_is_the_api_load_balancer_checked_as_the_public_name() {
    let world = World::new();
    world.create_public_cluster();
    let out = world.context.path().join("kubeconfig");
    let export = |extra: &[&str]| {
        run(world
            .berth()
            .args(["export", "kubeconfig", PUBLIC_CLUSTER, "--admin", "--out"])
            .arg(&out)
            .args(extra))
    };
    let load_balancer = berth_model::builders::api_load_balancer_name(PUBLIC_CLUSTER);

    // Not applied yet: no load balancer, so no server to write.
    for result in [
        export(&[]),
        run(world.berth().args(["validate", "cluster", PUBLIC_CLUSTER])),
    ] {
        assert_eq!(result.code, 1, "{}", result.stderr);
        for part in [
            load_balancer.as_str(),
            PUBLIC_CLUSTER,
            "berth update cluster a.example.com --yes",
            "--server",
        ] {
            assert!(result.stderr.contains(part), "{part}: {}", result.stderr);
        }
    }
    assert!(!out.exists());

    world.apply(PUBLIC_CLUSTER);
    let described = world.block_on(
        world
            .aws
            .elb
            .describe_load_balancers()
            .names(&load_balancer)
            .send(),
    );
    let dns_name = described.expect("DescribeLoadBalancers").load_balancers()[0]
        .dns_name()
        .expect("the load balancer has a DNS name")
        .to_owned();
    let exported = export(&[]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(exported.stderr.contains(&dns_name), "{}", exported.stderr);
    assert_eq!(
        server_of(&out),
        (
            format!("https://{dns_name}"),
            Some(format!("api.{PUBLIC_CLUSTER}"))
        )
    );

    // `--server` wins, and names the host to check itself.
    let overridden = export(&["--server", "https://127.0.0.1:6443"]);
    assert_eq!(overridden.code, 0, "{}", overridden.stderr);
    assert_eq!(server_of(&out), ("https://127.0.0.1:6443".to_owned(), None));
}
