//! The archive's rows in the contract's words.

use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::documents::v1 as pb;
use uuid::Uuid;

use crate::domain::{Printout, SignerKind};
use crate::store::{DocumentRow, KindRow, SignatureRow, VersionRow};

fn id_text(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(crate) fn kind_to_pb(row: &KindRow) -> pb::Kind {
    pb::Kind {
        code: row.code.clone(),
        name: row.name.clone(),
        retention_years: row.retention_years,
        content_types: row.content_types.clone(),
        max_size_bytes: row.max_size_bytes,
    }
}

pub(crate) fn version_to_pb(row: &VersionRow) -> pb::Version {
    pb::Version {
        number: row.number,
        content_type: row.content_type.clone(),
        size_bytes: row.size_bytes,
        sha256: row.sha256.clone(),
        file_name: row.file_name.clone(),
        added_by: row.added_by.to_string(),
        add_time: timestamp(row.added_at),
    }
}

pub(crate) fn printout_to_pb(printout: Option<Printout>) -> pb::Printout {
    match printout {
        None => pb::Printout::Unspecified,
        Some(Printout::MedicalExtract) => pb::Printout::MedicalExtract,
        Some(Printout::Certificate) => pb::Printout::Certificate,
        Some(Printout::Prescriptions) => pb::Printout::Prescriptions,
        Some(Printout::PatientSlip) => pb::Printout::PatientSlip,
        Some(Printout::WardMedicationOrder) => pb::Printout::WardMedicationOrder,
        Some(Printout::Form16) => pb::Printout::Form16,
    }
}

pub(crate) fn signature_to_pb(row: &SignatureRow) -> pb::Signature {
    pb::Signature {
        signer_kind: match row.signer_kind {
            SignerKind::Clinician => pb::SignerKind::Clinician,
            SignerKind::Facility => pb::SignerKind::Facility,
        }
        .into(),
        signer_id: row.signer_id.to_string(),
        signer_name: row.signer_name.clone(),
        version: row.version,
        sha256: row.sha256.clone(),
        sign_time: timestamp(row.signed_at),
        public_key: row.public_key.clone(),
        signature: row.signature.clone(),
        key_id: row.key_id.clone(),
    }
}

/// The document with its versions and signatures (of any documents; this one's are picked).
pub(crate) fn document_to_pb(
    row: &DocumentRow,
    versions: &[VersionRow],
    signatures: &[SignatureRow],
) -> pb::Document {
    pb::Document {
        id: row.id.to_string(),
        kind_code: row.kind_code.clone(),
        patient_id: id_text(row.patient_id),
        facility_id: row.facility_id.to_string(),
        department_id: id_text(row.department_id),
        admission_id: id_text(row.admission_id),
        encounter_id: id_text(row.encounter_id),
        title: row.title.clone(),
        versions: versions
            .iter()
            .filter(|version| version.document_id == row.id)
            .map(version_to_pb)
            .collect(),
        created_by: row.created_by.to_string(),
        create_time: timestamp(row.created_at),
        retain_until: row.retain_until.to_string(),
        legal_hold: row.legal_hold,
        legal_hold_reason: row.legal_hold_reason.clone(),
        deleted: row.deleted_at.is_some(),
        deleted_by: id_text(row.deleted_by),
        delete_time: row.deleted_at.and_then(timestamp),
        delete_reason: row.delete_reason.clone(),
        printout: printout_to_pb(row.printout).into(),
        source_id: row.source_id.clone(),
        signatures: signatures
            .iter()
            .filter(|signature| signature.document_id == row.id)
            .map(signature_to_pb)
            .collect(),
    }
}
