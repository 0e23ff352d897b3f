//! The edge between the wire and the registry: requests parsed into records (every wrong field
//! named at once), rows turned into messages, and the field-by-field view of a record that
//! updates, history and events share.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::Violations;
use hmis_platform::types::{Line, Name, ParseError, Version};
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::patients::v1 as pb;
use prost::Message;

use crate::domain::Sex;
use crate::domain::patient::{
    Address, Contact, Identifier, IdentifierType, InsurancePolicy, InsuranceRank, MAX_CONTACTS,
    MAX_IDENTIFIERS, MAX_PHONES, MAX_POLICIES, MaritalStatus, PatientRecord, Phone, RecordedSex,
    age_on, normalize_document_number, parse_birth_date, parse_country, parse_date, parse_language,
};
use crate::error::Error;
use crate::store::{self, IdentifierRow, PatientRow};

pub fn sex_to_pb(sex: &str) -> pb::Sex {
    match RecordedSex::from_db(sex) {
        Some(RecordedSex::Known(Sex::Male)) => pb::Sex::Male,
        Some(RecordedSex::Known(Sex::Female)) => pb::Sex::Female,
        Some(RecordedSex::Unknown) => pb::Sex::Unknown,
        None => pb::Sex::Unspecified,
    }
}

/// The identifier type of a request; `None` for UNSPECIFIED or an unknown value.
pub fn parse_identifier_type(value: i32) -> Option<IdentifierType> {
    match pb::IdentifierType::try_from(value) {
        Ok(pb::IdentifierType::NationalId) => Some(IdentifierType::NationalId),
        Ok(pb::IdentifierType::Passport) => Some(IdentifierType::Passport),
        Ok(pb::IdentifierType::DrivingLicence) => Some(IdentifierType::DrivingLicence),
        Ok(pb::IdentifierType::InsuranceNumber) => Some(IdentifierType::InsuranceNumber),
        Ok(pb::IdentifierType::Unspecified) | Err(_) => None,
    }
}

fn identifier_type_to_pb(kind: IdentifierType) -> pb::IdentifierType {
    match kind {
        IdentifierType::NationalId => pb::IdentifierType::NationalId,
        IdentifierType::Passport => pb::IdentifierType::Passport,
        IdentifierType::DrivingLicence => pb::IdentifierType::DrivingLicence,
        IdentifierType::InsuranceNumber => pb::IdentifierType::InsuranceNumber,
    }
}

fn marital_status_to_pb(status: MaritalStatus) -> pb::MaritalStatus {
    match status {
        MaritalStatus::Unspecified => pb::MaritalStatus::Unspecified,
        MaritalStatus::Single => pb::MaritalStatus::Single,
        MaritalStatus::Married => pb::MaritalStatus::Married,
        MaritalStatus::Divorced => pb::MaritalStatus::Divorced,
        MaritalStatus::Widowed => pb::MaritalStatus::Widowed,
        MaritalStatus::Separated => pb::MaritalStatus::Separated,
        MaritalStatus::Partnership => pb::MaritalStatus::Partnership,
    }
}

fn parse_marital_status(value: i32) -> Option<MaritalStatus> {
    Some(match pb::MaritalStatus::try_from(value).ok()? {
        pb::MaritalStatus::Unspecified => MaritalStatus::Unspecified,
        pb::MaritalStatus::Single => MaritalStatus::Single,
        pb::MaritalStatus::Married => MaritalStatus::Married,
        pb::MaritalStatus::Divorced => MaritalStatus::Divorced,
        pb::MaritalStatus::Widowed => MaritalStatus::Widowed,
        pb::MaritalStatus::Separated => MaritalStatus::Separated,
        pb::MaritalStatus::Partnership => MaritalStatus::Partnership,
    })
}

fn date(value: NaiveDate) -> String {
    value.format("%Y-%m-%d").to_string()
}

