//! `openhmis-loadgen`: measures hot paths and prints throughput and latency percentiles beside
//! the raw PostgreSQL figure for the same statements. It starts the server in-process over a
//! fresh database (from `DATABASE_URL`, else the embedded test cluster) and talks real gRPC.
//!
//! Scenario `auth-audit`: what authentication and the audit record add to a trivial read.

#![allow(clippy::print_stdout)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, ValueEnum};
use hmis_platform::RequestContext;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::clock::SystemClock;
use hmis_platform::config::{Options, Secret};
use hmis_platform::context::RequestId;
use hmis_platform::testing::TestDatabase;
use hmis_proto::openhmis::iam::v1 as iam;
use openhmis_server::Application;
use sqlx::{Connection, Executor};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    /// Authentication and audit overhead on a trivial read.
    AuthAudit,
}

#[derive(Debug, Parser)]
#[command(name = "openhmis-loadgen", about = "OpenHMIS load generator")]
struct Cli {
    #[arg(value_enum, default_value = "auth-audit")]
    scenario: Scenario,
    /// Measured calls per variant (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 2000)]
    iterations: usize,
}

/// Latencies of one variant.
struct Sample {
    name: &'static str,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Sample {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
        sorted.get(rank).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `call` sequentially (latency, not saturation, is the question here).
async fn measure<F, Fut>(
    name: &'static str,
    iterations: usize,
    mut call: F,
) -> anyhow::Result<Sample>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for _ in 0..(iterations / 10).max(10) {
        call().await?;
    }
    let mut latencies = Vec::with_capacity(iterations);
    let started = Instant::now();
    for _ in 0..iterations {
        let call_started = Instant::now();
        call().await?;
        latencies.push(call_started.elapsed());
    }
    Ok(Sample {
        name,
        latencies,
        elapsed: started.elapsed(),
    })
}

fn print(samples: &[Sample]) {
    println!(
        "{:<58} {:>7} {:>8} {:>8} {:>8} {:>9}",
        "variant", "calls", "p50 ms", "p95 ms", "p99 ms", "calls/s"
    );
    for sample in samples {
        println!(
            "{:<58} {:>7} {:>8.3} {:>8.3} {:>8.3} {:>9.0}",
            sample.name,
            sample.latencies.len(),
            sample.percentile(50.0),
            sample.percentile(95.0),
            sample.percentile(99.0),
            sample.throughput()
        );
    }
}

fn delta(label: &str, with: &Sample, without: &Sample) {
    println!(
        "  => {label}: {:+.3} ms at the median, {:+.3} ms at p99",
        with.percentile(50.0) - without.percentile(50.0),
        with.percentile(99.0) - without.percentile(99.0)
    );
}

