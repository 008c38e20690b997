//! `berth`: the command-line entry point.
//!
//! Parses arguments, installs logging, builds the one tokio runtime, runs the command and
//! renders any error once, mapping it to the exit code (0 ok, 1 user error, 2 unexpected).

mod args;
mod aws_session;
mod commands;
mod diagnostics;
mod env_vars;
mod error;
mod exit_status;
mod kube_access;
mod nodeup_asset;
mod operation_lease;
mod printer;
mod progress;
#[cfg(test)]
mod reference_docs;
mod rolling_progress;
mod settings;
mod spec_store;

use std::process::ExitCode;

use clap::Parser as _;

use crate::exit_status::ExitStatus;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout and succeed; a usage mistake is a user error (exit 1).
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitStatus::UserError
            } else {
                ExitStatus::Success
            }
            .into();
        }
    };
    install_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return diagnostics::report(&anyhow::Error::new(error).context("failed to start"))
                .into();
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(status) => status.into(),
        Err(error) if is_broken_pipe(&error) => ExitStatus::Success.into(),
        Err(error) => diagnostics::report(&error).into(),
    }
}

fn install_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(env_vars::BERTH_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// `berth get … | head` is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
