//! `openhmis`: serve the modules, migrate the database, or run the demo hospital.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hmis_platform::config::Options;
use hmis_platform::telemetry::Telemetry;
use openhmis_server::{Application, demo};

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
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Seal what is pending, then recompute every tenant's hash chain; exits non-zero and
    /// names each altered, removed or unchained record when the trail was tampered with.
    Verify,
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

async fn run(command: Command, mut options: Options) -> anyhow::Result<()> {
    if let Command::Demo = command {
        // The demo's tenant and administrator are known, so the README can name them.
        let defaults = hmis_platform::config::IamOptions::default();
        if options.iam.bootstrap_tenant_code == defaults.bootstrap_tenant_code {
            options.iam.bootstrap_tenant_code = "DEMO".to_owned();
            options.iam.bootstrap_tenant_name = "Demo Regional Hospital".to_owned();
        }
        if options.iam.bootstrap_admin_password.is_none() {
            options.iam.bootstrap_admin_password =
                Some(hmis_platform::config::Secret::new(demo::DEMO_PASSWORD));
        }
    }
    let application = Application::prepare(options).await?;
    if let Command::Migrate = command {
        tracing::info!("migrations applied");
        return Ok(());
    }
    if let Command::Audit {
        command: AuditCommand::Verify,
    } = command
    {
        let reports = application.verify_audit().await?;
        let mut intact = true;
        #[allow(clippy::print_stdout)]
        for report in &reports {
            println!(
                "tenant {}: {} records checked, {}",
                report.tenant_id,
                report.checked,
                if report.problems.is_empty() {
                    "intact"
                } else {
                    "TAMPERED"
                }
            );
            for problem in &report.problems {
                intact = false;
                println!("  {problem:?}");
            }
        }
        application.shutdown().await?;
        anyhow::ensure!(intact, "the audit trail was tampered with");
        return Ok(());
    }
    let bootstrapped = application.bootstrap().await?;
    if let Some(password) = &bootstrapped.generated_admin_password {
        // Shown once, on the terminal only (never in the log stream): nobody chose it.
        #[allow(clippy::print_stdout)]
        {
            println!(
                "first start: administrator `{}` of tenant {} has password {password} (change it)",
                openhmis_server::BOOTSTRAP_ADMIN,
                bootstrapped.tenant_id
            );
        }
    }
    if let Command::Demo = command {
        application.load_demo(bootstrapped.tenant_id).await?;
        tracing::info!(tenant_id = %bootstrapped.tenant_id, "demo hospital and staff loaded");
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
