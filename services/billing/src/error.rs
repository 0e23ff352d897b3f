//! The billing module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// price_lists_no_overlap refused.
    #[error("another price list is valid during that period")]
    PriceListsOverlap,
    /// coverages_one_per_kind refused.
    #[error("the patient already has a policy of that kind during that period")]
    CoverageOverlaps,
    /// contracts_payer_code_unique refused.
    #[error("a contract with that payer code already exists")]
    ContractExists,
    /// shifts_one_open_per_cashier refused.
    #[error("you already have an open shift; close it first")]
    ShiftAlreadyOpen,
    /// payments_refund_within_amount refused.
    #[error("that would refund more than was paid")]
    RefundTooLarge,
    /// remittances_reference_once refused.
    #[error("a remittance with that reference was already recorded for that insurer")]
    RemittanceRecorded,
    #[error("the {0} changed since it was read (stale etag); read it again")]
    Stale(&'static str),
    #[error("{0}")]
    Precondition(String),
    /// A payment confirmation applied before: the use case answers with that payment.
    #[error("that payment confirmation was already applied")]
    AlreadyApplied(Box<hmis_proto::openhmis::billing::v1::Payment>),
    #[error(transparent)]
    Failure(#[from] Failure),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::Precondition(message.into())
    }
}

hmis_platform::shared_failures!(Error, own database);

/// The database's refusals that are billing's rules, by constraint.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::ExclusionViolation { constraint } => match constraint.as_deref() {
                Some("price_lists_no_overlap") => Self::PriceListsOverlap,
                Some("coverages_one_per_kind") => Self::CoverageOverlaps,
                _ => Failure::Database(error).into(),
            },
            DbErrorKind::UniqueViolation { constraint } => match constraint.as_deref() {
                Some("contracts_payer_code_unique") => Self::ContractExists,
                Some("shifts_one_open_per_cashier") => Self::ShiftAlreadyOpen,
                Some("remittances_reference_once") => Self::RemittanceRecorded,
                _ => Failure::Database(error).into(),
            },
            DbErrorKind::CheckViolation { constraint }
                if constraint.as_deref() == Some("payments_refund_within_amount") =>
            {
                Self::RefundTooLarge
            }
            _ => Failure::Database(error).into(),
        }
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::ContractExists | Error::AlreadyApplied(_) => {
                Status::already_exists(error.to_string())
            }
            Error::PriceListsOverlap
            | Error::CoverageOverlaps
            | Error::ShiftAlreadyOpen
            | Error::RemittanceRecorded
            | Error::RefundTooLarge
            | Error::Precondition(_) => Status::failed_precondition(error.to_string()),
            Error::Stale(_) => Status::aborted(error.to_string()),
            Error::Failure(failure) => failure.into(),
        }
    }
}
