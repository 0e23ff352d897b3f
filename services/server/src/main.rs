//! `openhmis`: serve the modules, migrate the database, or run the demo hospital.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hmis_platform::config::Options;
use hmis_platform::telemetry::Telemetry;
use openhmis_server::Application;

#[derive(Debug, Parser)]
#[command(
    name = "openhmis",
    version,
    about = "OpenHMIS hospital information system"
)]
struct Cli {
    /// TOML configuration file; `HMIS_*` environment variables override it.
    #[arg(long, global = true, env = "HMIS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve gRPC and grpc-web (all modules, or those named).
    Serve {
        /// Comma-separated modules to mount, for a split deployment (e.g. `core`).
        #[arg(long, value_delimiter = ',')]
        modules: Vec<String>,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Load the demo hospital (idempotent), make it the default tenant, and serve.
    Demo,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut options = Options::load(cli.config.as_deref())?;
    if let Command::Serve { modules } = &cli.command
        && !modules.is_empty()
    {
        options.server.modules = modules.clone();
    }
    let telemetry = Telemetry::init(&options.telemetry)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(run(cli.command, options));
    if let Err(error) = &outcome {
        tracing::error!(error = %format!("{error:#}"), "openhmis failed");
    }
    telemetry.shutdown();
    outcome
}

async fn run(command: Command, options: Options) -> anyhow::Result<()> {
    let mut application = Application::prepare(options).await?;
    match command {
        Command::Migrate => {
            tracing::info!("migrations applied");
            return Ok(());
        }
        Command::Demo => {
            let tenant_id = application.load_demo().await?;
            tracing::info!(tenant_id = %tenant_id, "demo hospital loaded; it is the default tenant");
        }
        Command::Serve { .. } => {}
    }
    let listener = application
        .bind()
        .await
        .context("cannot bind the listen address")?;
    application.serve(listener, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on SIGTERM (Kubernetes, systemd) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(terminate) => terminate,
        Err(error) => {
            tracing::warn!(error = %error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
