//! The registry's one error type and its mapping to gRPC status codes.

use hmis_platform::Failure;
use hmis_proto::openhmis::patients::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use crate::domain::patient::Identifier;

#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// Not a failure: registration stopped to show the desk records that may be the same
    /// person (the transaction rolls back, so the request id stays free).
    #[error("probable duplicates found")]
    ProbableDuplicates(Vec<pb::PatientMatch>),
    /// Not a failure: the update changed nothing, so no version is written.
    #[error("nothing changed")]
    Unchanged(Box<pb::Patient>),
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl Error {
    /// `identifier` belongs to the patient with `mrn` (empty: not known yet; the holder is
    /// looked up after the failed transaction).
    pub(crate) fn identifier_taken(
        identifier: &Identifier,
        mrn: String,
        unpaid_debt: bool,
    ) -> Self {
        Self::IdentifierTaken {
            kind: identifier.kind.as_db(),
            country: identifier.country.clone(),
            value: identifier.value.clone(),
            mrn,
            unpaid_debt,
        }
    }
}

hmis_platform::shared_failures!(Error);

/// The facility register could not be read (a death's date is cut in its zone).
impl From<hmis_core_api::CoreError> for Error {
    fn from(error: hmis_core_api::CoreError) -> Self {
        Failure::from(error).into()
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(_) => Status::not_found(error.to_string()),
            Error::IdentifierTaken { .. } => Status::already_exists(error.to_string()),
            Error::Stale => Status::aborted(error.to_string()),
            Error::MergedAway(_) | Error::Precondition(_) | Error::ProbableDuplicates(_) => {
                Status::failed_precondition(error.to_string())
            }
            Error::Unchanged(_) => hmis_platform::error::internal(&error),
            Error::Failure(failure) => failure.into(),
        }
    }
}
