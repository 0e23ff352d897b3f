//! The statistics module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Precondition(String),
    /// A document failed its own schema: a defect of ours, never sent.
    #[error("the report document does not match its schema: {0}")]
    InvalidDocument(String),
    #[error(transparent)]
    Failure(#[from] Failure),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

hmis_platform::shared_failures!(Error);

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::Precondition(message) => Status::failed_precondition(message),
            Error::InvalidDocument(_) => hmis_platform::error::internal(&error),
            Error::Failure(failure) => failure.into(),
        }
    }
}

/// A failed read of the bed register: its status as it said it, or a malformed answer.
impl From<hmis_core_api::CoreError> for Error {
    fn from(error: hmis_core_api::CoreError) -> Self {
        Failure::from(error).into()
    }
}
