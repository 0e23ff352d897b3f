//! A patient record, parsed: names, sex, birth date (exact or estimated), identifiers,
//! demographics, contacts, insurance and flags, with the rules that tie fields together.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hmis_platform::types::{Line, Name, ParseError};

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

    pub fn known(&self) -> Option<Sex> {
        match self {
            RecordedSex::Known(sex) => Some(*sex),
            RecordedSex::Unknown => None,
        }
    }
}

/// A birth date: YYYY-MM-DD, not in the future, not before 1880.
pub fn parse_birth_date(value: &str, now: DateTime<Utc>) -> Result<NaiveDate, ParseError> {
    let date = parse_date(value)?;
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
        let country = parse_country(country)?;
        let value = match kind {
            IdentifierType::NationalId => {
                let id = NationalId::parse(&country, value)?;
                id.cross_check(birth_date, sex.and_then(|sex| sex.known()))?;
                id.number().to_owned()
            }
            _ => normalize_document_number(value)?,
        };
        Ok(Self {
            kind,
            country,
            value,
        })
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-cased.
pub fn parse_country(value: &str) -> Result<String, ParseError> {
    let country = value.trim().to_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ParseError::new(
            "country must be an ISO 3166-1 alpha-2 code",
        ));
    }
    Ok(country)
}

/// A language as an ISO 639-1 code, lower-cased; empty when not known.
pub fn parse_language(value: &str) -> Result<String, ParseError> {
    let language = value.trim().to_lowercase();
    if language.is_empty()
        || (language.len() == 2 && language.chars().all(|c| c.is_ascii_lowercase()))
    {
        Ok(language)
    } else {
        Err(ParseError::new(
            "must be an ISO 639-1 code such as ro or ru",
        ))
    }
}

/// A date as YYYY-MM-DD.
pub fn parse_date(value: &str) -> Result<NaiveDate, ParseError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| ParseError::new("must be a date as YYYY-MM-DD"))
}

