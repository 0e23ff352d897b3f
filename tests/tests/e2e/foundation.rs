//! The foundation's promises, checked over real gRPC against a fresh database each:
//! health and reflection, CRUD with validation, tenant isolation in PostgreSQL, idempotent
//! retries, optimistic concurrency, and the outbox surviving a crash.

use crate::support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use hmis_platform::config::OutboxOptions;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Dispatcher, Event, EventHandler, HandlerError, Subscription};
use hmis_proto::openhmis::core::v1 as pb;
use pb::facility_service_client::FacilityServiceClient;
use prost::Message;
use sqlx::{Connection, Row};
use support::{TestApp, facility, signed_in, violated_fields};
use tonic::Code;

#[tokio::test]
async fn health_reports_serving_and_reflection_lists_the_services() {
    let app = TestApp::spawn().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    for service in [
        "",
        "openhmis.core.v1.FacilityService",
        "openhmis.core.v1.DictionaryService",
    ] {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(
            status,
            i32::from(tonic_health::pb::health_check_response::ServingStatus::Serving),
            "service {service:?}"
        );
    }

    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection stream")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("reflection answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!(
            "expected a service list, got {:?}",
            response.message_response
        );
    };
    let names: Vec<_> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    for expected in [
        "openhmis.core.v1.TenantService",
        "openhmis.core.v1.FacilityService",
        "openhmis.core.v1.DictionaryService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} missing from {names:?}"
        );
    }
    app.stop().await;
}

/// A database outage: once the probe finds the database gone, health says NOT_SERVING and
/// calls answer UNAVAILABLE at once (not after the pool's ten-second acquire timeout); when it
/// answers again, so does the server, unaided.
#[tokio::test]
async fn a_database_outage_fails_calls_fast_and_health_follows_it() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let app = TestApp::spawn().await;
    let mut facilities = FacilityServiceClient::new(app.channel.clone());
    let create = |n: u32| {
        signed_in(
            &app.operator,
            pb::CreateFacilityRequest {
                request_id: format!("outage-{n}"),
                facility: Some(facility(&format!("OUT{n}"))),
            },
        )
    };
    facilities
        .create_facility(create(1))
        .await
        .expect("before the outage");
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone())
        .watch(tonic_health::pb::HealthCheckRequest {
            service: "openhmis.core.v1.FacilityService".to_owned(),
        })
        .await
        .expect("watch health")
        .into_inner();
    let mut until = async |wanted: ServingStatus| {
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while health
                .message()
                .await
                .expect("health stream")
                .expect("stream open")
                .status
                != i32::from(wanted)
            {}
        })
        .await
        .unwrap_or_else(|_| panic!("health never said {wanted:?}"));
    };
    until(ServingStatus::Serving).await;

    // The outage: the database refuses connections and every session to it is ended.
    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options().database("postgres"))
        .await
        .expect("owner connection");
    let name = app.db.name().to_owned();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
    )))
    .execute(&mut owner)
    .await
    .expect("refuse connections");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&mut owner)
        .await
        .expect("end the sessions");
    until(ServingStatus::NotServing).await;
    // The process itself is alive: liveness probes must not restart it for the database.
    let alive = tonic_health::pb::health_client::HealthClient::new(app.channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: openhmis_server::LIVENESS_SERVICE.to_owned(),
        })
        .await
        .expect("liveness check")
        .into_inner()
        .status;
    assert_eq!(alive, i32::from(ServingStatus::Serving));
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        facilities.create_facility(create(2)),
    )
    .await
    .expect("answered without waiting out the acquire timeout")
    .expect_err("no database, no write");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");

    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
    )))
    .execute(&mut owner)
    .await
    .expect("accept connections again");
    until(ServingStatus::Serving).await;
    facilities
        .create_facility(create(2))
        .await
        .expect("the same write succeeds once the database is back");
    // An open health stream would hold the server's graceful stop for its grace period.
    drop(health);
    app.stop().await;
}

