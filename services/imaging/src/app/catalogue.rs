//! The catalogue of services and the examination rooms.

use hmis_platform::RequestContext;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::openhmis::imaging::v1 as pb;
use uuid::Uuid;

use super::{Imaging, method, record};
use crate::convert;
use crate::domain::Modality;
use crate::error::{Error, Result};
use crate::store::{self, RoomRow, ServiceRow};

/// A service to add or replace, parsed.
#[derive(Debug, Clone)]
pub(crate) struct NewService {
    pub row: ServiceRow,
    /// The version being replaced; none to add.
    pub version: Option<i64>,
}

impl Imaging {
    pub(crate) async fn set_service(
        &self,
        context: &RequestContext,
        service: NewService,
    ) -> Result<pb::SetServiceResponse> {
        self.calls
            .transaction(context, async |tx| {
                let version = store::upsert_service(tx, &service.row, service.version).await?;
                record(tx, context, &[], self.calls.now()).await?;
                Ok(pb::SetServiceResponse {
                    service: Some(convert::service_to_pb(&ServiceRow {
                        version,
                        ..service.row.clone()
                    })),
                })
            })
            .await
    }

    /// Stores services as the starter catalogue gives them: each added, or replaced whatever
    /// its version. Answers how many.
    pub(crate) async fn import_services(
        &self,
        context: &RequestContext,
        services: Vec<ServiceRow>,
    ) -> Result<usize> {
        self.calls
            .transaction(context, async |tx| {
                for service in &services {
                    let current =
                        store::get_services(tx, std::slice::from_ref(&service.code)).await?;
                    let version = current.first().map(|existing| existing.version);
                    store::upsert_service(tx, service, version).await?;
                }
                record(tx, context, &[], self.calls.now()).await?;
                Ok(services.len())
            })
            .await
    }

    pub(crate) async fn list_services(
        &self,
        context: &RequestContext,
        modality: Option<Modality>,
    ) -> Result<pb::ListServicesResponse> {
        self.calls
            .transaction(context, async |tx| {
                let services = store::list_services(tx, modality).await?;
                Ok(pb::ListServicesResponse {
                    services: services.iter().map(convert::service_to_pb).collect(),
                })
            })
            .await
    }

    /// Adds a room (no id given) or replaces one, under the request's idempotency key.
    pub(crate) async fn set_room(
        &self,
        context: &RequestContext,
        message: &pb::SetRoomRequest,
        (key, room, replace): (RequestKey, RoomRow, bool),
    ) -> Result<pb::SetRoomResponse> {
        (self.calls)
            .write(context, &method("SetRoom"), &key, message, async |tx| {
                if !store::upsert_room(tx, &room, replace).await? {
                    return Err(Error::NotFound("room"));
                }
                record(tx, context, &[], self.calls.now()).await?;
                Ok(pb::SetRoomResponse {
                    room: Some(convert::room_to_pb(&room)),
                })
            })
            .await
    }

    pub(crate) async fn list_rooms(
        &self,
        context: &RequestContext,
        facility_id: Option<Uuid>,
    ) -> Result<pb::ListRoomsResponse> {
        self.calls
            .transaction(context, async |tx| {
                let rooms = store::list_rooms(tx, facility_id).await?;
                Ok(pb::ListRoomsResponse {
                    rooms: rooms.iter().map(convert::room_to_pb).collect(),
                })
            })
            .await
    }
}
