//! Prescribing and dispensing: concurrent physicians prescribe paracetamol to outpatients
//! (each prescription runs the medication safety check under the patient's lock), then
//! concurrent pharmacists dispense each prescription (checked through the encounters
//! contract: its patient, still active, the medicine it names), one stock item per client.
//! Beside them, raw PostgreSQL doing the prescription's transaction shape (the patient's
//! lock, the reads the check makes, the insert, the audit record).

use std::sync::Arc;

use anyhow::Context;
use encounters_pb::encounter_service_client::EncounterServiceClient;
use hmis_platform::clock::SystemClock;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use inventory_pb::inventory_service_client::InventoryServiceClient;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::bench::{Bench, register, signed};
use crate::report::{Sample, measure_concurrent, print};

/// One outpatient with an open encounter.
#[derive(Debug, Clone)]
struct Outpatient {
    patient_id: String,
    encounter_id: String,
}

pub async fn run(clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[
        ("bench-physician", "physician"),
        ("bench-pharmacist", "pharmacist"),
        ("bench-registrar", "registrar"),
    ])
    .await?;
    let (db, tenant_id, first, admin) = (
        &bench.db,
        bench.tenant_id,
        bench.channel.clone(),
        bench.admin.clone(),
    );
    hmis_terminology::TerminologyModule::new(db.database.clone(), Arc::new(SystemClock))
        .load_starter_set(tenant_id)
        .await?;
    let physician = bench.login("bench-physician").await?;
    let pharmacist = bench.login("bench-pharmacist").await?;
    let registrar = bench.login("bench-registrar").await?;
    let calls = (iterations / clients).max(1);

    println!(
        "setting up a clinic, the formulary, a pharmacy and {} outpatients...",
        clients * calls
    );
    let facility = bench.facility().await?;
    let clinic = bench
        .department(&facility, "CLINIC", core_pb::DepartmentKind::Outpatient)
        .await?;
    let medicine =
        encounters_pb::formulary_service_client::FormularyServiceClient::new(first.clone())
            .create_medicine(signed(
                &admin,
                encounters_pb::CreateMedicineRequest {
                    request_id: Uuid::new_v4().to_string(),
                    medicine: Some(encounters_pb::Medicine {
                        code: "PARA500".to_owned(),
                        name: "Paracetamol 500 mg tablets".to_owned(),
                        atc_code: "N02BE01".to_owned(),
                        form_unit: "tablet".to_owned(),
                        strength: "500".to_owned(),
                        strength_unit: "mg".to_owned(),
                        max_daily_dose: "4000".to_owned(),
                        restriction: encounters_pb::Restriction::None.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .medicine
            .context("no medicine")?
            .id;
    let warehouse = bench.pharmacy(&pharmacist, &facility).await?;
    // Paracetamol from several suppliers, one catalog item each (the same ATC code): each
    // client dispenses its own, so lots do not queue.
    let mut items = Vec::with_capacity(clients);
    for index in 0..clients {
        let item = inventory_pb::Item {
            code: format!("PARA500-{index}"),
            name: format!("Paracetamol 500 mg, supplier {index}"),
            atc_code: "N02BE01".to_owned(),
            ..Default::default()
        };
        items.push(
            bench
                .stocked_tablets(&pharmacist, &warehouse, item, calls * 20, "0.10")
                .await?,
        );
    }
    let channels = bench.connections(clients).await?;
    // Outpatients, registered and seen at the clinic by the clients at once (not measured).
    let outpatients = Arc::new(Mutex::new(vec![Vec::<Outpatient>::new(); clients]));
    {
        let (channels, outpatients, registrar, physician, clinic) = (
            channels.clone(),
            outpatients.clone(),
            registrar.clone(),
            physician.clone(),
            clinic.clone(),
        );
        measure_concurrent("setup", clients, calls, move |client, n| {
            let channel = channels[client].clone();
            let (outpatients, registrar, physician, clinic) = (
                outpatients.clone(),
                registrar.clone(),
                physician.clone(),
                clinic.clone(),
            );
            async move {
                let patient_id = register(
                    channel.clone(),
                    &registrar,
                    format!("Bench{client}x{n}"),
                    patients_pb::Sex::Female,
                    "1970-01-01",
                )
                .await?;
                let encounter_id = EncounterServiceClient::new(channel)
                    .open_encounter(signed(
                        &physician,
                        encounters_pb::OpenEncounterRequest {
                            request_id: Uuid::new_v4().to_string(),
                            patient_id: patient_id.clone(),
                            department_id: clinic,
                            ..Default::default()
                        },
                    ))
                    .await?
                    .into_inner()
                    .encounter
                    .context("no encounter")?
                    .id;
                outpatients.lock().await[client].push(Outpatient {
                    patient_id,
                    encounter_id,
                });
                Ok(())
            }
        })
        .await?;
    }
    let outpatients = Arc::new(outpatients.lock().await.clone());
    // A --duration cap may stop a variant early; the next one uses what the last one made.
    let seen = outpatients.iter().map(Vec::len).min().unwrap_or(0);

    // Each client prescribes to its own outpatients, one prescription each.
    let prescriptions = Arc::new(Mutex::new(vec![Vec::<(String, String)>::new(); clients]));
    let prescribe = {
        let (channels, outpatients, prescriptions, physician, medicine) = (
            channels.clone(),
            outpatients.clone(),
            prescriptions.clone(),
            physician.clone(),
            medicine.clone(),
        );
        measure_concurrent(
            "gRPC CreatePrescription (with the safety check)",
            clients,
            seen,
            move |client, n| {
                let mut encounters = EncounterServiceClient::new(channels[client].clone());
                let outpatient = outpatients[client][n].clone();
                let (prescriptions, physician, medicine) =
                    (prescriptions.clone(), physician.clone(), medicine.clone());
                async move {
                    let prescription = encounters
                        .create_prescription(signed(
                            &physician,
                            encounters_pb::CreatePrescriptionRequest {
                                request_id: Uuid::new_v4().to_string(),
                                prescription: Some(encounters_pb::Prescription {
                                    encounter_id: outpatient.encounter_id,
                                    medicine_id: medicine,
                                    dose: "1".to_owned(),
                                    dose_unit: "tablet".to_owned(),
                                    route: encounters_pb::Route::Oral.into(),
                                    times_per_day: 3,
                                    ..Default::default()
                                }),
                                override_reason: String::new(),
                            },
                        ))
                        .await?
                        .into_inner()
                        .prescription
                        .context("no prescription")?;
                    prescriptions.lock().await[client]
                        .push((prescription.id, outpatient.patient_id));
                    Ok(())
                }
            },
        )
        .await?
    };
    let prescriptions = Arc::new(prescriptions.lock().await.clone());
    let prescribed = prescriptions.iter().map(Vec::len).min().unwrap_or(0);
    let dispense = {
        let (channels, prescriptions, items, pharmacist, warehouse) = (
            channels.clone(),
            prescriptions.clone(),
            Arc::new(items),
            pharmacist.clone(),
            warehouse.clone(),
        );
        measure_concurrent(
            "gRPC IssueStock against a prescription",
            clients,
            prescribed,
            move |client, n| {
                let mut inventory = InventoryServiceClient::new(channels[client].clone());
                let (prescription, patient) = prescriptions[client][n].clone();
                let item = items[client].clone();
                let (pharmacist, warehouse) = (pharmacist.clone(), warehouse.clone());
                async move {
                    inventory
                        .issue_stock(signed(
                            &pharmacist,
                            inventory_pb::IssueStockRequest {
                                request_id: Uuid::new_v4().to_string(),
                                warehouse_id: warehouse,
                                patient_id: patient,
                                document_type: "prescription".to_owned(),
                                document_id: prescription,
                                lines: vec![inventory_pb::ItemQuantity {
                                    item_id: item,
                                    // Two days of one tablet three times a day: all it allows.
                                    quantity: "6".to_owned(),
                                    ..Default::default()
                                }],
                                ..Default::default()
                            },
                        ))
                        .await?;
                    Ok(())
                }
            },
        )
        .await?
    };

    // The prescription's transaction shape on plain connections, as the owner: the patient's
    // lock, the active prescriptions and allergies the check reads, the insert, the audit.
    let pool = PgPoolOptions::new()
        .max_connections(clients as u32)
        .connect_with(db.owner_options())
        .await?;
    let tenant = tenant_id.as_uuid();
    let medicine_id = Uuid::parse_str(&medicine)?;
    let raw = {
        let (pool, outpatients) = (pool.clone(), outpatients.clone());
        measure_concurrent(
            "raw PostgreSQL: the prescription's statements",
            clients,
            seen,
            move |client, n| {
                let pool = pool.clone();
                let outpatient = outpatients[client][n].clone();
                async move {
                    let patient = Uuid::parse_str(&outpatient.patient_id)?;
                    let encounter = Uuid::parse_str(&outpatient.encounter_id)?;
                    let mut tx = pool.begin().await?;
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 7))")
                        .bind(tenant)
                        .bind(patient)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "SELECT id, atc_code, daily_amount FROM encounters.prescriptions \
                         WHERE tenant_id = $1 AND patient_id = $2 AND status = 'active'",
                    )
                    .bind(tenant)
                    .bind(patient)
                    .fetch_all(&mut *tx)
                    .await?;
                    sqlx::query(
                        "SELECT substance_atc_code FROM encounters.allergies \
                         WHERE tenant_id = $1 AND patient_id = $2",
                    )
                    .bind(tenant)
                    .bind(patient)
                    .fetch_all(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO encounters.prescriptions (tenant_id, id, encounter_id, \
                             patient_id, medicine_id, medicine_code, medicine_name, atc_code, dose, \
                             dose_unit, route, times_per_day, as_needed, daily_amount, daily_unit, \
                             start_time, status, prescriber_id, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, 'PARA500', 'Paracetamol', 'N02BE01', 1, \
                             'tablet', 'oral', 3, false, 1500, 'mg', now(), 'active', $6, now(), now())",
                    )
                    .bind(tenant)
                    .bind(Uuid::now_v7())
                    .bind(encounter)
                    .bind(patient)
                    .bind(medicine_id)
                    .bind(Uuid::nil())
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO audit.records (tenant_id, record_id, occurred_at, user_id, \
                             username, method, patient_ids, resource_ids, outcome, client_addr, \
                             request_id, break_glass_reason) \
                         VALUES ($1, $2, now(), $3, 'bench', 'bench', ARRAY[$4]::uuid[], '{}', \
                             'OK', '', 'bench', '')",
                    )
                    .bind(tenant)
                    .bind(Uuid::now_v7())
                    .bind(Uuid::nil())
                    .bind(patient)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }
            },
        )
        .await?
    };
    let samples: Vec<Sample> = vec![prescribe, dispense, raw];
    let report = hmis_inventory::verify(&db.database).await?;
    anyhow::ensure!(
        report.discrepancies.is_empty(),
        "the ledger and the balances disagree after the run: {:?}",
        report.discrepancies
    );
    bench.stop().await?;
    println!(
        "{clients} clients, {calls} outpatients each: one prescription and one dispense per \
         outpatient; ledger check after the run: {} balances consistent",
        report.checked
    );
    print(&samples);
    Ok(())
}
