//! `nodeup`: the node agent's entry point (see the library's docs for the process contract).

use std::{net::IpAddr, path::PathBuf, process::ExitCode};

use berth_nodeup::{Options, Outcome, ServiceManagerKind, addons::AddonsOutcome};
use clap::{Parser, ValueEnum};
use tracing_subscriber::EnvFilter;

/// Turns this machine into a node of its cluster.
#[derive(Debug, Parser)]
#[command(name = "nodeup", version)]
struct Args {
    /// The nodeup config: `<state store>/<cluster>/igconfig/<role>/<group>/nodeupconfig.yaml`.
    #[arg(long)]
    conf: String,
    /// The cluster's name.
    #[arg(long)]
    cluster_name: String,
    /// Write everything under this directory instead of `/`.
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// Print the planned tasks and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where downloaded assets are cached (default `<root>/var/cache/nodeup`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// The sha256 the config must have (set by the bootstrap script).
    #[arg(long, env = "NODEUP_CONFIG_HASH")]
    config_hash: Option<String>,
    /// The node name, instead of the kernel's hostname.
    #[arg(long, hide = true)]
    hostname: Option<String>,
    /// The node's address, instead of the discovered one.
    #[arg(long, hide = true)]
    node_ip: Option<IpAddr>,
    /// This EC2 instance's id, instead of asking the instance metadata service (for tests).
    #[arg(long, env = "NODEUP_INSTANCE_ID", hide = true)]
    instance_id: Option<String>,
    /// This instance's availability zone, instead of asking the instance metadata service.
    #[arg(long, env = "NODEUP_ZONE", hide = true)]
    zone: Option<String>,
    /// Do not apply the cluster's addons (control-plane nodes apply them by default).
    #[arg(long)]
    skip_addons: bool,
    /// The API server the addon step uses instead of `https://127.0.0.1:443` (for tests;
    /// also makes the step run under `--root`).
    #[arg(long, env = "NODEUP_API_SERVER", hide = true)]
    api_server: Option<String>,
    /// Only refresh what changes while a control-plane node runs (etcd peers in /etc/hosts,
    /// the API's DNS records, the addons); run every minute by `nodeup-sync.timer`.
    #[arg(long, conflicts_with = "dry_run")]
    sync: bool,
    /// The service manager (`recording` is for tests).
    #[arg(long, value_enum, default_value_t = ServiceManagerArg::Systemd, hide = true)]
    service_manager: ServiceManagerArg,
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ServiceManagerArg {
    Systemd,
    Recording,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let level = match args.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .init();
    let options = Options {
        conf: args.conf,
        cluster_name: args.cluster_name,
        root: args.root,
        cache_dir: args.cache_dir,
        dry_run: args.dry_run,
        config_hash: args.config_hash,
        hostname: args.hostname,
        node_ip: args.node_ip,
        instance_id: args.instance_id,
        zone: args.zone,
        service_manager: match args.service_manager {
            ServiceManagerArg::Systemd => ServiceManagerKind::Systemd,
            ServiceManagerArg::Recording => ServiceManagerKind::Recording,
        },
        skip_addons: args.skip_addons,
        api_server: args.api_server,
        sync: args.sync,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(berth_nodeup::run(&options)) {
        Ok(Outcome::Planned(tasks)) => {
            for task in &tasks {
                println!(
                    "[{}] {task}",
                    serde_json::to_value(task.phase())
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_owned))
                        .unwrap_or_default()
                );
            }
            println!("{} tasks planned (dry run: nothing changed)", tasks.len());
            ExitCode::SUCCESS
        }
        Ok(Outcome::Applied {
            status,
            api_dns,
            addons,
        }) => {
            if let Some(outcome) = &api_dns {
                eprintln!("api dns: {outcome}");
            }
            for skipped in &status.report.skipped {
                eprintln!(
                    "warning: skipped (not looked up: no AWS region under --root): {skipped}"
                );
            }
            report_addons(addons.as_deref());
            println!(
                "nodeup: {} changes ({} tasks) for {}/{}",
                status.changes, status.tasks, status.cluster_name, status.instance_group
            );
            ExitCode::SUCCESS
        }
        Ok(Outcome::Synced(outcome)) => {
            if let Some(reason) = &outcome.hosts_skipped {
                eprintln!("warning: etcd peers not refreshed: {reason}");
            }
            if let Some(api_dns) = &outcome.api_dns {
                eprintln!("api dns: {api_dns}");
            }
            report_addons(outcome.addons.as_deref());
            for change in &outcome.changed {
                eprintln!("changed: {change}");
            }
            println!("nodeup sync: {} changes", outcome.changed.len());
            ExitCode::SUCCESS
        }
        Err(error) => {
            let mut message = format!("error: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(&format!("\n  caused by: {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The addon step's outcome on stderr; another node holding the lease is a warning.
fn report_addons(addons: Option<&AddonsOutcome>) {
    match addons {
        Some(outcome @ AddonsOutcome::LeaseHeld { .. }) => {
            eprintln!("warning: addons: {outcome}");
        }
        Some(outcome) => eprintln!("addons: {outcome}"),
        None => {}
    }
}
