//! The scheduling module's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_platform::error::DbErrorKind;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// slots_within_capacity refused.
    #[error("the slot is full")]
    SlotFull,
    /// appointments_one_per_patient refused.
    #[error("the patient already has an appointment at that time")]
    PatientTaken,
    /// appointments_one_per_referral refused.
    #[error("the referral is already booked")]
    ReferralBooked,
    /// tickets_one_per_appointment or tickets_one_waiting_per_patient refused.
    #[error("the patient is already checked in")]
    AlreadyCheckedIn,
    /// waiting_list_one_per_patient refused.
    #[error("the patient is already on the clinic's waiting list")]
    AlreadyWaiting,
    #[error("a clinic with that code already exists")]
    ClinicExists,
    #[error("the {0} changed since it was read (stale etag); read it again")]
    Stale(&'static str),
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

/// The database's refusals that are the booking office's rules, by constraint.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match DbErrorKind::of(&error) {
            DbErrorKind::CheckViolation { constraint }
                if constraint.as_deref() == Some("slots_within_capacity") =>
            {
                Self::SlotFull
            }
            DbErrorKind::ExclusionViolation { constraint }
                if constraint.as_deref() == Some("appointments_one_per_patient") =>
            {
                Self::PatientTaken
            }
            DbErrorKind::UniqueViolation { constraint } => match constraint.as_deref() {
                Some("appointments_one_per_referral") => Self::ReferralBooked,
                Some("tickets_one_per_appointment" | "tickets_one_waiting_per_patient") => {
                    Self::AlreadyCheckedIn
                }
                Some("clinics_code_unique") => Self::ClinicExists,
                Some("waiting_list_one_per_patient") => Self::AlreadyWaiting,
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
            Error::ClinicExists => Status::already_exists(error.to_string()),
            Error::SlotFull
            | Error::PatientTaken
            | Error::ReferralBooked
            | Error::AlreadyCheckedIn
            | Error::AlreadyWaiting
            | Error::Precondition(_) => Status::failed_precondition(error.to_string()),
            Error::Stale(_) => Status::aborted(error.to_string()),
            Error::Failure(failure) => failure.into(),
        }
    }
}
