//! What admissions reads from other modules, through their api crates: wards and beds from
//! the bed register (`hmis-core-api`), patients from the registry (`hmis-patients-api`), and
//! through the terminology's contract that an admitting diagnosis exists in ICD-10. Each
//! call is made on behalf of the caller
//! ([`forwarded`]), so the other module authorizes and
//! audits the same person. The clients run over a [`ServiceChannel`]: in-process today, a
//! network channel once a module runs elsewhere.

use std::collections::HashMap;
use std::time::Duration;

use billing_pb::billing_service_client::BillingServiceClient;
use hmis_core_api::{CoreClient, CoreError, DepartmentKind};
use hmis_patients_api::{Newborn, PatientFacts, PatientsClient, PatientsError, Sex};
use hmis_platform::RequestContext;
use hmis_platform::Violations;
use hmis_platform::channel::{ServiceChannel, forwarded};
use hmis_proto::openhmis::billing::v1 as billing_pb;
use hmis_proto::openhmis::imaging::v1 as imaging_pb;
use hmis_proto::openhmis::laboratory::v1 as laboratory_pb;
use hmis_proto::openhmis::terminology::v1 as terminology_pb;
use imaging_pb::imaging_service_client::ImagingServiceClient;
use laboratory_pb::laboratory_service_client::LaboratoryServiceClient;
use terminology_pb::terminology_service_client::TerminologyServiceClient;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::domain::PatientSex;
use crate::error::{Error, Result};

/// A department as admissions needs it.
#[derive(Debug, Clone)]
pub struct Ward {
    pub id: Uuid,
    pub facility_id: Uuid,
    pub name: String,
    pub kind: WardKind,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WardKind {
    /// Wards and intensive care take inpatients.
    Inpatient,
    Emergency,
    /// Anything else (outpatient, pharmacy, laboratory...): no admissions.
    Other,
}

/// A bed of the register.
pub use hmis_core_api::Bed;

/// A patient as admissions needs it.
#[derive(Debug, Clone)]
pub struct Patient {
    pub id: Uuid,
    pub sex: PatientSex,
    pub deceased: bool,
    pub merged_into: Option<Uuid>,
    /// Nothing is recorded before it (when the registry knows it).
    pub birth_date: Option<chrono::NaiveDate>,
    /// The registry's flag for bills left unpaid: the desk is warned.
    pub unpaid_debt: bool,
}

#[derive(Debug, Clone)]
pub struct Directory {
    core: CoreClient,
    patients: PatientsClient,
    terminology: TerminologyServiceClient<ServiceChannel>,
    laboratory: LaboratoryServiceClient<ServiceChannel>,
    imaging: ImagingServiceClient<ServiceChannel>,
    billing: BillingServiceClient<ServiceChannel>,
}

/// The channels to the modules admissions reads.
#[derive(Debug, Clone)]
pub struct Channels {
    /// `openhmis.core.v1.FacilityService` (wards, beds, facilities).
    pub core: ServiceChannel,
    /// The registry.
    pub patients: ServiceChannel,
    /// `openhmis.terminology.v1.TerminologyService` (admitting diagnoses).
    pub terminology: ServiceChannel,
    /// `openhmis.laboratory.v1.LaboratoryService` (results awaited at discharge).
    pub laboratory: ServiceChannel,
    /// `openhmis.imaging.v1.ImagingService` (reports awaited at discharge).
    pub imaging: ServiceChannel,
    /// `openhmis.billing.v1.BillingService` (the stay's unpaid balance).
    pub billing: ServiceChannel,
}

/// An order still awaited, as the worklist says it: what it asked for and where it stands
/// ("Troponin I, Complete blood count (received)"), from its wire status name.
fn waiting<'a>(names: impl Iterator<Item = &'a str>, status: &str) -> String {
    let names: Vec<&str> = names.collect();
    let stage = status
        .split_once("_STATUS_")
        .map_or(status, |(_, stage)| stage)
        .to_lowercase()
        .replace('_', " ");
    format!("{} ({stage})", names.join(", "))
}

/// The orders awaited, if any.
fn awaited(orders: impl Iterator<Item = String>) -> Option<Vec<String>> {
    let orders: Vec<String> = orders.collect();
    (!orders.is_empty()).then_some(orders)
}

/// Something that still holds a discharge up, as the module that knows it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Laboratory orders without their final results: each order's tests and status.
    LaboratoryResults(Vec<String>),
    /// Imaging orders without a signed report.
    ImagingReports(Vec<String>),
    /// What the patient owes on the stay's account.
    UnpaidBalance(String),
    /// The module refused the caller or did not answer (its name, and why).
    Unknown(&'static str, &'static str),
}

/// The terminology's name of ICD-10.
const ICD10: &str = "icd10";

/// How long a ward or a facility's time zone read from the register is used again. They
/// change rarely (a ward renamed or closed, a zone corrected), and reading them cost two
/// transactions per admission; a ward closed within this time may still take an admission.
const REFERENCE_TTL: Duration = Duration::from_secs(30);

