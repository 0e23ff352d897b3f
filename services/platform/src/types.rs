//! Value types shared by modules, each parsed at the edge: a constructor that checks is the
//! only way in, so a value of the type is valid wherever it travels.

use std::fmt;

/// Why a value was refused; the text goes to the client as the field violation's description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// A short machine code people also type: `ICU-2`, `cardiology`, `MD`. Case is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    pub const MAX_LEN: usize = 32;

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(ParseError::new(format!(
                "must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ParseError::new(
                "may contain only letters, digits, '-', '_' and '.'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A calendar date on the wire, "YYYY-MM-DD" (the modules that take dates share the
/// wording of the refusal).
pub fn parse_date(value: &str) -> Result<chrono::NaiveDate, ParseError> {
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| ParseError::new("must be a date, YYYY-MM-DD"))
}

/// A human-readable one-line name: trimmed, not empty, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    pub const MAX_LEN: usize = 200;

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        Text::check(value, Self::MAX_LEN, false)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An optional one-line value (a patronymic, an occupation, a street): may be empty; trimmed,
/// at most 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Line(String);

impl Line {
    pub const MAX_LEN: usize = Name::MAX_LEN;

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        Text::check(value, Self::MAX_LEN, false)?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Optional free text (an address, a description): may be empty, may span lines, bounded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(String);

impl Text {
    pub const MAX_LEN: usize = 2000;

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        Self::check(value, Self::MAX_LEN, true)?;
        Ok(Self(value.to_owned()))
    }

    /// Like [`Text::parse`], for text people must give (a reason for a merge, an undo).
    pub fn parse_required(value: &str) -> Result<Self, ParseError> {
        let text = Self::parse(value)?;
        if text.0.is_empty() {
            return Err(ParseError::new("is required"));
        }
        Ok(text)
    }

    fn check(value: &str, max_len: usize, multiline: bool) -> Result<(), ParseError> {
        if value.chars().count() > max_len {
            return Err(ParseError::new(format!(
                "must be at most {max_len} characters"
            )));
        }
        let allowed_control = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
        if value.chars().any(|c| c.is_control() && !allowed_control(c)) {
            return Err(ParseError::new("must not contain control characters"));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The version of an aggregate people edit, sent to clients as an opaque etag. An update
/// names the version it was based on; a stale one is refused (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(i64);

impl Version {
    pub const FIRST: Version = Version(1);

    pub fn from_db(value: i64) -> Self {
        Self(value)
    }

    pub fn parse_etag(etag: &str) -> Result<Self, ParseError> {
        let digits = etag.trim().trim_start_matches("W/").trim_matches('"');
        match digits.parse::<i64>() {
            Ok(value) if value >= 1 => Ok(Self(value)),
            _ if etag.trim().is_empty() => {
                Err(ParseError::new("is required: send the etag you last read"))
            }
            _ => Err(ParseError::new("is not an etag this server issued")),
        }
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", self.0)
    }

    pub fn get(&self) -> i64 {
        self.0
    }
}

/// A resource id from the wire: required, and a UUID.
pub fn parse_uuid(value: &str) -> Result<uuid::Uuid, ParseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ParseError::new("is required"));
    }
    uuid::Uuid::parse_str(value).map_err(|_| ParseError::new("must be a UUID"))
}

/// Declares a UUID newtype for a resource id, parsed from the wire with [`ParseError`].
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            pub fn generate() -> Self {
                Self(::uuid::Uuid::now_v7())
            }

            pub fn from_uuid(id: ::uuid::Uuid) -> Self {
                Self(id)
            }

            pub fn parse(value: &str) -> Result<Self, $crate::types::ParseError> {
                $crate::types::parse_uuid(value).map(Self)
            }

            pub fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_and_plain() {
        assert_eq!(Code::parse(" ICU-2 ").map(|c| c.0), Ok("ICU-2".to_owned()));
        assert!(Code::parse("").is_err());
        assert!(Code::parse("two words").is_err());
        assert!(Code::parse(&"x".repeat(33)).is_err());
        assert!(Code::parse("Ș").is_err());
    }

    #[test]
    fn names_refuse_empty_and_control_characters() {
        assert!(Name::parse("  ").is_err());
        assert!(Name::parse("Ward\u{0007}").is_err());
        assert!(Name::parse("Secția Cardiologie").is_ok());
        assert!(Name::parse(&"n".repeat(201)).is_err());
        assert!(Text::parse("line one\nline two").is_ok());
        assert!(Text::parse("").is_ok());
        assert!(Text::parse_required("  ").is_err());
        assert_eq!(
            Text::parse_required(" duplicate record ").map(|t| t.0),
            Ok("duplicate record".to_owned())
        );
    }

    #[test]
    fn ids_are_required_uuids() {
        assert_eq!(parse_uuid(""), Err(ParseError::new("is required")));
        assert_eq!(parse_uuid("x"), Err(ParseError::new("must be a UUID")));
        let id = uuid::Uuid::now_v7();
        assert_eq!(parse_uuid(&format!(" {id} ")), Ok(id));
    }

    #[test]
    fn etags_round_trip_and_refuse_garbage() {
        let version = Version::from_db(42);
        assert_eq!(Version::parse_etag(&version.etag()), Ok(version));
        assert_eq!(Version::parse_etag("W/\"42\""), Ok(version));
        assert!(Version::parse_etag("").is_err());
        assert!(Version::parse_etag("\"0\"").is_err());
        assert!(Version::parse_etag("abc").is_err());
    }
}
