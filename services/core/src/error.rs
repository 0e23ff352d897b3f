//! Core's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

use crate::domain::BedRuleError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("the {what} was changed by someone else; read it again and retry")]
    StaleEtag { what: &'static str },
    #[error(transparent)]
    BedRule(#[from] BedRuleError),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    Failure(#[from] Failure),
}

hmis_platform::shared_failures!(Error);

impl Error {
    /// Turns a unique violation into a clear ALREADY_EXISTS naming what is duplicated.
    pub(crate) fn duplicate(error: sqlx::Error, what: &str) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::UniqueViolation { .. } => Self::AlreadyExists(what.to_owned()),
            _ => error.into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound { .. } => Status::not_found(error.to_string()),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::StaleEtag { .. } => Status::aborted(error.to_string()),
            Error::BedRule(rule) => Status::failed_precondition(rule.to_string()),
            Error::FailedPrecondition(message) => Status::failed_precondition(message),
            Error::Failure(failure) => failure.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
