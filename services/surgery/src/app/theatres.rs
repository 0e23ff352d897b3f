//! Theatres and their sessions (reference data of the operating block).

use hmis_platform::idempotency::RequestKey;
use hmis_platform::types::Line;
use hmis_proto::openhmis::surgery::v1 as pb;

use super::*;
use crate::convert::{session_to_pb, theatre_to_pb};
use crate::store::{self, SessionRow};

/// What a CreateTheatre call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewTheatre {
    pub(crate) key: RequestKey,
    pub(crate) room_id: Uuid,
    pub(crate) code: String,
    pub(crate) name: Line,
    pub(crate) specialty_codes: Vec<String>,
    pub(crate) equipment: Vec<String>,
}

/// What a CreateTheatreSession call asks for, parsed.
#[derive(Debug)]
pub(crate) struct NewSession {
    pub(crate) key: RequestKey,
    pub(crate) theatre_id: Uuid,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    pub(crate) specialty_code: String,
}

impl Surgery {
    pub(crate) async fn create_theatre(
        &self,
        context: &RequestContext,
        message: &pb::CreateTheatreRequest,
        new: NewTheatre,
    ) -> Result<pb::CreateTheatreResponse> {
        let method = method("CreateTheatre");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let room = self.directory.theatre_room(context, new.room_id).await?;
        let theatre = TheatreRow {
            id: Uuid::now_v7(),
            room_id: new.room_id,
            facility_id: room.facility_id,
            department_id: room.department_id,
            code: new.code,
            name: new.name.as_str().to_owned(),
            specialty_codes: new.specialty_codes,
            equipment: new.equipment,
            active: true,
            version: 1,
        };
        context.authorize(MANAGE, &theatre_target(&theatre))?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                store::insert_theatre(tx, &theatre, now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::CreateTheatreResponse {
                    theatre: Some(theatre_to_pb(&theatre)),
                })
            })
            .await
    }

    pub(crate) async fn list_theatres(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<pb::ListTheatresResponse> {
        context
            .authorize(READ, &Target::facility(facility_id))
            .or_else(|denied| {
                // Someone who reads one operating block of the facility sees its theatres.
                match context.principal()?.departments_for(READ, facility_id) {
                    Some(departments) if !departments.is_empty() => Ok(context.principal()?),
                    _ => Err(denied),
                }
            })?;
        self.calls
            .transaction(context, async |tx| {
                let theatres = store::list_theatres(tx, facility_id).await?;
                Ok(pb::ListTheatresResponse {
                    theatres: theatres.iter().map(theatre_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn create_session(
        &self,
        context: &RequestContext,
        message: &pb::CreateTheatreSessionRequest,
        new: NewSession,
    ) -> Result<pb::CreateTheatreSessionResponse> {
        let now = self.calls.now();
        self.calls
            .write(
                context,
                &method("CreateTheatreSession"),
                &new.key,
                message,
                async |tx| {
                    let theatre = theatre_named(tx, new.theatre_id, "theatre_id").await?;
                    context.authorize(MANAGE, &theatre_target(&theatre))?;
                    let session = SessionRow {
                        id: Uuid::now_v7(),
                        theatre_id: theatre.id,
                        start_time: new.start,
                        end_time: new.end,
                        specialty_code: new.specialty_code.clone(),
                    };
                    store::insert_session(tx, &session).await?;
                    record(tx, context, &[], now).await?;
                    Ok(pb::CreateTheatreSessionResponse {
                        session: Some(session_to_pb(&session)),
                    })
                },
            )
            .await
    }
}
