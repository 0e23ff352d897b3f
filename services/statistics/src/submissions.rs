//! Electronic reporting, the office's side: `SubmitReport` renders the report as the versioned
//! document, checks it against the schema, signs it and stores it pending in one transaction
//! (with its audit record and its idempotency key); the submitter ([`crate::delivery`]) takes
//! it from there. `GetSubmission` / `ListSubmissions` show where each one is.

use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::types::parse_uuid;
use hmis_platform::wire::timestamp;
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::statistics::v1 as pb;
use serde::{Deserialize, Serialize};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::document::{self, Header, SCHEMA_VERSION, parse_report, report_kind};
use crate::error::{Error, Result};
use crate::grpc::{Office, READ, SUBMIT, StatisticsApi};
use crate::reports::Period;
use crate::signing::base64;
use crate::store::{self, SubmissionRow};

const SUBMIT_METHOD: &str = "/openhmis.statistics.v1.StatisticsService/SubmitReport";

fn status_of(name: &str) -> pb::SubmissionStatus {
    match name {
        "pending" => pb::SubmissionStatus::Pending,
        "sent" => pb::SubmissionStatus::Sent,
        "accepted" => pb::SubmissionStatus::Accepted,
        "rejected" => pb::SubmissionStatus::Rejected,
        _ => pb::SubmissionStatus::Unspecified,
    }
}

/// The submission as the contract shows it; listings leave the document out.
fn to_pb(row: &SubmissionRow, with_document: bool) -> pb::Submission {
    pb::Submission {
        id: row.id.to_string(),
        facility_id: row.facility_id.to_string(),
        report: report_kind(&row.report).into(),
        from_date: row.period_from.to_string(),
        to_date: row.period_to.to_string(),
        revision: row.revision,
        schema_version: row.schema_version.clone(),
        status: status_of(&row.status).into(),
        attempts: row.attempts,
        last_error: row.last_error.clone().unwrap_or_default(),
        receipt: row.receipt.clone().unwrap_or_default(),
        rejection_reasons: row.rejection_reasons.clone(),
        submitted_by: row.submitted_by.to_string(),
        create_time: timestamp(row.created_at),
        send_time: row.sent_at.and_then(timestamp),
        decide_time: row.decided_at.and_then(timestamp),
        next_attempt_time: row.next_attempt_at.and_then(timestamp),
        document: if with_document {
            String::from_utf8_lossy(&row.document).into_owned()
        } else {
            String::new()
        },
        signature: if with_document {
            base64(&row.signature)
        } else {
            String::new()
        },
        key_id: row.key_id.clone(),
    }
}

#[derive(Serialize, Deserialize)]
struct SubmissionKey {
    created_at: chrono::DateTime<chrono::Utc>,
    id: Uuid,
}

