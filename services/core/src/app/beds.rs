//! Beds: created in a room (and so in its department), listed by ward or room, changed, and
//! moved through their states by the ward's staff (free, cleaning, out of service).

use hmis_platform::RequestContext;
use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::paging::{PageSize, finish_page};
use hmis_platform::types::{Code, Text, Version};
use hmis_proto::openhmis::core::v1 as pb;

use super::register::Update;
use super::{BEDS_MANAGE, Core, check_etag, method, refers_to};
use crate::convert::bed_to_pb;
use crate::domain::{Bed, BedChanges, BedId, BedSex, BedState, RoomId};
use crate::error::{Error, Result};
use crate::events;
use crate::store::{self, BedScope, Lock};

const SERVICE: &str = "FacilityService";

pub(crate) struct NewBed {
    pub(crate) key: RequestKey,
    pub(crate) room_id: RoomId,
    pub(crate) code: Code,
    pub(crate) sex: BedSex,
    pub(crate) isolation: bool,
    pub(crate) intensive_care: bool,
}

/// A ward's or a room's beds, in one state when one is named, by room and bed code.
pub(crate) struct BedsPage {
    pub(crate) scope: BedScope,
    pub(crate) state: Option<BedState>,
    pub(crate) size: PageSize,
    pub(crate) after: Option<(String, String)>,
}

/// A bed moved to another state, with why, against the version the ward read.
pub(crate) struct BedStateChange {
    pub(crate) key: RequestKey,
    pub(crate) id: BedId,
    pub(crate) state: BedState,
    pub(crate) etag: Version,
    pub(crate) reason: Text,
}

impl Core {
    pub(crate) async fn create_bed(
        &self,
        context: &RequestContext,
        message: &pb::CreateBedRequest,
        new: NewBed,
    ) -> Result<pb::CreateBedResponse> {
        let now = self.calls.now();
        let method = method(SERVICE, "CreateBed");
        (self.calls)
            .write(context, &method, &new.key, message, async |tx| {
                let room = store::get_room(tx, new.room_id, Lock::ForUpdate)
                    .await
                    .map_err(|error| refers_to(error, "bed.room_id"))?;
                if !room.active {
                    return Err(Error::FailedPrecondition("the room is inactive".to_owned()));
                }
                let bed = Bed {
                    id: BedId::generate(),
                    room_id: new.room_id,
                    department_id: room.department_id,
                    code: new.code,
                    sex: new.sex,
                    isolation: new.isolation,
                    intensive_care: new.intensive_care,
                    state: BedState::Free,
                    state_reason: String::new(),
                    active: true,
                    version: Version::FIRST,
                    created_at: now,
                    updated_at: now,
                };
                store::insert_bed(tx, &bed).await?;
                events::bed_changed(self, tx, &bed, None).await?;
                Ok::<_, Error>(pb::CreateBedResponse {
                    bed: Some(bed_to_pb(&bed)),
                })
            })
            .await
    }

    pub(crate) async fn get_bed(
        &self,
        context: &RequestContext,
        id: BedId,
    ) -> Result<pb::GetBedResponse> {
        let bed = (self.calls)
            .transaction(context, async |tx| store::get_bed(tx, id, Lock::None).await)
            .await?;
        Ok(pb::GetBedResponse {
            bed: Some(bed_to_pb(&bed)),
        })
    }

    pub(crate) async fn list_beds(
        &self,
        context: &RequestContext,
        page: BedsPage,
    ) -> Result<pb::ListBedsResponse> {
        let BedsPage {
            scope,
            state,
            size,
            after,
        } = page;
        let after = after
            .as_ref()
            .map(|(room, bed)| (room.as_str(), bed.as_str()));
        let rows = (self.calls)
            .transaction(context, async |tx| {
                store::list_beds(tx, scope, state, after, size.fetch_limit()).await
            })
            .await?;
        let (rows, next_page_token) = finish_page(rows, size, |(bed, room_code)| {
            (room_code.clone(), bed.code.to_string())
        });
        Ok(pb::ListBedsResponse {
            beds: rows.iter().map(|(bed, _)| bed_to_pb(bed)).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn update_bed(
        &self,
        context: &RequestContext,
        update: Update<BedId, BedChanges>,
    ) -> Result<pb::UpdateBedResponse> {
        let now = self.calls.now();
        let bed = (self.calls)
            .transaction(context, async |tx| {
                let mut bed = store::get_bed(tx, update.id, Lock::ForUpdate).await?;
                check_etag(bed.version, update.etag, "bed")?;
                let previous_state = bed.state;
                bed.apply(update.changes)?;
                bed.updated_at = now;
                store::update_bed(tx, &mut bed).await?;
                events::bed_changed(self, tx, &bed, Some(previous_state)).await?;
                Ok(bed)
            })
            .await?;
        Ok(pb::UpdateBedResponse {
            bed: Some(bed_to_pb(&bed)),
        })
    }

    /// The ward's staff move a bed through its states (their ward's beds only).
    pub(crate) async fn set_bed_state(
        &self,
        context: &RequestContext,
        message: &pb::SetBedStateRequest,
        change: BedStateChange,
    ) -> Result<pb::SetBedStateResponse> {
        let now = self.calls.now();
        let principal = context.principal()?;
        let method = method(SERVICE, "SetBedState");
        (self.calls)
            .write(context, &method, &change.key, message, async |tx| {
                let mut bed = store::get_bed(tx, change.id, Lock::ForUpdate).await?;
                let department = store::get_department(tx, bed.department_id, Lock::None).await?;
                let ward =
                    Target::department(department.facility_id.as_uuid(), department.id.as_uuid());
                principal.authorize(BEDS_MANAGE, &ward)?;
                check_etag(bed.version, change.etag, "bed")?;
                let previous_state = bed.state;
                bed.change_state(change.state, &change.reason)?;
                bed.updated_at = now;
                store::update_bed(tx, &mut bed).await?;
                events::bed_changed(self, tx, &bed, Some(previous_state)).await?;
                Ok::<_, Error>(pb::SetBedStateResponse {
                    bed: Some(bed_to_pb(&bed)),
                })
            })
            .await
    }
}
