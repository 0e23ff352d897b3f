//! The ADT cycle: admit into a bed, transfer to a bed of another ward, discharge, from
//! concurrent clients, beside raw PostgreSQL doing the same writes (the admission number
//! counter, the admission and its stays, the outbox events and the audit record) in one
//! transaction per step on plain connections.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hmis_proto::openhmis::admissions::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use pb::admission_service_client::AdmissionServiceClient;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::bench::{Bench, register, signed};
use crate::report::{Sample, measure_concurrent, print};

pub async fn run(clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[("bench-desk", "registrar")]).await?;
    let desk = bench.login("bench-desk").await?;

    let calls = (iterations / clients).max(1);
    let stays = clients * calls;
    println!("setting up two wards of {stays} beds and {stays} patients...");
    let facility = bench.facility().await?;
    let (ward_a, beds_a) = bench.ward(&facility, "A", stays).await?;
    let (ward_b, beds_b) = bench.ward(&facility, "B", stays).await?;
    let channels = bench.connections(clients).await?;
    let patients: Arc<std::sync::Mutex<Vec<String>>> =
        Arc::new(std::sync::Mutex::new(vec![String::new(); stays]));
    {
        let channels = channels.clone();
        let desk = desk.clone();
        let patients = patients.clone();
        measure_concurrent("register", clients, calls, move |client, n| {
            let channel = channels[client].clone();
            let desk = desk.clone();
            let patients = patients.clone();
            async move {
                let index = client * calls + n;
                let id = register(
                    channel,
                    &desk,
                    format!("Bench{index}"),
                    patients_pb::Sex::Male,
                    "1960-01-01",
                )
                .await?;
                patients.lock().map_err(|_| anyhow::anyhow!("poisoned"))?[index] = id;
                Ok(())
            }
        })
        .await?;
    }
    let patients = Arc::new(
        patients
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone(),
    );
    let admissions: Arc<std::sync::Mutex<Vec<String>>> =
        Arc::new(std::sync::Mutex::new(vec![String::new(); stays]));
    let (beds_a, beds_b) = (Arc::new(beds_a), Arc::new(beds_b));
    let mut samples: Vec<Sample> = Vec::new();

    let admit = {
        let (channels, desk, patients, admissions, beds_a, ward_a) = (
            channels.clone(),
            desk.clone(),
            patients.clone(),
            admissions.clone(),
            beds_a.clone(),
            ward_a.clone(),
        );
        move |client: usize, n: usize| {
            let mut adt = AdmissionServiceClient::new(channels[client].clone());
            let (desk, patients, admissions, beds_a, ward_a) = (
                desk.clone(),
                patients.clone(),
                admissions.clone(),
                beds_a.clone(),
                ward_a.clone(),
            );
            async move {
                let index = client * calls + n;
                let admission = adt
                    .admit_patient(signed(
                        &desk,
                        pb::AdmitPatientRequest {
                            request_id: Uuid::new_v4().to_string(),
                            admission: Some(pb::Admission {
                                patient_id: patients[index].clone(),
                                department_id: ward_a,
                                bed_id: beds_a[index].clone(),
                                r#type: pb::AdmissionType::Emergency.into(),
                                admitting_diagnosis_code: "I21.0".to_owned(),
                                ..Default::default()
                            }),
                        },
                    ))
                    .await?
                    .into_inner()
                    .admission
                    .context("no admission")?;
                admissions.lock().map_err(|_| anyhow::anyhow!("poisoned"))?[index] = admission.id;
                Ok(())
            }
        }
    };
    samples
        .push(measure_concurrent("gRPC AdmitPatient (into a bed)", clients, calls, admit).await?);
    let admitted = Arc::new(
        admissions
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone(),
    );

    let transfer = {
        let (channels, desk, admitted, beds_b, ward_b) = (
            channels.clone(),
            desk.clone(),
            admitted.clone(),
            beds_b.clone(),
            ward_b.clone(),
        );
        move |client: usize, n: usize| {
            let mut adt = AdmissionServiceClient::new(channels[client].clone());
            let (desk, admitted, beds_b, ward_b) = (
                desk.clone(),
                admitted.clone(),
                beds_b.clone(),
                ward_b.clone(),
            );
            async move {
                let index = client * calls + n;
                adt.transfer_patient(signed(
                    &desk,
                    pb::TransferPatientRequest {
                        request_id: Uuid::new_v4().to_string(),
                        admission_id: admitted[index].clone(),
                        department_id: ward_b,
                        bed_id: beds_b[index].clone(),
                        ..Default::default()
                    },
                ))
                .await?;
                Ok(())
            }
        }
    };
    samples.push(
        measure_concurrent(
            "gRPC TransferPatient (to another ward's bed)",
            clients,
            calls,
            transfer,
        )
        .await?,
    );

    let discharge = {
        let (channels, desk, admitted) = (channels.clone(), desk.clone(), admitted.clone());
        move |client: usize, n: usize| {
            let mut adt = AdmissionServiceClient::new(channels[client].clone());
            let (desk, admitted) = (desk.clone(), admitted.clone());
            async move {
                let index = client * calls + n;
                adt.discharge_patient(signed(
                    &desk,
                    pb::DischargePatientRequest {
                        request_id: Uuid::new_v4().to_string(),
                        admission_id: admitted[index].clone(),
                        r#type: pb::DischargeType::Recovered.into(),
                        ..Default::default()
                    },
                ))
                .await?;
                Ok(())
            }
        }
    };
    samples.push(measure_concurrent("gRPC DischargePatient", clients, calls, discharge).await?);

    // The same writes on plain connections, as the owner, for another tenant id (the
    // exclusion constraint and the one-open-admission index still check every row).
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32)
        .connect_with(bench.db.owner_options())
        .await?;
    let raw_tenant = Uuid::now_v7();
    let raw_cycle = {
        let pool = pool.clone();
        move |client: usize, n: usize| {
            let pool = pool.clone();
            async move {
                let facility = Uuid::nil();
                let (admission, patient, bed_a, bed_b) = (
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                );
                let (ward_a, ward_b) = (Uuid::from_u128(1), Uuid::from_u128(2));
                let index = (client * calls + n) as i64;
                let mut tx = pool.begin().await?;
                let number: i64 = sqlx::query_scalar(
                    "INSERT INTO admissions.number_counters VALUES ($1, $2, 2026, 2) ON CONFLICT (tenant_id, facility_id, year) \
                     DO UPDATE SET next_number = admissions.number_counters.next_number + 1 RETURNING next_number - 1")
                    .bind(raw_tenant).bind(facility).fetch_one(&mut *tx).await?;
                sqlx::query("INSERT INTO admissions.admissions (tenant_id, id, patient_id, facility_id, admission_number, type, status, \
                     admit_time, department_id, bed_id, admitting_department_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 'emergency', 'admitted', now(), $6, $7, $6, now(), now())")
                    .bind(raw_tenant).bind(admission).bind(patient).bind(facility).bind(format!("{number}/2026-{index}"))
                    .bind(ward_a).bind(bed_a).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO admissions.stays (tenant_id, id, admission_id, kind, department_id, bed_id, start_time) \
                     VALUES ($1, $2, $3, 'stay', $4, $5, now())")
                    .bind(raw_tenant).bind(Uuid::now_v7()).bind(admission).bind(ward_a).bind(bed_a).execute(&mut *tx).await?;
                raw_event_and_audit(&mut tx, raw_tenant, patient, 2).await?;
                tx.commit().await?;

                let mut tx = pool.begin().await?;
                sqlx::query("SELECT 1 FROM admissions.admissions WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
                    .bind(raw_tenant).bind(admission).execute(&mut *tx).await?;
                sqlx::query("UPDATE admissions.stays SET end_time = now() WHERE tenant_id = $1 AND admission_id = $2 AND end_time IS NULL")
                    .bind(raw_tenant).bind(admission).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO admissions.stays (tenant_id, id, admission_id, kind, department_id, bed_id, start_time) \
                     VALUES ($1, $2, $3, 'stay', $4, $5, now())")
                    .bind(raw_tenant).bind(Uuid::now_v7()).bind(admission).bind(ward_b).bind(bed_b).execute(&mut *tx).await?;
                sqlx::query("UPDATE admissions.admissions SET department_id = $3, bed_id = $4, version = version + 1 WHERE tenant_id = $1 AND id = $2")
                    .bind(raw_tenant).bind(admission).bind(ward_b).bind(bed_b).execute(&mut *tx).await?;
                raw_event_and_audit(&mut tx, raw_tenant, patient, 3).await?;
                tx.commit().await?;

                let mut tx = pool.begin().await?;
                sqlx::query("SELECT 1 FROM admissions.admissions WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
                    .bind(raw_tenant).bind(admission).execute(&mut *tx).await?;
                sqlx::query("UPDATE admissions.stays SET end_time = now() WHERE tenant_id = $1 AND admission_id = $2 AND end_time IS NULL")
                    .bind(raw_tenant).bind(admission).execute(&mut *tx).await?;
                sqlx::query("UPDATE admissions.admissions SET status = 'discharged', discharge_type = 'recovered', discharge_time = now(), \
                     discharge_recorded_at = now(), bed_id = NULL, version = version + 1 WHERE tenant_id = $1 AND id = $2")
                    .bind(raw_tenant).bind(admission).execute(&mut *tx).await?;
                raw_event_and_audit(&mut tx, raw_tenant, patient, 2).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
    samples.push(
        measure_concurrent(
            "raw PostgreSQL: the three transactions of a cycle",
            clients,
            calls,
            raw_cycle,
        )
        .await?,
    );

    let started = Instant::now();
    bench.stop().await?;
    println!(
        "{clients} clients, {calls} cycles each; a gRPC cycle is the three calls above (server stopped in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    print(&samples);
    Ok(())
}

/// The outbox rows and the audit record a step writes.
async fn raw_event_and_audit(
    tx: &mut sqlx::PgConnection,
    tenant: Uuid,
    patient: Uuid,
    events: usize,
) -> anyhow::Result<()> {
    for _ in 0..events {
        sqlx::query("INSERT INTO admissions.outbox (tenant_id, event_id, event_type, aggregate_id, payload, occurred_at) \
             VALUES ($1, $2, 'bench', 'bench', '\\x00', now())")
            .bind(tenant).bind(Uuid::now_v7()).execute(&mut *tx).await?;
    }
    sqlx::query("INSERT INTO audit.records (tenant_id, record_id, occurred_at, user_id, username, method, patient_ids, \
         resource_ids, outcome, client_addr, request_id, break_glass_reason) \
         VALUES ($1, $2, now(), $3, 'bench', 'bench', ARRAY[$4]::uuid[], '{}', 'OK', '', 'bench', '')")
        .bind(tenant).bind(Uuid::now_v7()).bind(Uuid::nil()).bind(patient).execute(&mut *tx).await?;
    Ok(())
}
