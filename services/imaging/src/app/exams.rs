//! Orders received from physicians' imaging referrals, the worklists, and each examination
//! scheduled into a room, started, performed (with its study instance UID) or cancelled.

use chrono::{DateTime, Datelike, Utc};
use hmis_encounters_api::InvestigationReferral;
use hmis_platform::RequestContext;
use hmis_platform::TenantTx;
use hmis_platform::auth::Target;
use hmis_platform::call::Shown;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::openhmis::imaging::v1 as pb;
use uuid::Uuid;

use super::{Imaging, PERFORM, READ, authorize, method, order_target, refused};
use crate::domain::{self, ExamStatus, Priority};
use crate::error::{Error, Result};
use crate::store::{self, ExamRow, OrderRow, WorklistFilter};

/// An examination given a room and a time.
#[derive(Debug, Clone)]
pub(crate) struct Scheduling {
    pub key: RequestKey,
    pub exam_id: Uuid,
    pub room_id: Uuid,
    pub at: DateTime<Utc>,
}

impl Imaging {
    /// Stores the order of an imaging referral (once: a repeated event finds it stored), one
    /// examination per procedure code, each with its accession number and a new study
    /// instance UID. A code the catalogue does not hold is kept as ordered, without a
    /// modality, for the imaging desk to see and settle.
    pub(crate) async fn receive_referral(
        &self,
        tx: &mut TenantTx,
        referral: InvestigationReferral,
    ) -> Result<bool> {
        let catalogue = store::get_services(tx, &referral.codes).await?;
        let order_id = Uuid::now_v7();
        let mut exams: Vec<ExamRow> = Vec::new();
        for code in &referral.codes {
            if exams.iter().any(|exam| &exam.service_code == code) {
                continue;
            }
            let service = catalogue.iter().find(|service| &service.code == code);
            let number = store::next_accession_number(tx).await?;
            exams.push(ExamRow {
                id: Uuid::now_v7(),
                order_id,
                accession: domain::accession(referral.at.year(), number),
                service_code: code.clone(),
                service_name: service.map_or_else(|| code.clone(), |s| s.name.clone()),
                modality: service.map(|service| service.modality),
                status: ExamStatus::Ordered,
                facility_id: referral.facility_id,
                department_id: referral.department_id,
                priority: Priority::of(referral.urgency),
                ordered_at: referral.at,
                room_id: None,
                scheduled_at: None,
                study_uid: domain::new_study_uid(),
                performed_by: None,
                started_at: None,
                performed_at: None,
                technique_note: String::new(),
                final_at: None,
                cancel_reason: String::new(),
            });
        }
        let order = OrderRow {
            id: order_id,
            referral_id: referral.referral_id,
            encounter_id: referral.encounter_id,
            patient_id: referral.patient_id,
            admission_id: referral.admission_id,
            department_id: referral.department_id,
            facility_id: referral.facility_id,
            requested_by: referral.referred_by,
            priority: Priority::of(referral.urgency),
            status: if exams.is_empty() {
                ExamStatus::Cancelled
            } else {
                ExamStatus::Ordered
            },
            reason: referral.reason,
            ordered_at: referral.at,
            final_at: None,
        };
        store::insert_order(tx, &order, &exams).await
    }

    pub(crate) async fn worklist(
        &self,
        context: &RequestContext,
        filter: WorklistFilter,
    ) -> Result<pb::ListWorklistResponse> {
        let target = match filter.department_id {
            Some(department) => Target::department(filter.facility_id, department),
            None => Target::facility(filter.facility_id),
        };
        context.authorize(READ, &target)?;
        self.calls
            .read(context, async |tx| {
                let exams = store::worklist(tx, &filter).await?;
                let views = self.exams_view(tx, &exams).await?;
                let mut patients: Vec<Uuid> = views
                    .iter()
                    .filter_map(|exam| Uuid::parse_str(&exam.patient_id).ok())
                    .collect();
                patients.sort_unstable();
                patients.dedup();
                Ok((
                    pb::ListWorklistResponse { exams: views },
                    Shown::patients(patients),
                ))
            })
            .await
    }

    pub(crate) async fn get_order(
        &self,
        context: &RequestContext,
        order_id: Uuid,
    ) -> Result<pb::GetOrderResponse> {
        self.calls
            .read(context, async |tx| {
                let order = store::get_order(tx, order_id).await?;
                let access = context
                    .authorize_patient(READ, &order_target(&order))
                    .map_err(refused(vec![order.patient_id]))?;
                let shown = Shown::patient(order.patient_id, &access);
                let order = self.orders_view(tx, &[order]).await?.pop();
                Ok((pb::GetOrderResponse { order }, shown))
            })
            .await
    }

