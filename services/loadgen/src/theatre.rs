//! The operating block: a 20-theatre block with a month of operations (six a theatre a day,
//! each with its procedure, a team of three, checklist and times) seeded straight into the
//! surgery schema and the statistics read model, then the day's theatre list and a month's
//! theatre utilisation over gRPC, beside the raw PostgreSQL figures for the same statements.

use anyhow::Context;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::statistics::v1 as statistics_pb;
use hmis_proto::openhmis::surgery::v1 as pb;
use pb::surgery_service_client::SurgeryServiceClient;
use sqlx::postgres::PgPoolOptions;
use statistics_pb::statistics_service_client::StatisticsServiceClient;
use uuid::Uuid;

use crate::bench::{Bench, signed};
use crate::report::{Sample, measure_concurrent, print};

const THEATRES: usize = 20;
const DAYS: i64 = 30;
const PER_DAY: i64 = 6;

pub async fn run(clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[
        ("bench-coordinator", "theatre_coordinator"),
        ("bench-statistician", "statistician"),
    ])
    .await?;
    let coordinator = bench.login("bench-coordinator").await?;
    let statistician = bench.login("bench-statistician").await?;
    let tenant = bench.tenant_id.as_uuid();

    println!("setting up an operating block of {THEATRES} theatres...");
    let facility = bench.facility().await?;
    let block = bench
        .department(&facility, "OB", core_pb::DepartmentKind::OperatingBlock)
        .await?;
    let mut facilities =
        core_pb::facility_service_client::FacilityServiceClient::new(bench.channel.clone());
    let mut surgery = SurgeryServiceClient::new(bench.channel.clone());
    let mut theatres = Vec::with_capacity(THEATRES);
    for n in 0..THEATRES {
        let room = facilities
            .create_room(signed(
                &bench.admin,
                core_pb::CreateRoomRequest {
                    request_id: Uuid::new_v4().to_string(),
                    room: Some(core_pb::Room {
                        department_id: block.clone(),
                        code: format!("OR{n}"),
                        name: format!("Theatre {n}"),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .room
            .context("no room")?;
        let theatre = surgery
            .create_theatre(signed(
                &bench.admin,
                pb::CreateTheatreRequest {
                    request_id: Uuid::new_v4().to_string(),
                    room_id: room.id,
                    code: format!("OR-{n}"),
                    name: format!("Theatre {n}"),
                    specialty_codes: vec!["general_surgery".to_owned()],
                    equipment: vec![],
                },
            ))
            .await?
            .into_inner()
            .theatre
            .context("no theatre")?;
        theatres.push(Uuid::parse_str(&theatre.id)?);
    }

    let total = THEATRES as i64 * DAYS * PER_DAY;
    println!("seeding {total} operations over the past {DAYS} days...");
    let owner = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(bench.db.owner_options())
        .await?;
    let (facility_id, block_id) = (Uuid::parse_str(&facility)?, Uuid::parse_str(&block)?);
    // Operation i: theatre i % 20, day (i / 20) / 6 back from yesterday, the (i / 20) % 6-th
    // slot of 80 minutes from 08:00 UTC; completed, in 75 minutes from 5 minutes late.
    sqlx::query(
        "INSERT INTO surgery.operations (tenant_id, id, theatre_id, facility_id, department_id, \
             patient_id, planned, priority, anaesthesia_type, specialty_code, status, booked_by, \
             created_at) \
         SELECT $1, md5('o' || i)::uuid, ($4::uuid[])[1 + i % $5], $2, $3, md5('p' || i)::uuid, \
                tstzrange(t.start, t.start + interval '80 minutes', '[)'), 'elective', 'general', \
                'general_surgery', 'completed', md5('u0')::uuid, t.start - interval '7 days' \
         FROM generate_series(0, $6 - 1) AS i, \
              LATERAL (SELECT date_trunc('day', now()) - ((i / $5) / $7 + 1) * interval '1 day' \
                              + interval '8 hours' + ((i / $5) % $7) * interval '80 minutes' \
                              AS start) t",
    )
    .bind(tenant)
    .bind(facility_id)
    .bind(block_id)
    .bind(&theatres)
    .bind(i32::try_from(THEATRES)?)
    .bind(total)
    .bind(PER_DAY)
    .execute(&owner)
    .await?;
    for statement in [
        "INSERT INTO surgery.operation_procedures (tenant_id, operation_id, position, code, \
             display, grade) SELECT tenant_id, id, 1, '30571-00', 'Appendicectomy', 2 \
         FROM surgery.operations WHERE tenant_id = $1",
        // A surgeon, an assistant and an anaesthetist per theatre, whose time is over.
        "INSERT INTO surgery.operation_team (tenant_id, operation_id, user_id, role, position, \
             planned, holds) \
         SELECT o.tenant_id, o.id, md5(r.role || o.theatre_id)::uuid, r.role, r.position, \
                o.planned, false \
         FROM surgery.operations o, (VALUES ('primary_surgeon', 1), ('assistant', 2), \
                                            ('anaesthetist', 3)) AS r(role, position) \
         WHERE o.tenant_id = $1",
        "INSERT INTO surgery.checklist (tenant_id, operation_id, phase, confirmed_items, \
             confirmed_by, confirmed_at) \
         SELECT o.tenant_id, o.id, p.phase, '{}', md5('u0')::uuid, lower(o.planned) \
         FROM surgery.operations o, unnest(ARRAY['sign_in', 'time_out', 'sign_out']) AS p(phase) \
         WHERE o.tenant_id = $1",
        "INSERT INTO surgery.milestones (tenant_id, operation_id, milestone, at, recorded_by) \
         SELECT o.tenant_id, o.id, m.milestone, lower(o.planned) + m.after, md5('u0')::uuid \
         FROM surgery.operations o, (VALUES ('into_room', interval '5 minutes'), \
             ('anaesthesia_start', interval '10 minutes'), ('incision', interval '20 minutes'), \
             ('closure', interval '70 minutes'), ('out_of_room', interval '80 minutes')) \
             AS m(milestone, after) \
         WHERE o.tenant_id = $1",
        "INSERT INTO statistics.operations (tenant_id, operation_id, version, facility_id, \
             theatre_id, patient_id, primary_surgeon_id, specialty_code, priority, max_grade, \
             status, cancel_reason, planned_start, planned_end, into_room, out_of_room) \
         SELECT o.tenant_id, o.id, 1, o.facility_id, o.theatre_id, o.patient_id, \
                md5('primary_surgeon' || o.theatre_id)::uuid, o.specialty_code, o.priority, 2, \
                o.status, '', lower(o.planned), upper(o.planned), \
                lower(o.planned) + interval '5 minutes', upper(o.planned) \
         FROM surgery.operations o WHERE o.tenant_id = $1",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(tenant)
            .execute(&owner)
            .await?;
    }
    sqlx::query(
        "ANALYZE surgery.operations, surgery.operation_procedures, surgery.operation_team, \
         surgery.checklist, surgery.milestones, statistics.operations",
    )
    .execute(&owner)
    .await?;

    // Days are cut in Chisinau (UTC+2 in winter): a local day holds the 6 slots of a UTC day.
    let today = chrono::Utc::now().date_naive();
    let day_of = move |n: usize| today - chrono::Duration::days(1 + (n as i64 * 7) % DAYS);
    let channels = bench.connections(clients).await?;
    let list = {
        let (channels, coordinator, facility) =
            (channels.clone(), coordinator.clone(), facility.clone());
        move |client: usize, n: usize| {
            let mut surgery = SurgeryServiceClient::new(channels[client].clone());
            let (coordinator, facility) = (coordinator.clone(), facility.clone());
            async move {
                let list = surgery
                    .get_theatre_list(signed(
                        &coordinator,
                        pb::GetTheatreListRequest {
                            facility_id: facility,
                            day: day_of(n).to_string(),
                            ..Default::default()
                        },
                    ))
                    .await?
                    .into_inner();
                anyhow::ensure!(
                    list.operations.len() == THEATRES * PER_DAY as usize,
                    "the whole day's list: {}",
                    list.operations.len()
                );
                Ok(())
            }
        }
    };
    let utilisation = {
        let (channels, statistician, facility) =
            (channels.clone(), statistician.clone(), facility.clone());
        move |client: usize, _n: usize| {
            let mut statistics = StatisticsServiceClient::new(channels[client].clone());
            let (statistician, facility) = (statistician.clone(), facility.clone());
            async move {
                let lines = statistics
                    .get_theatre_utilisation(signed(
                        &statistician,
                        statistics_pb::GetTheatreUtilisationRequest {
                            facility_id: facility,
                            from_date: (today - chrono::Duration::days(DAYS)).to_string(),
                            to_date: (today - chrono::Duration::days(1)).to_string(),
                        },
                    ))
                    .await?
                    .into_inner()
                    .lines;
                anyhow::ensure!(lines.len() == THEATRES, "one line per theatre");
                Ok(())
            }
        }
    };
    // The same statements the list runs (operations, their procedures, teams, checklists
    // and times, the theatres, the sessions) and its audit record, in one transaction.
    let raw_list = {
        let owner = owner.clone();
        move |_client: usize, n: usize| {
            let owner = owner.clone();
            async move {
                let start = day_of(n)
                    .and_hms_opt(0, 0, 0)
                    .context("midnight")?
                    .and_utc()
                    - chrono::Duration::hours(2);
                let end = start + chrono::Duration::days(1);
                let mut tx = owner.begin().await?;
                let ids: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT o.id FROM surgery.operations o \
                     JOIN surgery.theatres t ON t.tenant_id = o.tenant_id AND t.id = o.theatre_id \
                     WHERE o.tenant_id = $1 AND o.facility_id = $2 \
                       AND o.planned && tstzrange($3, $4, '[)') \
                       AND lower(o.planned) >= $3 AND lower(o.planned) < $4 \
                     ORDER BY t.code, lower(o.planned), o.id",
                )
                .bind(tenant)
                .bind(facility_id)
                .bind(start)
                .bind(end)
                .fetch_all(&mut *tx)
                .await?;
                anyhow::ensure!(ids.len() == THEATRES * PER_DAY as usize, "the whole day");
                for table in [
                    "surgery.operation_procedures",
                    "surgery.operation_team",
                    "surgery.checklist",
                    "surgery.milestones",
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT * FROM {table} WHERE tenant_id = $1 AND operation_id = ANY($2)"
                    )))
                    .bind(tenant)
                    .bind(&ids)
                    .fetch_all(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "SELECT * FROM surgery.theatres WHERE tenant_id = $1 AND facility_id = $2",
                )
                .bind(tenant)
                .bind(facility_id)
                .fetch_all(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO audit.records (tenant_id, record_id, occurred_at, user_id, \
                         username, method, patient_ids, resource_ids, outcome, client_addr, \
                         request_id, break_glass_reason) \
                     SELECT $1, gen_random_uuid(), now(), gen_random_uuid(), 'raw', 'raw', \
                         array_agg(patient_id), '{}', 'OK', '', 'raw', '' \
                     FROM surgery.operations WHERE tenant_id = $1 AND id = ANY($2)",
                )
                .bind(tenant)
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
    let raw_utilisation = {
        let owner = owner.clone();
        move |_client: usize, _n: usize| {
            let owner = owner.clone();
            async move {
                let end = today.and_hms_opt(0, 0, 0).context("midnight")?.and_utc()
                    - chrono::Duration::hours(2);
                let start = end - chrono::Duration::days(DAYS);
                let rows = sqlx::query(
                    "WITH ops AS ( \
                         SELECT theatre_id, planned_start, planned_end, into_room, out_of_room, \
                             status, \
                             row_number() OVER (PARTITION BY theatre_id, \
                                 (planned_start AT TIME ZONE 'Europe/Chisinau')::date \
                                 ORDER BY coalesce(into_room, planned_start)) AS nth, \
                             lag(out_of_room) OVER (PARTITION BY theatre_id, \
                                 (planned_start AT TIME ZONE 'Europe/Chisinau')::date, \
                                 status = 'completed' ORDER BY into_room) AS previous_out \
                         FROM statistics.operations \
                         WHERE tenant_id = $1 AND facility_id = $2 AND planned_start >= $3 \
                           AND planned_start < $4 AND status NOT IN ('cancelled', 'bumped')) \
                     SELECT theatre_id, count(*), \
                         sum(extract(epoch FROM planned_end - planned_start) / 60)::int8, \
                         sum(extract(epoch FROM out_of_room - into_room) / 60) \
                             FILTER (WHERE status = 'completed')::int8, \
                         count(*) FILTER (WHERE nth = 1 \
                             AND into_room > planned_start + interval '15 minutes'), \
                         avg(extract(epoch FROM into_room - previous_out) / 60) \
                             FILTER (WHERE previous_out IS NOT NULL)::float8 \
                     FROM ops GROUP BY theatre_id",
                )
                .bind(tenant)
                .bind(facility_id)
                .bind(start)
                .bind(end)
                .fetch_all(&owner)
                .await?;
                anyhow::ensure!(rows.len() == THEATRES, "one row per theatre");
                Ok(())
            }
        }
    };
    let month = (iterations / 10).max(20);
    let samples: Vec<Sample> = vec![
        measure_concurrent(
            "gRPC GetTheatreList (20 theatres, 120 operations)",
            clients,
            iterations,
            list,
        )
        .await?,
        measure_concurrent(
            "raw PostgreSQL: the list's statements and audit record",
            clients,
            iterations,
            raw_list,
        )
        .await?,
        measure_concurrent(
            "gRPC GetTheatreUtilisation (20 theatres, 30 days)",
            clients,
            month,
            utilisation,
        )
        .await?,
        measure_concurrent(
            "raw PostgreSQL: the utilisation statement",
            clients,
            month,
            raw_utilisation,
        )
        .await?,
    ];
    bench.stop().await?;
    println!("{total} operations in {THEATRES} theatres over {DAYS} days; {clients} clients");
    print(&samples);
    Ok(())
}
