//! `FacilityService`: facilities, departments (wards), rooms and beds.

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_platform::auth::Target;
use hmis_proto::openhmis::core::v1 as pb;
use pb::facility_service_server::FacilityService;
use tonic::{Request, Response};

use super::{Answer, parse};
use crate::app::{BEDS_MANAGE, Core, MANAGE, READ};
use crate::domain::{BedId, DepartmentId, FacilityId, RoomId};

#[derive(Debug, Clone)]
pub struct FacilityApi {
    pub(crate) core: Arc<Core>,
}

#[tonic::async_trait]
impl FacilityService for FacilityApi {
    #[tracing::instrument(skip_all)]
    async fn create_facility(
        &self,
        request: Request<pb::CreateFacilityRequest>,
    ) -> Answer<pb::CreateFacilityResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::new_facility(&message)?;
        Ok(Response::new(
            self.core
                .create_facility(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_facility(
        &self,
        request: Request<pb::GetFacilityRequest>,
    ) -> Answer<pb::GetFacilityResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("id", FacilityId::parse(&message.id))?;
        Ok(Response::new(
            self.core.get_facility(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_facilities(
        &self,
        request: Request<pb::ListFacilitiesRequest>,
    ) -> Answer<pb::ListFacilitiesResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::page(message.page_size, &message.page_token)?;
        Ok(Response::new(
            self.core.list_facilities(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_facility(
        &self,
        request: Request<pb::UpdateFacilityRequest>,
    ) -> Answer<pb::UpdateFacilityResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::facility_update(&message)?;
        Ok(Response::new(
            self.core.update_facility(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_department(
        &self,
        request: Request<pb::CreateDepartmentRequest>,
    ) -> Answer<pb::CreateDepartmentResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::new_department(&message)?;
        Ok(Response::new(
            self.core
                .create_department(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_department(
        &self,
        request: Request<pb::GetDepartmentRequest>,
    ) -> Answer<pb::GetDepartmentResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("id", DepartmentId::parse(&message.id))?;
        Ok(Response::new(
            self.core.get_department(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_departments(
        &self,
        request: Request<pb::ListDepartmentsRequest>,
    ) -> Answer<pb::ListDepartmentsResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::departments_page(&message)?;
        Ok(Response::new(
            self.core.list_departments(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_department(
        &self,
        request: Request<pb::UpdateDepartmentRequest>,
    ) -> Answer<pb::UpdateDepartmentResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::department_update(&message)?;
        Ok(Response::new(
            self.core.update_department(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_room(
        &self,
        request: Request<pb::CreateRoomRequest>,
    ) -> Answer<pb::CreateRoomResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::new_room(&message)?;
        Ok(Response::new(
            self.core.create_room(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_room(&self, request: Request<pb::GetRoomRequest>) -> Answer<pb::GetRoomResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("id", RoomId::parse(&message.id))?;
        Ok(Response::new(self.core.get_room(&context, command).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_rooms(
        &self,
        request: Request<pb::ListRoomsRequest>,
    ) -> Answer<pb::ListRoomsResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::rooms_page(&message)?;
        Ok(Response::new(
            self.core.list_rooms(&context, command.0, command.1).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn update_room(
        &self,
        request: Request<pb::UpdateRoomRequest>,
    ) -> Answer<pb::UpdateRoomResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::room_update(&message)?;
        Ok(Response::new(
            self.core.update_room(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_bed(
        &self,
        request: Request<pb::CreateBedRequest>,
    ) -> Answer<pb::CreateBedResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::new_bed(&message)?;
        Ok(Response::new(
            self.core.create_bed(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_bed(&self, request: Request<pb::GetBedRequest>) -> Answer<pb::GetBedResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::id("id", BedId::parse(&message.id))?;
        Ok(Response::new(self.core.get_bed(&context, command).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn list_beds(
        &self,
        request: Request<pb::ListBedsRequest>,
    ) -> Answer<pb::ListBedsResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::beds_page(&message)?;
        Ok(Response::new(self.core.list_beds(&context, command).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn update_bed(
        &self,
        request: Request<pb::UpdateBedRequest>,
    ) -> Answer<pb::UpdateBedResponse> {
        let context = RequestContext::of(&request);
        context.authorize(MANAGE, &Target::TENANT)?;
        let message = request.into_inner();
        let command = parse::bed_update(&message)?;
        Ok(Response::new(
            self.core.update_bed(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_bed_state(
        &self,
        request: Request<pb::SetBedStateRequest>,
    ) -> Answer<pb::SetBedStateResponse> {
        let context = RequestContext::of(&request);
        context.authorize_any(BEDS_MANAGE)?;
        let message = request.into_inner();
        let command = parse::bed_state(&message)?;
        Ok(Response::new(
            self.core.set_bed_state(&context, &message, command).await?,
        ))
    }
}
