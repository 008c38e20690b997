//! `berth validate cluster`: asks AWS for the cluster's autoscaling groups and the API server
//! for its nodes and kube-system pods, and reports every failure by kind, name and reason.
//!
//! An API server that cannot be reached is a failure like any other (kind `Cluster`), so
//! `--wait` also waits for a control plane that is still booting.

use std::time::Duration;

use anyhow::Context as _;
use berth_cloudup::{
    aws::AwsClients,
    kubernetes::ValidationFailure,
    rolling::{self, GroupStatus},
};
use serde::Serialize;
use tokio::time::Instant;

use crate::{
    args::{GlobalArgs, ValidateClusterArgs, ValidateFormat},
    aws_session,
    commands::store,
    exit_status::ExitStatus,
    kube_access, printer,
};

/// How long the credentials `validate` issues itself are valid.
const CREDENTIAL_VALIDITY: Duration = Duration::from_secs(60 * 60);

/// One validation's outcome.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    cluster: String,
    valid: bool,
    instance_groups: Vec<GroupRow>,
    failures: Vec<ValidationFailure>,
}

/// An instance group as validation saw it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupRow {
    name: String,
    role: String,
    min: i32,
    max: i32,
    in_service: usize,
}

/// Runs `berth validate cluster`.
pub(crate) async fn run(
    global: &GlobalArgs,
    args: &ValidateClusterArgs,
) -> anyhow::Result<ExitStatus> {
    let (name, specs) = store::open_named_cluster(global, args.cluster.as_deref()).await?;
    let cluster = specs.cluster().await?.value;
    let clients = aws_session::cluster_clients(&cluster).await?;
    let client = kube_access::admin_client(
        &specs,
        &cluster,
        args.api.server.as_deref(),
        Some(&clients),
        CREDENTIAL_VALIDITY,
    )
    .await?;
    let started = Instant::now();
    let outcome = loop {
        let outcome = validate_once(&client, &clients, &name).await?;
        let waited_enough = args
            .wait
            .is_none_or(|wait| started.elapsed() + args.interval > wait);
        if outcome.valid || waited_enough {
            break outcome;
        }
        if args.output == ValidateFormat::Table {
            printer::note(&format!(
                "Validation failed ({} problems), retrying in {:?}: {}",
                outcome.failures.len(),
                args.interval,
                outcome
                    .failures
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ));
        }
        tokio::time::sleep(args.interval).await;
    };
    match args.output {
        ValidateFormat::Json => printer::stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&outcome).context("rendering the outcome as JSON")?
        ))?,
        ValidateFormat::Table => printer::stdout(&render_table(&outcome))?,
    }
    Ok(if outcome.valid {
        ExitStatus::Success
    } else {
        ExitStatus::ClusterInvalid
    })
}

async fn validate_once(
    client: &kube::Client,
    clients: &AwsClients,
    cluster: &str,
) -> anyhow::Result<Outcome> {
    let (groups, failures) = rolling::validate_cluster(client, clients, cluster)
        .await
        .with_context(|| format!("cannot list the autoscaling groups of cluster `{cluster}`"))?;
    Ok(Outcome {
        cluster: cluster.to_owned(),
        valid: failures.is_empty(),
        instance_groups: groups.iter().map(group_row).collect(),
        failures,
    })
}

fn group_row(group: &GroupStatus) -> GroupRow {
    GroupRow {
        name: group.instance_group.clone(),
        role: group.role.to_string(),
        min: group.min,
        max: group.max,
        in_service: group.in_service().count(),
    }
}

fn render_table(outcome: &Outcome) -> String {
    let groups: Vec<Vec<String>> = outcome
        .instance_groups
        .iter()
        .map(|group| {
            vec![
                group.name.clone(),
                group.role.clone(),
                group.min.to_string(),
                group.max.to_string(),
                group.in_service.to_string(),
            ]
        })
        .collect();
    let mut text = format!(
        "Validating cluster {}\n\nINSTANCE GROUPS\n{}",
        outcome.cluster,
        printer::table(&["NAME", "ROLE", "MIN", "MAX", "INSERVICE"], &groups)
    );
    if outcome.valid {
        text.push_str(&format!("\nYour cluster {} is ready\n", outcome.cluster));
    } else {
        let failures: Vec<Vec<String>> = outcome
            .failures
            .iter()
            .map(|failure| {
                vec![
                    failure.kind.clone(),
                    failure.name.clone(),
                    failure.reason.clone(),
                ]
            })
            .collect();
        text.push_str(&format!(
            "\nVALIDATION ERRORS\n{}\nValidation failed: cluster {} is not ready\n",
            printer::table(&["KIND", "NAME", "MESSAGE"], &failures),
            outcome.cluster
        ));
    }
    text
}