/// The pool hands out a connection used a moment ago without asking the database first
/// whether it is still there (a round trip per call saved); when the database has ended it
/// since, the call goes on over another connection instead of failing.
#[tokio::test]
async fn a_call_after_the_database_ended_its_pooled_sessions_still_succeeds() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let mut facilities = FacilityServiceClient::new(app.channel.clone());
    let create = |n: u32| {
        signed_in(
            &tenant,
            pb::CreateFacilityRequest {
                request_id: format!("ended-{n}"),
                facility: Some(facility(&format!("END{n}"))),
            },
        )
    };
    // Calls side by side, so the pool holds several connections, all just used.
    let mut beside = facilities.clone();
    let (first, second) = tokio::join!(
        facilities.create_facility(create(1)),
        beside.create_facility(create(2)),
    );
    first.expect("first write");
    second.expect("second write");
    // Every session that ran a statement (the pools'; the availability probe only pings)
    // is ended, and gone before the next call.
    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options().database("postgres"))
        .await
        .expect("owner connection");
    let name = app.db.name().to_owned();
    // In the select list, so only the rows the filter kept are ended.
    let ended: Vec<(i32, bool)> = sqlx::query_as(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND query <> ''",
    )
    .bind(&name)
    .fetch_all(&mut owner)
    .await
    .expect("end the sessions");
    let ended: Vec<i32> = ended.into_iter().map(|(pid, _)| pid).collect();
    assert!(!ended.is_empty(), "the pool had sessions");
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = ANY($1))",
        )
        .bind(&ended)
        .fetch_one(&mut owner)
        .await
        .expect("sessions left")
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the sessions end");
    // Again side by side: each call is handed one of the ended sessions.
    let (third, fourth) = tokio::join!(
        facilities.create_facility(create(3)),
        beside.create_facility(create(4)),
    );
    third.expect("a write after the sessions ended");
    fourth.expect("another write after the sessions ended");
    let listed = facilities
        .list_facilities(signed_in(&tenant, pb::ListFacilitiesRequest::default()))
        .await
        .expect("a read")
        .into_inner();
    assert_eq!(listed.facilities.len(), 4, "{listed:?}");
    app.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let mut request = signed_in(&tenant, pb::ListFacilitiesRequest::default());
    request
        .metadata_mut()
        .insert("x-request-id", "desk-7-call-1".parse().expect("ascii"));
    let response = app
        .facilities()
        .list_facilities(request)
        .await
        .expect("list");
    assert_eq!(
        response
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("desk-7-call-1")
    );
    let response = app
        .facilities()
        .list_facilities(signed_in(&tenant, pb::ListFacilitiesRequest::default()))
        .await
        .expect("list");
    let made = response
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id is made when none is sent");
    assert!(uuid::Uuid::parse_str(made).is_ok(), "{made}");
    app.stop().await;
}

/// `GET path` on the admin port over plain HTTP/1.0: the status line and the body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("admin port");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("response");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[tokio::test]
async fn the_admin_port_serves_per_rpc_metrics_in_prometheus_format() {
    // A free port for the admin listener (the gRPC one is port 0, read back from the socket).
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let mut options = openhmis_server::Options::default();
    options.telemetry.metrics_addr = Some(admin);
    let app = TestApp::spawn_with(options).await;
    let tenant = app.create_tenant("M1").await;
    for _ in 0..3 {
        app.facilities()
            .list_facilities(signed_in(&tenant, pb::ListFacilitiesRequest::default()))
            .await
            .expect("list");
    }
    let missing = app
        .facilities()
        .get_facility(signed_in(
            &tenant,
            pb::GetFacilityRequest {
                id: uuid::Uuid::now_v7().to_string(),
            },
        ))
        .await
        .expect_err("no such facility");
    assert_eq!(missing.code(), Code::NotFound);

    let (status, metrics) = http_get(admin, "/metrics").await;
    assert!(status.contains("200"), "{status}");
    let labels = "service=\"openhmis.core.v1.FacilityService\",method=";
    assert!(
        metrics.contains(&format!(
            "openhmis_rpc_requests_total{{{labels}\"ListFacilities\",code=\"OK\"}} 3"
        )),
        "{metrics}"
    );
    assert!(metrics.contains(&format!(
        "openhmis_rpc_requests_total{{{labels}\"GetFacility\",code=\"NOT_FOUND\"}} 1"
    )));
    assert!(metrics.contains(&format!(
        "openhmis_rpc_duration_seconds_count{{{labels}\"ListFacilities\"}} 3"
    )));
    assert!(metrics.contains("# TYPE openhmis_rpc_duration_seconds histogram"));
    assert_eq!(http_get(admin, "/healthz").await.1, "ok");
    app.stop().await;
}

