//! The terminology module's one error type and its mapping to gRPC status codes.

use hmis_platform::Violations;
use hmis_platform::error::database_status;
use tonic::Status;

use crate::import::ImportError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
    #[error("{0} not found")]
    NotFound(String),
    #[error("import: {0}")]
    Import(#[from] ImportError),
    /// The caller's context refused (no tenant).
    #[error(transparent)]
    Context(#[from] Status),
    #[error(transparent)]
    Platform(#[from] hmis_platform::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Violations> for Error {
    fn from(violations: Violations) -> Self {
        Self::InvalidArgument(violations)
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violations) => violations.into(),
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::Import(_) => Status::invalid_argument(error.to_string()),
            Error::Context(status) => status,
            Error::Platform(error) => error.into(),
            Error::Database(error) => database_status(&error),
        }
    }
}
