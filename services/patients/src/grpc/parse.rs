//! Requests of the patient service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use chrono::{DateTime, Datelike, Utc};
use hmis_platform::Violations;
use hmis_platform::paging::{PageSize, decode_token};
use hmis_platform::types::{Name, Text, Version};
use hmis_platform::wire::mask_paths;
use hmis_proto::openhmis::patients::v1 as pb;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::app::{HistoryPage, Merge, Registration, Search, Unmerge, Update};
use crate::convert::{UPDATABLE_FIELDS, parse_identifier_type, parse_record};
use crate::domain::patient::{Identifier, parse_birth_date};
use crate::error::Error;
use crate::store::SearchKey;

type Result<T> = std::result::Result<T, Error>;

/// One id, the whole request of a read by id.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

pub(crate) fn registration(
    message: &pb::RegisterPatientRequest,
    now: DateTime<Utc>,
) -> Result<Registration> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let record = parse_record(message.patient.as_ref(), now, &mut violations);
    Ok(violations.finish(|| {
        Some(Registration {
            key: key?,
            record: record?,
            confirmed_new: message.confirm_new_patient,
        })
    })?)
}

/// Exactly one of MRN, identifier or name.
fn search_key(
    message: &pb::SearchPatientsRequest,
    violations: &mut Violations,
) -> Option<SearchKey> {
    let given = [
        !message.mrn.trim().is_empty(),
        message.identifier.is_some(),
        !message.name.trim().is_empty(),
    ];
    if given.iter().filter(|given| **given).count() != 1 {
        violations.add("mrn", "give exactly one of mrn, identifier or name");
        return None;
    }
    if !message.mrn.trim().is_empty() {
        let mrn = message.mrn.trim();
        if mrn.len() > 32 || !mrn.chars().all(|c| c.is_ascii_digit()) {
            violations.add("mrn", "must be digits");
            return None;
        }
        return Some(SearchKey::Mrn(mrn.to_owned()));
    }
    if let Some(identifier) = &message.identifier {
        let Some(kind) = parse_identifier_type(identifier.r#type) else {
            violations.add("identifier.type", "is required and must be a known type");
            return None;
        };
        // Searching normalises but does not validate: an old or mistyped number simply
        // finds nobody.
        let value: String = identifier
            .value
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
            .flat_map(char::to_uppercase)
            .collect();
        let country = identifier.country.trim().to_uppercase();
        if value.is_empty() || value.chars().count() > 32 {
            violations.add("identifier.value", "must have 1 to 32 characters");
            return None;
        }
        return Some(SearchKey::Identifier(Identifier {
            kind,
            country,
            value,
        }));
    }
    let name = message.name.trim();
    if name.chars().count() < 2
        || name.chars().count() > Name::MAX_LEN
        || name.chars().any(char::is_control)
    {
        violations.add("name", "must be 2 to 200 characters of text");
        return None;
    }
    Some(SearchKey::Name(name.to_owned()))
}

pub(crate) fn search(message: &pb::SearchPatientsRequest, now: DateTime<Utc>) -> Result<Search> {
    let mut violations = Violations::default();
    let key = search_key(message, &mut violations);
    let birth_date = if message.birth_date.trim().is_empty() {
        Some(None)
    } else {
        violations
            .check("birth_date", parse_birth_date(&message.birth_date, now))
            .map(Some)
    };
    let birth_year = match message.birth_year {
        0 => None,
        year if (1880..=now.year()).contains(&year) => Some(year),
        _ => {
            violations.add("birth_year", "must be a year from 1880 to this one");
            None
        }
    };
    let sex = match pb::Sex::try_from(message.sex) {
        Ok(pb::Sex::Unspecified) => None,
        Ok(pb::Sex::Male) => Some("male"),
        Ok(pb::Sex::Female) => Some("female"),
        Ok(pb::Sex::Unknown) => Some("unknown"),
        Err(_) => {
            violations.add("sex", "is not a known value");
            None
        }
    };
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let offset = violations.check("page_token", decode_token::<i64>(&message.page_token));
    Ok(violations.finish(|| {
        Some(Search {
            key: key?,
            birth_date: birth_date?,
            birth_year,
            sex,
            size: size?,
            offset: offset?.unwrap_or(0),
        })
    })?)
}

pub(crate) fn update(message: &pb::UpdatePatientRequest) -> Result<Update> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    if message.patient.is_none() {
        violations.add("patient", "is required");
    }
    let given = message.patient.clone().unwrap_or_default();
    let id = violations.id("patient.id", &given.id);
    let version = violations.check("patient.etag", Version::parse_etag(&given.etag));
    let paths = mask_paths(
        message.update_mask.as_ref(),
        UPDATABLE_FIELDS,
        &mut violations,
    );
    Ok(violations.finish(|| {
        Some(Update {
            key: key?,
            id: id?,
            version: version?,
            given,
            paths,
        })
    })?)
}

/// A page of one record's history: `patient_id`, `page_size`, `page_token`.
pub(crate) fn history_page<After: DeserializeOwned>(
    patient_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<HistoryPage<After>> {
    let mut violations = Violations::default();
    let id = violations.id("patient_id", patient_id);
    let size = violations.check("page_size", PageSize::parse(page_size));
    let after = violations.check("page_token", decode_token::<After>(page_token));
    Ok(violations.finish(|| {
        Some(HistoryPage {
            patient_id: id?,
            size: size?,
            after: after?,
        })
    })?)
}

pub(crate) fn merge(message: &pb::MergePatientsRequest) -> Result<Merge> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let survivor_id = violations.id("survivor_id", &message.survivor_id);
    let merged_id = violations.id("merged_id", &message.merged_id);
    let survivor_version =
        violations.check("survivor_etag", Version::parse_etag(&message.survivor_etag));
    let merged_version = violations.check("merged_etag", Version::parse_etag(&message.merged_etag));
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    if survivor_id.is_some() && survivor_id == merged_id {
        violations.add("merged_id", "must differ from survivor_id");
    }
    Ok(violations.finish(|| {
        Some(Merge {
            key: key?,
            survivor_id: survivor_id?,
            merged_id: merged_id?,
            survivor_version: survivor_version?,
            merged_version: merged_version?,
            reason: reason?,
        })
    })?)
}

pub(crate) fn unmerge(message: &pb::UnmergePatientRequest) -> Result<Unmerge> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let merged_id = violations.id("merged_id", &message.merged_id);
    let reason = violations.check("reason", Text::parse_required(&message.reason));
    Ok(violations.finish(|| {
        Some(Unmerge {
            key: key?,
            merged_id: merged_id?,
            reason: reason?,
        })
    })?)
}
