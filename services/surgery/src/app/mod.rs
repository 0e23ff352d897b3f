//! The use cases of the operating block, one function per RPC (`theatres`, `privileges`,
//! `operations`): look up what other modules know (the room, the patient, the admission, the
//! procedure codes), authorize against the operating-block department, then do the whole
//! change in one transaction under the request's idempotency key, with its events and its
//! audit record. What a use case is asked comes parsed (`grpc/parse.rs`); it answers in the
//! contract's messages (`convert.rs`), so a retry can be answered with the stored response.

mod day;
mod operations;
mod privileges;
mod theatres;

pub(crate) use day::{Consumption, Writing};
pub(crate) use operations::{Booking, Cancelling, Rescheduling, TheatreListQuery};
pub(crate) use privileges::{Granting, StatusChange};
pub(crate) use theatres::{NewSession, NewTheatre};

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
use crate::store::TheatreRow;

pub(crate) const READ: &str = "surgery.read";
pub(crate) const PLAN: &str = "surgery.plan";
pub(crate) const MANAGE: &str = "surgery.manage";
pub(crate) const PRIVILEGES: &str = "surgery.privileges";
pub(crate) const RECORD: &str = "surgery.record";

const SERVICE: &str = "/openhmis.surgery.v1.SurgeryService/";

fn method(name: &str) -> String {
    format!("{SERVICE}{name}")
}

#[derive(Debug)]
pub(crate) struct Surgery {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
    pub(crate) directory: Directory,
}

fn theatre_target(theatre: &TheatreRow) -> Target {
    Target::department(theatre.facility_id, theatre.department_id)
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

/// The theatre `id` a request names in `field`; an unknown one is that field's fault.
async fn theatre_named(tx: &mut TenantTx, id: Uuid, field: &'static str) -> Result<TheatreRow> {
    match crate::store::get_theatre(tx, id).await {
        Err(Error::NotFound(_)) => Err(Error::invalid(field, "was not found")),
        found => found,
    }
}

/// The instants a day of `zone` begins and ends at.
fn day_bounds(zone: &chrono_tz::Tz, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    hmis_platform::days::days(zone, day, day)
}

/// The day of `zone` an instant falls on.
fn day_of(zone: &chrono_tz::Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(zone).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_cut_in_the_facility_zone_across_daylight_saving() {
        let zone: chrono_tz::Tz = "Europe/Chisinau".parse().expect("zone");
        let day = NaiveDate::from_ymd_opt(2026, 10, 25).expect("day");
        let (start, end) = day_bounds(&zone, day);
        assert_eq!(start.to_rfc3339(), "2026-10-24T21:00:00+00:00");
        assert_eq!((end - start).num_hours(), 25, "the day clocks go back");
        assert_eq!(day_of(&zone, start), day);
    }
}
