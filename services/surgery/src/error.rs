//! The surgery module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// operations_one_per_theatre refused.
    #[error("the theatre is already booked at that time")]
    TheatreTaken,
    /// operation_team_one_place refused.
    #[error("a member of the team is already booked in another operation at that time")]
    PersonTaken,
    /// operations_one_per_patient refused.
    #[error("the patient already has an operation booked at that time")]
    PatientTaken,
    #[error("the theatre already has a session at that time")]
    SessionOverlaps,
    #[error("a theatre with that code or room already exists")]
    TheatreExists,
    #[error("the {0} changed since it was read (stale etag); read it again")]
    Stale(&'static str),
    #[error("{0}")]
    Precondition(String),
    #[error(transparent)]
    Failure(#[from] Failure),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::Precondition(message.into())
    }
}

hmis_platform::shared_failures!(Error, own database);

/// The database's refusals that are the operating block's rules, by constraint.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::ExclusionViolation { constraint } => match constraint.as_deref() {
                Some("operations_one_per_theatre") => Self::TheatreTaken,
                Some("operation_team_one_place") => Self::PersonTaken,
                Some("operations_one_per_patient") => Self::PatientTaken,
                Some("theatre_sessions_no_overlap") => Self::SessionOverlaps,
                _ => Failure::Database(error).into(),
            },
            DbErrorKind::UniqueViolation { constraint }
                if matches!(
                    constraint.as_deref(),
                    Some("theatres_one_per_room" | "theatres_code_unique")
                ) =>
            {
                Self::TheatreExists
            }
            _ => Failure::Database(error).into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::TheatreExists => Status::already_exists(error.to_string()),
            Error::TheatreTaken
            | Error::PersonTaken
            | Error::PatientTaken
            | Error::SessionOverlaps
            | Error::Precondition(_) => Status::failed_precondition(error.to_string()),
            Error::Stale(_) => Status::aborted(error.to_string()),
            Error::Failure(failure) => failure.into(),
        }
    }
}
