//! Code systems and concepts as the module understands them, parsed at the edge.

use hmis_platform::error::quoted;
use hmis_platform::types::ParseError;

/// A code system's short name: lower-case letters, digits and '-' (`icd10`, `achi`, `atc`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SystemName(String);

impl SystemName {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        let mut chars = value.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !starts_with_letter
            || value.len() < 2
            || value.len() > 32
            || !value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(ParseError::new(
                "must be 2-32 lower-case letters, digits or '-', starting with a letter (icd10)",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A release of a code system (`2019`, `11.0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionName(String);

impl VersionName {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        let first_ok = value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !first_ok
            || value.len() > 32
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(ParseError::new(
                "must be 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// `None` for an empty value: the system's default version.
    pub fn parse_optional(value: &str) -> Result<Option<Self>, ParseError> {
        if value.trim().is_empty() {
            Ok(None)
        } else {
            Self::parse(value).map(Some)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A code as people type it: trimmed, upper-cased (ICD-10 `j18.9` is `J18.9`), no spaces.
pub fn normalize_code(value: &str) -> Result<String, ParseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ParseError::new("must not be empty"));
    }
    if value.len() > 64 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ParseError::new(
            "must be at most 64 characters, without spaces",
        ));
    }
    Ok(value.to_uppercase())
}

/// One concept read from an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedConcept {
    pub code: String,
    pub display: String,
    pub kind: String,
    pub parent_code: Option<String>,
    pub selectable: bool,
}

/// How a code of one version reads in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapRelation {
    Equivalent,
    Broader,
    Narrower,
    Related,
    NotMapped,
}

impl MapRelation {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Equivalent => "equivalent",
            Self::Broader => "broader",
            Self::Narrower => "narrower",
            Self::Related => "related",
            Self::NotMapped => "not_mapped",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        match value.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "equivalent" | "equal" | "" => Ok(Self::Equivalent),
            "broader" | "wider" => Ok(Self::Broader),
            "narrower" | "specializes" => Ok(Self::Narrower),
            "related" | "relatedto" => Ok(Self::Related),
            "not_mapped" | "unmatched" => Ok(Self::NotMapped),
            other => Err(ParseError::new(format!(
                "unknown map relation {}",
                quoted(other)
            ))),
        }
    }
}

/// One line of a map between two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMapping {
    pub from_code: String,
    pub to_code: String,
    pub relation: MapRelation,
}

/// What a text search matches words against: the code and the display, lower-cased.
pub fn search_text(code: &str, display: &str) -> String {
    format!("{} {}", code.to_lowercase(), display.to_lowercase())
}

/// A search query: a code prefix when it looks like one, else the words that must all occur.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    CodePrefix(String),
    Words(Vec<String>),
}

impl Query {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        if value.chars().count() > 200 {
            return Err(ParseError::new("must be at most 200 characters"));
        }
        // A code has a digit and no space: J18, J18.9, A00-A09, 45.3, N02BE01.
        let looks_like_code = !value.contains(' ') && value.chars().any(|c| c.is_ascii_digit());
        if looks_like_code {
            return Ok(Self::CodePrefix(value.to_uppercase()));
        }
        let words = value
            .split_whitespace()
            .map(|word| {
                word.to_lowercase()
                    .replace(['%', '_', '\\'], "")
                    .trim_matches(|c: char| !c.is_alphanumeric())
                    .to_owned()
            })
            .filter(|word| !word.is_empty())
            .collect::<Vec<_>>();
        if words.is_empty() {
            return Err(ParseError::new("must hold a word or a code"));
        }
        Ok(Self::Words(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_with_a_digit_and_no_space_are_code_prefixes() {
        assert_eq!(
            Query::parse(" j18 ").ok(),
            Some(Query::CodePrefix("J18".to_owned()))
        );
        assert_eq!(
            Query::parse("Lobar  pneumonia").ok(),
            Some(Query::Words(vec![
                "lobar".to_owned(),
                "pneumonia".to_owned()
            ]))
        );
        assert_eq!(
            Query::parse("100% pure").ok(),
            Some(Query::Words(vec!["100".to_owned(), "pure".to_owned()])),
            "LIKE wildcards are not the caller's to use"
        );
        assert!(Query::parse("  ").is_err());
        assert!(Query::parse("%%").is_err());
    }

    #[test]
    fn system_and_version_names_are_checked() {
        assert!(SystemName::parse("icd10").is_ok());
        assert!(SystemName::parse("ICD10").is_err());
        assert!(SystemName::parse("1cd").is_err());
        assert!(VersionName::parse("2019").is_ok());
        assert!(VersionName::parse("v 2").is_err());
        assert_eq!(VersionName::parse_optional(" ").ok(), Some(None));
    }

    #[test]
    fn codes_are_upper_cased_and_refused_with_spaces() {
        assert_eq!(normalize_code(" j18.9 ").ok(), Some("J18.9".to_owned()));
        assert!(normalize_code("J18 9").is_err());
        assert!(normalize_code("").is_err());
    }
}
