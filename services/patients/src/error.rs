//! The registry's one error type and its mapping to gRPC status codes.

use hmis_platform::Violations;
use hmis_platform::error::database_status;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
    #[error("patient {0} not found")]
    NotFound(String),
    /// An identifier already belongs to a patient; `mrn` tells the desk whom.
    #[error("{kind} {country} {value} already belongs to the patient with MRN {mrn}")]
    IdentifierTaken {
        kind: &'static str,
        country: String,
        value: String,
        mrn: String,
    },
    #[error("stored {0} is not valid")]
    CorruptRow(&'static str),
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

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violations) => violations.into(),
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::IdentifierTaken { .. } => Status::already_exists(error.to_string()),
            Error::CorruptRow(_) => hmis_platform::error::internal(&error),
            Error::Context(status) => status,
            Error::Platform(error) => error.into(),
            Error::Database(error) => database_status(&error),
        }
    }
}
