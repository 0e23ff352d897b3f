//! The tonic adapter of the operating block: authorize by permission, parse the request
//! (every wrong field named, `parse.rs`), call the use case (`crate::app`), answer.
//! Authorization against the theatre's department happens in the use case.

mod parse;

use std::sync::Arc;

use hmis_platform::RequestContext;
use hmis_proto::openhmis::surgery::v1 as pb;
use pb::surgery_service_server::SurgeryService;
use tonic::{Request, Response, Status};

use crate::app::{MANAGE, PLAN, PRIVILEGES, READ, RECORD, Surgery};

#[derive(Debug, Clone)]
pub struct SurgeryApi {
    pub(crate) surgery: Arc<Surgery>,
}

#[tonic::async_trait]
impl SurgeryService for SurgeryApi {
    #[tracing::instrument(skip_all)]
    async fn create_theatre(
        &self,
        request: Request<pb::CreateTheatreRequest>,
    ) -> Result<Response<pb::CreateTheatreResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::create_theatre(&message)?;
        Ok(Response::new(
            self.surgery
                .create_theatre(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_theatres(
        &self,
        request: Request<pb::ListTheatresRequest>,
    ) -> Result<Response<pb::ListTheatresResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let facility_id = parse::id("facility_id", &message.facility_id)?;
        Ok(Response::new(
            self.surgery.list_theatres(&context, facility_id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn create_theatre_session(
        &self,
        request: Request<pb::CreateTheatreSessionRequest>,
    ) -> Result<Response<pb::CreateTheatreSessionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::create_session(&message)?;
        Ok(Response::new(
            self.surgery
                .create_session(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn set_procedure_grades(
        &self,
        request: Request<pb::SetProcedureGradesRequest>,
    ) -> Result<Response<pb::SetProcedureGradesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::set_procedure_grades(&message)?;
        Ok(Response::new(
            self.surgery
                .set_procedure_grades(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_procedure_grades(
        &self,
        request: Request<pb::ListProcedureGradesRequest>,
    ) -> Result<Response<pb::ListProcedureGradesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let codes = parse::list_procedure_grades(&message)?;
        Ok(Response::new(
            self.surgery.list_procedure_grades(&context, codes).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn grant_privilege(
        &self,
        request: Request<pb::GrantPrivilegeRequest>,
    ) -> Result<Response<pb::GrantPrivilegeResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(PRIVILEGES)?;
        let message = request.into_inner();
        let command = parse::grant_privilege(&message)?;
        Ok(Response::new(
            self.surgery
                .grant_privilege(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn change_privilege_status(
        &self,
        request: Request<pb::ChangePrivilegeStatusRequest>,
    ) -> Result<Response<pb::ChangePrivilegeStatusResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(PRIVILEGES)?;
        let message = request.into_inner();
        let command = parse::change_privilege_status(&message)?;
        Ok(Response::new(
            self.surgery
                .change_privilege_status(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_privileges(
        &self,
        request: Request<pb::ListPrivilegesRequest>,
    ) -> Result<Response<pb::ListPrivilegesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let surgeon_id = parse::optional_id("surgeon_id", &message.surgeon_id)?;
        Ok(Response::new(
            self.surgery.list_privileges(&context, surgeon_id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn list_privilege_overrides(
        &self,
        request: Request<pb::ListPrivilegeOverridesRequest>,
    ) -> Result<Response<pb::ListPrivilegeOverridesResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(PRIVILEGES)?;
        let message = request.into_inner();
        let unreviewed_only = message.unreviewed_only;
        Ok(Response::new(
            self.surgery
                .list_overrides(&context, unreviewed_only)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn review_privilege_override(
        &self,
        request: Request<pb::ReviewPrivilegeOverrideRequest>,
    ) -> Result<Response<pb::ReviewPrivilegeOverrideResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(PRIVILEGES)?;
        let message = request.into_inner();
        let command = parse::review_override(&message)?;
        Ok(Response::new(
            self.surgery
                .review_override(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn book_operation(
        &self,
        request: Request<pb::BookOperationRequest>,
    ) -> Result<Response<pb::BookOperationResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(PLAN)?;
        let message = request.into_inner();
        let command = parse::book_operation(&message)?;
        Ok(Response::new(
            self.surgery
                .book_operation(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn reschedule_operation(
        &self,
        request: Request<pb::RescheduleOperationRequest>,
    ) -> Result<Response<pb::RescheduleOperationResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(PLAN)?;
        let message = request.into_inner();
        let command = parse::reschedule_operation(&message)?;
        Ok(Response::new(
            self.surgery
                .reschedule_operation(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn cancel_operation(
        &self,
        request: Request<pb::CancelOperationRequest>,
    ) -> Result<Response<pb::CancelOperationResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(PLAN)?;
        let message = request.into_inner();
        let command = parse::cancel_operation(&message)?;
        Ok(Response::new(
            self.surgery
                .cancel_operation(&context, &message, command)
                .await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_operation(
        &self,
        request: Request<pb::GetOperationRequest>,
    ) -> Result<Response<pb::GetOperationResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let id = parse::id("id", &message.id)?;
        Ok(Response::new(
            self.surgery.get_operation(&context, id).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn get_theatre_list(
        &self,
        request: Request<pb::GetTheatreListRequest>,
    ) -> Result<Response<pb::GetTheatreListResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let query = parse::theatre_list(&message)?;
        Ok(Response::new(
            self.surgery.get_theatre_list(&context, query).await?,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn confirm_checklist_phase(
        &self,
        request: Request<pb::ConfirmChecklistPhaseRequest>,
    ) -> Result<Response<pb::ConfirmChecklistPhaseResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(RECORD)?;
        let message = request.into_inner();
        let command = parse::confirm_checklist_phase(&message)?;
        Ok(Response::new(
            self.surgery
                .confirm_checklist_phase(&context, &message, command)
                .await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn record_milestone(
        &self,
        request: Request<pb::RecordMilestoneRequest>,
    ) -> Result<Response<pb::RecordMilestoneResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(RECORD)?;
        let message = request.into_inner();
        let command = parse::record_milestone(&message)?;
        Ok(Response::new(
            self.surgery
                .record_milestone(&context, &message, command)
                .await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn write_record(
        &self,
        request: Request<pb::WriteRecordRequest>,
    ) -> Result<Response<pb::WriteRecordResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(RECORD)?;
        let message = request.into_inner();
        let command = parse::write_record(&message)?;
        Ok(Response::new(
            self.surgery
                .write_record(&context, &message, command)
                .await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn list_record_versions(
        &self,
        request: Request<pb::ListRecordVersionsRequest>,
    ) -> Result<Response<pb::ListRecordVersionsResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let query = parse::list_record_versions(&message)?;
        Ok(Response::new(
            self.surgery.list_record_versions(&context, query).await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn record_consumption(
        &self,
        request: Request<pb::RecordConsumptionRequest>,
    ) -> Result<Response<pb::RecordConsumptionResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(RECORD)?;
        let message = request.into_inner();
        let command = parse::record_consumption(&message)?;
        Ok(Response::new(
            self.surgery
                .record_consumption(&context, &message, command)
                .await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn set_procedure_pack(
        &self,
        request: Request<pb::SetProcedurePackRequest>,
    ) -> Result<Response<pb::SetProcedurePackResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(MANAGE)?;
        let message = request.into_inner();
        let command = parse::set_procedure_pack(&message)?;
        Ok(Response::new(
            self.surgery
                .set_procedure_pack(&context, &message, command)
                .await?,
        ))
    }
    #[tracing::instrument(skip_all)]
    async fn get_operation_pack(
        &self,
        request: Request<pb::GetOperationPackRequest>,
    ) -> Result<Response<pb::GetOperationPackResponse>, Status> {
        let context = RequestContext::of(&request);
        context.authorize_any(READ)?;
        let message = request.into_inner();
        let id = parse::id("operation_id", &message.operation_id)?;
        Ok(Response::new(
            self.surgery.get_operation_pack(&context, id).await?,
        ))
    }
}
