//! What the operating block reads from other modules, through their contracts and on behalf
//! of the caller: the register (a theatre's room and department, a facility's time zone), the
//! registry (that a patient may be operated on), admissions (that an inpatient's admission is
//! open and is theirs) and the terminology (that a procedure code exists). Wire types of other
//! modules stay in this file.

use admissions_pb::admission_service_client::AdmissionServiceClient;
use hmis_core_api::{CoreClient, CoreError, DepartmentKind};
use hmis_patients_api::{PatientsClient, PatientsError};
use hmis_platform::RequestContext;
use hmis_platform::channel::{ServiceChannel, forwarded};
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::terminology::v1 as terminology_pb;
use inventory_pb::inventory_service_client::InventoryServiceClient;
use terminology_pb::terminology_service_client::TerminologyServiceClient;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::error::{Error, Result};

/// How long a facility's time zone or a department read from the register is used again:
/// they change rarely, and the day's theatre list would otherwise read the facility in a
/// transaction of its own on every call. A block closed within this time may still be read
/// as open.
const REFERENCE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The code system planned procedures are coded in.
pub const PROCEDURE_SYSTEM: &str = "achi";

/// The channels to the modules surgery reads.
#[derive(Debug, Clone)]
pub struct Channels {
    pub admissions: ServiceChannel,
    pub core: ServiceChannel,
    pub inventory: ServiceChannel,
    pub patients: ServiceChannel,
    pub terminology: ServiceChannel,
}

#[derive(Debug, Clone)]
pub struct Directory {
    admissions: AdmissionServiceClient<ServiceChannel>,
    inventory: InventoryServiceClient<ServiceChannel>,
    core: CoreClient,
    patients: PatientsClient,
    terminology: TerminologyServiceClient<ServiceChannel>,
}

/// A room of an operating-block department, where a theatre may be.
#[derive(Debug, Clone)]
pub struct TheatreRoom {
    pub facility_id: Uuid,
    pub department_id: Uuid,
}

/// A procedure code as the terminology knows it.
#[derive(Debug, Clone)]
pub struct Procedure {
    pub code: String,
    pub display: String,
}

/// A NOT_FOUND from the other module, said in this call's words (which field named it).
fn not_found(field: &'static str) -> impl Fn(Status) -> Error {
    move |status| {
        if status.code() == Code::NotFound {
            Error::invalid(field, "was not found")
        } else {
            Error::from(status)
        }
    }
}

fn core_error(field: &'static str) -> impl Fn(CoreError) -> Error {
    move |error| match error {
        CoreError::Status(status) => not_found(field)(status),
        CoreError::Malformed(what) => Error::corrupt(what),
    }
}

impl Directory {
    pub fn new(channels: Channels) -> Self {
        Self {
            admissions: AdmissionServiceClient::new(channels.admissions),
            inventory: InventoryServiceClient::new(channels.inventory),
            core: CoreClient::remembering(channels.core, REFERENCE_TTL),
            patients: PatientsClient::new(channels.patients),
            terminology: TerminologyServiceClient::new(channels.terminology),
        }
    }

    /// The room `room_id`, which must be an active room of an operating-block department.
    pub async fn theatre_room(
        &self,
        context: &RequestContext,
        room_id: Uuid,
    ) -> Result<TheatreRoom> {
        let room = (self.core.room(context, room_id).await).map_err(core_error("room_id"))?;
        let department = (self.core.department(context, room.department_id).await)
            .map_err(core_error("room_id"))?;
        if department.kind != DepartmentKind::OperatingBlock {
            return Err(Error::invalid(
                "room_id",
                "is not a room of an operating-block department",
            ));
        }
        if !room.active || !department.active {
            return Err(Error::invalid("room_id", "is closed"));
        }
        Ok(TheatreRoom {
            facility_id: department.facility_id,
            department_id: department.id,
        })
    }

