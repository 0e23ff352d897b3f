//! The statistics module's one error type and its mapping to gRPC status codes.

use hmis_platform::Violations;
use hmis_platform::error::database_status;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
    #[error("stored {0} is not valid")]
    CorruptRow(&'static str),
    /// A call to another module's service failed, or the caller's context refused.
    #[error(transparent)]
    Context(#[from] Status),
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
            Error::CorruptRow(_) => hmis_platform::error::internal(&error),
            Error::Context(status) => status,
            Error::Database(error) => database_status(&error),
        }
    }
}
