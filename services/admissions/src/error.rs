//! The admissions module's one error type and its mapping to gRPC status codes.

use hmis_platform::Violations;
use hmis_platform::error::{DbErrorKind, database_status};
use tonic::Status;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
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
    /// The caller may not do this to this patient; the refusal is audited after the
    /// transaction that found it out rolled back.
    #[error("refused: {}", .status.message())]
    Refused { status: Status, patients: Vec<Uuid> },
    #[error("stored {0} is not valid")]
    CorruptRow(&'static str),
    /// A call to another module's service failed; its status goes to the caller as it is.
    #[error(transparent)]
    Context(#[from] Status),
    #[error(transparent)]
    Platform(#[from] hmis_platform::Error),
    #[error("database: {0}")]
    Database(sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::Precondition(message.into())
    }
}

impl From<Violations> for Error {
    fn from(violations: Violations) -> Self {
        Self::InvalidArgument(violations)
    }
}

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
            _ => Self::Database(error),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violations) => violations.into(),
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::BedTaken | Error::AlreadyAdmitted | Error::Precondition(_) => {
                Status::failed_precondition(error.to_string())
            }
            Error::Stale => Status::aborted(error.to_string()),
            Error::Refused { status, .. } => status,
            Error::CorruptRow(_) => hmis_platform::error::internal(&error),
            Error::Context(status) => status,
            Error::Platform(error) => error.into(),
            Error::Database(error) => database_status(&error),
        }
    }
}

/// Refusals found inside a call are put on record once its transaction rolled back.
impl hmis_platform::call::CallError for Error {
    fn refusal(&self) -> Option<hmis_platform::call::Refusal> {
        match self {
            Error::Refused { status, patients } => Some(hmis_platform::call::Refusal {
                outcome: status.code(),
                patients: patients.clone(),
            }),
            _ => None,
        }
    }
}
