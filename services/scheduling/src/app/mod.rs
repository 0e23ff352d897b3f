//! The use cases of the booking office, one function per RPC (`setup`: clinics, schedules,
//! holidays, leave, slots; `booking`: free slots, appointments, referrals; `queue`: check-in
//! to the end of the visit, and the report): look up what other modules know (the
//! department, the facility's zone, the patient), authorize against the clinic's department,
//! then do the whole change in one transaction under the request's idempotency key, with its
//! events and its audit record. What a use case is asked comes parsed (`grpc/parse.rs`); it
//! answers in the contract's messages (`convert.rs`).

mod booking;
mod queue;
mod setup;
mod waiting;

pub(crate) use booking::{AppointmentChangeRequest, Booking, FreeSlotQuery, Rescheduling};
pub(crate) use queue::{CallRequest, CheckInRequest, Finishing};
pub(crate) use setup::{NewClinic, NewHoliday, NewLeaveRequest, NewSchedule, SlotOpening};
pub(crate) use waiting::Joining;

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::RequestContext;
use hmis_platform::TenantTx;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::auth::Target;
use hmis_platform::call::Calls;
use hmis_platform::outbox::Outbox;
use tonic::Status;
use uuid::Uuid;

use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::store::{self, ClinicRow};

pub(crate) const READ: &str = "scheduling.read";
pub(crate) const BOOK: &str = "scheduling.book";
pub(crate) const QUEUE: &str = "scheduling.queue";
pub(crate) const MANAGE: &str = "scheduling.manage";

const SERVICE: &str = "/openhmis.scheduling.v1.SchedulingService/";

fn method(name: &str) -> String {
    format!("{SERVICE}{name}")
}

#[derive(Debug)]
pub(crate) struct Scheduling {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
    pub(crate) directory: Directory,
}

fn clinic_target(clinic: &ClinicRow) -> Target {
    Target::department(clinic.facility_id, clinic.department_id)
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

/// The clinic `id` a request names in `field`; an unknown one is that field's fault.
async fn clinic_named(
    tx: &mut TenantTx,
    id: Uuid,
    field: &'static str,
    lock: bool,
) -> Result<ClinicRow> {
    match store::get_clinic(tx, id, lock).await {
        Err(Error::NotFound(_)) => Err(Error::invalid(field, "was not found")),
        found => found,
    }
}

/// The day of `zone` an instant falls on.
fn day_of(zone: &chrono_tz::Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(zone).date_naive()
}

/// The instants the days `first` to `last` of `zone` begin and end at.
fn days_bounds(
    zone: &chrono_tz::Tz,
    first: NaiveDate,
    last: NaiveDate,
) -> (DateTime<Utc>, DateTime<Utc>) {
    hmis_platform::days::days(zone, first, last)
}

impl Scheduling {
    /// The clinic `id` (named by `field`), read in a transaction of its own before a change
    /// that consults other modules.
    async fn clinic(
        &self,
        context: &RequestContext,
        id: Uuid,
        field: &'static str,
    ) -> Result<ClinicRow> {
        self.calls
            .transaction(context, async |tx| clinic_named(tx, id, field, false).await)
            .await
    }
}
