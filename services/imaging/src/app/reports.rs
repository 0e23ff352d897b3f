//! The radiologist's report: drafted, written over until signed, signed (then never changed),
//! amended as a new version that supersedes the signed one once it is signed in turn; and
//! imaging's own figures (turnaround and workload, no patient's data).

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::events::imaging::REPORT_SIGNED;
use hmis_proto::openhmis::imaging::v1 as pb;
use uuid::Uuid;

use super::{Imaging, READ, REPORT, authorize, method};
use crate::domain::{self, ExamStatus, ReportStatus};
use crate::error::{Error, Result};
use crate::store::{self, ReportRow};

/// A report's text as the radiologist saves it.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub key: RequestKey,
    pub exam_id: Uuid,
    pub findings: String,
    pub conclusion: String,
    /// Given to amend a signed report.
    pub amendment_reason: Option<String>,
}

/// What the turnaround report is asked.
#[derive(Debug, Clone)]
pub(crate) struct TurnaroundQuery {
    pub facility_id: Uuid,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// "modality", "service", "priority" or "room".
    pub group: &'static str,
}

fn minutes(value: Option<f64>) -> String {
    value.map(|value| format!("{value:.1}")).unwrap_or_default()
}

fn count(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl Imaging {
    /// Writes the examination's draft: over the draft there is, or as a new version (the
    /// first report, or an amendment of the signed one, which needs its reason).
    pub(crate) async fn save_report(
        &self,
        context: &RequestContext,
        message: &pb::SaveReportRequest,
        draft: Draft,
    ) -> Result<pb::SaveReportResponse> {
        let now = self.calls.now();
        let key = draft.key.clone();
        (self.calls)
            .write(context, &method("SaveReport"), &key, message, async |tx| {
                let (order, mut exam) = store::lock_exam(tx, draft.exam_id).await?;
                authorize(context, REPORT, &order)?;
                if !exam.status.is_performed() {
                    return Err(Error::precondition(format!(
                        "the examination is {}; a report is written once it is performed",
                        exam.status
                    )));
                }
                let history = store::reports_of(tx, &[exam.id]).await?;
                let signed = history.iter().any(|r| r.status == ReportStatus::Signed);
                match (&draft.amendment_reason, signed) {
                    (None, true) => {
                        return Err(Error::invalid(
                            "amendment_reason",
                            "is required: the report is signed, so this is an amendment",
                        ));
                    }
                    (Some(_), false) => {
                        return Err(Error::invalid(
                            "amendment_reason",
                            "is only for amending a signed report",
                        ));
                    }
                    _ => {}
                }
                let existing = history.iter().find(|r| r.status == ReportStatus::Draft);
                let report = ReportRow {
                    id: Uuid::now_v7(),
                    exam_id: exam.id,
                    version: existing.map_or_else(
                        || history.iter().map(|r| r.version).max().unwrap_or(0) + 1,
                        |draft| draft.version,
                    ),
                    findings: draft.findings.clone(),
                    conclusion: draft.conclusion.clone(),
                    status: ReportStatus::Draft,
                    written_by: context.user_id(),
                    written_at: now,
                    signed_by: None,
                    signed_at: None,
                    content_sha256: None,
                    amendment_reason: draft.amendment_reason.clone().unwrap_or_default(),
                };
                match existing {
                    Some(existing) => store::rewrite_draft(tx, existing.id, &report).await?,
                    None => store::insert_report(tx, &report).await?,
                }
                if !signed {
                    exam.status = ExamStatus::Preliminary;
                }
                let exam = self.settled(tx, context, (&order, &exam), now).await?;
                Ok(pb::SaveReportResponse { exam: Some(exam) })
            })
            .await
    }

    /// Signs the draft the radiologist read (`report_id`): the digest of the study, the
    /// findings and the conclusion is kept with the signer and the time; the report enters
    /// the patient's record.
    pub(crate) async fn sign_report(
        &self,
        context: &RequestContext,
        message: &pb::SignReportRequest,
        (key, exam_id, report_id): (RequestKey, Uuid, Uuid),
    ) -> Result<pb::SignReportResponse> {
        let now = self.calls.now();
        (self.calls)
            .write(context, &method("SignReport"), &key, message, async |tx| {
                let (order, mut exam) = store::lock_exam(tx, exam_id).await?;
                authorize(context, REPORT, &order)?;
                let history = store::reports_of(tx, &[exam.id]).await?;
                let Some(draft) = history.iter().find(|r| r.status == ReportStatus::Draft) else {
                    return Err(Error::precondition("the examination has no draft to sign"));
                };
                if draft.id != report_id {
                    return Err(Error::Stale("report"));
                }
                let digest =
                    domain::report_digest(&exam.study_uid, &draft.findings, &draft.conclusion);
                store::sign_report(tx, draft, context.user_id(), now, &digest).await?;
                exam.status = ExamStatus::Final;
                exam.final_at = exam.final_at.or(Some(now));
                let view = self.settled(tx, context, (&order, &exam), now).await?;
                let order = store::get_order(tx, order.id).await?;
                let event = hmis_proto::openhmis::imaging::v1::ReportSigned {
                    order: self
                        .orders_view(tx, std::slice::from_ref(&order))
                        .await?
                        .pop(),
                    exam: Some(view.clone()),
                };
                self.outbox
                    .publish(tx, REPORT_SIGNED, &view.id, &event, now)
                    .await?;
                Ok(pb::SignReportResponse { exam: Some(view) })
            })
            .await
    }

    pub(crate) async fn turnaround(
        &self,
        context: &RequestContext,
        query: TurnaroundQuery,
    ) -> Result<pb::GetTurnaroundResponse> {
        context.authorize(READ, &Target::facility(query.facility_id))?;
        self.calls
            .transaction(context, async |tx| {
                let rows =
                    store::turnaround(tx, query.facility_id, (query.from, query.to), query.group)
                        .await?;
                Ok(pb::GetTurnaroundResponse {
                    lines: rows
                        .into_iter()
                        .map(|row| pb::TurnaroundLine {
                            key: row.key,
                            name: row.name,
                            ordered: count(row.ordered),
                            performed: count(row.performed),
                            reported: count(row.reported),
                            median_minutes: minutes(row.median_minutes),
                            p90_minutes: minutes(row.p90_minutes),
                        })
                        .collect(),
                })
            })
            .await
    }
}
