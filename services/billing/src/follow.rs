//! The events billing charges from, read into [`Captured`] facts and handed to the capture
//! use case (`app/capture.rs`): the registry (a patient's sex and birth date, for DRG
//! grouping), admissions (the account follows its admission; bed-days at
//! discharge, reversed when undone; everything reversed when cancelled; emergency visits),
//! encounters (procedures), surgery (completed operations), inventory (stock issued to a
//! patient or back from one), scheduling (outpatient visits as they end, registration fees
//! at check-in where priced) and nutrition (patients' meals where a diet is priced, taken
//! back with an amendment). Idempotent: each charge names the fact it charges.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use hmis_platform::RequestContext;
use hmis_platform::amount::Amount;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_platform::wire::parse_timestamp;
use hmis_proto::events::admissions::{
    ADMISSION_CANCELLED, DISCHARGE_UNDONE, EMERGENCY_VISIT_CLOSED, PATIENT_DISCHARGED, admission_of,
};
use hmis_proto::events::encounters::{DIAGNOSIS_RECORDED, PROCEDURE_RECORDED, REFERRAL_CREATED};
use hmis_proto::events::inventory::PATIENT_STOCK_MOVED;
use hmis_proto::events::nutrition::{MEAL_ORDER_AMENDED, MEAL_ORDER_SENT};
use hmis_proto::events::patients::PATIENT_CHANGED;
use hmis_proto::events::scheduling::{PATIENT_CHECKED_IN, VISIT_COMPLETED};
use hmis_proto::events::surgery::OPERATION_COMPLETED;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::nutrition::v1 as nutrition_pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use hmis_proto::openhmis::scheduling::v1 as scheduling_pb;
use hmis_proto::openhmis::surgery::v1 as surgery_pb;
use uuid::Uuid;

use crate::app::{Admission, Billing, Captured, MealLine, StayPeriod};
use crate::store::AdmissionFacts;

#[derive(Debug, Clone, Copy)]
enum Source {
    Patients,
    Admissions,
    Encounters,
    Surgery,
    Inventory,
    Scheduling,
    Nutrition,
}

#[derive(Debug)]
struct Follower {
    billing: Arc<Billing>,
    source: Source,
}

/// The subscriptions that capture charges, one per publishing module.
pub(crate) fn subscriptions(billing: &Arc<Billing>) -> Vec<Subscription> {
    [
        ("patients", Source::Patients),
        ("admissions", Source::Admissions),
        ("encounters", Source::Encounters),
        ("surgery", Source::Surgery),
        ("inventory", Source::Inventory),
        ("scheduling", Source::Scheduling),
        ("nutrition", Source::Nutrition),
    ]
    .into_iter()
    .map(|(module, source)| Subscription {
        source: module,
        subscriber: format!("billing.charges_from_{module}"),
        handler: Arc::new(Follower {
            billing: billing.clone(),
            source,
        }),
    })
    .collect()
}

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("an event's {what} is not valid"))
}

fn id(value: &str, what: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| invalid(what))
}

fn optional_id(value: &str, what: &str) -> Result<Option<Uuid>, HandlerError> {
    if value.is_empty() {
        Ok(None)
    } else {
        id(value, what).map(Some)
    }
}

fn time(
    value: Option<&prost_types::Timestamp>,
    what: &str,
) -> Result<Option<DateTime<Utc>>, HandlerError> {
    parse_timestamp(value).map_err(|_| invalid(what))
}