/// The message for a stored record, with its age on `today`.
pub fn patient_to_pb(
    row: &PatientRow,
    identifiers: &[IdentifierRow],
    today: NaiveDate,
) -> Result<pb::Patient, Error> {
    let (age_years, age_months) = age_on(row.birth_date, row.death_date.unwrap_or(today));
    let address = &row.address.0;
    Ok(pb::Patient {
        id: row.id.to_string(),
        mrn: row.mrn.clone(),
        family_name: row.family_name.clone(),
        given_names: row.given_names.clone(),
        patronymic: row.patronymic.clone(),
        sex: sex_to_pb(&row.sex).into(),
        birth_date: date(row.birth_date),
        birth_date_estimated: row.birth_date_estimated,
        identifiers: identifiers
            .iter()
            .map(|identifier| {
                Ok(pb::Identifier {
                    r#type: identifier_type_to_pb(store::identifier_type(identifier)?).into(),
                    country: identifier.country.clone(),
                    value: identifier.value.clone(),
                })
            })
            .collect::<Result<_, Error>>()?,
        etag: Version::from_db(row.version).etag(),
        create_time: timestamp(row.created_at),
        citizenship: row.citizenship.clone(),
        address: Some(pb::Address {
            country: address.country.clone(),
            region: address.region.clone(),
            locality: address.locality.clone(),
            street: address.street.clone(),
            postal_code: address.postal_code.clone(),
        }),
        phones: row.phones.clone(),
        occupation: row.occupation.clone(),
        marital_status: marital_status_to_pb(
            MaritalStatus::from_db(&row.marital_status).ok_or(Error::corrupt("marital status"))?,
        )
        .into(),
        language: row.language.clone(),
        contacts: row
            .contacts
            .iter()
            .map(|contact| pb::ContactPerson {
                name: contact.name.clone(),
                relationship: contact.relationship.clone(),
                phone: contact.phone.clone(),
                next_of_kin: contact.next_of_kin,
                companion: contact.companion,
            })
            .collect(),
        insurance_policies: row
            .insurance_policies
            .iter()
            .map(|policy| {
                let rank = match InsuranceRank::from_db(&policy.rank) {
                    Some(InsuranceRank::Primary) => pb::InsuranceRank::Primary,
                    Some(InsuranceRank::Supplementary) => pb::InsuranceRank::Supplementary,
                    None => return Err(Error::corrupt("insurance rank")),
                };
                Ok(pb::InsurancePolicy {
                    insurer: policy.insurer.clone(),
                    number: policy.number.clone(),
                    valid_from: date(policy.valid_from),
                    valid_until: policy.valid_until.map(date).unwrap_or_default(),
                    rank: rank.into(),
                })
            })
            .collect::<Result<_, Error>>()?,
        deceased: row.death_date.is_some(),
        death_date: row.death_date.map(date).unwrap_or_default(),
        confidential: row.confidential,
        unpaid_debt: row.unpaid_debt,
        photo_ref: row.photo_ref.clone(),
        age_years,
        age_months,
        merged_into_id: row.merged_into.map(|id| id.to_string()).unwrap_or_default(),
        update_time: timestamp(row.updated_at),
        restricted: false,
        death_time: row.death_time.and_then(timestamp),
    })
}

/// What a caller without `patients.confidential` sees of a confidential record: that it exists.
pub fn restricted(patient: &pb::Patient) -> pb::Patient {
    pb::Patient {
        id: patient.id.clone(),
        mrn: patient.mrn.clone(),
        confidential: true,
        restricted: true,
        ..Default::default()
    }
}

/// The bytes a version keeps: the record without what depends on the day it is read.
pub fn snapshot(patient: &pb::Patient) -> Vec<u8> {
    pb::Patient {
        age_years: 0,
        age_months: 0,
        ..patient.clone()
    }
    .encode_to_vec()
}

/// The fields people edit, in the order of the message; an update mask names some of them,
/// history and events list the ones a change touched.
macro_rules! editable_fields {
    ($($field:ident),* $(,)?) => {
        pub const UPDATABLE_FIELDS: &[&str] = &[$(stringify!($field)),*];

        /// `current` with the fields named in `paths` taken from `given`.
        pub fn apply_mask(
            current: &pb::Patient,
            given: &pb::Patient,
            paths: &[String],
        ) -> pb::Patient {
            let mut next = current.clone();
            for path in paths {
                match path.as_str() {
                    $(stringify!($field) => next.$field = given.$field.clone(),)*
                    _ => {}
                }
            }
            next
        }

        /// The editable fields whose values differ.
        pub fn changed_fields(old: &pb::Patient, new: &pb::Patient) -> Vec<String> {
            let mut changed = Vec::new();
            $(
                if old.$field != new.$field {
                    changed.push(stringify!($field).to_owned());
                }
            )*
            changed
        }
    };
}

editable_fields!(
    family_name,
    given_names,
    patronymic,
    sex,
    birth_date,
    birth_date_estimated,
    identifiers,
    citizenship,
    address,
    phones,
    occupation,
    marital_status,
    language,
    contacts,
    insurance_policies,
    deceased,
    death_date,
    confidential,
    unpaid_debt,
    photo_ref,
);

/// Checks a repeated field's length; a longer list is one violation, not one per item.
fn bounded<'a, T>(items: &'a [T], max: usize, field: &str, violations: &mut Violations) -> &'a [T] {
    if items.len() > max {
        violations.add(field, format!("must have at most {max} entries"));
        &[]
    } else {
        items
    }
}

