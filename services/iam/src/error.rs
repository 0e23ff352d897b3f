//! IAM's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::internal;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    Failure(#[from] Failure),
}

hmis_platform::shared_failures!(Error);

impl Error {
    pub(crate) fn duplicate(error: sqlx::Error, what: String) -> Self {
        match hmis_platform::error::DbErrorKind::of(&error) {
            hmis_platform::error::DbErrorKind::UniqueViolation { .. } => Self::AlreadyExists(what),
            _ => error.into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::SignInFailed | Error::SessionEnded => Status::unauthenticated(error.to_string()),
            Error::NotFound { .. } => Status::not_found(error.to_string()),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::FailedPrecondition(message) => Status::failed_precondition(message),
            Error::Crypto(_) => internal(&error),
            Error::Failure(failure) => failure.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
