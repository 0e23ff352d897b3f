//! Core's one error type and its mapping to gRPC status codes.

use hmis_platform::Violations;
use hmis_platform::error::{DbErrorKind, database_status, internal};
use tonic::Status;

use crate::domain::BedRuleError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
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

impl Error {
    /// Turns a unique violation into a clear ALREADY_EXISTS naming what is duplicated.
    pub(crate) fn duplicate(error: sqlx::Error, what: &str) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::UniqueViolation { .. } => Self::AlreadyExists(what.to_owned()),
            _ => Self::Database(error),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidArgument(violations) => violations.into(),
            Error::NotFound { .. } => Status::not_found(error.to_string()),
            Error::AlreadyExists(message) => Status::already_exists(message),
            Error::StaleEtag { .. } => Status::aborted(error.to_string()),
            Error::BedRule(rule) => Status::failed_precondition(rule.to_string()),
            Error::FailedPrecondition(message) => Status::failed_precondition(message),
            Error::CorruptRow(_) => internal(&error),
            Error::Context(status) => status,
            Error::Platform(error) => error.into(),
            Error::Database(error) => database_status(&error),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl hmis_platform::call::CallError for Error {}