/// Parses a whole patient record; every wrong field is reported at once.
pub fn parse_record(
    patient: Option<&pb::Patient>,
    now: DateTime<Utc>,
    violations: &mut Violations,
) -> Option<PatientRecord> {
    let Some(patient) = patient else {
        violations.add("patient", "is required");
        return None;
    };
    let before = violations.len();
    let family_name = violations.check("patient.family_name", Name::parse(&patient.family_name));
    let given_names = violations.check("patient.given_names", Name::parse(&patient.given_names));
    let patronymic = violations.check("patient.patronymic", Line::parse(&patient.patronymic));
    let sex = match pb::Sex::try_from(patient.sex) {
        Ok(pb::Sex::Male) => Some(RecordedSex::Known(Sex::Male)),
        Ok(pb::Sex::Female) => Some(RecordedSex::Known(Sex::Female)),
        Ok(pb::Sex::Unknown) => Some(RecordedSex::Unknown),
        Ok(pb::Sex::Unspecified) => {
            violations.add(
                "patient.sex",
                "is required (UNKNOWN for an unidentified patient)",
            );
            None
        }
        Err(_) => {
            violations.add("patient.sex", "is not a known value");
            None
        }
    };
    let birth_date = violations.check(
        "patient.birth_date",
        parse_birth_date(&patient.birth_date, now),
    );
    // An estimated birth date says nothing a national id could contradict.
    let checked_birth_date = birth_date.filter(|_| !patient.birth_date_estimated);
    let mut identifiers = Vec::new();
    let mut seen = HashSet::new();
    let given_identifiers = bounded(
        &patient.identifiers,
        MAX_IDENTIFIERS,
        "patient.identifiers",
        violations,
    );
    for (index, identifier) in given_identifiers.iter().enumerate() {
        let field = format!("patient.identifiers[{index}]");
        let Some(kind) = parse_identifier_type(identifier.r#type) else {
            violations.add(
                format!("{field}.type"),
                "is required and must be a known type",
            );
            continue;
        };
        if let Some(parsed) = violations.check(
            &format!("{field}.value"),
            Identifier::parse(
                kind,
                &identifier.country,
                &identifier.value,
                checked_birth_date,
                sex,
            ),
        ) {
            if !seen.insert(parsed.clone()) {
                violations.add(format!("{field}.value"), "is given twice");
            } else {
                identifiers.push(parsed);
            }
        }
    }
    let citizenship = violations.check(
        "patient.citizenship",
        optional(&patient.citizenship, parse_country),
    );
    let address = parse_address(patient.address.as_ref(), violations);
    let phones: Vec<Phone> = bounded(&patient.phones, MAX_PHONES, "patient.phones", violations)
        .iter()
        .enumerate()
        .filter_map(|(index, phone)| {
            violations.check(&format!("patient.phones[{index}]"), Phone::parse(phone))
        })
        .collect();
    let occupation = violations.check("patient.occupation", Line::parse(&patient.occupation));
    let marital_status = parse_marital_status(patient.marital_status);
    if marital_status.is_none() {
        violations.add("patient.marital_status", "is not a known value");
    }
    let language = violations.check("patient.language", parse_language(&patient.language));
    let contacts: Vec<Contact> = bounded(
        &patient.contacts,
        MAX_CONTACTS,
        "patient.contacts",
        violations,
    )
    .iter()
    .enumerate()
    .filter_map(|(index, contact)| parse_contact(index, contact, violations))
    .collect();
    let insurance_policies: Vec<InsurancePolicy> = bounded(
        &patient.insurance_policies,
        MAX_POLICIES,
        "patient.insurance_policies",
        violations,
    )
    .iter()
    .enumerate()
    .filter_map(|(index, policy)| parse_policy(index, policy, violations))
    .collect();
    let death_date = match (patient.deceased, patient.death_date.trim().is_empty()) {
        (false, true) => Some(None),
        (true, false) => violations
            .check("patient.death_date", parse_date(&patient.death_date))
            .map(Some),
        (true, true) => {
            violations.add("patient.death_date", "is required when deceased is set");
            None
        }
        (false, false) => {
            violations.add("patient.deceased", "must be set when a death date is given");
            None
        }
    };
    let photo_ref = violations.check("patient.photo_ref", Line::parse(&patient.photo_ref));
    let (
        Some(family_name),
        Some(given_names),
        Some(patronymic),
        Some(sex),
        Some(birth_date),
        Some(citizenship),
        Some(address),
        Some(occupation),
        Some(marital_status),
        Some(language),
        Some(death_date),
        Some(photo_ref),
    ) = (
        family_name,
        given_names,
        patronymic,
        sex,
        birth_date,
        citizenship,
        address,
        occupation,
        marital_status,
        language,
        death_date,
        photo_ref,
    )
    else {
        return None;
    };
    if violations.len() != before {
        return None;
    }
    let record = PatientRecord {
        family_name,
        given_names,
        patronymic,
        sex,
        birth_date,
        birth_date_estimated: patient.birth_date_estimated,
        identifiers,
        citizenship,
        address,
        phones,
        occupation,
        marital_status,
        language,
        contacts,
        insurance_policies,
        death_date,
        confidential: patient.confidential,
        unpaid_debt: patient.unpaid_debt,
        photo_ref,
    };
    let broken = record.check(now.date_naive());
    if broken.is_empty() {
        Some(record)
    } else {
        for (field, reason) in broken {
            violations.add(field, reason);
        }
        None
    }
}