    /// The IANA time zone of a facility (the theatre list's day is cut in it).
    pub async fn time_zone(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<chrono_tz::Tz> {
        let facility =
            (self.core.facility(context, facility_id).await).map_err(core_error("facility_id"))?;
        facility.zone().ok_or(Error::corrupt("facility time zone"))
    }

    /// That the patient is registered, not merged away, and alive.
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

    /// That `admission_id` is the patient's open admission.
    pub async fn check_admission(
        &self,
        context: &RequestContext,
        admission_id: Uuid,
        patient_id: Uuid,
    ) -> Result<()> {
        let admission = self
            .admissions
            .clone()
            .get_admission(forwarded(
                context,
                admissions_pb::GetAdmissionRequest {
                    id: admission_id.to_string(),
                },
            ))
            .await
            .map_err(not_found("admission_id"))?
            .into_inner()
            .admission
            .ok_or(Error::corrupt("admission"))?;
        if admission.patient_id != patient_id.to_string() {
            return Err(Error::invalid(
                "admission_id",
                "is not the patient's admission",
            ));
        }
        if admission.status != admissions_pb::AdmissionStatus::Admitted as i32 {
            return Err(Error::precondition("the admission is not open"));
        }
        Ok(())
    }

    /// Issues `lines` (item, quantity) from `warehouse_id` to the patient through the
    /// inventory ledger, as the operation's consumption; `request_id` makes a retry find the
    /// issue it made. The movements made: (movement, item, quantity).
    pub async fn issue_to_patient(
        &self,
        context: &RequestContext,
        request_id: String,
        (warehouse_id, patient_id, operation_id): (Uuid, Uuid, Uuid),
        lines: &[(Uuid, String)],
    ) -> Result<Vec<(Uuid, Uuid, String)>> {
        let response = self
            .inventory
            .clone()
            .issue_stock(forwarded(
                context,
                inventory_pb::IssueStockRequest {
                    request_id,
                    warehouse_id: warehouse_id.to_string(),
                    patient_id: patient_id.to_string(),
                    department_id: String::new(),
                    document_type: "operation".to_owned(),
                    document_id: operation_id.to_string(),
                    lines: (lines.iter())
                        .map(|(item, quantity)| inventory_pb::ItemQuantity {
                            item_id: item.to_string(),
                            quantity: quantity.clone(),
                            lot_id: String::new(),
                        })
                        .collect(),
                },
            ))
            .await
            .map_err(not_found("warehouse_id"))?
            .into_inner();
        let parse = |value: &str| Uuid::parse_str(value).map_err(|_| Error::corrupt("movement"));
        (response.movements.iter())
            .map(|movement| {
                Ok((
                    parse(&movement.id)?,
                    parse(&movement.item_id)?,
                    movement.quantity.clone(),
                ))
            })
            .collect()
    }

    /// The procedures `codes` as the terminology knows them; a code that does not exist or is
    /// a chapter is refused as an invalid `field`.
    pub async fn procedures(
        &self,
        context: &RequestContext,
        field: &'static str,
        codes: &[String],
    ) -> Result<Vec<Procedure>> {
        let response = self
            .terminology
            .clone()
            .validate_codes(forwarded(
                context,
                terminology_pb::ValidateCodesRequest {
                    system: PROCEDURE_SYSTEM.to_owned(),
                    version: String::new(),
                    codes: codes.to_vec(),
                },
            ))
            .await
            .map_err(|status| {
                if status.code() == Code::NotFound {
                    Error::precondition(format!(
                        "the code system {PROCEDURE_SYSTEM} is not imported; import it first"
                    ))
                } else {
                    Error::from(status)
                }
            })?
            .into_inner();
        let mut procedures = Vec::with_capacity(codes.len());
        for result in response.results {
            if !result.valid {
                return Err(Error::invalid(
                    field,
                    format!(
                        "{} {}",
                        hmis_platform::error::quoted(&result.code),
                        result.message
                    ),
                ));
            }
            let concept = result.concept.unwrap_or_default();
            procedures.push(Procedure {
                code: concept.code,
                display: concept.display,
            });
        }
        Ok(procedures)
    }
}
