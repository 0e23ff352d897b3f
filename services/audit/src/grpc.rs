//! The tonic adapter of the audit trail. Reading the trail names patients, so every call is
//! itself audited: its record commits before the answer leaves, and a refused attempt is
//! recorded too.

use std::sync::Arc;

use hmis_platform::auth::Target;
use hmis_platform::call::{Calls, Shown};
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::wire::{parse_timestamp as from_timestamp, timestamp};
use hmis_platform::{RequestContext, Violations};
use hmis_proto::openhmis::audit::v1 as pb;
use pb::audit_service_server::AuditService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::chain::{self, Problem, StoredRecord};
use crate::error::Error;
use crate::store::{self, RecordFilter};

const READ_PERMISSION: &str = "audit.read";

#[derive(Debug)]
pub(crate) struct Audit {
    pub(crate) calls: Calls<Error>,
}

#[derive(Debug, Clone)]
pub struct AuditApi {
    pub(crate) audit: Arc<Audit>,
}

fn record_to_pb(record: &StoredRecord) -> pb::AuditRecord {
    pb::AuditRecord {
        record_id: record.record_id.to_string(),
        occurred_at: timestamp(record.occurred_at),
        user_id: record.user_id.to_string(),
        username: record.username.clone(),
        method: record.method.clone(),
        patient_ids: record.patient_ids.iter().map(Uuid::to_string).collect(),
        resource_ids: record.resource_ids.clone(),
        outcome: record.outcome.clone(),
        client_addr: record.client_addr.clone(),
        request_id: record.request_id.clone(),
        break_glass_reason: record.break_glass_reason.clone(),
    }
}

fn parse_optional_id(field: &str, value: &str, violations: &mut Violations) -> Option<Uuid> {
    if value.is_empty() {
        None
    } else {
        violations.check(field, Uuid::parse_str(value).map_err(|_| "must be a UUID"))
    }
}

/// A listing's filter and page size, every wrong field named.
fn parse_listing(message: &pb::ListAuditRecordsRequest) -> Result<(RecordFilter, PageSize), Error> {
    let mut violations = Violations::default();
    let patient_id = parse_optional_id("patient_id", &message.patient_id, &mut violations);
    let user_id = parse_optional_id("user_id", &message.user_id, &mut violations);
    let start = violations
        .check("start_time", from_timestamp(message.start_time.as_ref()))
        .flatten();
    let end = violations
        .check("end_time", from_timestamp(message.end_time.as_ref()))
        .flatten();
    let size = violations.check("page_size", PageSize::parse(message.page_size));
    let before = violations
        .check("page_token", decode_token::<i64>(&message.page_token))
        .flatten();
    let (Some(size), true) = (size, violations.is_empty()) else {
        return Err(violations.into());
    };
    let filter = RecordFilter {
        patient_id,
        user_id,
        break_glass_only: message.break_glass_only,
        start,
        end,
        before,
    };
    Ok((filter, size))
}

impl Audit {
    /// The records the filter names. Who looked at the trail of patient X is itself a look at
    /// patient X: the read is audited, and so is a refused attempt.
    async fn list_records(
        &self,
        context: &RequestContext,
        filter: RecordFilter,
        size: PageSize,
    ) -> Result<pb::ListAuditRecordsResponse, Error> {
        let patients: Vec<Uuid> = filter.patient_id.into_iter().collect();
        if let Err(denied) = context.authorize(READ_PERMISSION, &Target::TENANT) {
            return Err(self.calls.refuse(context, &patients, denied).await);
        }
        self.calls
            .read(context, async |tx| {
                let rows = store::list_records(tx, &filter, size.fetch_limit()).await?;
                let (rows, next_page_token) = finish_page(rows, size, |row| row.id);
                let response = pb::ListAuditRecordsResponse {
                    records: rows.iter().map(|row| record_to_pb(&row.record)).collect(),
                    next_page_token,
                };
                Ok((response, Shown::patients(patients.clone())))
            })
            .await
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    #[tracing::instrument(skip_all)]
    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.tenant_id()?;
        let (filter, size) = parse_listing(request.get_ref())?;
        let response = self.audit.list_records(&context, filter, size).await?;
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all)]
    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context
            .authorize(READ_PERMISSION, &Target::TENANT)?
            .tenant_id;
        let mut tx = self
            .audit
            .calls
            .database()
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let report = chain::verify(&mut tx, tenant_id.as_uuid())
            .await
            .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(report_to_pb(&report)))
    }
}

pub fn report_to_pb(report: &chain::Report) -> pb::VerifyAuditChainResponse {
    pb::VerifyAuditChainResponse {
        intact: report.problems.is_empty(),
        records_checked: report.checked,
        problems: report
            .problems
            .iter()
            .map(|problem| {
                let (kind, seq, record_id) = match problem {
                    Problem::Altered { seq, record_id } => {
                        (pb::ProblemKind::Altered, *seq, record_id)
                    }
                    Problem::Removed { seq, record_id } => {
                        (pb::ProblemKind::Removed, *seq, record_id)
                    }
                    Problem::ChainBroken { seq, record_id } => {
                        (pb::ProblemKind::ChainBroken, *seq, record_id)
                    }
                    Problem::Unchained { record_id } => (pb::ProblemKind::Unchained, 0, record_id),
                };
                pb::ChainProblem {
                    kind: kind.into(),
                    seq,
                    record_id: record_id.to_string(),
                }
            })
            .collect(),
    }
}
