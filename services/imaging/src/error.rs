//! Imaging's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the {0} changed since it was read (stale etag); read it again")]
    Stale(&'static str),
    #[error("{0} already exists")]
    Exists(&'static str),
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

/// The database's refusals that are imaging's rules, by constraint.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::UniqueViolation { constraint } => match constraint.as_deref() {
                Some("rooms_code_unique") => Self::Exists("a room with that code"),
                Some("exams_study_unique") => {
                    Self::Exists("an examination with that study instance UID")
                }
                Some("reports_one_draft" | "reports_one_signed") => Self::precondition(
                    "another report of that examination was written at the same time; read it again",
                ),
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
            Error::Exists(_) => Status::already_exists(error.to_string()),
            Error::Precondition(_) => Status::failed_precondition(error.to_string()),
            Error::Stale(_) => Status::aborted(error.to_string()),
            Error::Failure(failure) => failure.into(),
        }
    }
}
