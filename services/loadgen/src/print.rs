//! Printed documents: a physician issues an outpatient's medical extract (`IssueDocument`:
//! the encounter's data read through its owner on behalf of the caller, the patient's block,
//! the facility's letterhead, the PDF rendered with its fonts embedded, stored as issued and
//! signed twice, audited, its event published), from one client and from `--clients` at once.
//! Beside it: the extract's data alone (`GetMedicalExtract`, what the encounters module
//! answers before anything is laid out), and raw PostgreSQL storing the same PDF bytes with
//! the document's, version's and two signatures' rows in one transaction.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use documents_pb::document_service_client::DocumentServiceClient;
use documents_pb::download_document_response::Part as DownloadPart;
use encounters_pb::encounter_service_client::EncounterServiceClient;
use futures::StreamExt;
use hmis_platform::clock::SystemClock;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::documents::v1 as documents_pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::bench::{Bench, register, signed};
use crate::report::{Sample, measure, measure_concurrent, print};

/// What the examination note says (a page's worth, as a real one).
const EXAMINATION: &str = "Acuze la admitere: febră 39,2 °C de trei zile, tuse productivă, \
    dispnee la efort moderat, astenie. Istoricul bolii: debut acut după o răceală, fără \
    răspuns la paracetamol. Starea generală: gravitate medie, conștient, orientat. \
    Tegumente palide, umede. Respirator: raluri crepitante bazal drept, SpO2 93 % în aer \
    atmosferic, FR 24/min. Cardiovascular: zgomote ritmice, TA 125/80 mmHg, AV 96/min. \
    Abdomen moale, nedureros. Plan: radiografie toracică, hemoleucogramă, PCR, \
    antibioterapie empirică, hidratare, antipiretice la nevoie, reevaluare la 48 de ore.";

