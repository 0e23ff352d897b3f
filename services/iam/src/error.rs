//! IAM's one error type and its mapping to gRPC status codes.

use hmis_platform::Violations;
use hmis_platform::error::{database_status, internal};
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
    /// Wrong user, wrong password, locked, disabled, expired: all look the same to the
    /// caller, so sign-in cannot be used to probe which accounts exist.
    #[error("sign-in failed")]
    SignInFailed,
    #[error("the session has ended; sign in again")]
    SessionEnded,
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("token or password machinery failed: {0}")]
    Crypto(String),
    #[error(transparent)]
    Context(#[from] Status),
    #[error(transparent)]
    Platform(#[from] hmis_platform::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<Violations> for Error {
    fn from(violations: Violations) -> Self {
        Self::InvalidArgument(violations)
    }
}

impl Error {
    /// One wrong field, found once the request was looked at against what is stored.
    pub(crate) fn invalid(field: &str, description: &str) -> Self {
        let mut violations = Violations::default();
        violations.add(field, description);
        Self::InvalidArgument(violations)
    }

    pub(crate) fn duplicate(error: sqlx::Error, what: String) -> Self {
        match hmis_platform::error::DbErrorKind::of(&error) {
            hmis_platform::error::DbErrorKind::UniqueViolation { .. } => Self::AlreadyExists(what),
            _ => Self::Database(error),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violations) => violations.into(),
            Error::SignInFailed | Error::SessionEnded => Status::unauthenticated(error.to_string()),
            Error::NotFound { .. } => Status::not_found(error.to_string()),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::FailedPrecondition(message) => Status::failed_precondition(message),
            Error::Crypto(_) => internal(&error),
            Error::Context(status) => status,
            Error::Platform(error) => error.into(),
            Error::Database(error) => database_status(&error),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
