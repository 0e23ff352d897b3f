//! What encounters publishes through its outbox, in the transaction of the change. Payloads
//! are `openhmis.encounters.v1` messages; the event type is the message's full name.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use hmis_proto::openhmis::encounters::v1 as pb;
use prost::Message;

use crate::error::Result;
use crate::store::EncounterRow;

pub use hmis_proto::events::encounters::{
    ALLERGY_RECORDED, CERTIFICATE_ISSUED, DIAGNOSIS_RECORDED, DISCHARGE_SUMMARY_WRITTEN,
    DOSE_GIVEN, PRESCRIPTION_CREATED, PRESCRIPTION_DISCONTINUED, PRESCRIPTION_RESUMED,
    PRESCRIPTION_VERIFIED, PROCEDURE_RECORDED, REFERRAL_CREATED,
};

fn outbox() -> hmis_platform::outbox::Outbox {
    hmis_platform::outbox::Outbox::new(crate::SCHEMA)
}

async fn publish<E: Message>(
    tx: &mut TenantTx,
    event_type: &str,
    aggregate_id: &str,
    event: &E,
    at: DateTime<Utc>,
) -> Result<()> {
    outbox()
        .publish(tx, event_type, aggregate_id, event, at)
        .await?;
    Ok(())
}

fn admission_id(encounter: &EncounterRow) -> String {
    encounter
        .admission_id
        .map(|id| id.to_string())
        .unwrap_or_default()
}

pub(crate) async fn allergy_recorded(
    tx: &mut TenantTx,
    allergy: &pb::Allergy,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = pb::AllergyRecorded {
        allergy: Some(allergy.clone()),
    };
    publish(tx, ALLERGY_RECORDED, &allergy.patient_id, &event, at).await
}

pub(crate) async fn diagnosis_recorded(
    tx: &mut TenantTx,
    encounter: &EncounterRow,
    diagnosis: &pb::Diagnosis,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = pb::DiagnosisRecorded {
        diagnosis: Some(diagnosis.clone()),
        admission_id: admission_id(encounter),
    };
    publish(
        tx,
        DIAGNOSIS_RECORDED,
        &encounter.id.to_string(),
        &event,
        at,
    )
    .await
}

/// A stay's discharge summary written; the aggregate is the encounter.
pub(crate) async fn discharge_summary_written(
    tx: &mut TenantTx,
    encounter: &EncounterRow,
    note: &pb::Note,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = pb::DischargeSummaryWritten {
        note: Some(note.clone()),
        admission_id: admission_id(encounter),
    };
    publish(
        tx,
        DISCHARGE_SUMMARY_WRITTEN,
        &encounter.id.to_string(),
        &event,
        at,
    )
    .await
}

pub(crate) async fn procedure_recorded(
    tx: &mut TenantTx,
    encounter: &EncounterRow,
    procedure: &pb::Procedure,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = pb::ProcedureRecorded {
        procedure: Some(procedure.clone()),
        admission_id: admission_id(encounter),
        patient_id: encounter.patient_id.to_string(),
        department_id: encounter.department_id.to_string(),
        facility_id: encounter.facility_id.to_string(),
    };
    publish(
        tx,
        PROCEDURE_RECORDED,
        &encounter.id.to_string(),
        &event,
        at,
    )
    .await
}

pub(crate) async fn prescription(
    tx: &mut TenantTx,
    event_type: &str,
    prescription: &pb::Prescription,
    at: DateTime<Utc>,
) -> Result<()> {
    let aggregate = prescription.encounter_id.clone();
    if event_type == PRESCRIPTION_CREATED {
        let event = pb::PrescriptionCreated {
            prescription: Some(prescription.clone()),
        };
        publish(tx, event_type, &aggregate, &event, at).await
    } else if event_type == PRESCRIPTION_VERIFIED {
        let event = pb::PrescriptionVerified {
            prescription: Some(prescription.clone()),
        };
        publish(tx, event_type, &aggregate, &event, at).await
    } else if event_type == PRESCRIPTION_RESUMED {
        let event = pb::PrescriptionResumed {
            prescription: Some(prescription.clone()),
        };
        publish(tx, event_type, &aggregate, &event, at).await
    } else {
        let event = pb::PrescriptionDiscontinued {
            prescription: Some(prescription.clone()),
        };
        publish(tx, event_type, &aggregate, &event, at).await
    }
}

/// A dose given, for the ward stock to be drawn on; the aggregate is the encounter.
pub(crate) async fn dose_given(
    tx: &mut TenantTx,
    event: &pb::DoseGiven,
    at: DateTime<Utc>,
) -> Result<()> {
    let aggregate = event
        .administration
        .as_ref()
        .map(|administration| administration.encounter_id.clone())
        .unwrap_or_default();
    publish(tx, DOSE_GIVEN, &aggregate, event, at).await
}

pub(crate) async fn referral_created(
    tx: &mut TenantTx,
    encounter: &EncounterRow,
    referral: &pb::Referral,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = pb::ReferralCreated {
        referral: Some(referral.clone()),
        admission_id: admission_id(encounter),
        department_id: encounter.department_id.to_string(),
        facility_id: encounter.facility_id.to_string(),
    };
    publish(tx, REFERRAL_CREATED, &encounter.id.to_string(), &event, at).await
}

pub(crate) async fn certificate_issued(
    tx: &mut TenantTx,
    certificate: &pb::Certificate,
    at: DateTime<Utc>,
) -> Result<()> {
    let event = pb::CertificateIssued {
        certificate: Some(certificate.clone()),
    };
    publish(tx, CERTIFICATE_ISSUED, &certificate.id, &event, at).await
}