fn admission(admission: &admissions_pb::Admission) -> Result<Admission, HandlerError> {
    let version = Version::parse_etag(&admission.etag)
        .map_err(|_| invalid("etag"))?
        .get();
    let discharge_time = match &admission.discharge {
        Some(discharge) => time(discharge.discharge_time.as_ref(), "discharge time")?,
        None => None,
    };
    let stays = (admission.stays.iter())
        .map(|stay| {
            Ok(StayPeriod {
                id: id(&stay.id, "stay id")?,
                department_id: id(&stay.department_id, "stay department")?,
                start: time(stay.start_time.as_ref(), "stay start")?
                    .ok_or_else(|| invalid("stay start"))?,
                end: time(stay.end_time.as_ref(), "stay end")?,
            })
        })
        .collect::<Result<Vec<_>, HandlerError>>()?;
    let discharge_type = admission
        .discharge
        .as_ref()
        .map(|discharge| discharge.r#type);
    Ok(Admission {
        expired: discharge_type == Some(admissions_pb::DischargeType::Deceased as i32),
        transferred: discharge_type == Some(admissions_pb::DischargeType::Transferred as i32),
        facts: AdmissionFacts {
            admission_id: id(&admission.id, "admission id")?,
            patient_id: id(&admission.patient_id, "patient id")?,
            version,
            facility_id: id(&admission.facility_id, "facility id")?,
            physician_id: optional_id(&admission.admitting_physician_id, "physician id")?,
            admit_time: time(admission.admit_time.as_ref(), "admit time")?
                .ok_or_else(|| invalid("admit time"))?,
            discharge_time,
            cancelled: admission.status == admissions_pb::AdmissionStatus::Cancelled as i32,
        },
        stays,
    })
}

fn from_admissions(event: &Event) -> Result<Option<Captured>, HandlerError> {
    if event.event_type == EMERGENCY_VISIT_CLOSED {
        let closed: admissions_pb::EmergencyVisitClosed =
            event.decode().map_err(HandlerError::new)?;
        let visit = closed.visit.ok_or_else(|| invalid("visit"))?;
        return Ok(Some(Captured::EmergencyVisit {
            visit_id: id(&visit.id, "visit id")?,
            patient_id: id(&visit.patient_id, "patient id")?,
            admission_id: optional_id(&visit.admission_id, "admission id")?,
            at: time(visit.arrival_time.as_ref(), "arrival time")?.unwrap_or(event.occurred_at),
            department_id: id(&visit.department_id, "department id")?,
        }));
    }
    let Some(carried) =
        admission_of(&event.event_type, &event.payload).map_err(HandlerError::new)?
    else {
        return Ok(None);
    };
    let admission = admission(&carried)?;
    Ok(Some(match event.event_type.as_str() {
        PATIENT_DISCHARGED => Captured::Discharged(admission),
        DISCHARGE_UNDONE => Captured::DischargeUndone(admission),
        ADMISSION_CANCELLED => Captured::AdmissionCancelled(admission),
        _ => Captured::AdmissionChanged(admission),
    }))
}

fn from_patients(event: &Event) -> Result<Option<Captured>, HandlerError> {
    if event.event_type != PATIENT_CHANGED {
        return Ok(None);
    }
    let changed: patients_pb::PatientChanged = event.decode().map_err(HandlerError::new)?;
    let patient = changed.patient.ok_or_else(|| invalid("patient"))?;
    let birth_date = match patient.birth_date.as_str() {
        "" => None,
        date => Some(
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| invalid("birth date"))?,
        ),
    };
    Ok(Some(Captured::Patient {
        patient_id: id(&patient.id, "patient id")?,
        version: Version::parse_etag(&patient.etag)
            .map_err(|_| invalid("etag"))?
            .get(),
        sex: match patients_pb::Sex::try_from(patient.sex) {
            Ok(patients_pb::Sex::Male) => "M",
            Ok(patients_pb::Sex::Female) => "F",
            _ => "",
        },
        birth_date,
    }))
}

