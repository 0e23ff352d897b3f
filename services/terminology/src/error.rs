//! The terminology module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use tonic::Status;

use crate::import::ImportError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    #[error("import: {0}")]
    Import(#[from] ImportError),
    #[error(transparent)]
    Failure(#[from] Failure),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

hmis_platform::shared_failures!(Error);

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::Import(_) => Status::invalid_argument(error.to_string()),
            Error::Failure(failure) => failure.into(),
        }
    }
}