async fn auth_audit(iterations: usize) -> anyhow::Result<()> {
    let db = TestDatabase::new().await;
    let mut options = Options::default();
    options.server.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    options.iam.bootstrap_admin_password = Some(Secret::new("Bench-Secret-2026!"));
    let application = Application::new(options, db.database.clone(), Arc::new(SystemClock)).await?;
    let tenant_id = application.bootstrap().await?.tenant_id;
    let listener = application.bind().await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.serve(listener, async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let token = iam::auth_service_client::AuthServiceClient::new(channel.clone())
        .login(iam::LoginRequest {
            tenant_code: "MAIN".to_owned(),
            credentials: Some(iam::login_request::Credentials::Password(
                iam::PasswordCredentials {
                    username: "admin".to_owned(),
                    password: "Bench-Secret-2026!".to_owned(),
                },
            )),
        })
        .await?
        .into_inner()
        .tokens
        .context("no tokens")?
        .access_token;
    let authorization: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse()?;

    let mut samples = Vec::new();
    let health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    // Warm the connection, the server's tasks and both pools before anything is measured.
    measure("warm-up", iterations, || {
        let mut health = health.clone();
        async move {
            health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await?;
            Ok(())
        }
    })
    .await?;
    samples.push(
        measure(
            "gRPC health check, no token (transport baseline)",
            iterations,
            || {
                let mut health = health.clone();
                async move {
                    health
                        .check(tonic_health::pb::HealthCheckRequest::default())
                        .await?;
                    Ok(())
                }
            },
        )
        .await?,
    );
    samples.push(
        measure(
            "gRPC health check with a bearer token (+ authentication)",
            iterations,
            || {
                let mut health = health.clone();
                let authorization = authorization.clone();
                async move {
                    let mut request =
                        tonic::Request::new(tonic_health::pb::HealthCheckRequest::default());
                    request
                        .metadata_mut()
                        .insert("authorization", authorization);
                    health.check(request).await?;
                    Ok(())
                }
            },
        )
        .await?,
    );

    // The trivial read at the database: a tenant transaction that reads one row.
    let database = db.database.clone();
    let context = RequestContext::system(tenant_id);
    samples.push(
        measure("tenant transaction: read one row", iterations, || {
            let database = database.clone();
            async move {
                let mut tx = database.begin(tenant_id, &RequestId::generate()).await?;
                sqlx::query("SELECT code FROM core.tenants")
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        })
        .await?,
    );
    let patient = [uuid::Uuid::new_v4()];
    samples.push(
        measure(
            "tenant transaction: read one row + audit record (durable)",
            iterations,
            || {
                let database = database.clone();
                let context = context.clone();
                async move {
                    let mut tx = database.begin(tenant_id, &RequestId::generate()).await?;
                    sqlx::query("SELECT code FROM core.tenants")
                        .fetch_optional(&mut *tx)
                        .await?;
                    let entry = AuditEntry {
                        patient_ids: &patient,
                        resource_ids: &[],
                        outcome: tonic::Code::Ok,
                        break_glass_reason: None,
                    };
                    audit::record(&mut tx, &context, &entry, Utc::now()).await?;
                    tx.commit().await?;
                    Ok(())
                }
            },
        )
        .await?,
    );

    // The raw PostgreSQL figure: the same statements over one plain connection, no pool, no
    // tenant settings, no role switch.
    let mut raw = sqlx::PgConnection::connect_with(&db.owner_options()).await?;
    let raw = tokio::sync::Mutex::new(&mut raw);
    samples.push(
        measure(
            "raw PostgreSQL: BEGIN; SELECT; COMMIT",
            iterations,
            || async {
                let mut connection = raw.lock().await;
                let mut tx = connection.begin().await?;
                tx.execute("SELECT code FROM core.tenants LIMIT 1").await?;
                tx.commit().await?;
                Ok(())
            },
        )
        .await?,
    );
    samples.push(
        measure(
            "raw PostgreSQL: BEGIN; SELECT; INSERT audit row; COMMIT",
            iterations,
            || async {
                let mut connection = raw.lock().await;
                let mut tx = connection.begin().await?;
                tx.execute("SELECT code FROM core.tenants LIMIT 1").await?;
                sqlx::query(
                "INSERT INTO audit.records (tenant_id, record_id, occurred_at, user_id, username, \
                 method, patient_ids, outcome, request_id) \
                 VALUES ($1, $2, now(), $3, 'bench', '/bench', $4, 'OK', 'bench')",
            )
            .bind(tenant_id.as_uuid())
            .bind(uuid::Uuid::now_v7())
            .bind(uuid::Uuid::nil())
            .bind(&patient[..])
            .execute(&mut *tx)
            .await?;
                tx.commit().await?;
                Ok(())
            },
        )
        .await?,
    );

    println!("scenario auth-audit: sequential calls, one client, {iterations} per variant\n");
    print(&samples);
    println!();
    delta("authentication adds", &samples[1], &samples[0]);
    delta("the audit record adds", &samples[3], &samples[2]);
    delta(
        "raw PostgreSQL: the audit insert adds",
        &samples[5],
        &samples[4],
    );
    delta(
        "platform transaction vs raw (read)",
        &samples[2],
        &samples[4],
    );

    let _ = stop.send(());
    server.await??;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.scenario {
            Scenario::AuthAudit => auth_audit(cli.iterations).await,
        }
    })
}
