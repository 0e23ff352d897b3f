//! The statistics module's one error type and its mapping to gRPC status codes.

use hmis_platform::Violations;
use hmis_platform::error::database_status;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Precondition(String),
    /// A document failed its own schema: a defect of ours, never sent.
    #[error("the report document does not match its schema: {0}")]
    InvalidDocument(String),
    #[error("stored {0} is not valid")]
    CorruptRow(&'static str),
    /// A call to another module's service failed, or the caller's context refused.
    #[error(transparent)]
    Context(#[from] Status),
    #[error(transparent)]
    Platform(#[from] hmis_platform::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// One wrong field, found after the request was parsed.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        let mut violations = Violations::default();
        violations.add(field, description);
        Self::InvalidArgument(violations)
    }
}

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
            Error::Precondition(message) => Status::failed_precondition(message),
            Error::InvalidDocument(_) | Error::CorruptRow(_) => {
                hmis_platform::error::internal(&error)
            }
            Error::Context(status) => status,
            Error::Platform(error) => error.into(),
            Error::Database(error) => database_status(&error),
        }
    }
}

/// A failed read of the bed register: its status as it said it, or a malformed answer.
impl From<hmis_core_api::CoreError> for Error {
    fn from(error: hmis_core_api::CoreError) -> Self {
        match error {
            hmis_core_api::CoreError::Status(status) => Self::Context(status),
            hmis_core_api::CoreError::Malformed(what) => Self::CorruptRow(what),
        }
    }
}
