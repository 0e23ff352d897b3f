//! The encounters module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use uuid::Uuid;

use crate::domain::safety::Warning;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("the {0} changed since it was read (stale etag); read it again")]
    Stale(&'static str),
    #[error("{0}")]
    Precondition(String),
    /// The safety check found severe warnings and nobody overrode them.
    #[error("{} severe prescribing warning(s); prescribe something else or override with a reason", .warnings.iter().filter(|w| w.is_severe()).count())]
    Blocked {
        warnings: Vec<Warning>,
        patient: Uuid,
    },
    #[error(transparent)]
    Failure(#[from] Failure),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::Precondition(message.into())
    }
}

hmis_platform::shared_failures!(Error, own database, own refusals);

/// The database's refusals that are business rules become their own variants, by constraint.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::UniqueViolation { constraint } => match constraint.as_deref() {
                Some("diagnoses_one_principal") => Self::precondition(
                    "the encounter already has a principal diagnosis; record this one as secondary",
                ),
                Some("medicines_code_unique") => {
                    Self::AlreadyExists("a medicine with this code".to_owned())
                }
                Some("administrations_one_per_dose") => Self::precondition(
                    "this scheduled dose was already recorded (given, refused or held)",
                ),
                Some("interaction_rules_pair_unique") => {
                    Self::AlreadyExists("a rule for this pair".to_owned())
                }
                _ => Failure::Database(error).into(),
            },
            _ => Failure::Database(error).into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::AlreadyExists(_) => Status::already_exists(error.to_string()),
            Error::Precondition(_) => Status::failed_precondition(error.to_string()),
            Error::Blocked { ref warnings, .. } => {
                // Each warning travels as a google.rpc.PreconditionFailure violation, so a
                // client can show them without parsing the message.
                let mut details = ErrorDetails::new();
                for warning in warnings {
                    details.add_precondition_failure_violation(
                        warning.kind.to_uppercase(),
                        warning.severity.clone(),
                        warning.message.clone(),
                    );
                }
                Status::with_error_details(Code::FailedPrecondition, error.to_string(), details)
            }
            Error::Stale(_) => Status::aborted(error.to_string()),
            Error::Failure(failure) => failure.into(),
        }
    }
}

/// Refusals and blocked prescriptions found inside a call are put on record once its
/// transaction rolled back.
impl hmis_platform::call::CallError for Error {
    fn refusal(&self) -> Option<hmis_platform::call::Refusal> {
        match self {
            Error::Failure(failure) => failure.refusal(),
            Error::Blocked { patient, .. } => Some(hmis_platform::call::Refusal {
                outcome: Code::FailedPrecondition,
                patients: vec![*patient],
            }),
            _ => None,
        }
    }
}

/// A failed read of the bed register: its status as it said it, or a malformed answer.
impl From<hmis_core_api::CoreError> for Error {
    fn from(error: hmis_core_api::CoreError) -> Self {
        Failure::from(error).into()
    }
}
