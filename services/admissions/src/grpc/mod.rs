//! The tonic adapter of admissions: parse the request (every wrong field named, `parse.rs`),
//! call the use case (`crate::app`), answer. Authorization by permission happens here, before
//! anything is parsed; against the ward, in the use case.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::admissions::v1 as pb;
use pb::admission_service_server::AdmissionService;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::app::{ADMIT, Adt, CORRECT, READ, RECORDS, SETTINGS, UNDO};

#[derive(Debug, Clone)]
pub struct AdmissionApi {
    pub(crate) adt: Arc<Adt>,
}

#[tonic::async_trait]
impl AdmissionService for AdmissionApi {
    #[tracing::instrument(skip_all)]
    async fn register_emergency_visit(
        &self,
        request: Request<pb::RegisterEmergencyVisitRequest>,
    ) -> Result<Response<pb::RegisterEmergencyVisitResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::register_emergency_visit(&message, self.adt.calls.now())?;
        Ok(Response::new(
            self.adt
                .register_emergency_visit(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn close_emergency_visit(
        &self,
        request: Request<pb::CloseEmergencyVisitRequest>,
    ) -> Result<Response<pb::CloseEmergencyVisitResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::close_emergency_visit(&message)?;
        Ok(Response::new(
            self.adt
                .close_emergency_visit(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn admit_patient(
        &self,
        request: Request<pb::AdmitPatientRequest>,
    ) -> Result<Response<pb::AdmitPatientResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::admit_patient(&message, self.adt.calls.now())?;
        Ok(Response::new(
            self.adt.admit_patient(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn admit_newborn(
        &self,
        request: Request<pb::AdmitNewbornRequest>,
    ) -> Result<Response<pb::AdmitNewbornResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::admit_newborn(&message, self.adt.calls.now())?;
        Ok(Response::new(
            self.adt.admit_newborn(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn assign_bed(
        &self,
        request: Request<pb::AssignBedRequest>,
    ) -> Result<Response<pb::AssignBedResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::assign_bed(&message)?;
        Ok(Response::new(
            self.adt.assign_bed(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn transfer_patient(
        &self,
        request: Request<pb::TransferPatientRequest>,
    ) -> Result<Response<pb::TransferPatientResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::transfer_patient(&message)?;
        Ok(Response::new(
            self.adt
                .transfer_patient(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn reserve_bed(
        &self,
        request: Request<pb::ReserveBedRequest>,
    ) -> Result<Response<pb::ReserveBedResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::reserve_bed(&message)?;
        Ok(Response::new(
            self.adt.reserve_bed(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn release_bed_reservation(
        &self,
        request: Request<pb::ReleaseBedReservationRequest>,
    ) -> Result<Response<pb::ReleaseBedReservationResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::release_bed_reservation(&message)?;
        Ok(Response::new(
            self.adt
                .release_bed_reservation(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn discharge_patient(
        &self,
        request: Request<pb::DischargePatientRequest>,
    ) -> Result<Response<pb::DischargePatientResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::discharge_patient(&message)?;
        Ok(Response::new(
            self.adt
                .discharge_patient(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn undo_discharge(
        &self,
        request: Request<pb::UndoDischargeRequest>,
    ) -> Result<Response<pb::UndoDischargeResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(UNDO)?;
        let message = request.into_inner();
        let command = parse::undo_discharge(&message)?;
        Ok(Response::new(
            self.adt.undo_discharge(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_admission(
        &self,
        request: Request<pb::CancelAdmissionRequest>,
    ) -> Result<Response<pb::CancelAdmissionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CORRECT)?;
        let message = request.into_inner();
        let command = parse::cancel_admission(&message)?;
        Ok(Response::new(
            self.adt
                .cancel_admission(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn announce_discharge(
        &self,
        request: Request<pb::AnnounceDischargeRequest>,
    ) -> Result<Response<pb::AnnounceDischargeResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::announce_discharge(&message)?;
        Ok(Response::new(
            self.adt
                .announce_discharge(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn withdraw_discharge(
        &self,
        request: Request<pb::WithdrawDischargeRequest>,
    ) -> Result<Response<pb::WithdrawDischargeResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::reasoned_change(
            &message.request_id,
            &message.admission_id,
            &message.reason,
            &message.etag,
        )?;
        Ok(Response::new(
            self.adt
                .withdraw_discharge(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn hand_over_record(
        &self,
        request: Request<pb::HandOverRecordRequest>,
    ) -> Result<Response<pb::HandOverRecordResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(ADMIT)?;
        let message = request.into_inner();
        let command = parse::hand_over_record(&message)?;
        Ok(Response::new(
            self.adt
                .hand_over_record(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn receive_record(
        &self,
        request: Request<pb::ReceiveRecordRequest>,
    ) -> Result<Response<pb::ReceiveRecordResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(RECORDS)?;
        let message = request.into_inner();
        let command = parse::receive_record(&message)?;
        Ok(Response::new(
            self.adt.receive_record(&context, &message, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_record_handovers(
        &self,
        request: Request<pb::ListRecordHandoversRequest>,
    ) -> Result<Response<pb::ListRecordHandoversResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(RECORDS)?;
        let asked = parse::list_record_handovers(request.get_ref())?;
        Ok(Response::new(
            self.adt.list_record_handovers(&context, asked).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_discharge_worklist(
        &self,
        request: Request<pb::ListDischargeWorklistRequest>,
    ) -> Result<Response<pb::ListDischargeWorklistResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let facility_id = parse::id("facility_id", &request.get_ref().facility_id)?;
        Ok(Response::new(
            self.adt
                .list_discharge_worklist(&context, facility_id)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn correct_admission(
        &self,
        request: Request<pb::CorrectAdmissionRequest>,
    ) -> Result<Response<pb::CorrectAdmissionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(CORRECT)?;
        let message = request.into_inner();
        let command = parse::correct_admission(&message)?;
        Ok(Response::new(
            self.adt
                .correct_admission(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_admission_corrections(
        &self,
        request: Request<pb::ListAdmissionCorrectionsRequest>,
    ) -> Result<Response<pb::ListAdmissionCorrectionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let id = parse::id("admission_id", &message.admission_id)?;
        Ok(Response::new(
            self.adt.list_admission_corrections(&context, id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_emergency_visits(
        &self,
        request: Request<pb::ListEmergencyVisitsRequest>,
    ) -> Result<Response<pb::ListEmergencyVisitsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::list_emergency_visits(&message)?;
        Ok(Response::new(
            self.adt.list_emergency_visits(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_admissions(
        &self,
        request: Request<pb::ListAdmissionsRequest>,
    ) -> Result<Response<pb::ListAdmissionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let command = parse::list_admissions(&message)?;
        Ok(Response::new(
            self.adt.list_admissions(&context, command).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_emergency_visit(
        &self,
        request: Request<pb::GetEmergencyVisitRequest>,
    ) -> Result<Response<pb::GetEmergencyVisitResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let id = parse::id("id", &request.get_ref().id)?;
        Ok(Response::new(
            self.adt.get_emergency_visit(&context, id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_admission_settings(
        &self,
        request: Request<pb::GetAdmissionSettingsRequest>,
    ) -> Result<Response<pb::GetAdmissionSettingsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        Ok(Response::new(self.adt.get_settings(&context).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn update_admission_settings(
        &self,
        request: Request<pb::UpdateAdmissionSettingsRequest>,
    ) -> Result<Response<pb::UpdateAdmissionSettingsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(SETTINGS)?;
        let message = request.into_inner();
        let command = parse::settings(&message)?;
        Ok(Response::new(
            self.adt
                .update_settings(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_admission(
        &self,
        request: Request<pb::GetAdmissionRequest>,
    ) -> Result<Response<pb::GetAdmissionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let id = parse::id("id", &request.get_ref().id)?;
        Ok(Response::new(self.adt.get_admission(&context, id).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn locate_patient(
        &self,
        request: Request<pb::LocatePatientRequest>,
    ) -> Result<Response<pb::LocatePatientResponse>, Status> {
        let context = RequestContext::of(&request);
        let id = parse::id("patient_id", &request.get_ref().patient_id)?;
        Ok(Response::new(self.adt.locate_patient(&context, id).await?))
    }

    #[tracing::instrument(skip_all)]
    async fn get_ward_board(
        &self,
        request: Request<pb::GetWardBoardRequest>,
    ) -> Result<Response<pb::GetWardBoardResponse>, Status> {
        let context = RequestContext::of(&request);
        let department_id = self
            .adt
            .authorize_board(&context, &request.get_ref().department_id)
            .await?;
        let board = self.adt.ward_board(&context, department_id, None).await?;
        Ok(Response::new(pb::GetWardBoardResponse { board }))
    }

    type WatchWardBoardStream = ReceiverStream<Result<pb::WatchWardBoardResponse, Status>>;

    #[tracing::instrument(skip_all)]
    async fn watch_ward_board(
        &self,
        request: Request<pb::WatchWardBoardRequest>,
    ) -> Result<Response<Self::WatchWardBoardStream>, Status> {
        let context = RequestContext::of(&request);
        let department_id = self
            .adt
            .authorize_board(&context, &request.get_ref().department_id)
            .await?;
        Ok(Response::new(
            self.adt.clone().watch_board(context, department_id),
        ))
    }
}
