//! A patient to register, parsed: names, sex, birth date (exact or estimated), identifiers.

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::types::{Name, ParseError, Text};

use super::Sex;
use super::national_id::NationalId;

/// Sex as recorded, including "not known yet" for unidentified patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedSex {
    Known(Sex),
    Unknown,
}

impl RecordedSex {
    pub fn as_db(&self) -> &'static str {
        match self {
            RecordedSex::Known(Sex::Male) => "male",
            RecordedSex::Known(Sex::Female) => "female",
            RecordedSex::Unknown => "unknown",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "male" => Some(RecordedSex::Known(Sex::Male)),
            "female" => Some(RecordedSex::Known(Sex::Female)),
            "unknown" => Some(RecordedSex::Unknown),
            _ => None,
        }
    }

    fn known(&self) -> Option<Sex> {
        match self {
            RecordedSex::Known(sex) => Some(*sex),
            RecordedSex::Unknown => None,
        }
    }
}

/// A birth date: YYYY-MM-DD, not in the future, not before 1880.
pub fn parse_birth_date(value: &str, now: DateTime<Utc>) -> Result<NaiveDate, ParseError> {
    let date = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| ParseError::new("must be a date as YYYY-MM-DD"))?;
    if date > now.date_naive() {
        return Err(ParseError::new("must not be in the future"));
    }
    if date < NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(NaiveDate::MIN) {
        return Err(ParseError::new("must not be before 1880"));
    }
    Ok(date)
}

/// The kinds of identifier the registry keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierType {
    NationalId,
    Passport,
    DrivingLicence,
    InsuranceNumber,
}

impl IdentifierType {
    pub fn as_db(&self) -> &'static str {
        match self {
            IdentifierType::NationalId => "national_id",
            IdentifierType::Passport => "passport",
            IdentifierType::DrivingLicence => "driving_licence",
            IdentifierType::InsuranceNumber => "insurance_number",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "national_id" => Some(IdentifierType::NationalId),
            "passport" => Some(IdentifierType::Passport),
            "driving_licence" => Some(IdentifierType::DrivingLicence),
            "insurance_number" => Some(IdentifierType::InsuranceNumber),
            _ => None,
        }
    }
}

/// An identifier, normalised (and for national ids, checked by the country's rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identifier {
    pub kind: IdentifierType,
    pub country: String,
    pub value: String,
}

impl Identifier {
    /// Parses one identifier; a national id is checked against the birth date and sex the
    /// record gives (an estimated birth date is not checked).
    pub fn parse(
        kind: IdentifierType,
        country: &str,
        value: &str,
        birth_date: Option<NaiveDate>,
        sex: Option<RecordedSex>,
    ) -> Result<Self, ParseError> {
        let country = country.trim().to_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(ParseError::new(
                "country must be an ISO 3166-1 alpha-2 code",
            ));
        }
        let value = match kind {
            IdentifierType::NationalId => {
                let id = NationalId::parse(&country, value)?;
                id.cross_check(birth_date, sex.and_then(|sex| sex.known()))?;
                id.number().to_owned()
            }
            _ => {
                let normalized: String = value
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
                    .flat_map(char::to_uppercase)
                    .collect();
                if normalized.is_empty() || normalized.chars().count() > 32 {
                    return Err(ParseError::new("must have 1 to 32 characters"));
                }
                if !normalized.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(ParseError::new("may contain only letters and digits"));
                }
                normalized
            }
        };
        Ok(Self {
            kind,
            country,
            value,
        })
    }
}

/// A patient ready to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPatient {
    pub family_name: Name,
    pub given_names: Name,
    pub patronymic: Text,
    pub sex: RecordedSex,
    pub birth_date: NaiveDate,
    pub birth_date_estimated: bool,
    pub identifiers: Vec<Identifier>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_are_real_and_not_in_the_future() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid");
        assert!(parse_birth_date("1980-02-29", now).is_ok());
        assert!(parse_birth_date("1981-02-29", now).is_err());
        assert!(parse_birth_date("2026-11-23", now).is_err());
        assert!(parse_birth_date("1850-01-01", now).is_err());
        assert!(parse_birth_date("22.11.1980", now).is_err());
    }

    #[test]
    fn identifiers_are_normalised_and_national_ids_cross_checked() {
        let passport = Identifier::parse(IdentifierType::Passport, "md", "ab-123 456", None, None)
            .expect("passport");
        assert_eq!(
            (passport.country.as_str(), passport.value.as_str()),
            ("MD", "AB123456")
        );
        let born = NaiveDate::from_ymd_opt(1970, 1, 16);
        let female = Some(RecordedSex::Known(Sex::Female));
        assert!(
            Identifier::parse(
                IdentifierType::NationalId,
                "RO",
                "2700116065277",
                born,
                female
            )
            .is_ok()
        );
        let male = Some(RecordedSex::Known(Sex::Male));
        assert!(
            Identifier::parse(
                IdentifierType::NationalId,
                "RO",
                "2700116065277",
                born,
                male
            )
            .is_err()
        );
        assert!(
            Identifier::parse(
                IdentifierType::NationalId,
                "RO",
                "2700116065277",
                born,
                Some(RecordedSex::Unknown)
            )
            .is_ok(),
            "unknown sex contradicts nothing"
        );
        assert!(Identifier::parse(IdentifierType::Passport, "Moldova", "X1", None, None).is_err());
    }
}
