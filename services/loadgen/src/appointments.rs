//! The outpatient front office: a clinic of 50 clinicians working weekdays 08:00-16:00 in
//! 15-minute slots, four weeks of slots opened (32,000) and four in five already taken; then
//! the next free slots of the clinic searched from concurrent desks, and bookings (each a
//! new patient's) from concurrent desks, beside raw PostgreSQL running the search statement
//! and the booking's same writes (idempotency key, slot, appointment, event, audit record).

use anyhow::Context;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use hmis_proto::openhmis::scheduling::v1 as pb;
use pb::scheduling_service_client::SchedulingServiceClient;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::bench::{Bench, register, signed};
use crate::patients::audit_record;
use crate::report::{Sample, measure_concurrent, print};

const CLINICIANS: usize = 50;
const DAYS: i64 = 28;

pub async fn run(clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[("bench-desk", "registrar")]).await?;
    let desk = bench.login("bench-desk").await?;
    let tenant = bench.tenant_id.as_uuid();

    println!("setting up a clinic of {CLINICIANS} clinicians and {DAYS} days of slots...");
    let facility = bench.facility().await?;
    let department = bench
        .department(&facility, "OPD", core_pb::DepartmentKind::Outpatient)
        .await?;
    let mut scheduling = SchedulingServiceClient::new(bench.channel.clone());
    let clinic = scheduling
        .create_clinic(signed(
            &bench.admin,
            pb::CreateClinicRequest {
                request_id: Uuid::new_v4().to_string(),
                clinic: Some(pb::Clinic {
                    department_id: department,
                    code: "BENCH-OP".to_owned(),
                    name: "Bench consultations".to_owned(),
                    kind: pb::ClinicKind::Consultation.into(),
                    slot_minutes: 15,
                    capacity: 1,
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .clinic
        .context("no clinic")?;
    for _ in 0..CLINICIANS {
        scheduling
            .add_weekly_schedule(signed(
                &bench.admin,
                pb::AddWeeklyScheduleRequest {
                    request_id: Uuid::new_v4().to_string(),
                    schedule: Some(pb::WeeklySchedule {
                        clinic_id: clinic.id.clone(),
                        clinician_id: Uuid::new_v4().to_string(),
                        hours: (1..=5)
                            .map(|weekday| pb::WorkingHours {
                                weekday,
                                start: "08:00".to_owned(),
                                end: "16:00".to_owned(),
                            })
                            .collect(),
                        valid_from: "2026-01-01".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await?;
    }
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
    let opened = scheduling
        .open_slots(signed(
            &bench.admin,
            pb::OpenSlotsRequest {
                request_id: Uuid::new_v4().to_string(),
                clinic_id: clinic.id.clone(),
                first_day: tomorrow.to_string(),
                last_day: (tomorrow + chrono::Duration::days(DAYS - 1)).to_string(),
            },
        ))
        .await?
        .into_inner()
        .opened;
    let owner = PgPoolOptions::new()
        .max_connections(u32::try_from(clients)?.max(2))
        .connect_with(bench.db.owner_options())
        .await?;
    let clinic_id = Uuid::parse_str(&clinic.id)?;
    // Four places in five taken already, spread over clinicians and days.
    sqlx::query(
        "UPDATE scheduling.slots SET booked = capacity \
         WHERE tenant_id = $1 AND get_byte(decode(md5(id::text), 'hex'), 0) % 5 <> 0",
    )
    .bind(tenant)
    .execute(&owner)
    .await?;
    // What autovacuum does after such a change (the dead rows leave the free-slot index).
    sqlx::query("VACUUM ANALYZE scheduling.slots")
        .execute(&owner)
        .await?;
    let free: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM scheduling.slots WHERE tenant_id = $1 AND booked < capacity \
         ORDER BY md5(id::text)",
    )
    .bind(tenant)
    .fetch_all(&owner)
    .await?;
    let per_client = (iterations / clients).max(1);
    let bookings = per_client * clients;
    anyhow::ensure!(
        free.len() >= 2 * bookings,
        "{} free slots for {} bookings and as many raw ones; ask fewer iterations",
        free.len(),
        bookings
    );
    println!(
        "{opened} slots opened, {} free; registering {bookings} patients...",
        free.len()
    );
    let channels = bench.connections(clients).await?;
    let mut patients = Vec::with_capacity(bookings);
    for chunk in 0..bookings.div_ceil(clients) {
        let registered = futures::future::join_all((0..clients).map(|client| {
            let (channel, desk) = (channels[client].clone(), desk.clone());
            async move {
                register(
                    channel,
                    &desk,
                    format!("Outpatient{chunk}x{client}"),
                    patients_pb::Sex::Female,
                    "1970-01-01",
                )
                .await
            }
        }))
        .await;
        for patient in registered {
            patients.push(patient?);
        }
    }
    let (free, patients) = (std::sync::Arc::new(free), std::sync::Arc::new(patients));

    let start_of = move |n: usize| {
        tomorrow.and_hms_opt(0, 0, 0).map(|midnight| {
            midnight.and_utc() + chrono::Duration::days(i64::try_from(n % 20).unwrap_or(0))
        })
    };
    let search = {
        let (channels, desk, clinic) = (channels.clone(), desk.clone(), clinic.id.clone());
        move |client: usize, n: usize| {
            let mut scheduling = SchedulingServiceClient::new(channels[client].clone());
            let (desk, clinic) = (desk.clone(), clinic.clone());
            async move {
                let from = start_of(n).context("midnight")?;
                let slots = scheduling
                    .find_free_slots(signed(
                        &desk,
                        pb::FindFreeSlotsRequest {
                            clinic_id: clinic,
                            clinician_id: String::new(),
                            from_time: hmis_platform::wire::timestamp(from),
                            until_time: hmis_platform::wire::timestamp(
                                from + chrono::Duration::days(DAYS),
                            ),
                            limit: 20,
                        },
                    ))
                    .await?
                    .into_inner()
                    .slots;
                anyhow::ensure!(slots.len() == 20, "the next 20 free slots: {}", slots.len());
                Ok(())
            }
        }
    };
    let raw_search = {
        let owner = owner.clone();
        move |_client: usize, n: usize| {
            let owner = owner.clone();
            async move {
                let from = start_of(n).context("midnight")?;
                let rows = sqlx::query(
                    "SELECT id, clinic_id, clinician_id, room_id, lower(during), upper(during), \
                     capacity, booked, blocked FROM scheduling.slots WHERE tenant_id = $1 \
                     AND clinic_id = $2 AND NOT blocked AND booked < capacity \
                     AND starts_at >= $3 AND starts_at < $4 ORDER BY starts_at, id LIMIT 20",
                )
                .bind(tenant)
                .bind(clinic_id)
                .bind(from)
                .bind(from + chrono::Duration::days(DAYS))
                .fetch_all(&owner)
                .await?;
                anyhow::ensure!(rows.len() == 20, "the next 20 free slots");
                Ok(())
            }
        }
    };
    let book = {
        let (channels, desk, free, patients) = (
            channels.clone(),
            desk.clone(),
            free.clone(),
            patients.clone(),
        );
        move |client: usize, n: usize| {
            let mut scheduling = SchedulingServiceClient::new(channels[client].clone());
            let desk = desk.clone();
            let k = client * per_client + n;
            let (slot, patient) = (free[k].to_string(), patients[k].clone());
            async move {
                let booked = scheduling
                    .book_appointment(signed(
                        &desk,
                        pb::BookAppointmentRequest {
                            request_id: Uuid::new_v4().to_string(),
                            slot_id: slot,
                            patient_id: patient,
                            channel: pb::Channel::Desk.into(),
                            ..Default::default()
                        },
                    ))
                    .await?
                    .into_inner()
                    .appointment
                    .context("no appointment")?;
                anyhow::ensure!(booked.status == pb::AppointmentStatus::Booked as i32);
                Ok(())
            }
        }
    };
    // The booking's writes in one transaction: its idempotency key, the slot taken, the
    // appointment, its event, the audit record, the stored answer.
    let raw_book = {
        let (owner, free) = (owner.clone(), free.clone());
        move |client: usize, n: usize| {
            let (owner, free) = (owner.clone(), free.clone());
            let slot = free[bookings + client * per_client + n];
            async move {
                let (key, patient, id) =
                    (Uuid::new_v4().to_string(), Uuid::new_v4(), Uuid::now_v7());
                let mut tx = owner.begin().await?;
                sqlx::query(
                    "INSERT INTO scheduling.idempotency_keys (tenant_id, request_id, method, \
                     request_hash) VALUES ($1, $2, 'BookAppointment', $3)",
                )
                .bind(tenant)
                .bind(&key)
                .bind(vec![1u8; 32])
                .execute(&mut *tx)
                .await?;
                let (clinician, start, end): (
                    Option<Uuid>,
                    chrono::DateTime<chrono::Utc>,
                    chrono::DateTime<chrono::Utc>,
                ) = sqlx::query_as(
                    "UPDATE scheduling.slots SET booked = booked + 1 \
                         WHERE tenant_id = $1 AND id = $2 \
                         RETURNING clinician_id, lower(during), upper(during)",
                )
                .bind(tenant)
                .bind(slot)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO scheduling.appointments (tenant_id, id, slot_id, clinic_id, \
                     clinician_id, patient_id, during, status, channel, booked_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, tstzrange($7, $8, '[)'), 'booked', 'desk', \
                     $9, now())",
                )
                .bind(tenant)
                .bind(id)
                .bind(slot)
                .bind(clinic_id)
                .bind(clinician)
                .bind(patient)
                .bind(start)
                .bind(end)
                .bind(Uuid::nil())
                .execute(&mut *tx)
                .await?;
                let payload = vec![7u8; 200];
                sqlx::query(
                    "INSERT INTO scheduling.outbox (tenant_id, event_id, event_type, \
                     aggregate_id, payload, occurred_at) VALUES ($1, $2, \
                     'openhmis.scheduling.v1.AppointmentBooked', $3, $4, now())",
                )
                .bind(tenant)
                .bind(Uuid::now_v7())
                .bind(id.to_string())
                .bind(&payload)
                .execute(&mut *tx)
                .await?;
                audit_record(&mut tx, tenant, "BookAppointment", patient).await?;
                sqlx::query(
                    "UPDATE scheduling.idempotency_keys SET response = $3 \
                     WHERE tenant_id = $1 AND request_id = $2",
                )
                .bind(tenant)
                .bind(&key)
                .bind(&payload)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
    let samples: Vec<Sample> = vec![
        measure_concurrent(
            "gRPC FindFreeSlots (next 20 of 50 clinicians over 4 weeks)",
            clients,
            per_client,
            search,
        )
        .await?,
        measure_concurrent(
            "raw PostgreSQL: the free-slot statement",
            clients,
            per_client,
            raw_search,
        )
        .await?,
        measure_concurrent(
            "gRPC BookAppointment (slot, patient check, audit, event)",
            clients,
            per_client,
            book,
        )
        .await?,
        measure_concurrent(
            "raw PostgreSQL: key, slot, appointment, event, audit, COMMIT",
            clients,
            per_client,
            raw_book,
        )
        .await?,
    ];
    bench.stop().await?;
    println!("{opened} slots of {CLINICIANS} clinicians over {DAYS} days; {clients} clients");
    print(&samples);
    Ok(())
}