#[tokio::test]
async fn facilities_departments_rooms_and_beds_round_trip_with_paging() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let created = app.create_facility(&tenant, "SITE-A").await;
    assert_eq!(created.time_zone, "Europe/Chisinau");
    assert!(created.active);

    let mut facilities = app.facilities();
    let read = facilities
        .get_facility(signed_in(
            &tenant,
            pb::GetFacilityRequest {
                id: created.id.clone(),
            },
        ))
        .await
        .expect("get facility")
        .into_inner()
        .facility
        .expect("facility");
    assert_eq!(read, created);

    for code in ["SITE-B", "SITE-C"] {
        app.create_facility(&tenant, code).await;
    }
    let mut codes = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = facilities
            .list_facilities(signed_in(
                &tenant,
                pb::ListFacilitiesRequest {
                    page_size: 2,
                    page_token: page_token.clone(),
                },
            ))
            .await
            .expect("list facilities")
            .into_inner();
        codes.extend(page.facilities.into_iter().map(|f| f.code));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(codes, ["SITE-A", "SITE-B", "SITE-C"]);

    let ward = facilities
        .create_department(signed_in(
            &tenant,
            pb::CreateDepartmentRequest {
                request_id: "ward-1".to_owned(),
                department: Some(pb::Department {
                    facility_id: created.id.clone(),
                    code: "CARD".to_owned(),
                    name: "Cardiology".to_owned(),
                    kind: pb::DepartmentKind::Ward.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("create ward")
        .into_inner()
        .department
        .expect("department");
    let room = facilities
        .create_room(signed_in(
            &tenant,
            pb::CreateRoomRequest {
                request_id: "room-1".to_owned(),
                room: Some(pb::Room {
                    department_id: ward.id.clone(),
                    code: "101".to_owned(),
                    name: "Room 101".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("create room")
        .into_inner()
        .room
        .expect("room");
    for code in ["1", "2", "3"] {
        facilities
            .create_bed(signed_in(
                &tenant,
                pb::CreateBedRequest {
                    request_id: format!("bed-{code}"),
                    bed: Some(pb::Bed {
                        room_id: room.id.clone(),
                        code: code.to_owned(),
                        sex: pb::BedSex::Female.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("create bed");
    }
    let beds = facilities
        .list_beds(signed_in(
            &tenant,
            pb::ListBedsRequest {
                department_id: ward.id.clone(),
                state: pb::BedState::Free.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list beds")
        .into_inner()
        .beds;
    assert_eq!(beds.len(), 3);
    assert!(
        beds.iter()
            .all(|bed| bed.department_id == ward.id && bed.state == i32::from(pb::BedState::Free))
    );

    // A bed follows its state machine: occupied beds go to cleaning, not back to reserved.
    let bed = &beds[0];
    let occupied = facilities
        .set_bed_state(signed_in(
            &tenant,
            pb::SetBedStateRequest {
                request_id: "occupy".to_owned(),
                bed_id: bed.id.clone(),
                state: pb::BedState::Occupied.into(),
                etag: bed.etag.clone(),
                reason: String::new(),
            },
        ))
        .await
        .expect("occupy")
        .into_inner()
        .bed
        .expect("bed");
    let refused = facilities
        .set_bed_state(signed_in(
            &tenant,
            pb::SetBedStateRequest {
                request_id: "reserve-occupied".to_owned(),
                bed_id: bed.id.clone(),
                state: pb::BedState::Reserved.into(),
                etag: occupied.etag.clone(),
                reason: String::new(),
            },
        ))
        .await
        .expect_err("occupied bed cannot be reserved");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    app.stop().await;
}

#[tokio::test]
async fn tenant_isolation_is_enforced_by_postgresql() {
    let app = TestApp::spawn().await;
    let tenant_a = app.create_tenant("A").await;
    let tenant_b = app.create_tenant("B").await;
    let facility_a = app.create_facility(&tenant_a, "A-1").await;
    let facility_b = app.create_facility(&tenant_b, "B-1").await;

    // A deliberately unfiltered query, acting for tenant A, sees only A's rows.
    let database = &app.db.database;
    let mut tx = database
        .begin(tenant_a.tenant_id, &RequestId::generate())
        .await
        .expect("begin as tenant A");
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM core.facilities")
        .fetch_all(&mut *tx)
        .await
        .expect("unfiltered select");
    assert_eq!(
        ids,
        vec![facility_a.id.parse::<uuid::Uuid>().expect("uuid")]
    );
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM core.tenants")
        .fetch_one(&mut *tx)
        .await
        .expect("count tenants");
    assert_eq!(tenants, 1);

    // Writing a row for tenant B while acting for A is refused by the policy.
    let foreign_write = sqlx::query(
        "INSERT INTO core.facilities (tenant_id, id, code, name, time_zone, created_at, updated_at) \
         VALUES ($1, gen_random_uuid(), 'X', 'X', 'UTC', now(), now())",
    )
    .bind(tenant_b.tenant_id.as_uuid())
    .execute(&mut *tx)
    .await
    .expect_err("policy refuses a foreign tenant's row");
    assert!(
        foreign_write.to_string().contains("row-level security"),
        "{foreign_write}"
    );
    tx.rollback().await.expect("rollback");

    // Outside any tenant, the application role sees nothing at all.
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM core.facilities")
        .fetch_one(database.app_pool())
        .await
        .expect("count without tenant");
    assert_eq!(visible, 0);

    // Over gRPC, B's facility does not exist for A.
    let status = app
        .facilities()
        .get_facility(signed_in(
            &tenant_a,
            pb::GetFacilityRequest {
                id: facility_b.id.clone(),
            },
        ))
        .await
        .expect_err("B's facility is invisible to A");
    assert_eq!(status.code(), Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn a_retry_with_the_same_request_id_returns_the_first_response() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let request = pb::CreateFacilityRequest {
        request_id: "kiosk-42".to_owned(),
        facility: Some(facility("RETRY")),
    };
    let first = app
        .facilities()
        .create_facility(signed_in(&tenant, request.clone()))
        .await
        .expect("first call")
        .into_inner();

    // Eight retries at once, as a flaky network produces them.
    let retries = (0..8).map(|_| {
        let mut client = app.facilities();
        let request = signed_in(&tenant, request.clone());
        async move { client.create_facility(request).await }
    });
    for retry in futures::future::join_all(retries).await {
        assert_eq!(retry.expect("retry succeeds").into_inner(), first);
    }
    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner connection");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM core.facilities WHERE code = 'RETRY'")
        .fetch_one(&mut owner)
        .await
        .expect("count");
    assert_eq!(rows, 1);
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM core.outbox WHERE event_type = 'openhmis.core.v1.FacilityChanged'",
    )
    .fetch_one(&mut owner)
    .await
    .expect("count events");
    assert_eq!(events, 1, "a replay publishes nothing");

    // The same request id with another request is a client bug, and says so.
    let mut changed = request.clone();
    changed.facility = Some(facility("OTHER"));
    let status = app
        .facilities()
        .create_facility(signed_in(&tenant, changed))
        .await
        .expect_err("reused request id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["request_id"]);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_first_calls_with_one_request_id_create_one_facility() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let request = pb::CreateFacilityRequest {
        request_id: "double-click".to_owned(),
        facility: Some(facility("RACE")),
    };
    let calls = (0..16).map(|_| {
        let mut client = app.facilities();
        let request = signed_in(&tenant, request.clone());
        async move { client.create_facility(request).await }
    });
    let responses: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|response| response.expect("every call succeeds").into_inner())
        .collect();
    assert!(
        responses.windows(2).all(|pair| pair[0] == pair[1]),
        "all get the same answer"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_input_names_every_wrong_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let status = app
        .facilities()
        .create_facility(signed_in(
            &tenant,
            pb::CreateFacilityRequest {
                request_id: "bad-1".to_owned(),
                facility: Some(pb::Facility {
                    code: "has spaces".to_owned(),
                    name: "   ".to_owned(),
                    time_zone: "Mars/Olympus_Mons".to_owned(),
                    address: "x".repeat(5000),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("invalid facility");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        [
            "facility.code",
            "facility.name",
            "facility.time_zone",
            "facility.address"
        ]
    );

    let missing = app
        .facilities()
        .create_facility(signed_in(&tenant, pb::CreateFacilityRequest::default()))
        .await
        .expect_err("empty request");
    assert_eq!(violated_fields(&missing), ["request_id", "facility"]);

    let unknown_enum = app
        .facilities()
        .list_beds(signed_in(
            &tenant,
            pb::ListBedsRequest {
                room_id: uuid::Uuid::new_v4().to_string(),
                state: 99,
                ..Default::default()
            },
        ))
        .await
        .expect_err("unknown enum value");
    assert_eq!(violated_fields(&unknown_enum), ["state"]);

    let anonymous = app
        .facilities()
        .list_facilities(pb::ListFacilitiesRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner connection");
    let written: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM core.facilities) \
         + (SELECT count(*) FROM core.idempotency_keys WHERE request_id = 'bad-1') \
         + (SELECT count(*) FROM core.outbox)",
    )
    .fetch_one(&mut owner)
    .await
    .expect("count");
    assert_eq!(written, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_stale_etag_is_refused_and_a_fresh_one_updates() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let created = app.create_facility(&tenant, "SITE").await;
    let mut facilities = app.facilities();
    let update = |name: &str, etag: &str| pb::UpdateFacilityRequest {
        facility: Some(pb::Facility {
            id: created.id.clone(),
            name: name.to_owned(),
            etag: etag.to_owned(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".to_owned()],
        }),
    };
    let updated = facilities
        .update_facility(signed_in(
            &tenant,
            update("Renamed by the first nurse", &created.etag),
        ))
        .await
        .expect("fresh etag")
        .into_inner()
        .facility
        .expect("facility");
    assert_eq!(updated.name, "Renamed by the first nurse");
    assert_eq!(updated.time_zone, created.time_zone, "unmasked fields stay");
    assert_ne!(updated.etag, created.etag);

    let stale = facilities
        .update_facility(signed_in(
            &tenant,
            update("Renamed by the second nurse", &created.etag),
        ))
        .await
        .expect_err("stale etag");
    assert_eq!(stale.code(), Code::Aborted);

    let bad_mask = facilities
        .update_facility(signed_in(
            &tenant,
            pb::UpdateFacilityRequest {
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["code".to_owned()],
                }),
                ..update("x", &updated.etag)
            },
        ))
        .await
        .expect_err("code is not updatable");
    assert_eq!(violated_fields(&bad_mask), ["update_mask"]);
    app.stop().await;
}

/// Records what it receives, as an idempotent subscriber would (keyed by event id).
#[derive(Default)]
struct Recorder {
    seen: Mutex<HashMap<uuid::Uuid, usize>>,
    order: Mutex<Vec<String>>,
}

impl EventHandler for Recorder {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            *self
                .seen
                .lock()
                .map_err(HandlerError::new)?
                .entry(event.event_id)
                .or_default() += 1;
            self.order
                .lock()
                .map_err(HandlerError::new)?
                .push(event.aggregate_id.clone());
            Ok(())
        })
    }
}

/// Delivers until `expected` events have been handed over. The outbox only releases events
/// older than the oldest transaction running anywhere in the cluster, and other tests share
/// the cluster, so delivery may trail a commit by those tests' transactions.
async fn deliver_until(
    dispatcher: &Dispatcher,
    subscription: &Subscription,
    expected: usize,
) -> usize {
    let mut delivered = 0;
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while delivered < expected && tokio::time::Instant::now() < deadline {
        poll.tick().await;
        delivered += dispatcher
            .deliver_pending(subscription)
            .await
            .expect("deliver");
    }
    delivered
}

fn subscription(name: &str, handler: &Arc<Recorder>) -> Subscription {
    Subscription {
        source: hmis_core::SCHEMA,
        subscriber: name.to_owned(),
        handler: handler.clone(),
    }
}

#[tokio::test]
async fn outbox_events_survive_a_crash_and_reach_each_subscriber_once() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    // Committed while no dispatcher runs: the process "crashed" between commit and dispatch.
    let first = app.create_facility(&tenant, "F1").await;
    let second = app.create_facility(&tenant, "F2").await;

    let statistics = Arc::new(Recorder::default());
    let nutrition = Arc::new(Recorder::default());
    let dispatcher = Dispatcher::new(
        app.db.database.worker_pool().clone(),
        OutboxOptions::default(),
    );
    for (name, recorder) in [("statistics", &statistics), ("nutrition", &nutrition)] {
        let delivered = deliver_until(&dispatcher, &subscription(name, recorder), 2).await;
        assert_eq!(delivered, 2, "{name}");
    }
    // A restarted dispatcher starts from the stored offsets: nothing is delivered twice.
    let restarted = Dispatcher::new(
        app.db.database.worker_pool().clone(),
        OutboxOptions::default(),
    );
    for (name, recorder) in [("statistics", &statistics), ("nutrition", &nutrition)] {
        let delivered = restarted
            .deliver_pending(&subscription(name, recorder))
            .await
            .expect("deliver again");
        assert_eq!(delivered, 0, "{name}");
        let seen = recorder.seen.lock().expect("lock");
        assert_eq!(seen.len(), 2);
        assert!(seen.values().all(|count| *count == 1), "{name}: {seen:?}");
        assert_eq!(
            *recorder.order.lock().expect("lock"),
            [first.id.clone(), second.id.clone()]
        );
    }

    // The running dispatcher delivers new events without being asked.
    let live = Arc::new(Recorder::default());
    let (delivered_sender, mut delivered) = tokio::sync::mpsc::unbounded_channel();
    struct Forward(Arc<Recorder>, tokio::sync::mpsc::UnboundedSender<String>);
    impl EventHandler for Forward {
        fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
            Box::pin(async move {
                self.0.handle(event).await?;
                self.1
                    .send(event.aggregate_id.clone())
                    .map_err(HandlerError::new)
            })
        }
    }
    let running = restarted
        .clone()
        .spawn(vec![Subscription {
            source: hmis_core::SCHEMA,
            subscriber: "live".to_owned(),
            handler: Arc::new(Forward(live.clone(), delivered_sender)),
        }])
        .await
        .expect("spawn dispatcher");
    assert_eq!(delivered.recv().await, Some(first.id.clone()));
    assert_eq!(delivered.recv().await, Some(second.id.clone()));
    let third = app.create_facility(&tenant, "F3").await;
    assert_eq!(delivered.recv().await, Some(third.id.clone()));
    running.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn an_event_committed_late_is_not_overtaken() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let database = &app.db.database;
    let outbox = hmis_platform::outbox::Outbox::new(hmis_core::SCHEMA);
    let payload = pb::FacilityChanged::default();

    // The slow transaction takes its sequence number first but commits last.
    let mut slow = database
        .begin(tenant.tenant_id, &RequestId::generate())
        .await
        .expect("begin slow");
    outbox
        .publish(&mut slow, "test.Slow", "slow", &payload, chrono::Utc::now())
        .await
        .expect("publish slow");
    // Written now, not at its commit as a deferred write would be: a transaction with other
    // writes before its commit takes its transaction id and sequence number there.
    slow.flush().await.expect("write the slow event");
    let mut fast = database
        .begin(tenant.tenant_id, &RequestId::generate())
        .await
        .expect("begin fast");
    outbox
        .publish(&mut fast, "test.Fast", "fast", &payload, chrono::Utc::now())
        .await
        .expect("publish fast");
    fast.commit().await.expect("commit fast");

    let recorder = Arc::new(Recorder::default());
    let dispatcher = Dispatcher::new(database.worker_pool().clone(), OutboxOptions::default());
    let early = dispatcher
        .deliver_pending(&subscription("ordered", &recorder))
        .await
        .expect("deliver while slow is open");
    assert_eq!(early, 0, "nothing behind an open transaction is delivered");
    slow.commit().await.expect("commit slow");
    let delivered = deliver_until(&dispatcher, &subscription("ordered", &recorder), 2).await;
    assert_eq!(delivered, 2);
    assert_eq!(*recorder.order.lock().expect("lock"), ["slow", "fast"]);

    // The request-serving role may publish but not read the outbox; only the relay reads it.
    let mut tx = database
        .begin(tenant.tenant_id, &RequestId::generate())
        .await
        .expect("begin");
    let read = sqlx::query("SELECT payload FROM core.outbox")
        .fetch_all(&mut *tx)
        .await;
    assert!(read.is_err(), "openhmis_app must not read the outbox");
    tx.rollback().await.expect("rollback");
    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner connection");
    let stored: Vec<u8> =
        sqlx::query("SELECT payload FROM core.outbox WHERE aggregate_id = 'slow'")
            .fetch_one(&mut owner)
            .await
            .map(|row| row.get(0))
            .expect("slow event stored");
    assert_eq!(
        pb::FacilityChanged::decode(stored.as_slice()).expect("decodes"),
        payload
    );
    app.stop().await;
}

#[tokio::test]
async fn a_transaction_carries_its_tenant_and_request_id_whatever_the_id_holds() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    for raw in ["req-42_a.b:c", "it's\"odd\";DROP-TABLE-x;--", "back\\slash"] {
        let header = tonic::codegen::http::HeaderValue::from_str(raw).expect("ascii");
        let request_id = RequestId::from_header(Some(&header));
        assert_eq!(request_id.as_str(), raw, "kept as sent");
        let mut tx = app
            .db
            .database
            .begin(tenant.tenant_id, &request_id)
            .await
            .expect("begin");
        let (tenant_setting, request_setting): (String, String) = sqlx::query_as(
            "SELECT current_setting('app.tenant_id'), current_setting('app.request_id')",
        )
        .fetch_one(&mut *tx)
        .await
        .expect("settings");
        assert_eq!(tenant_setting, tenant.tenant_id.to_string());
        assert_eq!(request_setting, raw);
        tx.commit().await.expect("commit");
    }
    app.stop().await;
}

#[tokio::test]
async fn commit_order_holds_across_a_digit_boundary_of_transaction_ids() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let mut owner = sqlx::PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner connection");
    // Transaction ids on both sides of the highest power of ten the cluster has passed (a
    // fresh cluster may not be past 10,000): as text, the later sorts first.
    let current: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
        .fetch_one(&mut owner)
        .await
        .expect("current transaction id");
    let current: u64 = current.parse().expect("a number");
    let boundary = 10_u64.pow((current - 1).ilog10());
    assert!(boundary >= 10 && boundary + 1 < current, "txid {current}");
    for (txid, aggregate) in [
        (boundary - 1, "older"),
        (boundary, "newer"),
        (boundary + 1, "newest"),
    ] {
        sqlx::query(
            "INSERT INTO core.outbox (tenant_id, txid, event_id, event_type, aggregate_id, \
             payload, occurred_at) VALUES ($1, $2::text::xid8, $3, 'test.Ordered', $4, '', now())",
        )
        .bind(tenant.tenant_id.as_uuid())
        .bind(txid.to_string())
        .bind(uuid::Uuid::now_v7())
        .bind(aggregate)
        .execute(&mut owner)
        .await
        .expect("insert an old event");
    }
    let recorder = Arc::new(Recorder::default());
    let dispatcher = Dispatcher::new(
        app.db.database.worker_pool().clone(),
        OutboxOptions::default(),
    );
    let subscription = subscription("digits", &recorder);
    deliver_until(&dispatcher, &subscription, 3).await;
    let order: Vec<String> = recorder
        .order
        .lock()
        .expect("lock")
        .iter()
        .filter(|aggregate| ["older", "newer", "newest"].contains(&aggregate.as_str()))
        .cloned()
        .collect();
    assert_eq!(order, ["older", "newer", "newest"]);
    let again = dispatcher
        .deliver_pending(&subscription)
        .await
        .expect("deliver again");
    assert_eq!(again, 0, "the offset is past every delivered event");
    app.stop().await;
}

/// An answer to a bad request never grows with it: 100 KB in a mask path, an ATC code, a
/// permission name or a code to look up comes back as a short client error that names the
/// field, and the connection keeps serving.
#[tokio::test]
async fn errors_quote_at_most_a_short_prefix_of_what_was_sent() {
    use hmis_proto::openhmis::encounters::v1 as encounters_pb;
    use hmis_proto::openhmis::iam::v1 as iam_pb;
    use hmis_proto::openhmis::patients::v1 as patients_pb;
    use hmis_proto::openhmis::terminology::v1 as terminology_pb;

    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let ward_wide = hmis_platform::auth::Scope::Tenant;
    let registrar = app
        .staff(&tenant, "H1", "desk", "registrar", ward_wide)
        .await;
    let physician = app
        .staff(&tenant, "H1", "doctor", "physician", ward_wide)
        .await;
    let huge = "X".repeat(100_000);
    let short =
        |status: &tonic::Status| status.message().len() < 2_048 && status.details().len() < 8_192;

    let role = app
        .admin()
        .create_role(signed_in(
            &tenant,
            iam_pb::CreateRoleRequest {
                request_id: "huge-role".to_owned(),
                role: Some(iam_pb::Role {
                    code: "clerk".to_owned(),
                    name: "Clerk".to_owned(),
                    permissions: vec![huge.clone()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("an unknown permission");
    assert_eq!(role.code(), Code::InvalidArgument);
    assert!(short(&role), "{} bytes", role.message().len());
    assert_eq!(violated_fields(&role), ["role.permissions"]);

    let update =
        patients_pb::patient_service_client::PatientServiceClient::new(app.channel.clone())
            .update_patient(signed_in(
                &registrar,
                patients_pb::UpdatePatientRequest {
                    request_id: "huge-mask".to_owned(),
                    patient: Some(patients_pb::Patient {
                        id: uuid::Uuid::new_v4().to_string(),
                        etag: "\"1\"".to_owned(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec![huge.clone()],
                    }),
                },
            ))
            .await
            .expect_err("an unknown mask path");
    assert_eq!(update.code(), Code::InvalidArgument);
    assert!(short(&update), "{} bytes", update.message().len());

    let allergy =
        encounters_pb::encounter_service_client::EncounterServiceClient::new(app.channel.clone())
            .record_allergy(signed_in(
                &physician,
                encounters_pb::RecordAllergyRequest {
                    request_id: "huge-atc".to_owned(),
                    allergy: Some(encounters_pb::Allergy {
                        patient_id: uuid::Uuid::new_v4().to_string(),
                        substance_atc_code: huge.clone(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect_err("a malformed ATC code");
    assert_eq!(allergy.code(), Code::InvalidArgument);
    assert!(short(&allergy), "{} bytes", allergy.message().len());

    let lookup = terminology_pb::terminology_service_client::TerminologyServiceClient::new(
        app.channel.clone(),
    )
    .lookup_concept(signed_in(
        &physician,
        terminology_pb::LookupConceptRequest {
            system: "icd10".to_owned(),
            code: huge.clone(),
            ..Default::default()
        },
    ))
    .await
    .expect_err("no such code");
    assert!(
        matches!(lookup.code(), Code::InvalidArgument | Code::NotFound),
        "{lookup:?}"
    );
    assert!(short(&lookup), "{} bytes", lookup.message().len());

    // The connection still serves.
    app.admin()
        .list_roles(signed_in(&tenant, iam_pb::ListRolesRequest::default()))
        .await
        .expect("the connection keeps serving");
}

/// Bytes that are not the request's message are the client's error (INVALID_ARGUMENT, not
/// INTERNAL), and one connection cannot hold more calls in flight than the server allows.
#[tokio::test]
async fn malformed_protobuf_is_the_clients_error_and_a_connection_has_a_stream_limit() {
    /// `GetFacilityRequest` has a string at field 1; this sends a number there.
    #[derive(Clone, PartialEq, prost::Message)]
    struct NotAGetFacilityRequest {
        #[prost(uint64, tag = "1")]
        id: u64,
    }
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("H1").await;
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready().await.expect("ready");
    let path =
        http::uri::PathAndQuery::from_static("/openhmis.core.v1.FacilityService/GetFacility");
    let refused = grpc
        .unary::<_, pb::GetFacilityResponse, _>(
            signed_in(&tenant, NotAGetFacilityRequest { id: 7 }),
            path,
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("not the request's message");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");

    // The server tells the client how many streams it may open on one connection.
    let mut tcp = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .expect("preface");
    let mut frame = [0_u8; 9];
    tcp.read_exact(&mut frame)
        .await
        .expect("the server's settings frame");
    assert_eq!(frame[3], 0x4, "a SETTINGS frame first");
    let length = usize::from(frame[0]) << 16 | usize::from(frame[1]) << 8 | usize::from(frame[2]);
    let mut settings = vec![0_u8; length];
    tcp.read_exact(&mut settings).await.expect("its settings");
    let max_streams = settings.chunks(6).find_map(|setting| {
        (u16::from_be_bytes([setting[0], setting[1]]) == 0x3)
            .then(|| u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]))
    });
    assert_eq!(
        max_streams,
        Some(openhmis_server::MAX_STREAMS_PER_CONNECTION)
    );
}
