//! SIGTERM drains calls in flight: the real `openhmis` binary is started, a call is held
//! inside the database (behind a row lock this test owns), the process gets SIGTERM, and the
//! call must still complete successfully before the process exits cleanly.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use hmis_platform::testing::TestDatabase;
use hmis_proto::openhmis::core::v1 as pb;
use pb::facility_service_client::FacilityServiceClient;
use sqlx::Connection;
use support::{
    Spawned, connect_when_listening, forward_log, sign_in_admin, signed_in, wait_for_message,
};

const ADMIN_PASSWORD: &str = "Ops-Secret-2026!";
/// How long the server may take to log what the test waits for.
const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn sigterm_lets_the_call_in_flight_finish() {
    let db = TestDatabase::new().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_openhmis"))
        .arg("serve")
        .env("HMIS_DATABASE__URL", db.url())
        .env("HMIS_IAM__BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HMIS_SERVER__LISTEN_ADDR", "127.0.0.1:0")
        .env("HMIS_TELEMETRY__LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Spawned)
        .expect("start openhmis");
    let mut log = forward_log(child.stdout.take().expect("stdout"));
    let channel = connect_when_listening(&mut log, WAIT).await;
    let access_token = sign_in_admin(&channel, ADMIN_PASSWORD).await;
    let with_tenant_create = |message| signed_in(&access_token, message);
    let with_tenant_update = |message| signed_in(&access_token, message);
    let mut facilities = FacilityServiceClient::new(channel.clone());
    let facility = facilities
        .create_facility(with_tenant_create(pb::CreateFacilityRequest {
            request_id: "drain-facility".to_owned(),
            facility: Some(pb::Facility {
                code: "DR".to_owned(),
                name: "Drain".to_owned(),
                time_zone: "UTC".to_owned(),
                ..Default::default()
            }),
        }))
        .await
        .expect("create facility")
        .into_inner()
        .facility
        .expect("facility");

    // Hold the facility's row so the update below waits inside the server.
    let mut owner = sqlx::PgConnection::connect_with(&db.owner_options())
        .await
        .expect("owner connection");
    let mut holder = owner.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM core.facilities WHERE id = $1::uuid FOR UPDATE")
        .bind(&facility.id)
        .execute(&mut *holder)
        .await
        .expect("lock the row");

    let in_flight = tokio::spawn({
        let request = with_tenant_update(pb::UpdateFacilityRequest {
            facility: Some(pb::Facility {
                id: facility.id.clone(),
                name: "Renamed during shutdown".to_owned(),
                etag: facility.etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".to_owned()],
            }),
        });
        let mut facilities = facilities.clone();
        async move { facilities.update_facility(request).await }
    });

    // Wait until the server's transaction is blocked on our lock.
    let mut observer = sqlx::PgConnection::connect_with(&db.owner_options())
        .await
        .expect("observer connection");
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    loop {
        poll.tick().await;
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut observer)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            break;
        }
    }

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid")),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("send SIGTERM");
    wait_for_message(
        &mut log,
        "shutdown signal received; draining calls in flight",
        WAIT,
    )
    .await;
    assert!(
        child.try_wait().expect("child status").is_none(),
        "still draining"
    );

    holder.commit().await.expect("release the row");
    let updated = in_flight
        .await
        .expect("task")
        .expect("the in-flight call completes")
        .into_inner()
        .facility
        .expect("facility");
    assert_eq!(updated.name, "Renamed during shutdown");

    let status = tokio::task::spawn_blocking(move || {
        let mut child = child;
        child.wait()
    })
    .await
    .expect("join")
    .expect("wait for exit");
    assert!(status.success(), "openhmis exited with {status}");
}