/// A NOT_FOUND from the other module, said in this call's words (which field named it).
fn not_found(what: &str) -> impl Fn(Status) -> Error + '_ {
    move |status| {
        if status.code() == Code::NotFound {
            Error::NotFound(what.to_owned())
        } else {
            Error::from(status)
        }
    }
}

/// A failed call to the registry, said in this call's words.
fn patients_failed(what: &str) -> impl Fn(PatientsError) -> Error + '_ {
    move |error| match error {
        PatientsError::Status(status) => not_found(what)(status),
        PatientsError::Malformed(what) => Error::corrupt(what),
    }
}

/// A failed read of the register, said in this call's words.
fn core_failed(what: &str) -> impl Fn(CoreError) -> Error + '_ {
    move |error| match error {
        CoreError::Status(status) => not_found(what)(status),
        CoreError::Malformed(what) => Error::corrupt(what),
    }
}

impl Directory {
    pub fn new(channels: Channels) -> Self {
        Self {
            core: CoreClient::remembering(channels.core, REFERENCE_TTL),
            patients: PatientsClient::new(channels.patients),
            terminology: TerminologyServiceClient::new(channels.terminology),
            laboratory: LaboratoryServiceClient::new(channels.laboratory),
            imaging: ImagingServiceClient::new(channels.imaging),
            billing: BillingServiceClient::new(channels.billing),
        }
    }

