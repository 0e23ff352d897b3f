//! The laboratory's use cases, one function per RPC (`catalogue`, `orders`, `results`), and
//! the analysers' messages (`analysers`): authorize against the order's ward, then do the
//! whole change in one transaction under the request's idempotency key, with its events and
//! its audit record. What a use case is asked comes parsed (`grpc/parse.rs`); it answers in
//! the contract's messages (`convert.rs`), so a retry is answered with the stored response.

mod analysers;
mod catalogue;
mod dispatch;
pub(crate) mod orders;
mod reports;
mod results;

pub(crate) use catalogue::{NewAnalyser, NewTest};
pub(crate) use dispatch::Retries;
pub(crate) use orders::{Rejection, WorklistQuery};
pub(crate) use reports::TurnaroundQuery;
pub(crate) use results::{Correction, Entry, Validation};

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::TenantTx;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::{Calls, Shown};
use hmis_platform::outbox::Outbox;
use hmis_proto::openhmis::laboratory::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use crate::convert;
use crate::domain::{OrderStatus, TestProgress, order_status};
use crate::error::{Error, Result};
use crate::store::{self, OrderRow, OrderTestRow, ResultRow, SpecimenRow};

pub(crate) const READ: &str = "laboratory.read";
pub(crate) const COLLECT: &str = "laboratory.collect";
pub(crate) const PROCESS: &str = "laboratory.process";
pub(crate) const VALIDATE: &str = "laboratory.validate";
pub(crate) const ACKNOWLEDGE: &str = "laboratory.acknowledge";
pub(crate) const MANAGE: &str = "laboratory.manage";

const SERVICE: &str = "/openhmis.laboratory.v1.LaboratoryService/";

fn method(name: &str) -> String {
    format!("{SERVICE}{name}")
}

#[derive(Debug)]
pub(crate) struct Laboratory {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
    /// The registry, asked for a patient the laboratory has not heard of yet.
    pub(crate) patients: hmis_patients_api::PatientsClient,
    /// Analysers' routes found so far: (MSH-3, MSH-4) to tenant and analyser.
    pub(crate) routes:
        std::sync::RwLock<HashMap<(String, String), (hmis_platform::TenantId, Uuid)>>,
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

/// What a read of one patient's orders shows, for its audit record: every order's ward must
/// be in the caller's scope, or reached by break-glass (whose reason goes on record).
fn patient_shown(context: &RequestContext, patient_id: Uuid, orders: &[OrderRow]) -> Result<Shown> {
    Shown::patient_across(context, READ, patient_id, orders.iter().map(order_target))
        .map_err(refused(vec![patient_id]))
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

/// The orders as the contract shows them, with their tests, specimens and current results.
async fn orders_view(tx: &mut TenantTx, orders: Vec<OrderRow>) -> Result<Vec<pb::Order>> {
    let ids: Vec<Uuid> = orders.iter().map(|order| order.id).collect();
    let tests = store::order_tests(tx, &ids).await?;
    let specimens = store::specimens_of(tx, &ids).await?;
    let results = store::current_results(tx, &ids).await?;
    let mut by_order: HashMap<Uuid, pb::Order> = HashMap::with_capacity(orders.len());
    let mut names: HashMap<(Uuid, &str), &str> = HashMap::new();
    for test in &tests {
        names.insert((test.order_id, &test.test_code), &test.test_name);
    }
    for order in &orders {
        by_order.insert(order.id, convert::order_to_pb(order));
    }
    for test in &tests {
        if let Some(order) = by_order.get_mut(&test.order_id) {
            let status = test_progress(test, &specimens, &results).status();
            order.tests.push(convert::ordered_test_to_pb(test, status));
        }
    }
    for specimen in &specimens {
        if let Some(order) = by_order.get_mut(&specimen.order_id) {
            order.specimens.push(convert::specimen_to_pb(specimen));
        }
    }
    for result in &results {
        let name = names
            .get(&(result.order_id, result.test_code.as_str()))
            .copied()
            .unwrap_or_default();
        if let Some(order) = by_order.get_mut(&result.order_id) {
            order.results.push(convert::result_to_pb(result, name));
        }
    }
    Ok(orders
        .iter()
        .filter_map(|order| by_order.remove(&order.id))
        .collect())
}

async fn order_view(tx: &mut TenantTx, order: OrderRow) -> Result<pb::Order> {
    orders_view(tx, vec![order])
        .await?
        .pop()
        .ok_or(Error::NotFound("order"))
}

/// The end of every change to an order: where it stands now kept on it, the call's access to
/// the patient on record, and the order as it is now, as the contract shows it.
async fn settled(
    tx: &mut TenantTx,
    context: &RequestContext,
    order: &OrderRow,
    now: DateTime<Utc>,
) -> Result<pb::Order> {
    refresh_status(tx, order, now).await?;
    record(tx, context, &[order.patient_id], now).await?;
    current_view(tx, order.id).await
}

/// The order as it is now in this transaction, as the contract shows it.
async fn current_view(tx: &mut TenantTx, order_id: Uuid) -> Result<pb::Order> {
    let order = store::get_order(tx, order_id).await?;
    order_view(tx, order).await
}

/// What one test of an order has reached: the state of the specimen carrying it and the
/// status of its current result, among the order's (or orders') specimens and results.
fn test_progress(
    test: &OrderTestRow,
    specimens: &[SpecimenRow],
    results: &[ResultRow],
) -> TestProgress {
    TestProgress {
        specimen: test
            .specimen_id
            .and_then(|id| specimens.iter().find(|specimen| specimen.id == id))
            .map(|specimen| specimen.status),
        result: results
            .iter()
            .find(|result| result.order_id == test.order_id && result.test_code == test.test_code)
            .map(|result| result.status),
    }
}

/// Where an order stands given its tests, specimens and current results.
fn status_of(
    order: &OrderRow,
    tests: &[OrderTestRow],
    specimens: &[SpecimenRow],
    results: &[ResultRow],
) -> OrderStatus {
    let progress: Vec<TestProgress> = tests
        .iter()
        .map(|test| test_progress(test, specimens, results))
        .collect();
    order_status(order.status == OrderStatus::Cancelled, &progress)
}

/// Keeps `status` on the order when it moved (with the time it became final).
async fn keep_status(
    tx: &mut TenantTx,
    order: &OrderRow,
    status: OrderStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    if status != order.status {
        let final_at = (status == OrderStatus::Final).then_some(now);
        store::set_order_status(tx, order.id, status, final_at).await?;
    }
    Ok(())
}

/// Derives where the order stands from its tests after a change and keeps it on the order.
async fn refresh_status(tx: &mut TenantTx, order: &OrderRow, now: DateTime<Utc>) -> Result<()> {
    let tests = store::order_tests(tx, &[order.id]).await?;
    let specimens = store::specimens_of(tx, &[order.id]).await?;
    let results = store::current_results(tx, &[order.id]).await?;
    let status = status_of(order, &tests, &specimens, &results);
    keep_status(tx, order, status, now).await
}
