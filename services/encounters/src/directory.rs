//! What encounters reads from other modules, through their contracts and on behalf of the
//! caller ([`forwarded`]): admissions (the admission an inpatient encounter follows), the bed
//! register (an outpatient clinic's facility), the registry (that a patient exists) and the
//! terminology (that a code may be recorded). Wire types of other modules stay in this file
//! and in `follow.rs`.

use admissions_pb::admission_service_client::AdmissionServiceClient;
use hmis_core_api::{CoreClient, CoreError};
use hmis_patients_api::{PatientsClient, PatientsError};
use hmis_platform::RequestContext;
use hmis_platform::channel::{ServiceChannel, forwarded};
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::terminology::v1 as terminology_pb;
use terminology_pb::terminology_service_client::TerminologyServiceClient;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The channels to the modules encounters reads.
#[derive(Debug, Clone)]
pub struct Channels {
    pub admissions: ServiceChannel,
    pub core: ServiceChannel,
    pub patients: ServiceChannel,
    pub terminology: ServiceChannel,
}

#[derive(Debug, Clone)]
pub struct Directory {
    admissions: AdmissionServiceClient<ServiceChannel>,
    core: CoreClient,
    patients: PatientsClient,
    terminology: TerminologyServiceClient<ServiceChannel>,
}

/// A code checked by the terminology: the version it was checked against and its text.
#[derive(Debug, Clone)]
pub struct CheckedCode {
    pub code: String,
    pub version: String,
    pub display: String,
}

/// A clinic (department) an outpatient encounter takes place in.
#[derive(Debug, Clone)]
pub struct Clinic {
    pub facility_id: Uuid,
    pub active: bool,
}

/// A NOT_FOUND from the other module, said in this call's words (which field named it).
fn not_found(field: &'static str) -> impl Fn(Status) -> Error {
    move |status| {
        if status.code() == Code::NotFound {
            Error::invalid(field, status.message().to_owned())
        } else {
            Error::from(status)
        }
    }
}

impl Directory {
    pub fn new(channels: Channels) -> Self {
        Self {
            admissions: AdmissionServiceClient::new(channels.admissions),
            core: CoreClient::new(channels.core),
            patients: PatientsClient::new(channels.patients),
            terminology: TerminologyServiceClient::new(channels.terminology),
        }
    }

    pub async fn admission(
        &self,
        context: &RequestContext,
        id: Uuid,
    ) -> Result<admissions_pb::Admission> {
        self.admissions
            .clone()
            .get_admission(forwarded(
                context,
                admissions_pb::GetAdmissionRequest { id: id.to_string() },
            ))
            .await
            .map_err(not_found("admission_id"))?
            .into_inner()
            .admission
            .ok_or(Error::corrupt("admission"))
    }

    pub async fn clinic(&self, context: &RequestContext, id: Uuid) -> Result<Clinic> {
        let department = self
            .core
            .department(context, id)
            .await
            .map_err(|error| match error {
                CoreError::Status(status) => not_found("department_id")(status),
                CoreError::Malformed(what) => Error::corrupt(what),
            })?;
        Ok(Clinic {
            facility_id: department.facility_id,
            active: department.active,
        })
    }

    /// That the patient is registered, not merged away, and alive (nothing clinical is opened
    /// for a patient the registry records as deceased).
    pub async fn check_patient(&self, context: &RequestContext, id: Uuid) -> Result<()> {
        let patient = self
            .patients
            .facts(context, id)
            .await
            .map_err(|error| match error {
                PatientsError::Status(status) => not_found("patient_id")(status),
                PatientsError::Malformed(what) => Error::corrupt(what),
            })?;
        match patient.refusal() {
            Some(reason) => Err(Error::precondition(reason)),
            None => Ok(()),
        }
    }

    /// Checks `codes` of `system` against its default version; a code that does not exist,
    /// or may not be recorded (a chapter, a group) unless `groups_allowed`, is refused as an
    /// invalid `field`.
    pub async fn check_codes(
        &self,
        context: &RequestContext,
        system: &str,
        field: &str,
        codes: &[String],
        groups_allowed: bool,
    ) -> Result<Vec<CheckedCode>> {
        let response = self
            .terminology
            .clone()
            .validate_codes(forwarded(
                context,
                terminology_pb::ValidateCodesRequest {
                    system: system.to_owned(),
                    version: String::new(),
                    codes: codes.to_vec(),
                },
            ))
            .await
            .map_err(|status| {
                if status.code() == Code::NotFound {
                    Error::precondition(format!(
                        "the code system {system} is not imported; import it first"
                    ))
                } else {
                    Error::from(status)
                }
            })?
            .into_inner();
        let mut checked = Vec::with_capacity(codes.len());
        for result in response.results {
            let concept = result.concept.unwrap_or_default();
            if !(result.valid || groups_allowed && result.exists) {
                return Err(Error::invalid(
                    field,
                    format!("{} {}", result.code, result.message),
                ));
            }
            checked.push(CheckedCode {
                code: concept.code,
                version: response.version.clone(),
                display: concept.display,
            });
        }
        Ok(checked)
    }
}

impl Directory {
    /// The IANA time zone of a facility (certificate series run by the facility's year).
    pub async fn time_zone(&self, context: &RequestContext, facility_id: Uuid) -> Result<String> {
        Ok(self.core.facility(context, facility_id).await?.time_zone)
    }
}
