//! The audit module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use tonic::Status;

/// Reading the trail refuses before any transaction; nothing is refused inside one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Failure(#[from] Failure),
}

hmis_platform::shared_failures!(Error);

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Failure(failure) => failure.into(),
        }
    }
}
