//! The nursing record's vital signs: the kinds it codes (LOINC, with their UCUM unit and the
//! values a living patient can show) and the parse of one measured value.

use hmis_platform::error::quoted;
use hmis_platform::types::ParseError;

/// A vital sign the nursing record codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignKind {
    pub code: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    /// The accepted range, in hundredths of the unit.
    pub min: i64,
    pub max: i64,
}

/// What the nursing record measures, in the order a chart shows them.
pub const SIGN_KINDS: &[SignKind] = &[
    SignKind {
        code: "8310-5",
        name: "Body temperature",
        unit: "Cel",
        min: 2500,
        max: 4500,
    },
    SignKind {
        code: "8867-4",
        name: "Heart rate",
        unit: "/min",
        min: 1000,
        max: 30000,
    },
    SignKind {
        code: "9279-1",
        name: "Respiratory rate",
        unit: "/min",
        min: 200,
        max: 8000,
    },
    SignKind {
        code: "8480-6",
        name: "Systolic blood pressure",
        unit: "mm[Hg]",
        min: 3000,
        max: 30000,
    },
    SignKind {
        code: "8462-4",
        name: "Diastolic blood pressure",
        unit: "mm[Hg]",
        min: 1000,
        max: 20000,
    },
    SignKind {
        code: "59408-5",
        name: "Oxygen saturation (SpO2)",
        unit: "%",
        min: 3000,
        max: 10000,
    },
    SignKind {
        code: "15074-8",
        name: "Blood glucose",
        unit: "mmol/L",
        min: 50,
        max: 10000,
    },
    SignKind {
        code: "72514-3",
        name: "Pain severity (0-10)",
        unit: "{score}",
        min: 0,
        max: 1000,
    },
    SignKind {
        code: "29463-7",
        name: "Body weight",
        unit: "kg",
        min: 20,
        max: 50000,
    },
    SignKind {
        code: "8302-2",
        name: "Body height",
        unit: "cm",
        min: 2000,
        max: 27000,
    },
];

/// The kind of `code`.
pub fn sign_kind(code: &str) -> Option<&'static SignKind> {
    SIGN_KINDS.iter().find(|kind| kind.code == code.trim())
}

/// Hundredths as the decimal the record keeps ("37.2", "120", "0.05").
pub fn hundredths_to_string(value: i64) -> String {
    let whole = value / 100;
    match value % 100 {
        0 => whole.to_string(),
        part if part % 10 == 0 => format!("{whole}.{}", part / 10),
        part => format!("{whole}.{part:02}"),
    }
}

/// A measured value of `kind`, with at most two decimals ("37,2" is 37.2), within the range a
/// living patient can show; answered as the record keeps it.
pub fn parse_value(kind: &SignKind, value: &str) -> Result<String, ParseError> {
    let text = value.trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |part: &str| {
        !part.is_empty() && part.len() <= 6 && part.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(whole) || (!fraction.is_empty() && (fraction.len() > 2 || !digits(fraction))) {
        return Err(ParseError::new(format!(
            "{} is not a number with at most two decimals",
            quoted(value)
        )));
    }
    let whole: i64 = whole.parse().map_err(|_| ParseError::new("is too large"))?;
    let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    let hundredths = whole * 100 + fraction;
    if hundredths < kind.min || hundredths > kind.max {
        return Err(ParseError::new(format!(
            "{} {} is outside {}-{} {}",
            kind.name,
            hundredths_to_string(hundredths),
            hundredths_to_string(kind.min),
            hundredths_to_string(kind.max),
            kind.unit
        )));
    }
    Ok(hundredths_to_string(hundredths))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_exact_and_within_what_a_patient_can_show() {
        let temperature = sign_kind("8310-5").expect("a coded sign");
        assert_eq!(
            parse_value(temperature, "37,20").expect("a plausible value"),
            "37.2"
        );
        assert_eq!(
            parse_value(temperature, " 38 ").expect("a plausible value"),
            "38"
        );
        assert!(parse_value(temperature, "98.6").is_err());
        assert!(parse_value(temperature, "37.25.1").is_err());
        assert!(parse_value(temperature, "-37").is_err());
        assert!(parse_value(temperature, "37.123").is_err());
        let pain = sign_kind("72514-3").expect("a coded sign");
        assert_eq!(parse_value(pain, "0").expect("a plausible value"), "0");
        assert!(parse_value(pain, "11").is_err());
        let glucose = sign_kind("15074-8").expect("a coded sign");
        assert_eq!(
            parse_value(glucose, "5.05").expect("a plausible value"),
            "5.05"
        );
        assert!(sign_kind("0000-0").is_none());
    }

    #[test]
    fn every_kind_has_a_sensible_range() {
        for kind in SIGN_KINDS {
            assert!(kind.min < kind.max, "{}", kind.code);
        }
    }
}