    /// A patient's orders; those of wards outside the caller's scope need the break-glass
    /// reason, as any read of a patient.
    pub(crate) async fn patient_orders(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListPatientOrdersResponse> {
        context.authorize_any(READ)?;
        self.calls
            .read(context, async |tx| {
                let orders = store::patient_orders(tx, patient_id).await?;
                let shown = Shown::patient_across(
                    context,
                    READ,
                    patient_id,
                    orders.iter().map(order_target),
                )
                .map_err(refused(vec![patient_id]))?;
                let orders = self.orders_view(tx, &orders).await?;
                Ok((pb::ListPatientOrdersResponse { orders }, shown))
            })
            .await
    }

    /// Gives an examination still waiting a room of its modality (of the order's facility)
    /// and a time; one whose code the catalogue lacked takes the room's modality.
    pub(crate) async fn schedule(
        &self,
        context: &RequestContext,
        message: &pb::ScheduleExamRequest,
        scheduling: Scheduling,
    ) -> Result<pb::ScheduleExamResponse> {
        let now = self.calls.now();
        if scheduling.at < now - chrono::Duration::days(1) {
            return Err(Error::invalid("scheduled_time", "is in the past"));
        }
        let key = scheduling.key.clone();
        (self.calls)
            .write(
                context,
                &method("ScheduleExam"),
                &key,
                message,
                async |tx| {
                    let (order, mut exam) = store::lock_exam(tx, scheduling.exam_id).await?;
                    authorize(context, PERFORM, &order)?;
                    if !exam.status.is_waiting() {
                        return Err(Error::precondition(format!(
                            "the examination is {}; only one still waiting is scheduled",
                            exam.status
                        )));
                    }
                    let room = store::get_room(tx, scheduling.room_id).await?;
                    if !room.active || room.facility_id != exam.facility_id {
                        return Err(Error::invalid(
                            "room_id",
                            "is not an open room of the order's facility",
                        ));
                    }
                    match exam.modality {
                        Some(modality) if modality != room.modality => {
                            return Err(Error::invalid(
                                "room_id",
                                format!(
                                    "is a {} room; the examination needs {modality}",
                                    room.modality
                                ),
                            ));
                        }
                        _ => exam.modality = Some(room.modality),
                    }
                    exam.room_id = Some(room.id);
                    exam.scheduled_at = Some(scheduling.at);
                    exam.status = ExamStatus::Scheduled;
                    let exam = self.settled(tx, context, (&order, &exam), now).await?;
                    Ok(pb::ScheduleExamResponse { exam: Some(exam) })
                },
            )
            .await
    }

    /// The patient is in the examination's room.
    pub(crate) async fn start(
        &self,
        context: &RequestContext,
        message: &pb::StartExamRequest,
        (key, exam_id): (RequestKey, Uuid),
    ) -> Result<pb::StartExamResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(context, &method("StartExam"), &key, message, async |tx| {
                let (order, mut exam) = store::lock_exam(tx, exam_id).await?;
                authorize(context, PERFORM, &order)?;
                if exam.status != ExamStatus::Scheduled {
                    return Err(Error::precondition(format!(
                        "the examination is {}; schedule it into a room first",
                        exam.status
                    )));
                }
                exam.status = ExamStatus::InProgress;
                exam.performed_by = Some(context.user_id());
                exam.started_at = Some(now);
                let exam = self.settled(tx, context, (&order, &exam), now).await?;
                Ok(pb::StartExamResponse { exam: Some(exam) })
            })
            .await
    }

    /// Images acquired: the study is in the PACS under its UID, awaiting the report.
    pub(crate) async fn complete(
        &self,
        context: &RequestContext,
        message: &pb::CompleteExamRequest,
        (key, exam_id, study_uid, note): (RequestKey, Uuid, Option<String>, String),
    ) -> Result<pb::CompleteExamResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(
                context,
                &method("CompleteExam"),
                &key,
                message,
                async |tx| {
                    let (order, mut exam) = store::lock_exam(tx, exam_id).await?;
                    authorize(context, PERFORM, &order)?;
                    if exam.status != ExamStatus::InProgress {
                        return Err(Error::precondition(format!(
                            "the examination is {}; only one in progress is completed",
                            exam.status
                        )));
                    }
                    if let Some(study_uid) = study_uid.clone() {
                        exam.study_uid = study_uid;
                    }
                    exam.status = ExamStatus::Performed;
                    exam.performed_at = Some(now);
                    exam.technique_note = note.clone();
                    if exam.performed_by.is_none() {
                        exam.performed_by = Some(context.user_id());
                    }
                    let exam = self.settled(tx, context, (&order, &exam), now).await?;
                    Ok(pb::CompleteExamResponse { exam: Some(exam) })
                },
            )
            .await
    }

    /// Cancels an examination not yet performed.
    pub(crate) async fn cancel(
        &self,
        context: &RequestContext,
        message: &pb::CancelExamRequest,
        (key, exam_id, reason): (RequestKey, Uuid, String),
    ) -> Result<pb::CancelExamResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(context, &method("CancelExam"), &key, message, async |tx| {
                let (order, mut exam) = store::lock_exam(tx, exam_id).await?;
                authorize(context, PERFORM, &order)?;
                if !(exam.status.is_waiting() || exam.status == ExamStatus::InProgress) {
                    return Err(Error::precondition(format!(
                        "the examination is {}; a performed examination is not cancelled",
                        exam.status
                    )));
                }
                exam.status = ExamStatus::Cancelled;
                exam.cancel_reason = reason.clone();
                let exam = self.settled(tx, context, (&order, &exam), now).await?;
                Ok(pb::CancelExamResponse { exam: Some(exam) })
            })
            .await
    }
}
