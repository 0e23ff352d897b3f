//! Imaging's use cases, one function per RPC (`catalogue`, `exams`, `reports`): authorize
//! against the order's ward, then do the whole change in one transaction under the request's
//! idempotency key, with its events and its audit record. What a use case is asked comes
//! parsed (`grpc/parse.rs`); it answers in the contract's messages (`convert.rs`), so a retry
//! is answered with the stored response.

mod catalogue;
pub(crate) mod exams;
mod reports;

pub(crate) use catalogue::NewService;
pub(crate) use exams::Scheduling;
pub(crate) use reports::{Draft, TurnaroundQuery};

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::TenantTx;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::Calls;
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::imaging::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use crate::convert;
use crate::domain::{ExamStatus, order_status};
use crate::error::{Error, Result};
use crate::store::{self, ExamRow, OrderRow};

pub(crate) const READ: &str = "imaging.read";
pub(crate) const PERFORM: &str = "imaging.perform";
pub(crate) const REPORT: &str = "imaging.report";
pub(crate) const MANAGE: &str = "imaging.manage";

const SERVICE: &str = "/openhmis.imaging.v1.ImagingService/";

fn method(name: &str) -> String {
    format!("{SERVICE}{name}")
}

#[derive(Debug)]
pub(crate) struct Imaging {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
    /// The PACS viewer's address of a study, `{study_uid}` standing for the study.
    pub(crate) viewer_url: Option<String>,
}

/// Whom an order's data is about: its ward when it has one, else its facility.
fn order_target(order: &OrderRow) -> Target {
    match order.department_id {
        Some(department) => Target::department(order.facility_id, department),
        None => Target::facility(order.facility_id),
    }
}

/// The caller may do `permission` with this order's patient, or the refusal is audited.
fn authorize(context: &RequestContext, permission: &str, order: &OrderRow) -> Result<()> {
    context
        .authorize(permission, &order_target(order))
        .map(|_| ())
        .map_err(refused(vec![order.patient_id]))
}

/// A refusal to act on `patients`, audited once the transaction rolled back.
fn refused(patients: Vec<Uuid>) -> impl FnOnce(Status) -> Error {
    move |status| Error::refused(status, patients)
}

/// Records the call's access to `patients` (none for reference data) in its transaction.
async fn record(
    tx: &mut TenantTx,
    context: &RequestContext,
    patients: &[Uuid],
    now: DateTime<Utc>,
) -> Result<()> {
    audit::record(tx, context, &AuditEntry::ok(patients), now).await?;
    Ok(())
}

impl Imaging {
    /// Examinations as the contract shows them, with their orders' facts and reports.
    async fn exams_view(&self, tx: &mut TenantTx, exams: &[ExamRow]) -> Result<Vec<pb::Exam>> {
        let mut order_ids: Vec<Uuid> = exams.iter().map(|exam| exam.order_id).collect();
        order_ids.sort_unstable();
        order_ids.dedup();
        let orders: HashMap<Uuid, OrderRow> = store::get_orders(tx, &order_ids)
            .await?
            .into_iter()
            .map(|order| (order.id, order))
            .collect();
        let exam_ids: Vec<Uuid> = exams.iter().map(|exam| exam.id).collect();
        let reports = store::reports_of(tx, &exam_ids).await?;
        Ok(exams
            .iter()
            .map(|exam| {
                convert::exam_to_pb(
                    exam,
                    orders.get(&exam.order_id),
                    &reports,
                    self.viewer_url.as_deref(),
                )
            })
            .collect())
    }

    /// Orders as the contract shows them, with their examinations.
    async fn orders_view(&self, tx: &mut TenantTx, orders: &[OrderRow]) -> Result<Vec<pb::Order>> {
        let ids: Vec<Uuid> = orders.iter().map(|order| order.id).collect();
        let exams = store::exams_of(tx, &ids).await?;
        let exam_ids: Vec<Uuid> = exams.iter().map(|exam| exam.id).collect();
        let reports = store::reports_of(tx, &exam_ids).await?;
        Ok(orders
            .iter()
            .map(|order| {
                let views = exams
                    .iter()
                    .filter(|exam| exam.order_id == order.id)
                    .map(|exam| {
                        convert::exam_to_pb(exam, Some(order), &reports, self.viewer_url.as_deref())
                    })
                    .collect();
                convert::order_to_pb(order, views)
            })
            .collect())
    }

    /// The end of every change to an examination: it is written, its order's status follows,
    /// the call's access to the patient goes on record, and the examination is answered as it
    /// is now.
    async fn settled(
        &self,
        tx: &mut TenantTx,
        context: &RequestContext,
        (order, exam): (&OrderRow, &ExamRow),
        now: DateTime<Utc>,
    ) -> Result<pb::Exam> {
        store::update_exam(tx, exam).await?;
        let statuses: Vec<ExamStatus> = store::exams_of(tx, &[order.id])
            .await?
            .iter()
            .map(|exam| exam.status)
            .collect();
        let status = order_status(statuses);
        if status != order.status {
            let final_at = (status == ExamStatus::Final).then_some(now);
            store::set_order_status(tx, order.id, status, final_at).await?;
        }
        record(tx, context, &[order.patient_id], now).await?;
        self.exams_view(tx, std::slice::from_ref(exam))
            .await?
            .pop()
            .ok_or(Error::NotFound("examination"))
    }
}