/// An optional value: empty stays empty, anything else must parse.
fn optional(
    value: &str,
    parse: fn(&str) -> Result<String, ParseError>,
) -> Result<String, ParseError> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        parse(value)
    }
}

fn parse_address(address: Option<&pb::Address>, violations: &mut Violations) -> Option<Address> {
    let Some(address) = address else {
        return Some(Address::default());
    };
    let country = violations.check(
        "patient.address.country",
        optional(&address.country, parse_country),
    );
    let region = violations.check("patient.address.region", Line::parse(&address.region));
    let locality = violations.check("patient.address.locality", Line::parse(&address.locality));
    let street = violations.check("patient.address.street", Line::parse(&address.street));
    let postal_code = violations.check(
        "patient.address.postal_code",
        Line::parse(&address.postal_code),
    );
    Some(Address {
        country: country?,
        region: region?,
        locality: locality?,
        street: street?,
        postal_code: postal_code?,
    })
}

fn parse_contact(
    index: usize,
    contact: &pb::ContactPerson,
    violations: &mut Violations,
) -> Option<Contact> {
    let field = format!("patient.contacts[{index}]");
    let name = violations.check(&format!("{field}.name"), Name::parse(&contact.name));
    let relationship = violations.check(
        &format!("{field}.relationship"),
        Line::parse(&contact.relationship),
    );
    let phone = if contact.phone.trim().is_empty() {
        Some(None)
    } else {
        violations
            .check(&format!("{field}.phone"), Phone::parse(&contact.phone))
            .map(Some)
    };
    Some(Contact {
        name: name?,
        relationship: relationship?,
        phone: phone?,
        next_of_kin: contact.next_of_kin,
        companion: contact.companion,
    })
}

fn parse_policy(
    index: usize,
    policy: &pb::InsurancePolicy,
    violations: &mut Violations,
) -> Option<InsurancePolicy> {
    let field = format!("patient.insurance_policies[{index}]");
    let insurer = violations.check(&format!("{field}.insurer"), Name::parse(&policy.insurer));
    let number = violations.check(
        &format!("{field}.number"),
        normalize_document_number(&policy.number),
    );
    let valid_from = violations.check(
        &format!("{field}.valid_from"),
        parse_date(&policy.valid_from),
    );
    let valid_until = if policy.valid_until.trim().is_empty() {
        Some(None)
    } else {
        violations
            .check(
                &format!("{field}.valid_until"),
                parse_date(&policy.valid_until),
            )
            .map(Some)
    };
    let rank = match pb::InsuranceRank::try_from(policy.rank) {
        Ok(pb::InsuranceRank::Primary) => Some(InsuranceRank::Primary),
        Ok(pb::InsuranceRank::Supplementary) => Some(InsuranceRank::Supplementary),
        Ok(pb::InsuranceRank::Unspecified) | Err(_) => {
            violations.add(
                format!("{field}.rank"),
                "is required: PRIMARY or SUPPLEMENTARY",
            );
            None
        }
    };
    let (valid_from, valid_until) = (valid_from?, valid_until?);
    if valid_until.is_some_and(|until| until < valid_from) {
        violations.add(
            format!("{field}.valid_until"),
            "must not be before valid_from",
        );
        return None;
    }
    Some(InsurancePolicy {
        insurer: insurer?,
        number: number?,
        valid_from,
        valid_until,
        rank: rank?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_copy_only_the_named_fields_and_diffs_name_what_changed() {
        let current = pb::Patient {
            family_name: "Rusu".to_owned(),
            given_names: "Ion".to_owned(),
            phones: vec!["022 123 456".to_owned()],
            ..Default::default()
        };
        let given = pb::Patient {
            family_name: "Ignored".to_owned(),
            phones: vec!["069 000 111".to_owned()],
            occupation: "teacher".to_owned(),
            ..Default::default()
        };
        let next = apply_mask(
            &current,
            &given,
            &["phones".to_owned(), "occupation".to_owned()],
        );
        assert_eq!(next.family_name, "Rusu");
        assert_eq!(next.phones, vec!["069 000 111".to_owned()]);
        assert_eq!(
            changed_fields(&current, &next),
            vec!["phones", "occupation"]
        );
        assert!(UPDATABLE_FIELDS.contains(&"insurance_policies"));
        assert!(!UPDATABLE_FIELDS.contains(&"mrn"));
    }
}