/// A phone number as dialled: digits with spaces, '+', '-', '.' and parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        let digits = value.chars().filter(char::is_ascii_digit).count();
        if !(3..=20).contains(&digits) || value.chars().count() > 32 {
            return Err(ParseError::new("must have 3 to 20 digits"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'))
        {
            return Err(ParseError::new(
                "may contain only digits, spaces, '+', '-', '.' and parentheses",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaritalStatus {
    #[default]
    Unspecified,
    Single,
    Married,
    Divorced,
    Widowed,
    Separated,
    Partnership,
}

impl MaritalStatus {
    pub fn as_db(&self) -> &'static str {
        match self {
            MaritalStatus::Unspecified => "unspecified",
            MaritalStatus::Single => "single",
            MaritalStatus::Married => "married",
            MaritalStatus::Divorced => "divorced",
            MaritalStatus::Widowed => "widowed",
            MaritalStatus::Separated => "separated",
            MaritalStatus::Partnership => "partnership",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        [
            MaritalStatus::Unspecified,
            MaritalStatus::Single,
            MaritalStatus::Married,
            MaritalStatus::Divorced,
            MaritalStatus::Widowed,
            MaritalStatus::Separated,
            MaritalStatus::Partnership,
        ]
        .into_iter()
        .find(|status| status.as_db() == value)
    }
}

/// Where the patient lives; every part optional (an unidentified patient has none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// ISO 3166-1 alpha-2, or empty.
    pub country: String,
    pub region: Line,
    pub locality: Line,
    pub street: Line,
    pub postal_code: Line,
}

/// Next of kin or a companion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: Name,
    pub relationship: Line,
    pub phone: Option<Phone>,
    pub next_of_kin: bool,
    pub companion: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsuranceRank {
    Primary,
    Supplementary,
}

impl InsuranceRank {
    pub fn as_db(&self) -> &'static str {
        match self {
            InsuranceRank::Primary => "primary",
            InsuranceRank::Supplementary => "supplementary",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "primary" => Some(InsuranceRank::Primary),
            "supplementary" => Some(InsuranceRank::Supplementary),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsurancePolicy {
    pub insurer: Name,
    /// Normalised like an identifier (no spaces or dashes, upper case).
    pub number: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub rank: InsuranceRank,
}

impl InsurancePolicy {
    fn overlaps(&self, other: &InsurancePolicy) -> bool {
        let ends_before = |policy: &InsurancePolicy, start: NaiveDate| {
            policy.valid_until.is_some_and(|until| until < start)
        };
        !ends_before(self, other.valid_from) && !ends_before(other, self.valid_from)
    }
}

/// A document number: separators dropped, upper case, 1 to 32 letters and digits.
pub fn normalize_document_number(value: &str) -> Result<String, ParseError> {
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
    Ok(normalized)
}

/// Limits on repeated parts, so one record stays one screen and one row.
pub const MAX_IDENTIFIERS: usize = 20;
pub const MAX_PHONES: usize = 10;
pub const MAX_CONTACTS: usize = 20;
pub const MAX_POLICIES: usize = 20;

/// A whole patient record as people edit it (everything but the MRN and bookkeeping).
#[derive(Debug, Clone, PartialEq)]
pub struct PatientRecord {
    pub family_name: Name,
    pub given_names: Name,
    pub patronymic: Line,
    pub sex: RecordedSex,
    pub birth_date: NaiveDate,
    pub birth_date_estimated: bool,
    pub identifiers: Vec<Identifier>,
    /// ISO 3166-1 alpha-2, or empty when not known.
    pub citizenship: String,
    pub address: Address,
    pub phones: Vec<Phone>,
    pub occupation: Line,
    pub marital_status: MaritalStatus,
    /// ISO 639-1, or empty.
    pub language: String,
    pub contacts: Vec<Contact>,
    pub insurance_policies: Vec<InsurancePolicy>,
    /// Set when the patient died.
    pub death_date: Option<NaiveDate>,
    pub confidential: bool,
    pub unpaid_debt: bool,
    pub photo_ref: Line,
}

/// A rule that ties fields of a record together was broken: (field, reason).
pub type RecordViolation = (&'static str, &'static str);

impl PatientRecord {
    /// The rules across fields, checked once every field parsed on its own.
    pub fn check(&self, today: NaiveDate) -> Vec<RecordViolation> {
        let mut broken = Vec::new();
        if let Some(death) = self.death_date {
            if death < self.birth_date {
                broken.push(("patient.death_date", "must not be before the birth date"));
            }
            if death > today {
                broken.push(("patient.death_date", "must not be in the future"));
            }
        }
        if self.contacts.iter().filter(|c| c.next_of_kin).count() > 1 {
            broken.push(("patient.contacts", "at most one contact is the next of kin"));
        }
        let primaries: Vec<_> = self
            .insurance_policies
            .iter()
            .filter(|policy| policy.rank == InsuranceRank::Primary)
            .collect();
        let overlapping = primaries.iter().enumerate().any(|(index, policy)| {
            primaries[index + 1..]
                .iter()
                .any(|other| policy.overlaps(other))
        });
        if overlapping {
            broken.push((
                "patient.insurance_policies",
                "primary policies must not be valid at the same time",
            ));
        }
        broken
    }
}

/// Age on `today` in whole years and the months beyond them (0, 0 before birth).
pub fn age_on(birth_date: NaiveDate, today: NaiveDate) -> (i32, i32) {
    if today < birth_date {
        return (0, 0);
    }
    let mut months = (today.year() - birth_date.year()) * 12
        + i32::try_from(today.month()).unwrap_or(0)
        - i32::try_from(birth_date.month()).unwrap_or(0);
    if today.day() < birth_date.day() {
        months -= 1;
    }
    (months / 12, months % 12)
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
    fn ages_count_whole_years_and_months() {
        let born = NaiveDate::from_ymd_opt(1980, 2, 29).expect("valid");
        let on = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid");
        assert_eq!(age_on(born, on(2026, 2, 28)), (45, 11));
        assert_eq!(age_on(born, on(2026, 3, 1)), (46, 0));
        assert_eq!(age_on(on(2026, 10, 15), on(2026, 11, 22)), (0, 1));
        assert_eq!(age_on(on(2026, 10, 25), on(2026, 11, 22)), (0, 0));
    }

    #[test]
    fn phones_and_languages_are_plain() {
        assert!(Phone::parse("+373 (22) 123-456").is_ok());
        assert!(Phone::parse("12").is_err());
        assert!(Phone::parse("call me").is_err());
        assert_eq!(parse_language(" RO "), Ok("ro".to_owned()));
        assert!(parse_language("rum").is_err());
    }

    #[test]
    fn primary_policies_may_not_overlap_and_one_next_of_kin() {
        let on = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid");
        let policy = |from, until, rank| InsurancePolicy {
            insurer: Name::parse("CNAM").expect("valid"),
            number: "A1".to_owned(),
            valid_from: from,
            valid_until: until,
            rank,
        };
        let mut record = PatientRecord {
            family_name: Name::parse("Rusu").expect("valid"),
            given_names: Name::parse("Ion").expect("valid"),
            patronymic: Line::default(),
            sex: RecordedSex::Known(Sex::Male),
            birth_date: on(1980, 1, 1),
            birth_date_estimated: false,
            identifiers: Vec::new(),
            citizenship: String::new(),
            address: Address::default(),
            phones: Vec::new(),
            occupation: Line::default(),
            marital_status: MaritalStatus::Unspecified,
            language: String::new(),
            contacts: Vec::new(),
            insurance_policies: vec![
                policy(
                    on(2024, 1, 1),
                    Some(on(2024, 12, 31)),
                    InsuranceRank::Primary,
                ),
                policy(on(2025, 1, 1), None, InsuranceRank::Primary),
                policy(on(2024, 6, 1), None, InsuranceRank::Supplementary),
            ],
            death_date: None,
            confidential: false,
            unpaid_debt: false,
            photo_ref: Line::default(),
        };
        let today = on(2026, 11, 22);
        assert!(record.check(today).is_empty(), "consecutive primaries");
        record.insurance_policies[0].valid_until = Some(on(2025, 1, 1));
        assert_eq!(
            record.check(today),
            vec![(
                "patient.insurance_policies",
                "primary policies must not be valid at the same time"
            )]
        );
        record.insurance_policies.clear();
        record.death_date = Some(on(1979, 1, 1));
        assert_eq!(record.check(today).len(), 1);
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
