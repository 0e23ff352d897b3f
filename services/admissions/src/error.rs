//! The admissions module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    /// The exclusion constraint on stays refused: someone else is in (or holds) the bed.
    #[error("the bed is occupied or reserved by another admission at that time")]
    BedTaken,
    /// The one-open-admission index refused.
    #[error("the patient already has an open admission")]
    AlreadyAdmitted,
    #[error("the admission changed since it was read (stale etag); read it again")]
    Stale,
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

/// The database's refusals that are business rules become their own variants, by constraint.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::ExclusionViolation { constraint }
                if constraint.as_deref() == Some("stays_one_per_bed") =>
            {
                Self::BedTaken
            }
            DbErrorKind::UniqueViolation { constraint }
                if constraint.as_deref() == Some("admissions_one_open_per_patient") =>
            {
                Self::AlreadyAdmitted
            }
            _ => Failure::Database(error).into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::BedTaken | Error::AlreadyAdmitted | Error::Precondition(_) => {
                Status::failed_precondition(error.to_string())
            }
            Error::Stale => Status::aborted(error.to_string()),
            Error::Failure(failure) => failure.into(),
        }
    }
}