    /// What still holds up the discharge of `patient_id`'s stay `admission_id`, asked of the
    /// laboratory, imaging and billing on the caller's behalf, all three at once.
    pub async fn discharge_holds(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        admission_id: Uuid,
    ) -> Vec<Hold> {
        let unknown = |module: &'static str, status: &Status| {
            Hold::Unknown(
                module,
                if status.code() == Code::PermissionDenied {
                    "not visible to you"
                } else {
                    "did not answer"
                },
            )
        };
        let admission = admission_id.to_string();
        let laboratory = async {
            let orders = self
                .laboratory
                .clone()
                .list_patient_orders(forwarded(
                    context,
                    laboratory_pb::ListPatientOrdersRequest {
                        patient_id: patient_id.to_string(),
                    },
                ))
                .await;
            match orders {
                Err(status) => Some(unknown("laboratory", &status)),
                Ok(orders) => awaited(orders.into_inner().orders.iter().filter_map(|order| {
                    let status = laboratory_pb::OrderStatus::try_from(order.status).ok()?;
                    let done = matches!(
                        status,
                        laboratory_pb::OrderStatus::Final | laboratory_pb::OrderStatus::Cancelled
                    );
                    let tests = order.tests.iter().map(|test| test.name.as_str());
                    (order.admission_id == admission && !done)
                        .then(|| waiting(tests, status.as_str_name()))
                }))
                .map(Hold::LaboratoryResults),
            }
        };
        let imaging = async {
            let orders = self
                .imaging
                .clone()
                .list_patient_orders(forwarded(
                    context,
                    imaging_pb::ListPatientOrdersRequest {
                        patient_id: patient_id.to_string(),
                    },
                ))
                .await;
            match orders {
                Err(status) => Some(unknown("imaging", &status)),
                Ok(orders) => awaited(orders.into_inner().orders.iter().filter_map(|order| {
                    let status = imaging_pb::ExamStatus::try_from(order.status).ok()?;
                    let done = matches!(
                        status,
                        imaging_pb::ExamStatus::Final | imaging_pb::ExamStatus::Cancelled
                    );
                    let services = order.exams.iter().map(|exam| exam.service_name.as_str());
                    (order.admission_id == admission && !done)
                        .then(|| waiting(services, status.as_str_name()))
                }))
                .map(Hold::ImagingReports),
            }
        };
        let billing = async {
            let account = self
                .billing
                .clone()
                .get_account(forwarded(
                    context,
                    billing_pb::GetAccountRequest {
                        account_id: String::new(),
                        admission_id: admission.clone(),
                    },
                ))
                .await;
            match account {
                // No account for the stay: nothing is owed on it.
                Err(status) if status.code() == Code::NotFound => None,
                Err(status) => Some(unknown("billing", &status)),
                Ok(account) => {
                    let balance = account
                        .into_inner()
                        .account
                        .map(|account| account.balance)
                        .unwrap_or_default();
                    let owed = balance.trim();
                    let positive = !owed.is_empty()
                        && !owed.starts_with('-')
                        && owed.chars().any(|c| c.is_ascii_digit() && c != '0');
                    positive.then(|| Hold::UnpaidBalance(owed.to_owned()))
                }
            }
        };
        let (laboratory, imaging, billing) = tokio::join!(laboratory, imaging, billing);
        [laboratory, imaging, billing]
            .into_iter()
            .flatten()
            .collect()
    }

    /// The ICD-10 text of `code`, checked against the tenant's default version: a code it does
    /// not have, or may not be recorded (a chapter, a block), is refused naming `field`.
    pub async fn diagnosis(
        &self,
        context: &RequestContext,
        field: &'static str,
        code: &str,
    ) -> Result<String> {
        let response = self
            .terminology
            .clone()
            .validate_codes(forwarded(
                context,
                terminology_pb::ValidateCodesRequest {
                    system: ICD10.to_owned(),
                    version: String::new(),
                    codes: vec![code.to_owned()],
                },
            ))
            .await
            .map_err(|status| {
                if status.code() == Code::NotFound {
                    Error::precondition("ICD-10 is not imported for this hospital; import it first")
                } else {
                    Error::from(status)
                }
            })?
            .into_inner();
        let Some(result) = response.results.into_iter().next() else {
            return Err(Error::corrupt("terminology answer without its code"));
        };
        if !result.valid {
            let mut violations = Violations::default();
            violations.add(field, format!("{code} {}", result.message));
            return Err(Error::from(violations));
        }
        Ok(result
            .concept
            .map(|concept| concept.display)
            .unwrap_or_default())
    }

    /// A department of the register (read again at most every 30 s).
    pub async fn ward(&self, context: &RequestContext, id: Uuid) -> Result<Ward> {
        let department = self
            .core
            .department(context, id)
            .await
            .map_err(core_failed(&format!("department {id}")))?;
        let kind = match department.kind {
            DepartmentKind::Ward | DepartmentKind::IntensiveCare => WardKind::Inpatient,
            DepartmentKind::Emergency => WardKind::Emergency,
            _ => WardKind::Other,
        };
        Ok(Ward {
            id,
            facility_id: department.facility_id,
            name: department.name,
            kind,
            active: department.active,
        })
    }

    /// The IANA time zone of a facility (the admission year is the facility's).
    pub async fn time_zone(&self, context: &RequestContext, facility_id: Uuid) -> Result<String> {
        Ok(self
            .core
            .facility(context, facility_id)
            .await
            .map_err(core_failed(&format!("facility {facility_id}")))?
            .time_zone)
    }

    pub async fn bed(&self, context: &RequestContext, id: Uuid) -> Result<Bed> {
        self.core
            .bed(context, id)
            .await
            .map_err(core_failed(&format!("bed {id}")))
    }

    /// Every bed of a ward, in the register's order (room, then bed code).
    pub async fn beds_of(&self, context: &RequestContext, department_id: Uuid) -> Result<Vec<Bed>> {
        self.core
            .beds_of(context, department_id)
            .await
            .map_err(core_failed(&format!("department {department_id}")))
    }

    /// The codes of a ward's rooms, by room id.
    pub async fn room_codes(
        &self,
        context: &RequestContext,
        department_id: Uuid,
    ) -> Result<HashMap<Uuid, String>> {
        self.core
            .room_codes(context, department_id)
            .await
            .map_err(core_failed(&format!("department {department_id}")))
    }

    pub async fn room_code(&self, context: &RequestContext, room_id: Uuid) -> Result<String> {
        self.core
            .room_code(context, room_id)
            .await
            .map_err(core_failed(&format!("room {room_id}")))
    }

    /// What admitting checks of a patient, read from the registry (which audits the read
    /// under the caller).
    pub async fn patient(&self, context: &RequestContext, id: Uuid) -> Result<Patient> {
        let facts = self.facts(context, id).await?;
        let sex = match facts.sex {
            Sex::Male => PatientSex::Male,
            Sex::Female => PatientSex::Female,
            Sex::Unknown => PatientSex::Unknown,
        };
        Ok(Patient {
            id,
            sex,
            deceased: facts.deceased,
            merged_into: facts.merged_into,
            birth_date: facts.birth_date,
            unpaid_debt: facts.unpaid_debt,
        })
    }

    /// A patient's family name (a newborn's default), read from the registry.
    pub async fn family_name(&self, context: &RequestContext, id: Uuid) -> Result<String> {
        Ok(self.facts(context, id).await?.family_name)
    }

    async fn facts(&self, context: &RequestContext, id: Uuid) -> Result<PatientFacts> {
        self.patients
            .facts(context, id)
            .await
            .map_err(patients_failed(&format!("patient {id}")))
    }

    /// Registers a newborn in the registry and returns its id. `request_id` is derived from
    /// the admitting call's, so a retried admission finds the record its first try made.
    pub async fn register_newborn(
        &self,
        context: &RequestContext,
        request_id: String,
        newborn: &Newborn,
    ) -> Result<Uuid> {
        // Twins share a birth date and a family name; the mother's admission is what
        // identifies them, not a duplicate check.
        self.patients
            .register_newborn(context, request_id, newborn)
            .await
            .map_err(|error| match error {
                PatientsError::Status(status) => Error::from(status),
                PatientsError::Malformed(what) => Error::corrupt(what),
            })
    }
}
