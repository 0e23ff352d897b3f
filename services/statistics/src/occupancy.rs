//! The whole hospital at a glance: the register's wards and beds kept from core's events
//! (`DepartmentChanged`, `BedChanged`; a row only moves to a newer version), and one call that
//! answers every ward's beds by state, who is in it now by sex, and its census of a day.

use std::sync::Arc;

use chrono::NaiveDate;
use futures::future::BoxFuture;
use hmis_platform::context::RequestId;
use hmis_platform::outbox::{Event, EventHandler, HandlerError, Subscription};
use hmis_platform::types::Version;
use hmis_platform::{Database, RequestContext};
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::statistics::v1 as pb;
use uuid::Uuid;

use crate::error::Result;
use crate::grpc::Office;
use crate::reports::{census, count, local_days};
use crate::store::{self, DayCensus, WardNow};

const DEPARTMENT_CHANGED: &str = "openhmis.core.v1.DepartmentChanged";
const BED_CHANGED: &str = "openhmis.core.v1.BedChanged";

#[derive(Debug)]
struct RegisterFollower {
    database: Database,
}

pub(crate) fn subscription(database: Database, name: &str) -> Subscription {
    Subscription {
        source: "core",
        subscriber: format!("{name}.register"),
        handler: Arc::new(RegisterFollower { database }),
    }
}

fn invalid(what: &str) -> HandlerError {
    HandlerError::new(format!("a register event's {what} is not valid"))
}

fn id(value: &str, what: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(value).map_err(|_| invalid(what))
}

fn version(etag: &str) -> Result<i64, HandlerError> {
    Ok(Version::parse_etag(etag)
        .map_err(|_| invalid("etag"))?
        .get())
}

fn kind_label(kind: i32) -> &'static str {
    match core_pb::DepartmentKind::try_from(kind) {
        Ok(core_pb::DepartmentKind::Ward) => "ward",
        Ok(core_pb::DepartmentKind::IntensiveCare) => "intensive_care",
        _ => "other",
    }
}

fn state_label(state: i32) -> &'static str {
    match core_pb::BedState::try_from(state) {
        Ok(core_pb::BedState::Free) => "free",
        Ok(core_pb::BedState::Occupied) => "occupied",
        Ok(core_pb::BedState::Reserved) => "reserved",
        Ok(core_pb::BedState::Cleaning) => "cleaning",
        Ok(core_pb::BedState::OutOfService) => "out_of_service",
        _ => "unknown",
    }
}

impl RegisterFollower {
    async fn follow(&self, event: &Event) -> Result<(), HandlerError> {
        let is_department = event.event_type == DEPARTMENT_CHANGED;
        if !is_department && event.event_type != BED_CHANGED {
            return Ok(());
        }
        let mut tx = self
            .database
            .begin(event.tenant_id, &RequestId::generate())
            .await
            .map_err(HandlerError::new)?;
        if is_department {
            let changed: core_pb::DepartmentChanged = event.decode().map_err(HandlerError::new)?;
            let department = changed.department.ok_or_else(|| invalid("department"))?;
            let key = (id(&department.id, "id")?, version(&department.etag)?);
            let facts = (
                id(&department.facility_id, "facility")?,
                department.code.as_str(),
                kind_label(department.kind),
                department.active,
            );
            store::keep_department(&mut tx, key, facts)
                .await
                .map_err(HandlerError::new)?;
        } else {
            let changed: core_pb::BedChanged = event.decode().map_err(HandlerError::new)?;
            let bed = changed.bed.ok_or_else(|| invalid("bed"))?;
            let key = (id(&bed.id, "id")?, version(&bed.etag)?);
            let facts = (
                id(&bed.department_id, "department")?,
                state_label(bed.state),
                bed.active,
            );
            store::keep_bed(&mut tx, key, facts)
                .await
                .map_err(HandlerError::new)?;
        }
        tx.commit().await.map_err(HandlerError::new)
    }
}

impl EventHandler for RegisterFollower {
    fn handle<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.follow(event))
    }
}

fn line(ward: &WardNow, census: pb::Census, department: Option<Uuid>) -> pb::WardOccupancy {
    pb::WardOccupancy {
        department_id: department.map(|id| id.to_string()).unwrap_or_default(),
        beds_free: count(ward.free),
        beds_occupied: count(ward.occupied),
        beds_reserved: count(ward.reserved),
        beds_cleaning: count(ward.cleaning),
        beds_blocked: count(ward.blocked),
        present_male: count(ward.male),
        present_female: count(ward.female),
        present_other: count(ward.other),
        census: Some(census),
    }
}

fn add(total: &mut DayCensus, ward: &DayCensus) {
    total.present_at_start += ward.present_at_start;
    total.admitted += ward.admitted;
    total.transferred_in += ward.transferred_in;
    total.transferred_out += ward.transferred_out;
    total.discharged += ward.discharged;
    total.deceased += ward.deceased;
    total.present_at_end += ward.present_at_end;
    total.same_period_cases += ward.same_period_cases;
}

impl Office {
    /// Every ward of `facility` now, and its census of `date` (today in the facility's zone
    /// when `None`), from two statements in one transaction.
    pub(crate) async fn hospital_occupancy(
        &self,
        context: &RequestContext,
        facility: Uuid,
        date: Option<NaiveDate>,
    ) -> Result<pb::GetHospitalOccupancyResponse> {
        let zone = self.directory.time_zone(context, facility).await?;
        let date = date.unwrap_or_else(|| chrono::Utc::now().with_timezone(&zone).date_naive());
        let bounds = local_days(zone, date, date)?;
        let mut tx = self
            .database
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
        let wards = store::wards_now(&mut tx, facility).await?;
        let censuses = store::day_census(&mut tx, facility, None, bounds.0, bounds.1).await?;
        tx.commit().await?;
        let mut lines = Vec::with_capacity(wards.len() + 1);
        let (mut total, mut total_census) = (WardNow::default(), DayCensus::default());
        for ward in &wards {
            let counted = (censuses.iter())
                .find(|counted| counted.department_id == ward.department_id)
                .cloned()
                .unwrap_or_default();
            let beds = ward.free + ward.occupied + ward.reserved + ward.cleaning + ward.blocked;
            let department = Some(ward.department_id);
            lines.push(line(
                ward,
                census(department, date, bounds, &counted, beds),
                department,
            ));
            add(&mut total_census, &counted);
            total.free += ward.free;
            total.occupied += ward.occupied;
            total.reserved += ward.reserved;
            total.cleaning += ward.cleaning;
            total.blocked += ward.blocked;
            total.male += ward.male;
            total.female += ward.female;
            total.other += ward.other;
        }
        let beds = total.free + total.occupied + total.reserved + total.cleaning + total.blocked;
        lines.push(line(
            &total,
            census(None, date, bounds, &total_census, beds),
            None,
        ));
        Ok(pb::GetHospitalOccupancyResponse { wards: lines })
    }
}
