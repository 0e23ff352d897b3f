//! The inventory module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::amount::Amount;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The stock in hand does not cover a movement: said by the allocation, or by the
    /// database's `balances_never_negative` when a race got there first.
    #[error("{}", match (.item, .available) {
        (Some(item), Some(available)) => format!(
            "not enough {item} in stock: {requested} asked, {available} in hand (unexpired)",
            requested = .requested.map(|r| r.to_string()).unwrap_or_default()),
        (Some(item), None) => format!("no {item} in stock (unexpired)"),
        _ => "not enough stock in hand".to_owned(),
    })]
    InsufficientStock {
        item: Option<String>,
        requested: Option<Amount>,
        available: Option<Amount>,
    },
    #[error("{0}")]
    Precondition(String),
    #[error(transparent)]
    Failure(#[from] Failure),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

hmis_platform::shared_failures!(Error, own database);

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::CheckViolation { constraint }
                if constraint.as_deref() == Some("balances_never_negative") =>
            {
                Self::InsufficientStock {
                    item: None,
                    requested: None,
                    available: None,
                }
            }
            DbErrorKind::CheckViolation { constraint }
                if constraint.as_deref() == Some("requisition_lines_not_oversupplied") =>
            {
                Self::Precondition("more than the requisition asks for".into())
            }
            DbErrorKind::UniqueViolation { constraint } => match constraint.as_deref() {
                Some("items_code_unique") => Self::AlreadyExists("an item with this code".into()),
                Some("warehouses_code_unique") => {
                    Self::AlreadyExists("a warehouse with this code".into())
                }
                _ => Failure::Database(error).into(),
            },
            _ => Failure::Database(error).into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::AlreadyExists(_) => Status::already_exists(error.to_string()),
            Error::InsufficientStock { .. } | Error::Precondition(_) => {
                Status::failed_precondition(error.to_string())
            }
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
