//! Requests of the archive, parsed into what the use cases are asked: every wrong field is
//! named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use hmis_platform::Violations;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::{Line, Name, Text};
use hmis_proto::openhmis::documents::v1 as pb;
use uuid::Uuid;

use crate::app::{Source, Upload};
use crate::domain::RECOGNISED;
use crate::error::Result;
use crate::store::KindRow;

pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

fn kind_code(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim();
    if !value.is_empty()
        && value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        Some(value.to_owned())
    } else {
        violations.add(field, "must be 1 to 32 upper-case letters, digits or '_'");
        None
    }
}

fn content_type(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let value = value.trim().to_ascii_lowercase();
    match RECOGNISED.iter().find(|known| **known == value) {
        Some(known) => Some((*known).to_owned()),
        None => {
            violations.add(field, format!("must be one of {}", RECOGNISED.join(", ")));
            None
        }
    }
}

pub(crate) fn kind(message: &pb::SetKindRequest) -> Result<KindRow> {
    let mut violations = Violations::default();
    let Some(kind) = message.kind.as_ref() else {
        violations.add("kind", "is required");
        return Ok(violations.finish(|| None)?);
    };
    let code = kind_code("kind.code", &kind.code, &mut violations);
    let name = violations
        .check("kind.name", Name::parse(&kind.name))
        .map(|name| name.as_str().to_owned());
    let years = if (1..=100).contains(&kind.retention_years) {
        Some(kind.retention_years)
    } else {
        violations.add("kind.retention_years", "must be between 1 and 100");
        None
    };
    if kind.content_types.len() > RECOGNISED.len() {
        violations.add("kind.content_types", "lists a type twice");
    }
    let before = violations.len();
    let types: Vec<String> = kind
        .content_types
        .iter()
        .take(RECOGNISED.len())
        .enumerate()
        .filter_map(|(index, value)| {
            content_type(
                &format!("kind.content_types[{index}]"),
                value,
                &mut violations,
            )
        })
        .collect();
    let types = (violations.len() == before).then_some(types);
    let size = if kind.max_size_bytes > 0 {
        Some(kind.max_size_bytes)
    } else {
        violations.add("kind.max_size_bytes", "must be more than 0");
        None
    };
    Ok(violations.finish(|| {
        Some(KindRow {
            code: code?,
            name: name?,
            retention_years: years?,
            content_types: types?,
            max_size_bytes: size?,
        })
    })?)
}

pub(crate) fn upload(header: &pb::UploadHeader) -> Result<Upload> {
    let mut violations = Violations::default();
    let key = violations.request_key(&header.request_id);
    let replaces =
        violations.optional_id("header.replaces_document_id", &header.replaces_document_id);
    let replacing = matches!(replaces, Some(Some(_)));
    // A new version keeps its document's kind, patient and places; a new document names them.
    let (kind, patient, facility) = if replacing {
        (Some(String::new()), Some(Uuid::nil()), Some(Uuid::nil()))
    } else {
        (
            kind_code("header.kind_code", &header.kind_code, &mut violations),
            violations.id("header.patient_id", &header.patient_id),
            violations.id("header.facility_id", &header.facility_id),
        )
    };
    let department = violations.optional_id("header.department_id", &header.department_id);
    let admission = violations.optional_id("header.admission_id", &header.admission_id);
    let encounter = violations.optional_id("header.encounter_id", &header.encounter_id);
    let title = if replacing && header.title.trim().is_empty() {
        Some(String::new())
    } else {
        violations
            .check("header.title", Line::parse(&header.title))
            .map(|title| title.as_str().to_owned())
    };
    let file_name = violations
        .check("header.file_name", Text::parse(&header.file_name))
        .map(|name| name.as_str().chars().take(255).collect::<String>());
    let declared = if header.content_type.trim().is_empty() {
        Some(None)
    } else {
        content_type("header.content_type", &header.content_type, &mut violations).map(Some)
    };
    let sha256 = match header.sha256.trim() {
        "" => Some(None),
        hash if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(Some(hash.to_ascii_lowercase()))
        }
        _ => {
            violations.add("header.sha256", "must be 64 hexadecimal digits");
            None
        }
    };
    let size = match u64::try_from(header.size_bytes) {
        Ok(0) => Some(None),
        Ok(size) => Some(Some(size)),
        Err(_) => {
            violations.add("header.size_bytes", "must not be negative");
            None
        }
    };
    Ok(violations.finish(|| {
        Some(Upload {
            key: key?,
            kind_code: kind?,
            patient_id: patient?,
            facility_id: facility?,
            department_id: department?,
            admission_id: admission?,
            encounter_id: encounter?,
            title: title?,
            file_name: file_name?,
            content_type: declared?,
            replaces: replaces?,
            sha256: sha256?,
            size: size?,
        })
    })?)
}