pub async fn run(clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[
        ("bench-physician", "physician"),
        ("bench-registrar", "registrar"),
    ])
    .await?;
    hmis_terminology::TerminologyModule::new(bench.db.database.clone(), Arc::new(SystemClock))
        .load_starter_set(bench.tenant_id)
        .await?;
    let physician = bench.login("bench-physician").await?;
    let registrar = bench.login("bench-registrar").await?;
    let facility = bench.facility().await?;
    let clinic = bench
        .department(&facility, "CLINIC", core_pb::DepartmentKind::Outpatient)
        .await?;
    let channel = bench.channel.clone();
    let patient_id = register(
        channel.clone(),
        &registrar,
        "Ștefănescu-Țîrdea".to_owned(),
        patients_pb::Sex::Female,
        "1968-03-14",
    )
    .await?;
    let mut encounters = EncounterServiceClient::new(channel.clone());
    let encounter_id = encounters
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
    encounters
        .add_note(signed(
            &physician,
            encounters_pb::AddNoteRequest {
                request_id: Uuid::new_v4().to_string(),
                note: Some(encounters_pb::Note {
                    encounter_id: encounter_id.clone(),
                    kind: encounters_pb::NoteKind::Examination.into(),
                    text: EXAMINATION.to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await?;
    for (code, role) in [
        ("J18.9", encounters_pb::DiagnosisRole::Principal),
        ("I10", encounters_pb::DiagnosisRole::Secondary),
    ] {
        encounters
            .record_diagnosis(signed(
                &physician,
                encounters_pb::RecordDiagnosisRequest {
                    request_id: Uuid::new_v4().to_string(),
                    diagnosis: Some(encounters_pb::Diagnosis {
                        encounter_id: encounter_id.clone(),
                        code: code.to_owned(),
                        role: role.into(),
                        certainty: encounters_pb::DiagnosisCertainty::Confirmed.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .with_context(|| format!("diagnosis {code}"))?;
    }
    let issue = move |channel: tonic::transport::Channel, physician, encounter_id: String| async move {
        let document = DocumentServiceClient::new(channel)
            .issue_document(signed(
                &physician,
                documents_pb::IssueDocumentRequest {
                    request_id: Uuid::new_v4().to_string(),
                    printout: documents_pb::Printout::MedicalExtract.into(),
                    encounter_id,
                    ..Default::default()
                },
            ))
            .await?
            .into_inner()
            .document
            .context("no document")?;
        anyhow::Ok(document)
    };

    // One issued extract, read back: its size is what the raw baseline stores.
    let first = issue(channel.clone(), physician.clone(), encounter_id.clone()).await?;
    let mut stream = DocumentServiceClient::new(channel.clone())
        .download_document(signed(
            &physician,
            documents_pb::DownloadDocumentRequest {
                document_id: first.id.clone(),
                version: 0,
            },
        ))
        .await?
        .into_inner();
    let mut pdf = Vec::new();
    while let Some(message) = stream.next().await {
        if let Some(DownloadPart::Chunk(bytes)) = message?.part {
            pdf.extend_from_slice(&bytes);
        }
    }
    anyhow::ensure!(pdf.starts_with(b"%PDF"), "the extract is a PDF");

    let mut samples: Vec<Sample> = Vec::new();
    samples.push(
        measure(
            "gRPC GetMedicalExtract (the data alone)",
            iterations,
            || {
                let mut encounters = encounters.clone();
                let (physician, encounter_id) = (physician.clone(), encounter_id.clone());
                async move {
                    encounters
                        .get_medical_extract(signed(
                            &physician,
                            encounters_pb::GetMedicalExtractRequest { encounter_id },
                        ))
                        .await?;
                    Ok(())
                }
            },
        )
        .await?,
    );
    samples.push(
        measure(
            "gRPC IssueDocument: medical extract, 1 client",
            iterations,
            || {
                let (channel, physician, encounter_id) =
                    (channel.clone(), physician.clone(), encounter_id.clone());
                async move { issue(channel, physician, encounter_id).await.map(drop) }
            },
        )
        .await?,
    );
    let channels = bench.connections(clients).await?;
    let name: &'static str = Box::leak(
        format!("gRPC IssueDocument: medical extract, {clients} clients").into_boxed_str(),
    );
    samples.push({
        let (physician, encounter_id) = (physician.clone(), encounter_id.clone());
        measure_concurrent(
            name,
            clients,
            (iterations / clients).max(1),
            move |client, _| {
                let (channel, physician, encounter_id) = (
                    channels[client].clone(),
                    physician.clone(),
                    encounter_id.clone(),
                );
                async move { issue(channel, physician, encounter_id).await.map(drop) }
            },
        )
        .await?
    });

    // Raw PostgreSQL: the same bytes and rows, one transaction a document.
    let mut raw = PgConnection::connect_with(&bench.db.owner_options()).await?;
    sqlx::raw_sql(
        "CREATE TABLE raw_documents (id uuid PRIMARY KEY, patient_id uuid, title text, \
             created_at timestamptz); \
         CREATE TABLE raw_versions (document_id uuid, number int, sha256 text, bytes bytea, \
             PRIMARY KEY (document_id, number)); \
         CREATE TABLE raw_signatures (document_id uuid, signer int, signature bytea, \
             PRIMARY KEY (document_id, signer))",
    )
    .execute(&mut raw)
    .await?;
    let raw_name = "raw PostgreSQL: the PDF, its document, version and 2 signatures";
    let mut latencies = Vec::with_capacity(iterations);
    let started = Instant::now();
    for _ in 0..iterations {
        let call_started = Instant::now();
        let id = Uuid::now_v7();
        let mut tx = raw.begin().await?;
        sqlx::query("INSERT INTO raw_documents VALUES ($1, $2, 'Medical extract', now())")
            .bind(id)
            .bind(Uuid::parse_str(&patient_id)?)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO raw_versions VALUES ($1, 1, $2, $3)")
            .bind(id)
            .bind(&first.versions[0].sha256)
            .bind(&pdf)
            .execute(&mut *tx)
            .await?;
        for signer in 0..2 {
            sqlx::query("INSERT INTO raw_signatures VALUES ($1, $2, $3)")
                .bind(id)
                .bind(signer)
                .bind([7u8; 64].as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        latencies.push(call_started.elapsed());
    }
    samples.push(Sample {
        name: raw_name,
        latencies,
        elapsed: started.elapsed(),
    });

    println!(
        "print: an outpatient's medical extract ({} bytes of PDF, 2 signatures)",
        pdf.len()
    );
    print(&samples);
    bench.stop().await
}
