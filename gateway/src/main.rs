//! `openhmis-gateway [--config FILE]`: serves until SIGTERM or Ctrl-C, then drains.

use std::path::PathBuf;

use clap::Parser;
use hmis_platform::telemetry::Telemetry;
use openhmis_gateway::Gateway;
use openhmis_gateway::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "openhmis-gateway",
    version,
    about = "OpenHMIS grpc-web gateway"
)]
struct Cli {
    /// A TOML file of settings (`[gateway]`, `[telemetry]`); HMIS_GATEWAY__* variables win.
    #[arg(long, env = "HMIS_GATEWAY_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    let telemetry = Telemetry::init(&settings.telemetry)?;
    let gateway = Gateway::new(&settings.gateway)?;
    let listener = tokio::net::TcpListener::bind(settings.gateway.listen_addr).await?;
    tracing::info!(
        addr = %listener.local_addr()?,
        upstream = %settings.gateway.default_upstream,
        routes = settings.gateway.routes.len(),
        "grpc-web gateway listening"
    );
    gateway.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    telemetry.shutdown();
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
