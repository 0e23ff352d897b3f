//! The tonic adapter of the audit trail. Reading the trail names patients, so every call is
//! itself audited: its record commits before the answer leaves, and a refused attempt is
//! recorded too.

use std::sync::Arc;

use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::clock::SharedClock;
use hmis_platform::paging::{PageSize, decode_token, finish_page};
use hmis_platform::wire::{parse_timestamp as from_timestamp, timestamp};
use hmis_platform::{Database, RequestContext, Violations};
use hmis_proto::openhmis::audit::v1 as pb;
use pb::audit_service_server::AuditService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::chain::{self, Problem, RECORD_COLUMNS, StoredRecord};
use crate::error::Error;

const READ_PERMISSION: &str = "audit.read";

#[derive(Debug)]
pub(crate) struct Audit {
    pub(crate) database: Database,
    pub(crate) clock: SharedClock,
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

#[derive(sqlx::FromRow)]
struct ListedRecord {
    id: i64,
    #[sqlx(flatten)]
    record: StoredRecord,
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    #[tracing::instrument(skip_all)]
    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let context = RequestContext::of(&request);
        let tenant_id = context.tenant_id()?;
        let message = request.get_ref();
        let mut violations = Violations::default();
        let patient_id = if message.patient_id.is_empty() {
            None
        } else {
            violations.check(
                "patient_id",
                Uuid::parse_str(&message.patient_id).map_err(|_| "must be a UUID"),
            )
        };
        let user_id = if message.user_id.is_empty() {
            None
        } else {
            violations.check(
                "user_id",
                Uuid::parse_str(&message.user_id).map_err(|_| "must be a UUID"),
            )
        };
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
            return Err(Error::from(violations).into());
        };
        let patients: Vec<Uuid> = patient_id.into_iter().collect();
        let now = self.audit.clock.now();
        if let Err(denied) = context.authorize(READ_PERMISSION, &Target::TENANT) {
            return Err(audit::refuse(
                &self.audit.database,
                tenant_id,
                &context,
                &patients,
                denied,
                now,
            )
            .await);
        }

        let mut tx = self
            .audit
            .database
            .begin(tenant_id, &context.request_id)
            .await
            .map_err(Error::from)?;
        let sql = format!(
            "SELECT id, {RECORD_COLUMNS} FROM audit.records \
             WHERE tenant_id = $1 \
               AND ($2::uuid IS NULL OR patient_ids @> ARRAY[$2::uuid]) \
               AND ($3::uuid IS NULL OR user_id = $3) \
               AND (NOT $4 OR break_glass_reason <> '') \
               AND ($5::timestamptz IS NULL OR occurred_at >= $5) \
               AND ($6::timestamptz IS NULL OR occurred_at < $6) \
               AND ($7::bigint IS NULL OR id < $7) \
             ORDER BY id DESC LIMIT $8"
        );
        let rows: Vec<ListedRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id.as_uuid())
            .bind(patient_id)
            .bind(user_id)
            .bind(message.break_glass_only)
            .bind(start)
            .bind(end)
            .bind(before)
            .bind(size.fetch_limit())
            .fetch_all(&mut *tx)
            .await
            .map_err(Error::from)?;
        let (rows, next_page_token) = finish_page(rows, size, |row| row.id);
        // Who looked at the trail of patient X is itself a look at patient X.
        let entry = AuditEntry::ok(&patients);
        audit::record(&mut tx, &context, &entry, now)
            .await
            .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        Ok(Response::new(pb::ListAuditRecordsResponse {
            records: rows.iter().map(|row| record_to_pb(&row.record)).collect(),
            next_page_token,
        }))
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
            .database
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
