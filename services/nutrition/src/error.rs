//! The nutrition module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("a diet with that code already exists")]
    DietExists,
    #[error("a recipe with that code already exists")]
    RecipeExists,
    #[error("the patient already has that restriction")]
    RestrictionExists,
    /// diet_orders_one_at_a_time refused: an order begins later than the new one.
    #[error("the patient has a diet ordered from a later time; order from then or after it")]
    DietOverlaps,
    /// The day's issue was recorded already.
    #[error("the day's ingredients were issued already")]
    AlreadyIssued,
    #[error("{0}")]
    Precondition(String),
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

/// The database's refusals that are nutrition's rules, by constraint.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::ExclusionViolation { constraint }
                if constraint.as_deref() == Some("diet_orders_one_at_a_time") =>
            {
                Self::DietOverlaps
            }
            DbErrorKind::UniqueViolation { constraint } => match constraint.as_deref() {
                Some("diets_code_unique") => Self::DietExists,
                Some("recipes_code_unique") => Self::RecipeExists,
                Some("restrictions_once") => Self::RestrictionExists,
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
            Error::DietExists | Error::RecipeExists | Error::RestrictionExists => {
                Status::already_exists(error.to_string())
            }
            Error::DietOverlaps | Error::AlreadyIssued | Error::Precondition(_) => {
                Status::failed_precondition(error.to_string())
            }
            Error::Failure(failure) => failure.into(),
        }
    }
}