impl StatisticsApi {
    #[tracing::instrument(skip_all)]
    pub(crate) async fn submit(
        &self,
        request: Request<pb::SubmitReportRequest>,
    ) -> Result<Response<pb::SubmitReportResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(SUBMIT)?;
        let message = request.into_inner();
        let mut violations = Violations::default();
        let key = violations.check("request_id", RequestKey::parse(&message.request_id));
        let report = parse_report(message.report, "report", &mut violations);
        let period = Period::parse(
            &message.facility_id,
            &message.from_date,
            &message.to_date,
            &mut violations,
        );
        let (Some(key), Some(report), Some(period), true) =
            (key, report, period, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        self.authorize(&context, SUBMIT, period.facility)?;
        let response = self
            .office
            .submit_report(
                &context,
                &key,
                &message,
                (report, &period),
                context.user_id(),
            )
            .await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn submission(
        &self,
        request: Request<pb::GetSubmissionRequest>,
    ) -> Result<Response<pb::GetSubmissionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let id = parse_uuid(&request.get_ref().id).map_err(|error| {
            let mut violations = Violations::default();
            violations.add("id", error.to_string());
            Error::from(violations)
        })?;
        let mut tx = self
            .office
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let row = store::get_submission(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("submission"))?;
        tx.commit().await.map_err(Error::from)?;
        self.authorize(&context, READ, row.facility_id)?;
        Ok(Response::new(pb::GetSubmissionResponse {
            submission: Some(to_pb(&row, true)),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(crate) async fn submissions(
        &self,
        request: Request<pb::ListSubmissionsRequest>,
    ) -> Result<Response<pb::ListSubmissionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let facility = violations.check("facility_id", parse_uuid(&message.facility_id));
        let size = violations.check("page_size", PageSize::parse(message.page_size));
        let after = violations.check(
            "page_token",
            decode_token::<SubmissionKey>(&message.page_token),
        );
        let (Some(facility), Some(size), Some(after), true) =
            (facility, size, after, violations.is_empty())
        else {
            return Err(Error::from(violations).into());
        };
        self.authorize(&context, READ, facility)?;
        let mut tx = self
            .office
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await
            .map_err(Error::from)?;
        let rows = store::list_submissions(
            &mut tx,
            facility,
            after.map(|key| (key.created_at, key.id)),
            size.fetch_limit(),
        )
        .await?;
        tx.commit().await.map_err(Error::from)?;
        let (rows, next_page_token) = finish_page(rows, size, |row| SubmissionKey {
            created_at: row.created_at,
            id: row.id,
        });
        Ok(Response::new(pb::ListSubmissionsResponse {
            submissions: rows.iter().map(|row| to_pb(row, false)).collect(),
            next_page_token,
        }))
    }
}

impl Office {
    /// Renders `report` of `period` as the versioned document, signs it and queues it, under
    /// the idempotency `key` (the caller's request, or a schedule's month): a second call
    /// with the same key answers the first one's submission.
    pub(crate) async fn submit_report(
        &self,
        context: &RequestContext,
        key: &RequestKey,
        message: &pb::SubmitReportRequest,
        (report, period): (&'static str, &Period),
        submitted_by: Uuid,
    ) -> Result<pb::SubmitReportResponse> {
        let office = self;
        let Some(reporting) = office.reporting.clone() else {
            return Err(Error::Precondition(
                "electronic reporting is not configured: set statistics.reporting.endpoint and \
                 signing_key_file"
                    .to_owned(),
            ));
        };
        let tenant_id = context.tenant_id()?;
        // The report is computed from other modules' answers before the write; a retry must
        // answer what the first call stored, not a report computed again.
        if let Some(replayed) = office
            .keys
            .replay::<_, pb::SubmitReportResponse>(
                &office.database,
                tenant_id,
                &context.request_id,
                SUBMIT_METHOD,
                key,
                message,
            )
            .await?
        {
            return Ok(replayed);
        }
        let facility = office.directory.facility(context, period.facility).await?;
        let content = match report {
            "movement" => {
                let lines = office
                    .movement(context, period, pb::MovementGrouping::Ward)
                    .await?;
                let (total, wards) = lines.split_last().ok_or(Error::corrupt("movement"))?;
                let departments = futures::future::try_join_all(wards.iter().map(|line| {
                    let id = Uuid::parse_str(&line.department_id).unwrap_or_default();
                    office.directory.department(context, id)
                }))
                .await?;
                let wards: Vec<_> = wards.iter().cloned().zip(departments).collect();
                document::movement_content(&wards, total)
            }
            "diagnoses" => document::diagnoses_content(&office.diagnoses(context, period).await?),
            _ => document::form16_content(&office.form16(context, period).await?),
        };
        let now = office.clock.now();
        let response = office
            .keys
            .run(
                &office.database,
                tenant_id,
                &context.request_id,
                SUBMIT_METHOD,
                key,
                message,
                async |tx| {
                    let revision =
                        store::next_revision(tx, period.facility, report, period.from, period.to)
                            .await?;
                    let id = Uuid::now_v7();
                    let bytes = document::render(
                        &Header {
                            submission_id: id,
                            revision,
                            report,
                            facility: &facility,
                            period,
                            generated_at: now,
                        },
                        content,
                    )?;
                    let row = SubmissionRow {
                        id,
                        facility_id: period.facility,
                        report: report.to_owned(),
                        period_from: period.from,
                        period_to: period.to,
                        revision,
                        schema_version: SCHEMA_VERSION.to_owned(),
                        signature: reporting.signer.sign(&bytes),
                        document: bytes,
                        key_id: reporting.key_id().to_owned(),
                        status: "pending".to_owned(),
                        attempts: 0,
                        next_attempt_at: Some(now),
                        last_error: None,
                        receipt: None,
                        rejection_reasons: Vec::new(),
                        submitted_by,
                        created_at: now,
                        sent_at: None,
                        decided_at: None,
                    };
                    store::insert_submission(tx, &row).await?;
                    let resources = [format!("submission:{id}")];
                    audit::record(
                        tx,
                        context,
                        &AuditEntry {
                            resource_ids: &resources,
                            ..AuditEntry::ok(&[])
                        },
                        now,
                    )
                    .await?;
                    Ok::<_, Error>(pb::SubmitReportResponse {
                        submission: Some(to_pb(&row, true)),
                    })
                },
            )
            .await?;
        tracing::info!(report, facility_id = %period.facility, "a report was signed and queued for the statistics institute");
        Ok(response)
    }
}