fn from_encounters(event: &Event) -> Result<Option<Captured>, HandlerError> {
    if event.event_type == DIAGNOSIS_RECORDED {
        let recorded: encounters_pb::DiagnosisRecorded =
            event.decode().map_err(HandlerError::new)?;
        let Some(admission_id) = optional_id(&recorded.admission_id, "admission id")? else {
            // An outpatient diagnosis is no inpatient case's.
            return Ok(None);
        };
        let diagnosis = recorded.diagnosis.ok_or_else(|| invalid("diagnosis"))?;
        let role = match encounters_pb::DiagnosisRole::try_from(diagnosis.role) {
            Ok(encounters_pb::DiagnosisRole::Admitting) => "admitting",
            Ok(encounters_pb::DiagnosisRole::Principal) => "principal",
            Ok(encounters_pb::DiagnosisRole::Secondary) => "secondary",
            Ok(encounters_pb::DiagnosisRole::Complication) => "complication",
            _ => return Err(invalid("diagnosis role")),
        };
        return Ok(Some(Captured::Diagnosis {
            diagnosis_id: id(&diagnosis.id, "diagnosis id")?,
            admission_id,
            code: diagnosis.code,
            role,
            at: time(diagnosis.record_time.as_ref(), "record time")?.unwrap_or(event.occurred_at),
        }));
    }
    if event.event_type == REFERRAL_CREATED {
        let created: encounters_pb::ReferralCreated = event.decode().map_err(HandlerError::new)?;
        let referral = created.referral.ok_or_else(|| invalid("referral"))?;
        let code_system = match encounters_pb::ReferralKind::try_from(referral.kind) {
            Ok(encounters_pb::ReferralKind::Laboratory) => "loinc",
            Ok(encounters_pb::ReferralKind::Imaging) => "achi",
            // A consultation is charged when it is given, as a procedure or a visit.
            _ => return Ok(None),
        };
        if created.department_id.is_empty() {
            // Published before referrals named their ward: nothing to charge it to.
            return Ok(None);
        }
        return Ok(Some(Captured::Investigations {
            referral_id: id(&referral.id, "referral id")?,
            patient_id: id(&referral.patient_id, "patient id")?,
            admission_id: optional_id(&created.admission_id, "admission id")?,
            code_system,
            codes: referral.investigation_codes,
            at: time(referral.create_time.as_ref(), "create time")?.unwrap_or(event.occurred_at),
            physician_id: optional_id(&referral.referred_by, "referred by")?,
            department_id: optional_id(&created.department_id, "department id")?,
        }));
    }
    if event.event_type != PROCEDURE_RECORDED {
        return Ok(None);
    }
    let recorded: encounters_pb::ProcedureRecorded = event.decode().map_err(HandlerError::new)?;
    let procedure = recorded.procedure.ok_or_else(|| invalid("procedure"))?;
    if recorded.patient_id.is_empty() {
        // Published before procedures named their patient: nothing to charge it to.
        return Ok(None);
    }
    Ok(Some(Captured::Procedure {
        procedure_id: id(&procedure.id, "procedure id")?,
        patient_id: id(&recorded.patient_id, "patient id")?,
        admission_id: optional_id(&recorded.admission_id, "admission id")?,
        code: procedure.code,
        display: procedure.display,
        at: time(procedure.performed_time.as_ref(), "performed time")?.unwrap_or(event.occurred_at),
        performer_id: optional_id(&procedure.performer_id, "performer id")?,
        department_id: optional_id(&recorded.department_id, "department id")?,
    }))
}

fn from_surgery(event: &Event) -> Result<Option<Captured>, HandlerError> {
    if event.event_type != OPERATION_COMPLETED {
        return Ok(None);
    }
    let completed: surgery_pb::OperationCompleted = event.decode().map_err(HandlerError::new)?;
    let operation = completed.operation.ok_or_else(|| invalid("operation"))?;
    let surgeon = (operation.team.iter())
        .find(|member| member.role == surgery_pb::TeamRole::PrimarySurgeon as i32)
        .map(|member| id(&member.user_id, "surgeon id"))
        .transpose()?;
    Ok(Some(Captured::Operation {
        operation_id: id(&operation.id, "operation id")?,
        patient_id: id(&operation.patient_id, "patient id")?,
        admission_id: optional_id(&operation.admission_id, "admission id")?,
        procedures: (operation.procedures.into_iter())
            .map(|procedure| (procedure.code, procedure.display))
            .collect(),
        at: event.occurred_at,
        surgeon_id: surgeon,
        department_id: id(&operation.department_id, "department id")?,
    }))
}

fn from_inventory(event: &Event) -> Result<Option<Captured>, HandlerError> {
    if event.event_type != PATIENT_STOCK_MOVED {
        return Ok(None);
    }
    let moved: inventory_pb::PatientStockMoved = event.decode().map_err(HandlerError::new)?;
    let movement = moved.movement.ok_or_else(|| invalid("movement"))?;
    let returns = if movement.kind == inventory_pb::MovementKind::Return as i32 {
        Some(id(&movement.document_id, "returned movement")?)
    } else {
        None
    };
    let cost = |text: &str| -> Result<i64, HandlerError> {
        match Amount::from_db(text) {
            Ok(cost) => Ok(cost.scaled()),
            Err(_) if text.trim_start_matches(['0', '.']).is_empty() => Ok(0),
            Err(_) => Err(invalid("unit cost")),
        }
    };
    Ok(Some(Captured::Stock {
        movement_id: id(&movement.id, "movement id")?,
        patient_id: id(&movement.patient_id, "patient id")?,
        returns,
        item_code: moved.item_code,
        item_name: moved.item_name,
        base_unit: moved.base_unit,
        quantity: Amount::from_db(&movement.quantity).map_err(|_| invalid("quantity"))?,
        unit_cost: cost(&movement.unit_cost)?,
        at: time(movement.occur_time.as_ref(), "movement time")?.unwrap_or(event.occurred_at),
        department_id: optional_id(&movement.department_id, "department id")?,
    }))
}

