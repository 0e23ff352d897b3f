//! Investigations enter the patient's record when their department releases them: laboratory
//! results (`ResultsReleased`, the latest released value of each ordered test) and imaging
//! reports (`ReportSigned`, the latest signed version of each examination's report), kept for
//! the medical extract. Idempotent: an event seen twice writes the same row; an older
//! release never replaces a newer one.

use std::sync::Arc;

use futures::future::BoxFuture;
use hmis_platform::Database;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::wire::parse_timestamp;
use hmis_proto::events::imaging::REPORT_SIGNED;
use hmis_proto::events::laboratory::RESULTS_RELEASED;
use hmis_proto::openhmis::imaging::v1 as imaging_pb;
use hmis_proto::openhmis::laboratory::v1 as laboratory_pb;
use uuid::Uuid;

use crate::store::{self, ImagingReportRow, InvestigationResultRow};

#[derive(Debug)]
struct ResultsFollower {
    database: Database,
}

pub(crate) fn subscription(database: Database) -> Subscription {
    Subscription {
        source: "laboratory",
        subscriber: "encounters.investigation_results".to_owned(),
        handler: Arc::new(ResultsFollower { database }),
    }
}

#[derive(Debug)]
struct ImagingFollower {
    database: Database,
}

pub(crate) fn imaging_subscription(database: Database) -> Subscription {
    Subscription {
        source: "imaging",
        subscriber: "encounters.imaging_reports".to_owned(),
        handler: Arc::new(ImagingFollower { database }),
    }
}

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("an event's {what} is not valid"))
}

fn flag(value: i32) -> &'static str {
    match laboratory_pb::Flag::try_from(value) {
        Ok(laboratory_pb::Flag::Normal) => "normal",
        Ok(laboratory_pb::Flag::Low) => "low",
        Ok(laboratory_pb::Flag::High) => "high",
        Ok(laboratory_pb::Flag::CriticalLow) => "critical_low",
        Ok(laboratory_pb::Flag::CriticalHigh) => "critical_high",
        Ok(laboratory_pb::Flag::Abnormal) => "abnormal",
        _ => "",
    }
}

impl ResultsFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if event.event_type != RESULTS_RELEASED {
            return Ok(());
        }
        let released: laboratory_pb::ResultsReleased = event.decode().map_err(HandlerError::new)?;
        let order = released.order.ok_or_else(|| invalid("order"))?;
        let encounter_id =
            Uuid::parse_str(&order.encounter_id).map_err(|_| invalid("encounter id"))?;
        let order_id = Uuid::parse_str(&order.id).map_err(|_| invalid("order id"))?;
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        for result in released.results {
            let time = |value: Option<&prost_types::Timestamp>| {
                parse_timestamp(value)
                    .ok()
                    .flatten()
                    .unwrap_or(event.occurred_at)
            };
            let row = InvestigationResultRow {
                order_id,
                test_code: result.test_code.clone(),
                encounter_id,
                result_id: Uuid::parse_str(&result.id).map_err(|_| invalid("result id"))?,
                test_name: result.test_name.clone(),
                value: result.value.clone(),
                unit: result.unit.clone(),
                flag: flag(result.flag).to_owned(),
                reference_range: result.reference_range.clone(),
                observed_at: time(result.observe_time.as_ref()),
                released_at: time(result.medical_validate_time.as_ref()),
                corrected: result.corrected,
            };
            store::keep_investigation_result(&mut tx, &row)
                .await
                .map_err(HandlerError::new)?;
        }
        tx.commit().await.map_err(HandlerError::new)
    }
}

fn modality(value: i32) -> &'static str {
    match imaging_pb::Modality::try_from(value) {
        Ok(imaging_pb::Modality::Xray) => "xray",
        Ok(imaging_pb::Modality::Ultrasound) => "ultrasound",
        Ok(imaging_pb::Modality::Ct) => "ct",
        Ok(imaging_pb::Modality::Mri) => "mri",
        Ok(imaging_pb::Modality::Mammography) => "mammography",
        Ok(imaging_pb::Modality::Fluoroscopy) => "fluoroscopy",
        _ => "",
    }
}

impl ImagingFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        if event.event_type != REPORT_SIGNED {
            return Ok(());
        }
        let signed: imaging_pb::ReportSigned = event.decode().map_err(HandlerError::new)?;
        let order = signed.order.ok_or_else(|| invalid("order"))?;
        let exam = signed.exam.ok_or_else(|| invalid("exam"))?;
        let report = exam.report.as_ref().ok_or_else(|| invalid("report"))?;
        let id = |value: &str, what: &str| Uuid::parse_str(value).map_err(|_| invalid(what));
        let row = ImagingReportRow {
            exam_id: id(&exam.id, "exam id")?,
            order_id: id(&order.id, "order id")?,
            encounter_id: id(&order.encounter_id, "encounter id")?,
            service_code: exam.service_code.clone(),
            service_name: exam.service_name.clone(),
            modality: modality(exam.modality).to_owned(),
            findings: report.findings.clone(),
            conclusion: report.conclusion.clone(),
            signed_by: id(&report.signed_by, "signed_by")?,
            signed_at: parse_timestamp(report.sign_time.as_ref())
                .ok()
                .flatten()
                .unwrap_or(event.occurred_at),
            study_uid: exam.study_instance_uid.clone(),
            amended: report.version > 1,
        };
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        store::keep_imaging_report(&mut tx, &row)
            .await
            .map_err(HandlerError::new)?;
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for ImagingFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}

impl EventHandler for ResultsFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}