pub(crate) fn download(message: &pb::DownloadDocumentRequest) -> Result<(Uuid, Option<i32>)> {
    let mut violations = Violations::default();
    let document = violations.id("document_id", &message.document_id);
    let version = match message.version {
        0 => Some(None),
        number if number > 0 => Some(Some(number)),
        _ => {
            violations.add(
                "version",
                "must be 0 (the current one) or a version's number",
            );
            None
        }
    };
    Ok(violations.finish(|| Some((document?, version?)))?)
}

pub(crate) fn hold(message: &pb::SetLegalHoldRequest) -> Result<(RequestKey, Uuid, bool, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let document = violations.id("document_id", &message.document_id);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    Ok(violations.finish(|| Some((key?, document?, message.hold, reason?.as_str().to_owned())))?)
}

pub(crate) fn delete(message: &pb::DeleteDocumentRequest) -> Result<(RequestKey, Uuid, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let document = violations.id("document_id", &message.document_id);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    Ok(violations.finish(|| Some((key?, document?, reason?.as_str().to_owned())))?)
}

/// What to print: the printout and the one source it names (other fields are ignored).
pub(crate) fn issue(message: &pb::IssueDocumentRequest) -> Result<(RequestKey, Source)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let source = match pb::Printout::try_from(message.printout) {
        Ok(pb::Printout::MedicalExtract) => violations
            .id("encounter_id", &message.encounter_id)
            .map(Source::MedicalExtract),
        Ok(pb::Printout::Prescriptions) => violations
            .id("encounter_id", &message.encounter_id)
            .map(Source::Prescriptions),
        Ok(pb::Printout::PatientSlip) => violations
            .id("encounter_id", &message.encounter_id)
            .map(Source::PatientSlip),
        Ok(pb::Printout::Certificate) => violations
            .id("certificate_id", &message.certificate_id)
            .map(Source::Certificate),
        Ok(pb::Printout::WardMedicationOrder) => {
            let department = violations.id("department_id", &message.department_id);
            let start = violations.optional_date("start_date", &message.start_date);
            if !(0..=7).contains(&message.days) {
                violations.add("days", "must be between 1 and 7 (0 means 1)");
            }
            match (department, start) {
                (Some(department), Some(start)) => Some(Source::WardMedicationOrder {
                    department,
                    start_date: start.map(|day| day.to_string()).unwrap_or_default(),
                    days: message.days.max(1),
                }),
                _ => None,
            }
        }
        Ok(pb::Printout::Form16) => {
            let facility = violations.id("facility_id", &message.facility_id);
            let period = violations.period(
                ("from_date", &message.from_date),
                ("to_date", &message.to_date),
            );
            match (facility, period) {
                (Some(facility), Some((from, to))) => Some(Source::Form16 {
                    facility,
                    from: from.to_string(),
                    to: to.to_string(),
                }),
                _ => None,
            }
        }
        _ => {
            violations.add("printout", "is required");
            None
        }
    };
    Ok(violations.finish(|| Some((key?, source?)))?)
}

/// A document's version: the document, and the version's number (none: the current one).
pub(crate) type VersionOf = (Uuid, Option<i32>);

/// Which version to verify, and the copy presented (empty: the stored content).
pub(crate) fn verify(message: pb::VerifyDocumentRequest) -> Result<(VersionOf, Option<Vec<u8>>)> {
    let mut violations = Violations::default();
    let document = violations.id("document_id", &message.document_id);
    let version = match message.version {
        0 => Some(None),
        number if number > 0 => Some(Some(number)),
        _ => {
            violations.add(
                "version",
                "must be 0 (the current one) or a version's number",
            );
            None
        }
    };
    let copy = (!message.content.is_empty()).then_some(message.content);
    Ok(violations.finish(|| Some(((document?, version?), copy)))?)
}