/// Outpatient visits as they end, and check-ins (a registration fee where one is priced).
fn from_scheduling(event: &Event) -> Result<Option<Captured>, HandlerError> {
    let (ticket, department_id, clinic_code) = if event.event_type == VISIT_COMPLETED {
        let completed: scheduling_pb::VisitCompleted = event.decode().map_err(HandlerError::new)?;
        (
            completed.ticket,
            completed.department_id,
            completed.clinic_code,
        )
    } else if event.event_type == PATIENT_CHECKED_IN {
        let checked_in: scheduling_pb::PatientCheckedIn =
            event.decode().map_err(HandlerError::new)?;
        (
            checked_in.ticket,
            checked_in.department_id,
            checked_in.clinic_code,
        )
    } else {
        return Ok(None);
    };
    let ticket = ticket.ok_or_else(|| invalid("ticket"))?;
    let (ticket_id, patient_id) = (
        id(&ticket.id, "ticket id")?,
        id(&ticket.patient_id, "patient id")?,
    );
    let department_id = id(&department_id, "department id")?;
    if event.event_type == PATIENT_CHECKED_IN {
        return Ok(Some(Captured::CheckedIn {
            ticket_id,
            patient_id,
            at: time(ticket.arrive_time.as_ref(), "arrive time")?.unwrap_or(event.occurred_at),
            department_id,
        }));
    }
    Ok(Some(Captured::OutpatientVisit {
        ticket_id,
        patient_id,
        clinic_code,
        at: time(ticket.end_time.as_ref(), "end time")?.unwrap_or(event.occurred_at),
        department_id,
        clinician_id: optional_id(&ticket.clinician_id, "clinician id")?,
    }))
}

/// Patients' meals of a ward's meal order as it is sent, and those an amendment adds or
/// takes back (lines of patients with an admission; extra portions are nobody's).
fn from_nutrition(event: &Event) -> Result<Option<Captured>, HandlerError> {
    let (order, lines) = if event.event_type == MEAL_ORDER_SENT {
        let sent: nutrition_pb::MealOrderSent = event.decode().map_err(HandlerError::new)?;
        let order = sent.order.ok_or_else(|| invalid("meal order"))?;
        let lines = order.lines.clone();
        (order, lines)
    } else if event.event_type == MEAL_ORDER_AMENDED {
        let amended: nutrition_pb::MealOrderAmended = event.decode().map_err(HandlerError::new)?;
        (
            amended.order.ok_or_else(|| invalid("meal order"))?,
            amended.added,
        )
    } else {
        return Ok(None);
    };
    let mut meals = Vec::new();
    for line in lines {
        let (Some(patient_id), Some(admission_id)) = (
            optional_id(&line.patient_id, "patient id")?,
            optional_id(&line.admission_id, "admission id")?,
        ) else {
            continue;
        };
        if line.portions == 0 {
            continue;
        }
        meals.push(MealLine {
            patient_id,
            admission_id,
            diet_code: line.diet_code,
            served: line.portions > 0,
        });
    }
    if meals.is_empty() {
        return Ok(None);
    }
    Ok(Some(Captured::Meals {
        order_id: id(&event.aggregate_id, "meal order id")?,
        at: time(order.cutoff_time.as_ref(), "cut-off time")?.unwrap_or(event.occurred_at),
        department_id: id(&order.department_id, "department id")?,
        lines: meals,
    }))
}

impl Follower {
    fn read(&self, event: &Event) -> Result<Option<Captured>, HandlerError> {
        match self.source {
            Source::Patients => from_patients(event),
            Source::Admissions => from_admissions(event),
            Source::Encounters => from_encounters(event),
            Source::Surgery => from_surgery(event),
            Source::Inventory => from_inventory(event),
            Source::Scheduling => from_scheduling(event),
            Source::Nutrition => from_nutrition(event),
        }
    }

