//! The tonic adapter of imaging: parse the request (every wrong field named, `parse.rs`),
//! call the use case (`crate::app`), answer. Authorization against the order's ward happens
//! in the use case, where the order is read; catalogue calls are authorized here.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::imaging::v1 as pb;
use pb::imaging_service_server::ImagingService;
use tonic::{Request, Response, Status};

use crate::app::{Imaging, MANAGE, READ};

#[derive(Debug, Clone)]
pub struct ImagingApi {
    pub(crate) imaging: Arc<Imaging>,
}

#[tonic::async_trait]
impl ImagingService for ImagingApi {
    #[tracing::instrument(skip_all)]
    async fn set_service(
        &self,
        request: Request<pb::SetServiceRequest>,
    ) -> Result<Response<pb::SetServiceResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let service = parse::service(&message)?;
        Ok(Response::new(
            self.imaging.set_service(&context, service).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_services(
        &self,
        request: Request<pb::ListServicesRequest>,
    ) -> Result<Response<pb::ListServicesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let modality = parse::modality_filter(message.modality)?;
        Ok(Response::new(
            self.imaging.list_services(&context, modality).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_room(
        &self,
        request: Request<pb::SetRoomRequest>,
    ) -> Result<Response<pb::SetRoomResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let room = parse::room(&message)?;
        Ok(Response::new(
            self.imaging.set_room(&context, &message, room).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_rooms(
        &self,
        request: Request<pb::ListRoomsRequest>,
    ) -> Result<Response<pb::ListRoomsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let facility = parse::rooms(&message)?;
        Ok(Response::new(
            self.imaging.list_rooms(&context, facility).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_worklist(
        &self,
        request: Request<pb::ListWorklistRequest>,
    ) -> Result<Response<pb::ListWorklistResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let filter = parse::worklist(&message)?;
        Ok(Response::new(
            self.imaging.worklist(&context, filter).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::GetOrderResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let order_id = parse::id("order_id", &message.order_id)?;
        Ok(Response::new(
            self.imaging.get_order(&context, order_id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_patient_orders(
        &self,
        request: Request<pb::ListPatientOrdersRequest>,
    ) -> Result<Response<pb::ListPatientOrdersResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let patient_id = parse::id("patient_id", &message.patient_id)?;
        Ok(Response::new(
            self.imaging.patient_orders(&context, patient_id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn schedule_exam(
        &self,
        request: Request<pb::ScheduleExamRequest>,
    ) -> Result<Response<pb::ScheduleExamResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let scheduling = parse::schedule(&message)?;
        Ok(Response::new(
            self.imaging
                .schedule(&context, &message, scheduling)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn start_exam(
        &self,
        request: Request<pb::StartExamRequest>,
    ) -> Result<Response<pb::StartExamResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::start(&message)?;
        Ok(Response::new(
            self.imaging.start(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn complete_exam(
        &self,
        request: Request<pb::CompleteExamRequest>,
    ) -> Result<Response<pb::CompleteExamResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::complete(&message)?;
        Ok(Response::new(
            self.imaging.complete(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn save_report(
        &self,
        request: Request<pb::SaveReportRequest>,
    ) -> Result<Response<pb::SaveReportResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let draft = parse::report(&message)?;
        Ok(Response::new(
            self.imaging.save_report(&context, &message, draft).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn sign_report(
        &self,
        request: Request<pb::SignReportRequest>,
    ) -> Result<Response<pb::SignReportResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::sign(&message)?;
        Ok(Response::new(
            self.imaging
                .sign_report(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_exam(
        &self,
        request: Request<pb::CancelExamRequest>,
    ) -> Result<Response<pb::CancelExamResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let command = parse::cancel(&message)?;
        Ok(Response::new(
            self.imaging.cancel(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_turnaround(
        &self,
        request: Request<pb::GetTurnaroundRequest>,
    ) -> Result<Response<pb::GetTurnaroundResponse>, Status> {
        let context = RequestContext::of(&request);
        let message = request.into_inner();
        let query = parse::turnaround(&message)?;
        Ok(Response::new(
            self.imaging.turnaround(&context, query).await?,
        ))
    }
}
