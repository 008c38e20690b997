//! Reading manifests: the kops fixture, round trips and every kind of parse error.

use berth_model::{Document, InstanceGroupRole, ParseError, parse_documents, to_yaml, validate};

use crate::{KOPS_MINIMAL, split};

fn error(text: &str) -> String {
    parse_documents(text, "cluster.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn kops_minimal_parses_round_trips_and_validates() {
    let documents = parse_documents(KOPS_MINIMAL, "kops-minimal.yaml").unwrap();
    assert_eq!(documents.len(), 3);
    let written = to_yaml(&documents).unwrap();
    let again = parse_documents(&written, "written.yaml").unwrap();
    assert_eq!(documents, again);
    let (cluster, groups) = split(documents);
    assert_eq!(cluster.metadata.name, "minimal.example.com");
    assert_eq!(groups[0].spec.role, InstanceGroupRole::Master);
    assert!(groups[0].spec.role.is_control_plane());
    validate(&cluster, &groups).unwrap();
    insta::assert_snapshot!(written);
}

const CLUSTER_HEAD: &str = "apiVersion: kops.k8s.io/v1alpha2
kind: Cluster
metadata:
  name: demo.example.com
spec:
";

const GROUP_HEAD: &str = "apiVersion: kops.k8s.io/v1alpha2
kind: InstanceGroup
metadata:
  name: nodes
spec:
  role: Node
";

#[test]
fn unknown_field_suggests_the_near_miss() {
    let text = format!("{CLUSTER_HEAD}  subnets: []\n---\n{GROUP_HEAD}  machinType: t3.medium\n");
    insta::assert_snapshot!(error(&text));
}

#[test]
fn unknown_field_far_from_everything_has_no_hint() {
    let text = format!("{GROUP_HEAD}  zzz: 1\n");
    insta::assert_snapshot!(error(&text));
}

#[test]
fn kops_only_field_is_not_supported() {
    let text = format!(
        "{CLUSTER_HEAD}  kubeControllerManager: {{}}\n  kubelet:\n    cgroupDriver: systemd\n"
    );
    insta::assert_snapshot!(error(&text));
}

#[test]
fn other_cni_is_not_supported() {
    let text = format!("{CLUSTER_HEAD}  networking:\n    calico: {{}}\n");
    insta::assert_snapshot!(error(&text));
}

#[test]
fn wrong_types_name_path_and_line() {
    let text = format!(
        "{CLUSTER_HEAD}  subnets:\n  - name: a\n    zone: us-east-1a\n    type: Public\n    cidr: 172.20.0.0/19\n  - name: b\n    zone: us-east-1b\n    type: Public\n    cidr: [1]\n  kubernetesVersion: 1.30\n"
    );
    insta::assert_snapshot!(error(&text));
}

#[test]
fn negative_size_and_bad_enum_value() {
    let text = format!("{GROUP_HEAD}  minSize: -1\n").replace("role: Node", "role: Nod");
    insta::assert_snapshot!(error(&text));
}

#[test]
fn missing_required_field() {
    let text = format!("{CLUSTER_HEAD}  subnets:\n  - name: a\n    type: Public\n");
    insta::assert_snapshot!(error(&text));
}

#[test]
fn malformed_yaml_reports_line() {
    let text = format!("{CLUSTER_HEAD}  subnets: [\n  channel: stable\n");
    insta::assert_snapshot!(error(&text));
}

#[test]
fn malformed_yaml_in_second_document_names_it() {
    let text =
        format!("{CLUSTER_HEAD}  channel: stable\n---\n{GROUP_HEAD}  subnets: [a\n  image: \"x\n");
    insta::assert_snapshot!(error(&text));
}

#[test]
fn unknown_kind_and_wrong_api_version() {
    let text = "apiVersion: kops.k8s.io/v1alpha3\nkind: Clustr\nmetadata:\n  name: x\nspec: {}\n";
    insta::assert_snapshot!(error(text));
}

#[test]
fn missing_kind() {
    insta::assert_snapshot!(error(
        "apiVersion: kops.k8s.io/v1alpha2\nmetadata: {name: x}\n"
    ));
}

#[test]
fn empty_input_and_non_mapping_documents() {
    assert!(matches!(
        parse_documents("", "empty.yaml"),
        Err(ParseError::Empty { .. })
    ));
    assert!(matches!(
        parse_documents("# only a comment\n", "empty.yaml"),
        Err(ParseError::Empty { .. })
    ));
    insta::assert_snapshot!(error("- a\n- b\n"));
}

#[test]
fn both_cloud_provider_spellings_round_trip() {
    for spelling in ["cloudProvider: aws", "cloudProvider:\n    aws: {}"] {
        let text = format!("{CLUSTER_HEAD}  {spelling}\n");
        let documents = parse_documents(&text, "cluster.yaml").unwrap();
        let written = to_yaml(&documents).unwrap();
        assert!(written.contains(spelling), "{written}");
        assert_eq!(parse_documents(&written, "again.yaml").unwrap(), documents);
        let Document::Cluster(cluster) = &documents[0] else {
            panic!("expected a cluster")
        };
        assert!(cluster.spec.cloud_provider.as_ref().unwrap().is_aws());
    }
    insta::assert_snapshot!(error(&format!("{CLUSTER_HEAD}  cloudProvider: gce\n")));
    insta::assert_snapshot!(error(&format!(
        "{CLUSTER_HEAD}  cloudProvider:\n    gce: {{}}\n"
    )));
}

#[test]
fn every_problem_in_a_document_is_reported() {
    let text = format!("{GROUP_HEAD}  machinType: a\n  maxSize: big\n  zones: [a]\n");
    let Err(ParseError::Invalid { problems, .. }) = parse_documents(&text, "x.yaml") else {
        panic!("expected problems")
    };
    assert_eq!(problems.len(), 3);
}

#[test]
fn duplicate_keys_are_rejected() {
    let text = format!("{GROUP_HEAD}  minSize: 1\n  minSize: 2\n");
    insta::assert_snapshot!(error(&text));
}
