//! The archive's rows in the contract's words.

use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::documents::v1 as pb;
use uuid::Uuid;

use crate::store::{DocumentRow, KindRow, VersionRow};

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

/// The document with its versions (`versions`: of any documents; this one's are picked).
pub(crate) fn document_to_pb(row: &DocumentRow, versions: &[VersionRow]) -> pb::Document {
    pb::Document {
        id: row.id.to_string(),
        kind_code: row.kind_code.clone(),
        patient_id: row.patient_id.to_string(),
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
    }
}
