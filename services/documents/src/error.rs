//! The archive's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Precondition(String),
    /// The object store holding content did not answer (the call may be tried again).
    #[error("{0}")]
    Unavailable(String),
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

/// The database's refusals that are the archive's rules, by constraint.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::ForeignKeyViolation { constraint }
                if constraint
                    .as_deref()
                    .is_some_and(|name| name.contains("kind_code")) =>
            {
                Self::invalid("kind_code", "is not a kind of document of the archive")
            }
            DbErrorKind::CheckViolation { constraint }
                if constraint.as_deref() == Some("documents_deleted_when_due") =>
            {
                Self::precondition(
                    "the document is kept until its retention ends and while a hold is on it",
                )
            }
            _ => Failure::Database(error).into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::Precondition(_) => Status::failed_precondition(error.to_string()),
            Error::Unavailable(_) => Status::unavailable(error.to_string()),
            Error::Failure(failure) => failure.into(),
        }
    }
}
