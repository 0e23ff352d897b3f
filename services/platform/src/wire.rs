//! Conversions between protobuf well-known types and domain values, for every module's
//! `grpc.rs` (the only place wire types may appear).

use chrono::{DateTime, Utc};
use prost_types::{FieldMask, Timestamp};

use crate::Violations;
use crate::types::ParseError;

/// A time for a message field (message fields of well-known types are optional in prost).
pub fn timestamp(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

/// An optional time from a request; a set field must be a real instant.
pub fn parse_timestamp(value: Option<&Timestamp>) -> Result<Option<DateTime<Utc>>, ParseError> {
    let Some(value) = value else {
        return Ok(None);
    };
    u32::try_from(value.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos))
        .map(Some)
        .ok_or_else(|| ParseError::new("is not a valid time"))
}

/// The paths of an update's field mask, each checked against what the resource lets callers
/// change; a missing or empty mask is a violation (an update must say what it changes).
pub fn mask_paths(
    mask: Option<&FieldMask>,
    allowed: &[&str],
    violations: &mut Violations,
) -> Vec<String> {
    let paths = mask.map(|mask| mask.paths.clone()).unwrap_or_default();
    if paths.is_empty() {
        violations.add(
            "update_mask",
            format!("is required; updatable fields: {}", allowed.join(", ")),
        );
    }
    for path in &paths {
        if !allowed.contains(&path.as_str()) {
            violations.add(
                "update_mask",
                format!(
                    "{path} cannot be updated; updatable fields: {}",
                    allowed.join(", ")
                ),
            );
        }
    }
    paths
}

pub fn masked(paths: &[String], field: &str) -> bool {
    paths.iter().any(|path| path == field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_nonsense_is_refused() {
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_000).expect("valid");
        assert_eq!(parse_timestamp(timestamp(at).as_ref()), Ok(Some(at)));
        assert_eq!(parse_timestamp(None), Ok(None));
        let negative_nanos = Timestamp {
            seconds: 1,
            nanos: -5,
        };
        assert!(parse_timestamp(Some(&negative_nanos)).is_err());
    }
}
