//! Scenario `auth-audit`: what authentication and the audit record add to a trivial read.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use hmis_platform::RequestContext;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::clock::SystemClock;
use hmis_platform::config::Secret;
use hmis_platform::context::RequestId;
use hmis_platform::testing::TestDatabase;
use hmis_proto::openhmis::iam::v1 as iam;
use openhmis_server::Application;
use openhmis_server::Options;
use sqlx::{Connection, Executor};

use crate::report::{delta, measure, print};

pub async fn run(iterations: usize) -> anyhow::Result<()> {
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
                    let entry = AuditEntry::ok(&patient);
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