    /// Captures what `events` tell, a transaction for each run of one tenant's events.
    async fn follow(&self, events: &[Event]) -> Result<(), HandlerError> {
        let mut run: Vec<Captured> = Vec::new();
        let mut tenant = None;
        let mut first_type = "";
        for event in events {
            if tenant.is_some_and(|tenant| tenant != event.tenant_id) {
                self.capture(tenant, first_type, std::mem::take(&mut run))
                    .await?;
            }
            if run.is_empty() {
                first_type = &event.event_type;
            }
            tenant = Some(event.tenant_id);
            if let Some(captured) = self.read(event)? {
                run.push(captured);
            }
        }
        self.capture(tenant, first_type, run).await
    }

    async fn capture(
        &self,
        tenant: Option<hmis_platform::TenantId>,
        event_type: &str,
        run: Vec<Captured>,
    ) -> Result<(), HandlerError> {
        let Some(tenant) = tenant.filter(|_| !run.is_empty()) else {
            return Ok(());
        };
        let context = RequestContext::system(tenant).acting_on(event_type);
        // Admissions' events of different admissions touch different accounts: a run of
        // them is taken in a few transactions side by side, each admission's events in one
        // of them in their order, so capture is not one connection's share of the database
        // while the desks take the rest.
        let parts = match self.source {
            Source::Admissions if run.len() > 1 => partitions(run),
            _ => vec![run],
        };
        futures::future::try_join_all(
            parts
                .into_iter()
                .map(|part| self.billing.capture(&context, part)),
        )
        .await
        .map_err(HandlerError::new)?;
        Ok(())
    }
}

/// How many transactions a run of admissions' events is taken in at once.
const PARTITIONS: usize = 4;

/// `run` split by admission (an emergency visit's by its admission, else its patient), each
/// part in the run's order.
fn partitions(run: Vec<Captured>) -> Vec<Vec<Captured>> {
    let mut parts: Vec<Vec<Captured>> = (0..PARTITIONS).map(|_| Vec::new()).collect();
    for captured in run {
        let key = match &captured {
            Captured::AdmissionChanged(admission)
            | Captured::Discharged(admission)
            | Captured::DischargeUndone(admission)
            | Captured::AdmissionCancelled(admission) => admission.facts.admission_id,
            Captured::EmergencyVisit {
                admission_id,
                patient_id,
                ..
            } => admission_id.unwrap_or(*patient_id),
            _ => Uuid::nil(),
        };
        let part = (key.as_u128() % PARTITIONS as u128) as usize;
        parts[part].push(captured);
    }
    parts.retain(|part| !part.is_empty());
    parts
}

impl EventHandler for Follower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(std::slice::from_ref(event)))
    }

    fn handle_batch<'a>(
        &'a self,
        events: &'a [Event],
    ) -> Option<BoxFuture<'a, Result<(), HandlerError>>> {
        Some(Box::pin(self.follow(events)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(admission_id: Uuid, version: i64) -> Captured {
        Captured::AdmissionChanged(Admission {
            facts: AdmissionFacts {
                admission_id,
                patient_id: Uuid::nil(),
                version,
                facility_id: Uuid::nil(),
                physician_id: None,
                admit_time: DateTime::<Utc>::UNIX_EPOCH,
                discharge_time: None,
                cancelled: false,
            },
            stays: Vec::new(),
            expired: false,
            transferred: false,
        })
    }

    fn facts(captured: &Captured) -> (Uuid, i64) {
        match captured {
            Captured::AdmissionChanged(admission) => {
                (admission.facts.admission_id, admission.facts.version)
            }
            _ => unreachable!("only admissions here"),
        }
    }

    #[test]
    fn an_admissions_events_stay_in_one_part_in_their_order() {
        let admissions: Vec<Uuid> = (0..12).map(|_| Uuid::now_v7()).collect();
        let run: Vec<Captured> = (1..=3)
            .flat_map(|version| {
                admissions
                    .iter()
                    .map(move |admission| changed(*admission, version))
            })
            .collect();
        let parts = partitions(run);
        assert!(
            parts.len() <= PARTITIONS && parts.len() > 1,
            "{}",
            parts.len()
        );
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 36);
        for admission in &admissions {
            let holding: Vec<Vec<i64>> = (parts.iter())
                .map(|part| {
                    (part.iter())
                        .map(facts)
                        .filter(|(id, _)| id == admission)
                        .map(|(_, version)| version)
                        .collect::<Vec<_>>()
                })
                .filter(|versions| !versions.is_empty())
                .collect();
            assert_eq!(holding, [vec![1, 2, 3]], "admission {admission}");
        }
    }
}
