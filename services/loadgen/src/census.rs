//! Statistics: a 1,000-bed hospital's year (about 50,000 admissions, a fifth of them moved
//! once to another ward, 3% deaths) seeded straight into the read models, then one ward's
//! daily census and the whole year's movement analysis over gRPC, beside the raw
//! PostgreSQL figures for their statements.

use std::sync::Arc;

use anyhow::Context;

use hmis_proto::openhmis::statistics::v1 as pb;
use pb::statistics_service_client::StatisticsServiceClient;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::bench::{Bench, signed};
use crate::report::{Sample, measure_concurrent, print};

const WARDS: usize = 30;
const BEDS_PER_WARD: usize = 34;

pub async fn run(admissions: u32, clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[("bench-statistician", "statistician")]).await?;
    let statistician = bench.login("bench-statistician").await?;
    let (db, tenant_id, channel) = (&bench.db, bench.tenant_id, bench.channel.clone());

    println!("setting up {WARDS} wards of {BEDS_PER_WARD} beds...");
    let facility = bench.facility().await?;
    let mut wards = Vec::with_capacity(WARDS);
    for n in 0..WARDS {
        let (id, _) = bench
            .ward(&facility, &format!("W{n}"), BEDS_PER_WARD)
            .await?;
        wards.push(Uuid::parse_str(&id)?);
    }

    println!("seeding {admissions} admissions over the past year...");
    let owner = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(db.owner_options())
        .await?;
    let facility_id = Uuid::parse_str(&facility)?;
    let tenant = tenant_id.as_uuid();
    // Admission i arrives at an even pace over the year and stays 1-14 days; every fifth is
    // moved to the next ward halfway; 3% die.
    sqlx::query(
        "INSERT INTO statistics.admissions (tenant_id, admission_id, version, patient_id, \
             facility_id, admission_type, status, admit_time, discharge_time, discharge_type) \
         SELECT $1, md5('a' || i)::uuid, 1, md5('p' || i)::uuid, $2, 'emergency', \
                CASE WHEN t.admit + t.los < now() THEN 'discharged' ELSE 'admitted' END, \
                t.admit, CASE WHEN t.admit + t.los < now() THEN t.admit + t.los END, \
                CASE WHEN t.admit + t.los >= now() THEN NULL \
                     WHEN i % 33 = 0 THEN 'deceased' ELSE 'alive' END \
         FROM generate_series(1, $3) AS i, \
              LATERAL (SELECT now() - interval '365 days' + (i * interval '365 days') / $3 AS admit, \
                              (1 + (i * 7919) % 14) * interval '1 day' \
                                  + ((i * 104729) % 86400) * interval '1 second' AS los) t",
    )
    .bind(tenant)
    .bind(facility_id)
    .bind(i64::from(admissions))
    .execute(&owner)
    .await?;
    // Their patients, as the registry's events would have told statistics: half of them men.
    sqlx::query(
        "INSERT INTO statistics.patients (tenant_id, patient_id, version, sex, birth_date) \
         SELECT $1, md5('p' || i)::uuid, 1, CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END, \
                date '1950-01-01' + ((i * 7) % 25000)::integer \
         FROM generate_series(1, $2) AS i",
    )
    .bind(tenant)
    .bind(i64::from(admissions))
    .execute(&owner)
    .await?;
    sqlx::query(
        "INSERT INTO statistics.stays (tenant_id, admission_id, position, department_id, \
             start_time, end_time, last, facility_id, status, discharge_type, patient_id, sex) \
         SELECT a.tenant_id, a.admission_id, s.position, \
                ($2::uuid[])[1 + (abs(hashtext(a.admission_id::text)) + s.position) % $3], \
                CASE WHEN s.position = 0 THEN a.admit_time \
                     ELSE a.admit_time + (coalesce(a.discharge_time, now()) - a.admit_time) / 2 END, \
                CASE WHEN s.position = 0 AND s.moves THEN \
                          a.admit_time + (coalesce(a.discharge_time, now()) - a.admit_time) / 2 \
                     ELSE a.discharge_time END, \
                s.position = 1 OR NOT s.moves, a.facility_id, a.status, a.discharge_type, \
                a.patient_id, p.sex \
         FROM statistics.admissions a \
         JOIN statistics.patients p ON p.tenant_id = a.tenant_id AND p.patient_id = a.patient_id, \
              LATERAL (SELECT p AS position, abs(hashtext(a.admission_id::text)) % 5 = 0 AS moves \
                       FROM generate_series(0, 1) p) s \
         WHERE a.tenant_id = $1 AND (s.position = 0 OR s.moves)",
    )
    .bind(tenant)
    .bind(&wards)
    .bind(i32::try_from(WARDS)?)
    .execute(&owner)
    .await?;
    sqlx::query("ANALYZE statistics.admissions, statistics.stays, statistics.patients")
        .execute(&owner)
        .await?;
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM statistics.stays")
        .fetch_one(&owner)
        .await?;
    println!("{stays} ward stays");
    // The register's wards and beds reach statistics by their events.
    let beds = i64::try_from(WARDS * BEDS_PER_WARD)?;
    let started = std::time::Instant::now();
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        poll.tick().await;
        let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM statistics.beds")
            .fetch_one(&owner)
            .await?;
        if kept == beds {
            break;
        }
        anyhow::ensure!(
            started.elapsed().as_secs() < 120,
            "statistics never learnt the beds"
        );
    }

    let today = chrono::Utc::now().date_naive();
    let (wards, facility_text) = (Arc::new(wards), facility.clone());
    let census = {
        let (channel, statistician, wards) = (channel.clone(), statistician.clone(), wards.clone());
        move |_client: usize, n: usize| {
            let mut client = StatisticsServiceClient::new(channel.clone());
            let statistician = statistician.clone();
            let ward = wards[n % WARDS];
            let day = today - chrono::Duration::days(1 + (n as i64 * 37) % 360);
            async move {
                client
                    .get_daily_census(signed(
                        &statistician,
                        pb::GetDailyCensusRequest {
                            department_id: ward.to_string(),
                            date: day.to_string(),
                        },
                    ))
                    .await?;
                Ok(())
            }
        }
    };
    let analysis = {
        let (channel, statistician) = (channel.clone(), statistician.clone());
        move |_client: usize, _n: usize| {
            let mut client = StatisticsServiceClient::new(channel.clone());
            let statistician = statistician.clone();
            let facility = facility_text.clone();
            async move {
                let lines = client
                    .get_movement_analysis(signed(
                        &statistician,
                        pb::GetMovementAnalysisRequest {
                            facility_id: facility,
                            from_date: (today - chrono::Duration::days(365)).to_string(),
                            to_date: (today - chrono::Duration::days(1)).to_string(),
                            ..Default::default()
                        },
                    ))
                    .await?
                    .into_inner()
                    .lines;
                anyhow::ensure!(lines.len() == WARDS + 1, "one line per ward and the total");
                Ok(())
            }
        }
    };
    let raw = {
        let (owner, wards) = (owner.clone(), wards.clone());
        move |_client: usize, n: usize| {
            let owner = owner.clone();
            let ward = wards[n % WARDS];
            let day = today - chrono::Duration::days(1 + (n as i64 * 37) % 360);
            async move {
                let start = day.and_hms_opt(0, 0, 0).context("midnight")?.and_utc();
                let end = start + chrono::Duration::days(1);
                sqlx::query(
                    "SELECT count(*) FILTER (WHERE s.start_time < $3), \
                            count(*) FILTER (WHERE s.end_time IS NULL OR s.end_time >= $4) \
                     FROM statistics.stays s \
                     WHERE s.tenant_id = $1 AND s.department_id = $2 AND s.status <> 'cancelled' \
                       AND s.start_time < $4 AND (s.end_time IS NULL OR s.end_time >= $3)",
                )
                .bind(tenant)
                .bind(ward)
                .bind(start)
                .bind(end)
                .fetch_one(&owner)
                .await?;
                Ok(())
            }
        }
    };
    // The movement analysis's statement as statistics runs it, for the year, every ward.
    let raw_movement = {
        let owner = owner.clone();
        move |_client: usize, _n: usize| {
            let owner = owner.clone();
            async move {
                let end = today.and_hms_opt(0, 0, 0).context("midnight")?.and_utc();
                let start = end - chrono::Duration::days(365);
                let rows = sqlx::query(
                    "SELECT s.department_id, \
                         count(*) FILTER (WHERE s.start_time < $3), \
                         count(*) FILTER (WHERE s.start_time >= $3 AND s.position = 0), \
                         count(*) FILTER (WHERE s.start_time >= $3 AND s.position > 0), \
                         count(*) FILTER (WHERE s.end_time < $4 AND NOT s.last), \
                         count(*) FILTER (WHERE s.end_time < $4 AND s.last \
                                            AND s.status = 'discharged' \
                                            AND s.discharge_type <> 'deceased'), \
                         count(*) FILTER (WHERE s.end_time < $4 AND s.last \
                                            AND s.status = 'discharged' \
                                            AND s.discharge_type = 'deceased'), \
                         count(*) FILTER (WHERE s.end_time IS NULL OR s.end_time >= $4), \
                         count(*) FILTER (WHERE s.start_time >= $3 AND s.position = 0 \
                                            AND s.last AND s.end_time < $4), \
                         coalesce(sum(extract(epoch FROM least(coalesce(s.end_time, $4), $4) \
                                      - greatest(s.start_time, $3)) / 86400.0), 0)::float8 \
                     FROM statistics.stays s \
                     WHERE s.tenant_id = $1 AND s.facility_id = $2 AND s.status <> 'cancelled' \
                       AND s.start_time < $4 AND (s.end_time IS NULL OR s.end_time >= $3) \
                     GROUP BY s.department_id",
                )
                .bind(tenant)
                .bind(facility_id)
                .bind(start)
                .bind(end)
                .fetch_all(&owner)
                .await?;
                anyhow::ensure!(rows.len() == WARDS, "one row per ward");
                Ok(())
            }
        }
    };
    // The whole hospital: one call, or the same question asked ward by ward.
    let channels = bench.connections(clients).await?;
    let hospital = {
        let (channels, statistician, facility) =
            (channels.clone(), statistician.clone(), facility.clone());
        move |client: usize, n: usize| {
            let mut statistics = StatisticsServiceClient::new(channels[client].clone());
            let (statistician, facility) = (statistician.clone(), facility.clone());
            let day = today - chrono::Duration::days(1 + (n as i64 * 37) % 360);
            async move {
                let wards = statistics
                    .get_hospital_occupancy(signed(
                        &statistician,
                        pb::GetHospitalOccupancyRequest {
                            facility_id: facility,
                            date: day.to_string(),
                        },
                    ))
                    .await?
                    .into_inner()
                    .wards;
                anyhow::ensure!(wards.len() == WARDS + 1, "every ward and the total");
                Ok(())
            }
        }
    };
    let ward_by_ward = {
        let (channels, statistician, wards) =
            (channels.clone(), statistician.clone(), wards.clone());
        move |client: usize, n: usize| {
            let mut statistics = StatisticsServiceClient::new(channels[client].clone());
            let (statistician, wards) = (statistician.clone(), wards.clone());
            let day = today - chrono::Duration::days(1 + (n as i64 * 37) % 360);
            async move {
                for ward in wards.iter() {
                    statistics
                        .get_daily_census(signed(
                            &statistician,
                            pb::GetDailyCensusRequest {
                                department_id: ward.to_string(),
                                date: day.to_string(),
                            },
                        ))
                        .await?;
                }
                Ok(())
            }
        }
    };
    let samples: Vec<Sample> = vec![
        measure_concurrent(
            "gRPC GetHospitalOccupancy (30 wards, now and a day), N clients",
            clients,
            iterations,
            hospital,
        )
        .await?,
        measure_concurrent(
            "gRPC 30 GetDailyCensus, ward by ward, N clients",
            clients,
            (iterations / 10).max(20),
            ward_by_ward,
        )
        .await?,
        measure_concurrent(
            "gRPC GetDailyCensus (one ward, one day)",
            1,
            iterations,
            census,
        )
        .await?,
        measure_concurrent(
            "gRPC GetMovementAnalysis (30 wards, 365 days)",
            1,
            (iterations / 10).max(5),
            analysis,
        )
        .await?,
        measure_concurrent("raw PostgreSQL: the census statement", 1, iterations, raw).await?,
        measure_concurrent(
            "raw PostgreSQL: the movement statement (30 wards, 365 days)",
            1,
            (iterations / 10).max(5),
            raw_movement,
        )
        .await?,
    ];
    bench.stop().await?;
    println!(
        "{admissions} admissions, {stays} stays, {WARDS} wards of {BEDS_PER_WARD} beds; N = {clients} \
         clients, one client elsewhere"
    );
    print(&samples);
    Ok(())
}
