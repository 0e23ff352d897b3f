//! The registry's one error type and its mapping to gRPC status codes.

use hmis_platform::Violations;
use hmis_platform::error::database_status;
use hmis_proto::openhmis::patients::v1 as pb;
use tonic::Status;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
    #[error("patient {0} not found")]
    NotFound(String),
    /// An identifier already belongs to a patient; `mrn` tells the desk whom.
    #[error(
        "{kind} {country} {value} already belongs to the patient with MRN {mrn}{}",
        if *unpaid_debt { " (warning: unpaid debt)" } else { "" }
    )]
    IdentifierTaken {
        kind: &'static str,
        country: String,
        value: String,
        mrn: String,
        unpaid_debt: bool,
    },
    #[error("the patient changed since it was read (stale etag); read it again")]
    Stale,
    #[error("the patient was merged into {0}; change that record instead")]
    MergedAway(Uuid),
    #[error("{0}")]
    Precondition(&'static str),
    /// The caller may not do this to these patients; the refusal is audited after the
    /// transaction that found it out rolled back.
    #[error("refused: {}", .status.message())]
    Refused { status: Status, patients: Vec<Uuid> },
    /// Not a failure: registration stopped to show the desk records that may be the same
    /// person (the transaction rolls back, so the request id stays free).
    #[error("probable duplicates found")]
    ProbableDuplicates(Vec<pb::PatientMatch>),
    /// Not a failure: the update changed nothing, so no version is written.
    #[error("nothing changed")]
    Unchanged(Box<pb::Patient>),
    #[error("stored {0} is not valid")]
    CorruptRow(&'static str),
    /// The facility register could not be read (a death's date is cut in its zone).
    #[error("the facility register: {0}")]
    Core(#[from] hmis_core_api::CoreError),
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
            Error::Stale => Status::aborted(error.to_string()),
            Error::MergedAway(_) | Error::Precondition(_) | Error::ProbableDuplicates(_) => {
                Status::failed_precondition(error.to_string())
            }
            Error::Refused { status, .. } => status,
            Error::Unchanged(_) | Error::CorruptRow(_) => hmis_platform::error::internal(&error),
            Error::Context(status) => status,
            Error::Core(hmis_core_api::CoreError::Status(status)) => status,
            Error::Core(error) => hmis_platform::error::internal(&error),
            Error::Platform(error) => error.into(),
            Error::Database(error) => database_status(&error),
        }
    }
}

/// Refusals found inside a call are put on record once its transaction rolled back.
impl hmis_platform::call::CallError for Error {
    fn refusal(&self) -> Option<hmis_platform::call::Refusal> {
        match self {
            Error::Refused { status, patients } => Some(hmis_platform::call::Refusal {
                outcome: status.code(),
                patients: patients.clone(),
            }),
            _ => None,
        }
    }
}
